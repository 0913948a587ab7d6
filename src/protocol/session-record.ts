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
import { SessionRecordType, type SessionRecordProto } from './protobuf';
import { Session, skipId, type SessionState, type SkippedKey } from './session';
import {
  FORMAT_SINGLE_STATE,
  SESSION_RECORD_FORMAT,
  rewriteSendFields,
  sendFieldsFit,
  writeSession,
  type SendFields,
} from './session-record-writer';

export { SESSION_RECORD_FORMAT };

/** Serializes a session (its current state, then its archived ones) to its storage record. */
export function serializeSession(session: Session): Uint8Array {
  return writeSession(session).result();
}

/**
 * A session's last record from `serializeSessionAfterSend` (its own copy), every value it was written from except
 * the send fields (byte arrays by reference: a state replaces its arrays, never writes into them), and where
 * the send fields are in it.
 */
interface KeptRecord {
  bytes: Uint8Array;
  inputs: unknown[];
  at: SendFields;
}

const kept = new WeakMap<Session, KeptRecord>();

/**
 * `serializeSession` for the sessions a fan-out has just advanced: the same bytes, but when nothing except the
 * send fields (sending chain key, counter, `unanswered`) changed since this function last wrote the session and
 * those kept their sizes, only they are rewritten, in a copy of that record kept with the session. The kept
 * record is checked against every value it was written from, so a session changed in any other way (a decryption
 * in place, an archived state promoted or added) is written in full.
 */
export function serializeSessionAfterSend(session: Session): Uint8Array {
  const k = kept.get(session);
  if (k !== undefined) {
    const same = sendFieldsFit(k.at, session.state) && Inputs.check(session, k.inputs);
    if (same) {
      rewriteSendFields(k.bytes, k.at, session.state);
      const out = new Uint8Array(k.bytes.length);
      out.set(k.bytes);
      return out;
    }
    k.bytes.fill(0); // it held private keys
  }
  const w = writeSession(session);
  const bytes = new Uint8Array(w.pos);
  bytes.set(w.buf.subarray(0, w.pos));
  const inputs = new Inputs();
  putInputs(session, inputs);
  kept.set(session, { bytes, inputs: inputs.values, at: w.sendFields! });
  return w.result();
}

/** The values a record is written from: noted in a list, or compared with a noted list (`check`). */
class Inputs {
  values: unknown[] = [];
  /** Where `check` is in `values`; -1 while noting. */
  private at = -1;
  private same = true;

  put(v: unknown): void {
    if (this.at < 0) this.values.push(v);
    else if (this.values[this.at++] !== v) this.same = false;
  }

  /** Whether `session` has the values noted in `noted`, in order. */
  static check(session: Session, noted: unknown[]): boolean {
    const c = checker;
    c.values = noted;
    c.at = 0;
    c.same = true;
    putInputs(session, c);
    const same = c.same && c.at === noted.length;
    c.values = [];
    return same;
  }
}

const checker = new Inputs();

/**
 * Every value `writeSession` reads, in its order, except the current state's send fields; counts before the
 * repeated fields, so that two lists are equal only when the records they describe are.
 */
function putInputs(session: Session, l: Inputs): void {
  const archived = session.archivedStates;
  putStateInputs(session.state, true, l);
  l.put(archived.length);
  for (const a of archived) putStateInputs(a, false, l);
}

function putStateInputs(s: SessionState, current: boolean, l: Inputs): void {
  l.put(s.version);
  l.put(s.localIdentityKey);
  l.put(s.remoteIdentityKey);
  l.put(s.initiator);
  l.put(s.rootKey);
  l.put(s.sendingRatchet.privateKey);
  l.put(s.sendingRatchet.publicKey);
  l.put(s.receivingRatchetKey);
  if (!current) {
    l.put(s.sendingChainKey);
    l.put(s.sendingCounter);
    l.put(s.unanswered);
  }
  l.put(s.previousCounter);
  l.put(s.receivingChainKey);
  l.put(s.receivingCounter);
  l.put(s.skipped.size);
  for (const k of s.skipped.values()) {
    l.put(k.ratchetKey);
    l.put(k.n);
    l.put(k.seed);
  }
  l.put(s.oldChains.length);
  for (const c of s.oldChains) {
    l.put(c.ratchetKey);
    l.put(c.nextN);
  }
  const p = s.pending;
  l.put(p !== undefined);
  if (p !== undefined) {
    l.put(p.preKeyId);
    l.put(p.signedPreKeyId);
    l.put(p.baseKey);
  }
  l.put(s.baseKey);
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
