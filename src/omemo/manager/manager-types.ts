// The manager's public types (XEP-0384 0.9 §4–§6 as the API shows them): options, device facts, per-device send
// reports, and what encrypt and decrypt return.
import type { OmemoErrorCode } from '../../crypto/errors';
import type { Rng } from '../../crypto/random';
import type { IdentityChange } from '../policies/identity-trust';
import type { ConsumedPreKeyPolicy } from '../policies/pre-key-policy';
import type { OmemoLogger } from './logger';
import type { StaleDevicePolicy } from '../policies/stale-device';
import type { TrustPolicy } from '../policies/trust';
import type { ParsedEnvelope } from '../stanzas/sce';
import type { OmemoVersion } from '../versions/backend';
import type { OmemoStore, TrustLevel } from '../store/store';
import type { AutomaticMessageKind, OmemoTransport } from './transport';

/** Options of `OmemoManager.open`. */
export interface OmemoManagerOptions {
  /** Our bare JID. */
  jid: string;
  store: OmemoStore;
  transport: OmemoTransport;
  /** Enabled versions (default both). */
  versions?: OmemoVersion[];
  /** Trust policy for new devices (default 'btbv'). */
  trustPolicy?: TrustPolicy;
  /** Asked when a new device would start undecided; return a level to decide now. */
  onTrustDecision?: (device: DeviceInfo) => TrustLevel | undefined | Promise<TrustLevel | undefined>;
  /** Use this device id when creating a new identity (otherwise random, checked against our device lists). */
  deviceId?: number;
  /** OMEMO 2 device label. */
  label?: string;
  signedPreKeyRotationMs?: number;
  /** Publish device lists and bundles during `open` (default true). */
  publish?: boolean;
  /** Randomness (tests inject a seeded one). */
  rng?: Rng;
  /** Clock in ms since the epoch (tests inject one). */
  now?: () => number;
  /**
   * When a device that never answers is skipped (default: after 500 unanswered messages and 30 days of
   * silence; `false`: never). A skipped device is reported as `stale-device` in every send.
   */
  staleDevice?: StaleDevicePolicy;
  /**
   * How long used one-time pre keys are kept for contacts who fetched the same bundle (default: one day, at most
   * 100 keys; `{ keepMs: 0, maxKept: 0 }` deletes them at once). See README "Pre keys".
   */
  consumedPreKeys?: ConsumedPreKeyPolicy;
  /**
   * Automatic session repair: when a normal message cannot be decrypted because we have no usable session with
   * its sender (none, a corrupt record, a bad MAC), a fresh session is built from the sender's bundle and an
   * empty key-exchange message sent, at most once per `minIntervalMs` per device (default one hour). `false`
   * turns it off (`resetSession` still works).
   */
  repair?: { minIntervalMs: number } | false;
  /**
   * Largest `<encrypted>` element `encrypt` produces, in bytes (default DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES, which
   * fits Prosody's 256 KiB client stanza limit). A send that would exceed it fails with `stanza-too-large` before
   * anything is encrypted. `Infinity` disables the check.
   */
  maxElementBytes?: number;
  /**
   * Where the manager tells what it does (publishes, fetches, sessions built, repairs, skipped devices, failed
   * decryptions), with structured fields and never key material. Default: silent. `console` works.
   */
  logger?: OmemoLogger;
  /**
   * Longest wait for one device-list or bundle fetch during a send, in ms (default PEP_FETCH_TIMEOUT_MS): a
   * recipient whose server does not answer is reported (`peer-timeout`) instead of holding the send.
   * `Infinity` waits for the transport's own timeout.
   */
  fetchTimeoutMs?: number;
}

/** Public facts about a device, as reported to callers. */
export interface DeviceInfo {
  jid: string;
  deviceId: number;
  activeIn: OmemoVersion[];
  label?: string;
  trust: TrustLevel;
  /** Hex of the Curve25519 identity key, once known. */
  fingerprint?: string;
  stale: boolean;
}

