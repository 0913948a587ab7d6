// Storage of Double Ratchet sessions (proto/session-record.proto, formats 1 and 2): a compact binary record
// that round-trips every field of every SessionState of a session (current and archived) exactly. Kept apart
// from the wire format.
import { OmemoError } from '../crypto/errors';
import {
  MAX_ARCHIVED_SESSION_STATES,
  MAX_OLD_RECEIVING_CHAINS,
  MAX_SKIPPED_KEYS_PER_SESSION,
  type ProtocolVersion,
} from './constants';
import {
  OldChainType,
  PendingKeyExchangeType,
  SessionRecordType,
  SkippedKeyType,
  fieldKey,
  type MessageType,
  type SessionRecordProto,
} from './protobuf';
import { Session, skipId, type SessionState, type SkippedKey } from './session';

/**
 * The newest record format this code writes; readers accept every format up to this one. Format 2 (archived
 * states) is written only for a session that has archived states: any other is written as format 1, byte for
 * byte what format-1 code wrote.
 */
export const SESSION_RECORD_FORMAT = 2;
/** The format of a record without archived states, and of each archived state inside a format-2 record. */
const FORMAT_SINGLE_STATE = 1;

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

  /** The record, with the scratch wiped behind it (it held private keys). */
  result(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.buf.fill(0, 0, this.pos);
    return out;
  }
}

const bytesSize = (key: number, b: Uint8Array | undefined) =>
  b === undefined || b.length === 0 ? 0 : varintSize(key) + varintSize(b.length) + b.length;
const uintSize = (key: number, v: number) => (v === 0 ? 0 : varintSize(key) + varintSize(v >>> 0));

/** Upper bound of a state's record: fixed fields plus every skipped key and old chain at their largest. */
const stateCapacity = (s: SessionState) => 512 + s.skipped.size * 90 + s.oldChains.length * 50;

/** Serializes a session (its current state, then its archived ones) to its storage record. */
export function serializeSession(session: Session): Uint8Array {
  const archived = session.archivedStates;
  let capacity = stateCapacity(session.state);
  for (const a of archived) capacity += 8 + stateCapacity(a);
  const w = new RecordWriter(capacity);
  writeState(w, session.state, archived.length === 0 ? FORMAT_SINGLE_STATE : SESSION_RECORD_FORMAT);
  for (const a of archived) {
    const start = w.beginNested(K.archived);
    writeState(w, a, FORMAT_SINGLE_STATE);
    w.endNested(start);
  }
  return w.result();
}

/** The fields 1..21 of one state, in number order. */
function writeState(w: RecordWriter, s: SessionState, format: number): void {
  w.uint(K.format, format);
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
  w.uint(K.unanswered, s.unanswered);
  w.bytes(K.baseKey, s.baseKey);
  w.bool(K.hasReceivingChain, s.receivingChainKey !== undefined);
  w.bool(K.hasSendingChain, s.sendingChainKey !== undefined);
}

function bad(what: string, cause?: unknown): OmemoError {
  return new OmemoError('malformed-record', `session record: ${what}`, cause === undefined ? undefined : { cause });
}

/** A 32-byte key of the state `where` (the message is built only on error: this runs per field). */
function key(bytes: Uint8Array | undefined, where: string, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw bad(`${where}: ${what} must be 32 bytes`);
  return new Uint8Array(bytes); // a plain copy, never a Node Buffer
}

