// The state of one Double Ratchet session (Signal, "The Double Ratchet Algorithm" rev. 1, §3.2 state variables, with
// OMEMO's pending key exchange and heartbeat counter): what session.ts advances and session-record.ts stores.
import type { KeyPair } from '../crypto/x25519';
import type { ProtocolVersion } from './constants';

/** A skipped message key, kept to decrypt a message that arrives late. */
export interface SkippedKey {
  ratchetKey: Uint8Array;
  n: number;
  seed: Uint8Array;
}

/** The key exchange an initiator attaches to its messages until the other side has answered. */
export interface PendingKeyExchange {
  preKeyId: number | undefined;
  signedPreKeyId: number;
  baseKey: Uint8Array;
}

/** Every field of a session; `Session` wraps it and `session-record.ts` serializes it. */
export interface SessionState {
  version: ProtocolVersion;
  localIdentityKey: Uint8Array;
  remoteIdentityKey: Uint8Array;
  initiator: boolean;
  rootKey: Uint8Array;
  sendingRatchet: KeyPair;
  receivingRatchetKey: Uint8Array | undefined;
  sendingChainKey: Uint8Array | undefined;
  sendingCounter: number;
  previousCounter: number;
  receivingChainKey: Uint8Array | undefined;
  receivingCounter: number;
  /** Insertion-ordered: the first entries are the oldest and are evicted first. */
  skipped: Map<string, SkippedKey>;
  oldChains: { ratchetKey: Uint8Array; nextN: number }[];
  pending: PendingKeyExchange | undefined;
  /** Messages received since we last sent on this session (XEP-0384 heartbeat rule). */
  unanswered: number;
  /** The X3DH ephemeral key that created the session (recognises repeated key exchanges). */
  baseKey: Uint8Array;
}

/** Map key of a skipped message key: the ratchet key's bytes as a string, then n. */
export function skipId(ratchetKey: Uint8Array, n: number): string {
  return String.fromCharCode.apply(null, ratchetKey as unknown as number[]) + n;
}

/**
 * A copy of a state whose mutable containers (skipped keys, old chains) are its own. Every field written out, not
 * spread: states come from the record reader, X3DH and earlier copies with their properties in different orders,
 * and a spread of such objects took V8's generic path and gave the copies shapes of their own (a steady decrypt,
 * which works on a copy, took ~1.2 µs less with this).
 */
export function cloneState(s: SessionState): SessionState {
  return {
    version: s.version,
    localIdentityKey: s.localIdentityKey,
    remoteIdentityKey: s.remoteIdentityKey,
    initiator: s.initiator,
    rootKey: s.rootKey,
    sendingRatchet: s.sendingRatchet,
    receivingRatchetKey: s.receivingRatchetKey,
    sendingChainKey: s.sendingChainKey,
    sendingCounter: s.sendingCounter,
    previousCounter: s.previousCounter,
    receivingChainKey: s.receivingChainKey,
    receivingCounter: s.receivingCounter,
    skipped: s.skipped.size === 0 ? new Map() : new Map(s.skipped),
    oldChains: s.oldChains.slice(),
    pending: s.pending,
    unanswered: s.unanswered,
    baseKey: s.baseKey,
  };
}

/** The counters and key stores of a session that has not exchanged any message yet. */
export function freshChains() {
  return {
    sendingCounter: 0,
    previousCounter: 0,
    receivingChainKey: undefined,
    receivingCounter: 0,
    skipped: new Map<string, SkippedKey>(),
    oldChains: [],
    unanswered: 0,
  };
}
