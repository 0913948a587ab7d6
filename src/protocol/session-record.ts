// Storage of Double Ratchet sessions (proto/session-record.proto, format 1): a compact binary record that
// round-trips every field of SessionState exactly. Kept apart from the wire format.
import { OmemoError } from '../crypto/errors';
import type { ProtocolVersion } from './constants';
import { SessionRecordType, encodeProto, type SessionRecordProto } from './protobuf';
import { Session, skipId, type SessionState, type SkippedKey } from './session';

/** The record format this code writes. Readers accept every format up to this one. */
export const SESSION_RECORD_FORMAT = 1;

const PROTOCOL_IDS: Record<ProtocolVersion, number> = { oldmemo: 1, twomemo: 2 };

function opt(bytes: Uint8Array | undefined): Uint8Array {
  return bytes ?? new Uint8Array(0);
}

/** Serializes a session to its storage record. */
export function serializeSession(session: Session): Uint8Array {
  const s = session.state;
  const record: SessionRecordProto = {
    format: SESSION_RECORD_FORMAT,
    protocol: PROTOCOL_IDS[s.version],
    local_identity_key: s.localIdentityKey,
    remote_identity_key: s.remoteIdentityKey,
    initiator: s.initiator,
    root_key: s.rootKey,
    sending_ratchet_private: s.sendingRatchet.privateKey,
    sending_ratchet_public: s.sendingRatchet.publicKey,
    receiving_ratchet_key: opt(s.receivingRatchetKey),
    sending_chain_key: opt(s.sendingChainKey),
    sending_counter: s.sendingCounter,
    previous_counter: s.previousCounter,
    receiving_chain_key: opt(s.receivingChainKey),
    receiving_counter: s.receivingCounter,
    skipped: [...s.skipped.values()].map((k) => ({ ratchet_key: k.ratchetKey, n: k.n, seed: k.seed })),
    old_chains: s.oldChains.map((c) => ({ ratchet_key: c.ratchetKey, next_n: c.nextN })),
    pending:
      s.pending === undefined
        ? null
        : { has_pre_key: s.pending.preKeyId !== undefined, pre_key_id: s.pending.preKeyId ?? 0, signed_pre_key_id: s.pending.signedPreKeyId, base_key: s.pending.baseKey },
    unanswered: s.unanswered,
    base_key: s.baseKey,
    has_receiving_chain: s.receivingChainKey !== undefined,
    has_sending_chain: s.sendingChainKey !== undefined,
  };
  return encodeProto(SessionRecordType, record);
}

function bad(what: string, cause?: unknown): OmemoError {
  return new OmemoError('malformed-record', `session record: ${what}`, cause === undefined ? undefined : { cause });
}

function key(bytes: Uint8Array | undefined, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw bad(`${what} must be 32 bytes`);
  return new Uint8Array(bytes); // a plain copy, never a Node Buffer
}

/**
 * Loads a session from its storage record.
 * @throws OmemoError `malformed-record` for a record that does not parse or has a newer format.
 */
export function deserializeSession(bytes: Uint8Array): Session {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('record must be a Uint8Array');
  let r: SessionRecordProto;
  try {
    r = SessionRecordType.decode(bytes);
  } catch (cause) {
    throw bad('not a valid protobuf', cause);
  }
  if (r.format === 0 || r.format > SESSION_RECORD_FORMAT) throw bad(`unsupported format ${r.format}`);
  const version: ProtocolVersion | undefined = r.protocol === 1 ? 'oldmemo' : r.protocol === 2 ? 'twomemo' : undefined;
  if (version === undefined) throw bad(`unknown protocol ${r.protocol}`);
  const skipped = new Map<string, SkippedKey>();
  const state: SessionState = {
    version,
    localIdentityKey: key(r.local_identity_key, 'local_identity_key'),
    remoteIdentityKey: key(r.remote_identity_key, 'remote_identity_key'),
    initiator: r.initiator === true,
    rootKey: key(r.root_key, 'root_key'),
    sendingRatchet: { privateKey: key(r.sending_ratchet_private, 'sending_ratchet_private'), publicKey: key(r.sending_ratchet_public, 'sending_ratchet_public') },
    receivingRatchetKey: r.receiving_ratchet_key instanceof Uint8Array && r.receiving_ratchet_key.length ? key(r.receiving_ratchet_key, 'receiving_ratchet_key') : undefined,
    sendingChainKey: r.has_sending_chain ? key(r.sending_chain_key, 'sending_chain_key') : undefined,
    sendingCounter: r.sending_counter ?? 0,
    previousCounter: r.previous_counter ?? 0,
    receivingChainKey: r.has_receiving_chain ? key(r.receiving_chain_key, 'receiving_chain_key') : undefined,
    receivingCounter: r.receiving_counter ?? 0,
    skipped,
    oldChains: (r.old_chains ?? []).map((c) => ({ ratchetKey: key(c.ratchet_key, 'old chain key'), nextN: c.next_n ?? 0 })),
    pending: r.pending
      ? { preKeyId: r.pending.has_pre_key ? r.pending.pre_key_id ?? 0 : undefined, signedPreKeyId: r.pending.signed_pre_key_id ?? 0, baseKey: key(r.pending.base_key, 'pending base key') }
      : undefined,
    unanswered: r.unanswered ?? 0,
    baseKey: key(r.base_key, 'base_key'),
  };
  for (const k of r.skipped ?? []) {
    const entry = { ratchetKey: key(k.ratchet_key, 'skipped ratchet key'), n: k.n ?? 0, seed: key(k.seed, 'skipped seed') };
    skipped.set(skipId(entry.ratchetKey, entry.n), entry);
  }
  return new Session(state);
}
