// Storage of Double Ratchet sessions (proto/session-record.proto, format 1): a compact binary record that
// round-trips every field of SessionState exactly. Kept apart from the wire format.
import { OmemoError } from '../crypto/errors';
import type { ProtocolVersion } from './constants';
import { OldChainType, PendingKeyExchangeType, SessionRecordType, SkippedKeyType, fieldKey, type MessageType, type SessionRecordProto } from './protobuf';
import { Session, skipId, type SessionState, type SkippedKey } from './session';

/** The record format this code writes. Readers accept every format up to this one. */
export const SESSION_RECORD_FORMAT = 1;

const PROTOCOL_IDS: Record<ProtocolVersion, number> = { oldmemo: 1, twomemo: 2 };


const R = (field: string, wire: 0 | 2) => fieldKey(SessionRecordType as MessageType<unknown>, field, wire);
// Field keys from proto/session-record.proto (the single source of truth), resolved once.
const K = {
  format: R('format', 0),
  protocol: R('protocol', 0),
  localIdentityKey: R('local_identity_key', 2),
  remoteIdentityKey: R('remote_identity_key', 2),
  initiator: R('initiator', 0),
  rootKey: R('root_key', 2),
  sendingRatchetPrivate: R('sending_ratchet_private', 2),
  sendingRatchetPublic: R('sending_ratchet_public', 2),
  receivingRatchetKey: R('receiving_ratchet_key', 2),
  sendingChainKey: R('sending_chain_key', 2),
  sendingCounter: R('sending_counter', 0),
  previousCounter: R('previous_counter', 0),
  receivingChainKey: R('receiving_chain_key', 2),
  receivingCounter: R('receiving_counter', 0),
  skipped: R('skipped', 2),
  oldChains: R('old_chains', 2),
  pending: R('pending', 2),
  unanswered: R('unanswered', 0),
  baseKey: R('base_key', 2),
  hasReceivingChain: R('has_receiving_chain', 0),
  hasSendingChain: R('has_sending_chain', 0),
  skippedRatchetKey: fieldKey(SkippedKeyType, 'ratchet_key', 2),
  skippedN: fieldKey(SkippedKeyType, 'n', 0),
  skippedSeed: fieldKey(SkippedKeyType, 'seed', 2),
  oldRatchetKey: fieldKey(OldChainType, 'ratchet_key', 2),
  oldNextN: fieldKey(OldChainType, 'next_n', 0),
  pendingHasPreKey: fieldKey(PendingKeyExchangeType, 'has_pre_key', 0),
  pendingPreKeyId: fieldKey(PendingKeyExchangeType, 'pre_key_id', 0),
  pendingSignedPreKeyId: fieldKey(PendingKeyExchangeType, 'signed_pre_key_id', 0),
  pendingBaseKey: fieldKey(PendingKeyExchangeType, 'base_key', 2),
};

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/**
 * A proto3 writer for exactly this record, byte for byte what protobufjs writes (default values omitted,
 * fields in number order): a fan-out serializes one record per device, and protobufjs's writer allocated
 * ~25 objects for each. Tested against the protobufjs encoding in session-record.test.ts.
 */
class RecordWriter {
  private static scratch = new Uint8Array(4096);
  private readonly buf: Uint8Array;
  pos = 0;

  /** Writes into one shared scratch buffer (everything here is synchronous); `result` copies out. */
  constructor(capacity: number) {
    if (RecordWriter.scratch.length < capacity) RecordWriter.scratch = new Uint8Array(capacity);
    this.buf = RecordWriter.scratch;
  }

  varint(v: number): void {
    let x = v >>> 0;
    while (x > 0x7f) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
  }

  uint(key: number, v: number): void {
    if (v === 0) return;
    this.varint(key);
    this.varint(v);
  }

  bool(key: number, v: boolean): void {
    if (!v) return;
    this.varint(key);
    this.buf[this.pos++] = 1;
  }

  bytes(key: number, b: Uint8Array | undefined): void {
    if (b === undefined || b.length === 0) return;
    this.varint(key);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The record, with the scratch wiped behind it (it held private keys). */
  result(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.buf.fill(0, 0, this.pos);
    return out;
  }
}

const bytesSize = (key: number, b: Uint8Array | undefined) => (b === undefined || b.length === 0 ? 0 : varintSize(key) + varintSize(b.length) + b.length);
const uintSize = (key: number, v: number) => (v === 0 ? 0 : varintSize(key) + varintSize(v >>> 0));

/** Serializes a session to its storage record. */
export function serializeSession(session: Session): Uint8Array {
  const s = session.state;
  // Upper bound: fixed fields plus every skipped key and old chain at their largest.
  const w = new RecordWriter(512 + s.skipped.size * 90 + s.oldChains.length * 50);
  w.uint(K.format, SESSION_RECORD_FORMAT);
  w.uint(K.protocol, PROTOCOL_IDS[s.version]);
  w.bytes(K.localIdentityKey, s.localIdentityKey);
  w.bytes(K.remoteIdentityKey, s.remoteIdentityKey);
  w.bool(K.initiator, s.initiator);
  w.bytes(K.rootKey, s.rootKey);
  w.bytes(K.sendingRatchetPrivate, s.sendingRatchet.privateKey);
  w.bytes(K.sendingRatchetPublic, s.sendingRatchet.publicKey);
  w.bytes(K.receivingRatchetKey, s.receivingRatchetKey);
  w.bytes(K.sendingChainKey, s.sendingChainKey);
  w.uint(K.sendingCounter, s.sendingCounter);
  w.uint(K.previousCounter, s.previousCounter);
  w.bytes(K.receivingChainKey, s.receivingChainKey);
  w.uint(K.receivingCounter, s.receivingCounter);
  for (const k of s.skipped.values()) {
    w.varint(K.skipped);
    w.varint(bytesSize(K.skippedRatchetKey, k.ratchetKey) + uintSize(K.skippedN, k.n) + bytesSize(K.skippedSeed, k.seed));
    w.bytes(K.skippedRatchetKey, k.ratchetKey);
    w.uint(K.skippedN, k.n);
    w.bytes(K.skippedSeed, k.seed);
  }
  for (const c of s.oldChains) {
    w.varint(K.oldChains);
    w.varint(bytesSize(K.oldRatchetKey, c.ratchetKey) + uintSize(K.oldNextN, c.nextN));
    w.bytes(K.oldRatchetKey, c.ratchetKey);
    w.uint(K.oldNextN, c.nextN);
  }
  const p = s.pending;
  if (p !== undefined) {
    const preKeyId = p.preKeyId ?? 0;
    w.varint(K.pending);
    w.varint(
      (p.preKeyId !== undefined ? varintSize(K.pendingHasPreKey) + 1 : 0) +
        uintSize(K.pendingPreKeyId, preKeyId) +
        uintSize(K.pendingSignedPreKeyId, p.signedPreKeyId) +
        bytesSize(K.pendingBaseKey, p.baseKey),
    );
    w.bool(K.pendingHasPreKey, p.preKeyId !== undefined);
    w.uint(K.pendingPreKeyId, preKeyId);
    w.uint(K.pendingSignedPreKeyId, p.signedPreKeyId);
    w.bytes(K.pendingBaseKey, p.baseKey);
  }
  w.uint(K.unanswered, s.unanswered);
  w.bytes(K.baseKey, s.baseKey);
  w.bool(K.hasReceivingChain, s.receivingChainKey !== undefined);
  w.bool(K.hasSendingChain, s.sendingChainKey !== undefined);
  return w.result();
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