/**
 * Loads a session from its storage record (format 1 or 2).
 * @throws OmemoError `malformed-record` for a record that does not parse, has a newer format, or breaks a bound
 *   (key lengths, skipped keys, old chains, archived states).
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
  const archivedRecords = r.archived ?? [];
  // One encoding per session: format 2 exactly when there are archived states.
  if (r.format === FORMAT_SINGLE_STATE && archivedRecords.length > 0) {
    throw bad('a format 1 record has no archived states');
  }
  if (r.format !== FORMAT_SINGLE_STATE && archivedRecords.length === 0) {
    throw bad(`a format ${r.format} record without archived states`);
  }
  if (archivedRecords.length > MAX_ARCHIVED_SESSION_STATES) {
    throw bad(`${archivedRecords.length} archived states, at most ${MAX_ARCHIVED_SESSION_STATES}`);
  }
  const state = readState(r, 'current state');
  if (archivedRecords.length === 0) return new Session(state);
  const archived = archivedRecords.map((a, i) => {
    const what = `archived state ${i}`;
    if (a.format !== FORMAT_SINGLE_STATE) throw bad(`${what}: format ${a.format}, must be ${FORMAT_SINGLE_STATE}`);
    if ((a.archived ?? []).length > 0) throw bad(`${what}: has archived states of its own`);
    if (a.protocol !== r.protocol) throw bad(`${what}: protocol ${a.protocol} differs from the record's ${r.protocol}`);
    return readState(a, what);
  });
  return new Session(state, archived);
}

/** One state from its decoded record, every key length and count checked. */
function readState(r: SessionRecordProto, where: string): SessionState {
  const version: ProtocolVersion | undefined = r.protocol === 1 ? 'oldmemo' : r.protocol === 2 ? 'twomemo' : undefined;
  if (version === undefined) throw bad(`${where}: unknown protocol ${r.protocol}`);
  const skippedRecords = r.skipped ?? [];
  if (skippedRecords.length > MAX_SKIPPED_KEYS_PER_SESSION) {
    throw bad(`${where}: ${skippedRecords.length} skipped keys, at most ${MAX_SKIPPED_KEYS_PER_SESSION}`);
  }
  const oldChains = r.old_chains ?? [];
  if (oldChains.length > MAX_OLD_RECEIVING_CHAINS) {
    throw bad(`${where}: ${oldChains.length} old chains, at most ${MAX_OLD_RECEIVING_CHAINS}`);
  }
  const skipped = new Map<string, SkippedKey>();
  for (const s of skippedRecords) {
    const entry = {
      ratchetKey: key(s.ratchet_key, where, 'skipped ratchet key'),
      n: s.n ?? 0,
      seed: key(s.seed, where, 'skipped seed'),
    };
    skipped.set(skipId(entry.ratchetKey, entry.n), entry);
  }
  return {
    version,
    localIdentityKey: key(r.local_identity_key, where, 'local_identity_key'),
    remoteIdentityKey: key(r.remote_identity_key, where, 'remote_identity_key'),
    initiator: r.initiator === true,
    rootKey: key(r.root_key, where, 'root_key'),
    sendingRatchet: {
      privateKey: key(r.sending_ratchet_private, where, 'sending_ratchet_private'),
      publicKey: key(r.sending_ratchet_public, where, 'sending_ratchet_public'),
    },
    receivingRatchetKey:
      r.receiving_ratchet_key instanceof Uint8Array && r.receiving_ratchet_key.length
        ? key(r.receiving_ratchet_key, where, 'receiving_ratchet_key')
        : undefined,
    sendingChainKey: r.has_sending_chain ? key(r.sending_chain_key, where, 'sending_chain_key') : undefined,
    sendingCounter: r.sending_counter ?? 0,
    previousCounter: r.previous_counter ?? 0,
    receivingChainKey: r.has_receiving_chain ? key(r.receiving_chain_key, where, 'receiving_chain_key') : undefined,
    receivingCounter: r.receiving_counter ?? 0,
    skipped,
    oldChains: oldChains.map((c) => ({ ratchetKey: key(c.ratchet_key, where, 'old chain key'), nextN: c.next_n ?? 0 })),
    pending: r.pending
      ? {
          preKeyId: r.pending.has_pre_key ? (r.pending.pre_key_id ?? 0) : undefined,
          signedPreKeyId: r.pending.signed_pre_key_id ?? 0,
          baseKey: key(r.pending.base_key, where, 'pending base key'),
        }
      : undefined,
    unanswered: r.unanswered ?? 0,
    baseKey: key(r.base_key, where, 'base_key'),
  };
}
