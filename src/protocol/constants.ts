// Per-version constants of the Signal protocol as OMEMO uses it (X3DH §2.2/§3.3, Double Ratchet §5.2,
// XEP-0384 0.3.0 and 0.9 §7) and the DoS bounds of this implementation.
import { utf8Encode } from '../crypto/bytes';

/** The two OMEMO protocol versions: legacy OMEMO 0.3 ('oldmemo') and OMEMO 2 ('twomemo'); public as `OmemoVersion`. */
export type ProtocolVersion = 'oldmemo' | 'twomemo';

/** Everything that differs between the versions below the XML. */
export interface VersionConstants {
  readonly x3dhInfo: Uint8Array;
  readonly rootInfo: Uint8Array;
  readonly messageKeyInfo: Uint8Array;
  /** Length of the truncated message MAC. */
  readonly macBytes: number;
}

export const VERSIONS: Readonly<Record<ProtocolVersion, VersionConstants>> = {
  oldmemo: {
    x3dhInfo: utf8Encode('WhisperText'),
    rootInfo: utf8Encode('WhisperRatchet'),
    messageKeyInfo: utf8Encode('WhisperMessageKeys'),
    macBytes: 8,
  },
  twomemo: {
    x3dhInfo: utf8Encode('OMEMO X3DH'),
    rootInfo: utf8Encode('OMEMO Root Chain'),
    messageKeyInfo: utf8Encode('OMEMO Message Key Material'),
    macBytes: 16,
  },
};

/** Legacy version byte: message version 3, minimum version 3. */
export const LEGACY_VERSION_BYTE = 0x33;
/** Legacy public keys on the wire: 0x05 ‖ X25519. */
export const LEGACY_KEY_TYPE_DJB = 0x05;

/**
 * Most message keys derived (skipped) to decrypt a single incoming message. A jump beyond it within one chain
 * (the current one, or n of a new one) refuses the message; the rest of the previous chain, skipped on a DH step,
 * only gets what n leaves of it and the remainder is dropped, so lost messages never block a session.
 */
export const MAX_SKIPPED_KEYS_PER_MESSAGE = 1000;
/** Most skipped message keys kept per session; the oldest are evicted first. */
export const MAX_SKIPPED_KEYS_PER_SESSION = 1000;
/** Previous receiving chains remembered per session to recognise replays of their messages. */
export const MAX_OLD_RECEIVING_CHAINS = 5;
/**
 * Previous session states kept per session (libsignal keeps 40) besides the current one, tried when the current
 * one cannot decrypt: crossed key exchanges (both sides initiated at once) converge through them. One crossing
 * needs one per side; 4 covers a second crossing (e.g. both sides repairing at once) while the first one is still
 * in flight. Cost per record: a state without skipped keys is ~370 bytes serialized; one at the
 * MAX_SKIPPED_KEYS_PER_SESSION bound ~73 KB (≤ 76 bytes per skipped key) and about 0.6 MB of heap once loaded,
 * so a record holds at most 5 such states: ~370 KB (measured 366 KB, serialized in ~1.4 ms) and ~3 MB of heap.
 * CPU: a message no state decrypts costs up to 5 × (MAX_SKIPPED_KEYS_PER_MESSAGE + 2) chain steps and 10 X25519.
 */
export const MAX_ARCHIVED_SESSION_STATES = 4;
/** Largest key element (serialized ratchet message) accepted, in bytes. */
export const MAX_WIRE_MESSAGE_BYTES = 4096;
/** Largest plaintext the ratchet carries (key material is 32 or 48 bytes; this leaves room). */
export const MAX_RATCHET_PLAINTEXT_BYTES = 1024;
/** Counters are uint32 on the wire. */
export const MAX_COUNTER = 0xffffffff;
