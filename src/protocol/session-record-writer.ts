// The writer of session records (proto/session-record.proto, formats 1 and 2), byte for byte what protobufjs
// writes: every field of every SessionState of a session, current then archived; and the rewrite in place of the
// fields a send changes (session-record.ts keeps a session's last record for it).
import type { ProtocolVersion } from './constants';
import {
  OldChainType,
  PendingKeyExchangeType,
  SessionRecordType,
  SkippedKeyType,
  fieldKey,
  type MessageType,
} from './protobuf';
import type { Session, SessionState } from './session';

/**
 * The newest record format this code writes; readers accept every format up to this one. Format 2 (archived
 * states) is written only for a session that has archived states: any other is written as format 1, byte for
 * byte what format-1 code wrote.
 */
export const SESSION_RECORD_FORMAT = 2;
/** The format of a record without archived states, and of each archived state inside a format-2 record. */
export const FORMAT_SINGLE_STATE = 1;

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
  archived: R('archived', 2),
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

/** Where the fields a send changes (sending chain key, counter, `unanswered`) are in a record: start, end. */
export interface SendFields {
  chainKeyAt: number;
  counterAt: number;
  counterEnd: number;
  unansweredAt: number;
  unansweredEnd: number;
}

/**
 * A proto3 writer for exactly this record, byte for byte what protobufjs writes (default values omitted,
 * fields in number order): a fan-out serializes one record per device, and protobufjs's writer allocated
 * ~25 objects for each. Tested against the protobufjs encoding in session-record.test.ts.
 */
export class RecordWriter {
  private static shared = new Uint8Array(4096);
  buf: Uint8Array;
  pos = 0;
  /** Where the current state's send fields went (set by writeSession). */
  sendFields: SendFields | undefined;

  private constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** A writer into one shared scratch buffer (everything here is synchronous); `result` copies out. */
  static scratch(capacity: number): RecordWriter {
    if (RecordWriter.shared.length < capacity) RecordWriter.shared = new Uint8Array(capacity);
    return new RecordWriter(RecordWriter.shared);
  }

  private static patcher: RecordWriter | undefined;

