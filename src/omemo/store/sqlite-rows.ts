// Rows of the SQLite store in and out: every value read from the file is checked (a corrupt row is a `store-error`,
// never a crash), every value written is checked (a malformed one is a TypeError/RangeError that rolls the
// transaction back); the prepared statements and their column lists.
import { assertBytes, assertInt, concatBytes } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import { rowReaders } from './sql-row-values';
import { OMEMO_VERSIONS, type OmemoVersion } from '../versions/backend';
import type { PreviousIdentity, SessionAddress, StoreChanges, StoredDevice, StoredPreKey, TrustLevel } from './store';
import type { SqlDatabase } from './sqlite-driver';

export const { corrupt, textOut, optionalTextOut, versionOut, acceptedBaseKeysOut } = rowReaders('SQLite');

/** Lengths of the stored keys (bytes): Curve25519 private and public keys, XEdDSA signatures. */
export const KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const TRUST_LEVELS: readonly TrustLevel[] = ['undecided', 'blind', 'verified', 'distrusted'];

export function rowOf(row: unknown, table: string): Record<string, unknown> {
  if (typeof row !== 'object' || row === null) throw corrupt(table, 'not a row');
  return row as Record<string, unknown>;
}

/** A fresh Uint8Array copy of a BLOB column (callers may mutate what the store returns). */
export function blobOut(value: unknown, table: string, column: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw corrupt(table, `${column} is not a BLOB`);
  if (length !== undefined ? value.length !== length : value.length === 0) {
    throw corrupt(table, `${column} is ${value.length} bytes${length !== undefined ? `, expected ${length}` : ''}`);
  }
  // better-sqlite3 copies every BLOB it returns into a new Buffer: when that Buffer owns its whole
  // ArrayBuffer (never a slice of Node's shared pool), a plain Uint8Array over it is already private.
  return value.byteOffset === 0 && value.buffer.byteLength === value.length
    ? new Uint8Array(value.buffer, 0, value.length)
    : new Uint8Array(value);
}

export function intOut(value: unknown, table: string, column: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw corrupt(table, `${column} is not a non-negative integer`);
  return value;
}

export function jsonArrayOut(value: unknown, table: string, column: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textOut(value, table, column));
  } catch {
    throw corrupt(table, `${column} is not JSON`);
  }
  if (!Array.isArray(parsed)) throw corrupt(table, `${column} is not a JSON array`);
  return parsed;
}

// ─── checks of what goes in (programmer errors: TypeError / RangeError) ────────────────────────────────

export function assertCount(value: unknown, name: string): asserts value is number {
  assertInt(value, name, 0, Number.MAX_SAFE_INTEGER);
}

export function assertVersion(value: unknown, name: string): asserts value is OmemoVersion {
  if (!OMEMO_VERSIONS.includes(value as OmemoVersion))
    throw new TypeError(`${name} must be one of ${OMEMO_VERSIONS.join(', ')}, got ${JSON.stringify(value)}`);
}

export function assertJid(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
}