/** Per-device outcome of an encryption. */
export interface DeviceReport {
  jid: string;
  deviceId: number;
  version: OmemoVersion;
  ok: boolean;
  keyExchange?: boolean;
  /** Why the device was skipped (an OmemoError code; `stale-device` for a device skipped for its silence). */
  error?: OmemoErrorCode;
  message?: string;
  /** The device's bundle showed a new identity key (its trust is the new key's). */
  identityChanged?: IdentityChange;
}

/** Per-recipient outcome of an encryption. */
export interface RecipientReport {
  /** The recipient's bare JID (as given, resource stripped). */
  jid: string;
  /** At least one of its devices got a key: the recipient can read the message. */
  ok: boolean;
  /** How many of its devices got a key. */
  devices: number;
  /**
   * Why it cannot read the message (absent when `ok`): `invalid-jid`, `recipient-not-found`,
   * `recipient-unreachable`, `device-list-forbidden`, `no-omemo`, `peer-timeout`, `transport-error`; or the code all
   * its devices were skipped for (`untrusted-device`, `stale-device`, `bundle-unavailable`, …), else
   * `no-eligible-devices`.
   */
  error?: OmemoErrorCode;
  /** The reason in words, naming the recipient. */
  message?: string;
}

/** One `<encrypted>` element produced by `encrypt`. */
export interface EncryptedElementOut {
  version: OmemoVersion;
  xml: string;
}

/** Result of `encrypt`. */
export interface EncryptResult {
  /** One element per version that had at least one recipient device. */
  elements: EncryptedElementOut[];
  /** Every device considered, with its outcome. */
  devices: DeviceReport[];
  /**
   * Every recipient given to `encrypt`, in order, with whether it can read the message. Only a send with
   * `partial` can return recipients that are not `ok`: send the message to the others only.
   */
  recipients: RecipientReport[];
}

/** Options of `encrypt`. */
export interface EncryptOptions {
  /** Only this version (default: per device, OMEMO 2 where the device has it, else 0.3). */
  version?: OmemoVersion;
  /** OMEMO 2: wrap text in an SCE envelope (default true for strings). */
  sce?: boolean;
  /** Do not fail when a recipient has no usable device (default false: such a send throws). */
  partial?: boolean;
  /**
   * The group chat (room bare JID) the message is for: OMEMO 2 then puts `<to jid='room'/>` in the SCE envelope
   * (XEP-0420 §4: the room is the addressee of a groupchat message), whatever the number of recipients.
   */
  room?: string;
}

/** A message sent automatically while handling another. */
export interface AutomaticMessage {
  to: string;
  version: OmemoVersion;
  kind: AutomaticMessageKind;
  xml: string;
}

/** Result of `decrypt`. */
export interface DecryptResult {
  version: OmemoVersion;
  sender: { jid: string; deviceId: number };
  /** The decrypted payload bytes; undefined for an empty message (key transport, heartbeat). */
  payload: Uint8Array | undefined;
  /** The text: 0.3 the UTF-8 payload, OMEMO 2 the SCE `<body>` (or the UTF-8 payload without envelope). */
  text: string | undefined;
  /** The SCE envelope of an OMEMO 2 message, when there is one. */
  envelope?: ParsedEnvelope;
  /** True when the envelope's `<from>` matches the sender (OMEMO 2 with an envelope only). */
  envelopeFromMatches?: boolean;
  keyExchange: boolean;
  /**
   * Trust in the sender's identity key. Messages from `undecided` keys are returned (the caller decides how to
   * show them); `distrusted` ones are refused with `untrusted-device`. See README "Trust".
   */
  trust: TrustLevel;
  /** The sender's device shows a new identity key (a new fingerprint, with its own trust). */
  identityChanged?: IdentityChange;
  /**
   * The message had no `<payload>` although its key is not that of an empty message (OMEMO 2: 32 zero bytes; 0.3: a
   * bare 16-byte key), e.g. a payload stripped on the way. It is reported as empty and nothing was stored: the
   * message keeps its key, so the complete message, if it arrives (e.g. from the archive), still decrypts.
   */
  payloadMissing?: boolean;
  /** Messages sent automatically (session completion, heartbeat), already handed to the transport. */
  sent: AutomaticMessage[];
}
