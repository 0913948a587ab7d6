// The one error type of the library (DEVELOPERS.md "Errors"): a stable machine-readable `code` for every
// failure caused by data from the network or a store; programmer errors are TypeError/RangeError instead.
// It lives in the lowest layer so that every layer can raise it without importing upwards.

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export type OmemoErrorCode =
  // crypto
  | 'authentication-failed' // AES-GCM tag, CBC padding or payload HMAC did not verify
  | 'crypto-unavailable' // the synchronous AES path needs node:crypto (browsers: use the async functions)
  // protocol
  | 'malformed-message' // a wire message that does not parse, has bad lengths or missing fields
  | 'unsupported-version' // legacy version byte other than 0x33
  | 'bad-mac' // the message MAC does not verify against the session
  | 'duplicate-message' // a message whose keys were already used (replay)
  | 'too-many-skipped' // a message beyond the skipped-message-key bound
  | 'invalid-signature' // a signed pre key signature that does not verify
  | 'invalid-key' // a public key that is not a valid point or has the wrong form
  | 'unknown-prekey' // a key exchange naming a pre key we do not have (consumed or never existed)
  | 'unknown-signed-prekey' // a key exchange naming a signed pre key we do not have
  | 'no-session' // a normal message for a device we have no session with
  | 'malformed-record' // a stored session record that does not load
  // omemo
  | 'malformed-stanza' // XML that does not have the shape XEP-0384 requires
  | 'message-not-for-us' // no <key> for our device
  | 'sender-not-found' // the sending device is unknown and the message is no key exchange
  | 'untrusted-device' // the trust policy forbids this device
  | 'no-eligible-devices' // not one device of a recipient can be encrypted to
  | 'stanza-too-large' // the <encrypted> element would exceed the size or key-count limit (nothing was encrypted)
  | 'bundle-unavailable' // a bundle could not be fetched or parsed
  | 'not-initialised' // the session manager was used before init()
  | 'store-error' // a store read or write failed (see `cause`)
  | 'transport-error' // the host's transport failed (see `cause`)
  | 'store-owner-mismatch' // a store belongs to another account
  | 'store-locked'; // a store is already open (in this process or another one)

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