export function assertOptionalText(value: unknown, name: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${name} must be a string or absent`);
}

export function assertAddress(a: SessionAddress, name: string): void {
  if (typeof a !== 'object' || a === null) throw new TypeError(`${name} must be a SessionAddress`);
  assertVersion(a.version, `${name}.version`);
  assertJid(a.jid, `${name}.jid`);
  assertCount(a.deviceId, `${name}.deviceId`);
}

export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return (
    typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED')
  );
}

/** OmemoErrors and our own argument checks pass through; SQLite failures become `store-error`. */
export function storeFailure(what: string, e: unknown): Error {
  if (e instanceof OmemoError || e instanceof TypeError || e instanceof RangeError) return e;
  return new OmemoError('store-error', `SQLite store: ${what} failed: ${String((e as Error)?.message ?? e)}`, {
    cause: e,
  });
}

const PRE_KEY_COLUMNS = 'id, private_key, public_key, consumed, consumed_at, accepted_base_keys';
const DEVICE_COLUMNS =
  'jid, device_id, active_in, label, identity_key, trust, sent_since_last_received, last_received_at, previous_identities, unanswered_since';

/** A device row as the `devices` table holds it (column names), ready for deviceOut and the statements. */
export type DeviceRow = {
  jid: string;
  device_id: number;
  active_in: string;
  label: string | null;
  identity_key: Uint8Array | null;
  trust: string;
  sent_since_last_received: number;
  last_received_at: number;
  previous_identities: Uint8Array | null;
  unanswered_since: number;
};
/** One entry of devices.previous_identities: key ‖ trust index. */
export const PREVIOUS_IDENTITY_BYTES = KEY_BYTES + 1;

/** The prepared statements, made once per open store. */
export function prepareStatements(db: SqlDatabase) {
  return {
    owner: db.prepare('SELECT jid FROM owner WHERE singleton = 1'),
    identity: db.prepare(
      'SELECT device_id, identity_private_key, next_pre_key_id, next_signed_pre_key_id, label FROM identity WHERE singleton = 1',
    ),
    putIdentity: db.prepare(
      'INSERT OR REPLACE INTO identity (singleton, device_id, identity_private_key, next_pre_key_id, next_signed_pre_key_id, label) VALUES (1, ?, ?, ?, ?, ?)',
    ),
    signedPreKeys: db.prepare(
      'SELECT id, private_key, public_key, signature_oldmemo, signature_twomemo, created_at FROM signed_pre_keys ORDER BY id',
    ),
    putSignedPreKey: db.prepare(
      'INSERT OR REPLACE INTO signed_pre_keys (id, private_key, public_key, signature_oldmemo, signature_twomemo, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteSignedPreKey: db.prepare('DELETE FROM signed_pre_keys WHERE id = ?'),
    preKeys: db.prepare(`SELECT ${PRE_KEY_COLUMNS} FROM pre_keys ORDER BY id`),
    preKey: db.prepare(`SELECT ${PRE_KEY_COLUMNS} FROM pre_keys WHERE id = ?`),
    putPreKey: db.prepare(`INSERT OR REPLACE INTO pre_keys (${PRE_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`),
    deletePreKey: db.prepare('DELETE FROM pre_keys WHERE id = ?'),
    deviceList: db.prepare('SELECT device_ids FROM device_lists WHERE version = ? AND jid = ?'),
    putDeviceList: db.prepare('INSERT OR REPLACE INTO device_lists (version, jid, device_ids) VALUES (?, ?, ?)'),
    devicesOf: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE jid = ? ORDER BY device_id`),
    putDevice: db.prepare(`INSERT OR REPLACE INTO devices (${DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // An UPDATE in place costs about half of INSERT OR REPLACE (a delete and an insert of the row and its key): the
    // group commit's writes of rows that exist (every message of a conversation) use these first. Positional
    // parameters: binding by name cost the SQLite receive burst ~2 µs a message.
    updateDevice: db.prepare(
      'UPDATE devices SET active_in = ?, label = ?, identity_key = ?, trust = ?, sent_since_last_received = ?, last_received_at = ?, previous_identities = ?, unanswered_since = ? WHERE jid = ? AND device_id = ?',
    ),
    updateSession: db.prepare('UPDATE sessions SET record = ? WHERE version = ? AND jid = ? AND device_id = ?'),
    session: db.prepare('SELECT record FROM sessions WHERE version = ? AND jid = ? AND device_id = ?'),
    putSession: db.prepare('INSERT OR REPLACE INTO sessions (version, jid, device_id, record) VALUES (?, ?, ?, ?)'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE version = ? AND jid = ? AND device_id = ?'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

export function preKeyOut(row: unknown): StoredPreKey {
  const t = 'pre_keys';
  const r = rowOf(row, t);
  if (r.consumed !== 0 && r.consumed !== 1) throw corrupt(t, 'consumed is not 0 or 1');
  const key: StoredPreKey = {
    id: intOut(r.id, t, 'id'),
    privateKey: blobOut(r.private_key, t, 'private_key', KEY_BYTES),
    publicKey: blobOut(r.public_key, t, 'public_key', KEY_BYTES),
    consumed: r.consumed === 1,
  };
  const consumedAt = intOut(r.consumed_at, t, 'consumed_at');
  if (consumedAt !== 0) key.consumedAt = consumedAt;
  if (r.accepted_base_keys !== null) {
    key.acceptedBaseKeys = acceptedBaseKeysOut(blobOut(r.accepted_base_keys, t, 'accepted_base_keys'), t, KEY_BYTES);
  }
  return key;
}

export function deviceOut(row: unknown): StoredDevice {
  const t = 'devices';
  const r = rowOf(row, t);
  const label = optionalTextOut(r.label, t, 'label');
  if (!TRUST_LEVELS.includes(r.trust as TrustLevel))
    throw corrupt(t, `unknown trust ${JSON.stringify(String(r.trust).slice(0, 20))}`);
  return {
    jid: textOut(r.jid, t, 'jid'),
    deviceId: intOut(r.device_id, t, 'device_id'),
    activeIn: jsonArrayOut(r.active_in, t, 'active_in').map((v) => versionOut(v, t)),
    ...(label !== undefined ? { label } : {}),
    ...(r.identity_key !== null ? { identityKey: blobOut(r.identity_key, t, 'identity_key', KEY_BYTES) } : {}),
    trust: r.trust as TrustLevel,
    ...(r.previous_identities !== null ? { previousIdentities: previousIdentitiesOut(r.previous_identities) } : {}),
    sentSinceLastReceived: intOut(r.sent_since_last_received, t, 'sent_since_last_received'),
    lastReceivedAt: intOut(r.last_received_at, t, 'last_received_at'),
    ...(r.unanswered_since !== 0 ? { unansweredSince: intOut(r.unanswered_since, t, 'unanswered_since') } : {}),
  };
}

/**
 * A device record as its row (checked as deviceRecordIn checks it; the identity key copied: a caller may change its
 * objects after handing them over).
 * @throws TypeError/RangeError for a field of the wrong type or size.
 */
export function deviceRowIn(d: StoredDevice): DeviceRow {
  const previous = deviceRecordIn(d);
  return {
    jid: d.jid,
    device_id: d.deviceId,
    active_in: JSON.stringify(d.activeIn),
    label: d.label ?? null,
    identity_key: d.identityKey === undefined ? null : d.identityKey.slice(),
    trust: d.trust,
    sent_since_last_received: d.sentSinceLastReceived,
    last_received_at: d.lastReceivedAt,
    previous_identities: previous,
    unanswered_since: d.unansweredSince ?? 0,
  };
}

/** Writes a device row (INSERT OR REPLACE), in DEVICE_COLUMNS order. */
export function putDeviceRow(st: Statements, r: DeviceRow): void {
  st.putDevice.run(
    r.jid,
    r.device_id,
    r.active_in,
    r.label,
    r.identity_key,
    r.trust,
    r.sent_since_last_received,
    r.last_received_at,
    r.previous_identities,
    r.unanswered_since,
  );
}

/**
 * Checks a session put: its address and a non-empty record.
 * @throws TypeError/RangeError for a bad address or record.
 */
export function sessionRecordIn(s: { address: SessionAddress; record: Uint8Array }): void {
  assertAddress(s.address, 'session address');
  assertBytes(s.record, 'session record');
  if (s.record.length === 0) throw new RangeError('session record must not be empty');
}

/**
 * Checks every field of a device record on its way into an SQL store and returns its previous identities as the
 * binary column both SQL stores keep (per entry: the 32-byte key, then the trust's index), or null for none.
 * @throws TypeError/RangeError for a field of the wrong type or size.
 */
export function deviceRecordIn(d: StoredDevice): Uint8Array | null {
  assertJid(d.jid, 'device jid');
  assertCount(d.deviceId, 'device deviceId');
  if (!Array.isArray(d.activeIn)) throw new TypeError('device activeIn must be an array');
  for (const v of d.activeIn) assertVersion(v, 'device activeIn entry');
  assertOptionalText(d.label, 'device label');
  if (d.identityKey !== undefined) assertBytes(d.identityKey, 'device identityKey', KEY_BYTES);
  if (!TRUST_LEVELS.includes(d.trust))
    throw new TypeError(`device trust must be one of ${TRUST_LEVELS.join(', ')}, got ${JSON.stringify(d.trust)}`);
  assertCount(d.sentSinceLastReceived, 'device sentSinceLastReceived');
  assertCount(d.lastReceivedAt, 'device lastReceivedAt');
  if (d.unansweredSince !== undefined) assertCount(d.unansweredSince, 'device unansweredSince');
  const previous = d.previousIdentities ?? [];
  if (!Array.isArray(previous)) throw new TypeError('device previousIdentities must be an array');
  if (previous.length === 0) return null;
  const blob = new Uint8Array(previous.length * PREVIOUS_IDENTITY_BYTES);
  previous.forEach((p, i) => {
    assertBytes(p?.identityKey, 'device previous identity key', KEY_BYTES);
    if (!TRUST_LEVELS.includes(p.trust))
      throw new TypeError(`device previous identity trust ${JSON.stringify(p.trust)}`);
    blob.set(p.identityKey, i * PREVIOUS_IDENTITY_BYTES);
    blob[i * PREVIOUS_IDENTITY_BYTES + KEY_BYTES] = TRUST_LEVELS.indexOf(p.trust);
  });
  return blob;
}

/** The previous identities of a device from their binary column (see deviceRecordIn). */
export function previousIdentitiesOut(value: unknown, t = 'devices'): PreviousIdentity[] {
  const blob = blobOut(value, t, 'previous_identities');
  if (blob.length % PREVIOUS_IDENTITY_BYTES !== 0) throw corrupt(t, 'previous_identities has a partial entry');
  const out: PreviousIdentity[] = [];
  for (let i = 0; i < blob.length; i += PREVIOUS_IDENTITY_BYTES) {
    const trust = TRUST_LEVELS[blob[i + KEY_BYTES]!];
    if (trust === undefined) throw corrupt(t, `previous_identities has an unknown trust ${blob[i + KEY_BYTES]}`);
    out.push({ identityKey: blob.slice(i, i + KEY_BYTES), trust });
  }
  return out;
}

/** The body of the commit transaction, in MemoryStore's order (puts before deletes of each kind). */
export function writeChanges(st: Statements, owner: string, c: StoreChanges): void {
  if (c.identity !== undefined) {
    const i = c.identity;
    if (i.jid !== owner)
      throw new OmemoError('store-owner-mismatch', `this SQLite store belongs to ${owner}, not ${String(i.jid)}`);
    assertCount(i.deviceId, 'identity.deviceId');
    assertBytes(i.identityPrivateKey, 'identity.identityPrivateKey', KEY_BYTES);
    assertCount(i.nextPreKeyId, 'identity.nextPreKeyId');
    assertCount(i.nextSignedPreKeyId, 'identity.nextSignedPreKeyId');
    assertOptionalText(i.label, 'identity.label');
    st.putIdentity.run(i.deviceId, i.identityPrivateKey, i.nextPreKeyId, i.nextSignedPreKeyId, i.label ?? null);
  }
  for (const k of c.putSignedPreKeys ?? []) {
    assertCount(k.id, 'signed pre key id');
    assertBytes(k.privateKey, 'signed pre key privateKey', KEY_BYTES);
    assertBytes(k.publicKey, 'signed pre key publicKey', KEY_BYTES);
    assertBytes(k.signatures?.oldmemo, 'signed pre key signatures.oldmemo', SIGNATURE_BYTES);
    assertBytes(k.signatures?.twomemo, 'signed pre key signatures.twomemo', SIGNATURE_BYTES);
    assertCount(k.createdAt, 'signed pre key createdAt');
    st.putSignedPreKey.run(k.id, k.privateKey, k.publicKey, k.signatures.oldmemo, k.signatures.twomemo, k.createdAt);
  }
  for (const id of c.deleteSignedPreKeys ?? []) {
    assertCount(id, 'deleteSignedPreKeys id');
    st.deleteSignedPreKey.run(id);
  }
  for (const k of c.putPreKeys ?? []) {
    assertCount(k.id, 'pre key id');
    assertBytes(k.privateKey, 'pre key privateKey', KEY_BYTES);
    assertBytes(k.publicKey, 'pre key publicKey', KEY_BYTES);
    if (typeof k.consumed !== 'boolean') throw new TypeError('pre key consumed must be a boolean');
    if (k.consumedAt !== undefined) assertCount(k.consumedAt, 'pre key consumedAt');
    const accepted = k.acceptedBaseKeys ?? [];
    if (!Array.isArray(accepted)) throw new TypeError('pre key acceptedBaseKeys must be an array');
    for (const b of accepted) assertBytes(b, 'pre key accepted base key', KEY_BYTES);
    const acceptedBlob = accepted.length === 0 ? null : concatBytes(...accepted);
    st.putPreKey.run(k.id, k.privateKey, k.publicKey, k.consumed ? 1 : 0, k.consumedAt ?? 0, acceptedBlob);
  }
  for (const id of c.deletePreKeys ?? []) {
    assertCount(id, 'deletePreKeys id');
    st.deletePreKey.run(id);
  }
  for (const l of c.putDeviceLists ?? []) {
    assertVersion(l.version, 'device list version');
    assertJid(l.jid, 'device list jid');
    if (!Array.isArray(l.deviceIds)) throw new TypeError('device list deviceIds must be an array');
    for (const id of l.deviceIds) assertCount(id, 'device list device id');
    st.putDeviceList.run(l.version, l.jid, JSON.stringify(l.deviceIds));
  }
  for (const d of c.putDevices ?? []) putDeviceRow(st, deviceRowIn(d));
  for (const s of c.putSessions ?? []) {
    sessionRecordIn(s);
    st.putSession.run(s.address.version, s.address.jid, s.address.deviceId, s.record);
  }
  for (const a of c.deleteSessions ?? []) {
    assertAddress(a, 'deleteSessions address');
    st.deleteSession.run(a.version, a.jid, a.deviceId);
  }
}