  /** The one writer over a kept record whose send fields are rewritten in place (`buf`), reused: synchronous. */
  static over(buf: Uint8Array): RecordWriter {
    const w = (RecordWriter.patcher ??= new RecordWriter(buf));
    w.buf = buf;
    return w;
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

  /** Starts a length-delimited field whose length is known only at its end: room for a 5-byte length. */
  beginNested(key: number): number {
    this.varint(key);
    this.pos += 5;
    return this.pos;
  }

  /** Ends the field begun at `start`: writes its length and moves the content next to it (wiping the gap). */
  endNested(start: number): void {
    const length = this.pos - start;
    const at = start - 5;
    const lengthEnd = at + varintSize(length);
    this.pos = at;
    this.varint(length);
    this.buf.copyWithin(lengthEnd, start, start + length);
    this.buf.fill(0, lengthEnd + length, start + length);
    this.pos = lengthEnd + length;
  }

  /** The record in an array of its own (a plain copy: cheaper than `slice`), the scratch wiped behind it. */
  result(): Uint8Array {
    const out = new Uint8Array(this.pos);
    out.set(this.buf.subarray(0, this.pos));
    this.buf.fill(0, 0, this.pos);
    return out;
  }
}

export const bytesSize = (key: number, b: Uint8Array | undefined) =>
  b === undefined || b.length === 0 ? 0 : varintSize(key) + varintSize(b.length) + b.length;
export const uintSize = (key: number, v: number) => (v === 0 ? 0 : varintSize(key) + varintSize(v >>> 0));

/** Upper bound of a state's record: fixed fields plus every skipped key and old chain at their largest. */
const stateCapacity = (s: SessionState) => 512 + s.skipped.size * 90 + s.oldChains.length * 50;

/** Writes a session (its current state, then its archived ones) into the scratch buffer; `result` copies it out. */
export function writeSession(session: Session): RecordWriter {
  const archived = session.archivedStates;
  let capacity = stateCapacity(session.state);
  for (const a of archived) capacity += 8 + stateCapacity(a);
  const w = RecordWriter.scratch(capacity);
  const at: SendFields = { chainKeyAt: 0, counterAt: 0, counterEnd: 0, unansweredAt: 0, unansweredEnd: 0 };
  w.sendFields = at;
  writeState(w, session.state, archived.length === 0 ? FORMAT_SINGLE_STATE : SESSION_RECORD_FORMAT, at);
  for (const a of archived) {
    const start = w.beginNested(K.archived);
    writeState(w, a, FORMAT_SINGLE_STATE, undefined);
    w.endNested(start);
  }
  return w;
}

/** Writes the current state's send fields at their places in a record (`at`), which must fit them exactly. */
export function rewriteSendFields(record: Uint8Array, at: SendFields, s: SessionState): void {
  const w = RecordWriter.over(record);
  w.pos = at.chainKeyAt;
  w.bytes(K.sendingChainKey, s.sendingChainKey);
  w.pos = at.counterAt;
  w.uint(K.sendingCounter, s.sendingCounter);
  w.pos = at.unansweredAt;
  w.uint(K.unanswered, s.unanswered);
  w.buf = NO_BYTES; // no reference to the record (it holds private keys) is kept
}

const NO_BYTES = new Uint8Array(0);

/** Whether the current state's send fields have the sizes they have in a record written with `at`. */
export function sendFieldsFit(at: SendFields, s: SessionState): boolean {
  return (
    bytesSize(K.sendingChainKey, s.sendingChainKey) === at.counterAt - at.chainKeyAt &&
    uintSize(K.sendingCounter, s.sendingCounter) === at.counterEnd - at.counterAt &&
    uintSize(K.unanswered, s.unanswered) === at.unansweredEnd - at.unansweredAt
  );
}

/** The fields 1..21 of one state, in number order; `sendFields`, for the current state: where those went. */
function writeState(w: RecordWriter, s: SessionState, format: number, sendFields: SendFields | undefined): void {
  w.uint(K.format, format);
  w.uint(K.protocol, PROTOCOL_IDS[s.version]);
  w.bytes(K.localIdentityKey, s.localIdentityKey);
  w.bytes(K.remoteIdentityKey, s.remoteIdentityKey);
  w.bool(K.initiator, s.initiator);
  w.bytes(K.rootKey, s.rootKey);
  w.bytes(K.sendingRatchetPrivate, s.sendingRatchet.privateKey);
  w.bytes(K.sendingRatchetPublic, s.sendingRatchet.publicKey);
  w.bytes(K.receivingRatchetKey, s.receivingRatchetKey);
  const chainKeyAt = w.pos;
  w.bytes(K.sendingChainKey, s.sendingChainKey);
  const counterAt = w.pos;
  w.uint(K.sendingCounter, s.sendingCounter);
  if (sendFields !== undefined) {
    sendFields.chainKeyAt = chainKeyAt;
    sendFields.counterAt = counterAt;
    sendFields.counterEnd = w.pos;
  }
  w.uint(K.previousCounter, s.previousCounter);
  w.bytes(K.receivingChainKey, s.receivingChainKey);
  w.uint(K.receivingCounter, s.receivingCounter);
  for (const k of s.skipped.values()) {
    w.varint(K.skipped);
    w.varint(
      bytesSize(K.skippedRatchetKey, k.ratchetKey) + uintSize(K.skippedN, k.n) + bytesSize(K.skippedSeed, k.seed),
    );
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
  const unansweredAt = w.pos;
  w.uint(K.unanswered, s.unanswered);
  if (sendFields !== undefined) {
    sendFields.unansweredAt = unansweredAt;
    sendFields.unansweredEnd = w.pos;
  }
  w.bytes(K.baseKey, s.baseKey);
  w.bool(K.hasReceivingChain, s.receivingChainKey !== undefined);
  w.bool(K.hasSendingChain, s.sendingChainKey !== undefined);
}
