// The one error type of the library (the project's error rule): a stable machine-readable `code` for every
// failure caused by data from the network or a store; programmer errors are TypeError/RangeError instead.
// It lives in the lowest layer so that every layer can raise it without importing upwards.

/**
 * Every stable error code, in one list (for matching, logging, documentation). New codes may be added; existing
 * ones never change meaning:
 * - `authentication-failed`: AES-GCM tag, CBC padding or payload HMAC did not verify
 * - `crypto-unavailable`: neither node:crypto nor WebCrypto can do the AES this needs
 * - `malformed-message`: a wire message that does not parse, has bad lengths or missing fields
 * - `unsupported-version`: legacy version byte other than 0x33
 * - `bad-mac`: the message MAC does not verify against the session
 * - `duplicate-message`: a message whose keys were already used (replay)
 * - `too-many-skipped`: a message beyond the skipped-message-key bound
 * - `invalid-signature`: a signed pre key signature that does not verify
 * - `invalid-key`: a public key that is not a valid point or has the wrong form
 * - `unknown-prekey`: a key exchange naming a pre key we do not have (consumed or never existed)
 * - `unknown-signed-prekey`: a key exchange naming a signed pre key we do not have
 * - `no-session`: a normal message for a device we have no session with
 * - `malformed-record`: a stored session record that does not load
 * - `malformed-stanza`: XML that does not have the shape XEP-0384 requires
 * - `message-not-for-us`: no <key> for our device
 * - `sender-not-found`: the sending device is unknown and the message is no key exchange
 * - `untrusted-device`: the trust policy forbids this device
 * - `no-eligible-devices`: not one device of a recipient can be encrypted to (or recipients failed for different
 *   reasons; each recipient's own code is in `EncryptResult.recipients` with `partial`; recipients whose devices
 *   were all skipped for one reason get that code, e.g. `untrusted-device`)
 * - `invalid-jid`: a recipient address that is not a JID (checked before anything is sent, or the server's
 *   `jid-malformed`)
 * - `recipient-unreachable`: the recipient's server cannot be reached (`remote-server-not-found`/`-timeout`, or
 *   a server without federation)
 * - `recipient-not-found`: the recipient's server says the account does not exist (`service-unavailable`, `gone`)
 * - `device-list-forbidden`: the recipient's device list is not shown to us (`forbidden`, `not-authorized`): the
 *   account may not exist (Prosody answers so), or shows its list to contacts only
 * - `no-omemo`: the recipient published no OMEMO device list: it does not use OMEMO
 * - `stale-device`: a device skipped for its silence under the `staleDevice` policy (per-device send reports only)
 * - `stanza-too-large`: the <encrypted> element would exceed the size or key-count limit (nothing was encrypted)
 * - `bundle-unavailable`: a bundle could not be fetched or parsed
 * - `not-initialised`: crypto used before `cryptoReady()` resolved (`OmemoManager.open` awaits it)
 * - `store-error`: a store read or write failed (see `cause`)
 * - `transport-error`: the host's transport failed (see `cause`)
 * - `login-failed`: the XMPP server refused the credentials (SASL failure, e.g. a wrong password) before online
 * - `connection-failed`: the XMPP connection failed before online (no server, refused, a stream error)
 * - `store-owner-mismatch`: a store belongs to another account
 * - `store-locked`: a store is already open (in this process or another one); for PostgresStore, another worker
 *   owns the account, or took it over from this one (which then commits nothing)
 * - `peer-timeout`: a recipient's device list or bundle did not arrive within PEP_FETCH_TIMEOUT_MS (send reports)
 * - `room-not-eligible`: a group chat that is anonymous or not members-only, where OMEMO is not used
 * - `unknown-real-jid`: a group-chat message from an occupant whose real JID we do not know (never guessed)
 * - `malformed-file-url`: an `aesgcm://` URL (XEP-0454) without a valid host/path or with a fragment that is
 *   not hex of a 12- or 16-byte IV and a 32-byte key
 * - `file-too-large`: a file over the upload service's `max-file-size` (nothing was uploaded), over a download's
 *   `maxBytes`, or over the WebCrypto buffering cap
 * - `upload-unavailable`: the server offers no XEP-0363 HTTP upload service
 * - `file-transfer-failed`: an upload slot was refused or an HTTP upload/download failed (status or network;
 *   see `cause`)
 */
export const OMEMO_ERROR_CODES = Object.freeze([
  'authentication-failed',
  'crypto-unavailable',
  'malformed-message',
  'unsupported-version',
  'bad-mac',
  'duplicate-message',
  'too-many-skipped',
  'invalid-signature',
  'invalid-key',
  'unknown-prekey',
  'unknown-signed-prekey',
  'no-session',
  'malformed-record',
  'malformed-stanza',
  'message-not-for-us',
  'sender-not-found',
  'untrusted-device',
  'no-eligible-devices',
  'invalid-jid',
  'recipient-unreachable',
  'recipient-not-found',
  'device-list-forbidden',
  'no-omemo',
  'stale-device',
  'stanza-too-large',
  'bundle-unavailable',
  'not-initialised',
  'store-error',
  'transport-error',
  'login-failed',
  'connection-failed',
  'store-owner-mismatch',
  'store-locked',
  'peer-timeout',
  'room-not-eligible',
  'unknown-real-jid',
  'malformed-file-url',
  'file-too-large',
  'upload-unavailable',
  'file-transfer-failed',
] as const);

/**
 * A stable error code: one of OMEMO_ERROR_CODES, whose documentation says what each means (so does the README's
 * "Error codes" table).
 */
export type OmemoErrorCode = (typeof OMEMO_ERROR_CODES)[number];

/** The error raised for every failure caused by untrusted input or by a store/transport. */
export class OmemoError extends Error {
  override readonly name = 'OmemoError';
  /** Stable machine-readable reason. */
  readonly code: OmemoErrorCode;

  constructor(code: OmemoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `e` is an OmemoError, optionally with the given code. */
export function isOmemoError(e: unknown, code?: OmemoErrorCode): e is OmemoError {
  return e instanceof OmemoError && (code === undefined || e.code === code);
}
