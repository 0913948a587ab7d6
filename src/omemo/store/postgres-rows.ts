// Rows of the PostgreSQL store in and out: every value read is checked (a corrupt row is a `store-error`, never a
// crash), every value written is checked before the transaction starts (a malformed one is a TypeError/RangeError
// and nothing is written), and a commit becomes one batched statement per kind of change (unnest of arrays).
import { assertBytes, concatBytes } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import { rowReaders } from './sql-row-values';
import {
  KEY_BYTES,
  SIGNATURE_BYTES,
  TRUST_LEVELS,
  assertAddress,
  assertCount,
  assertJid,
  assertOptionalText,
  assertVersion,
  deviceRecordIn,
  previousIdentitiesOut,
} from './sqlite-rows';
import type { StoreChanges, StoredDevice, StoredPreKey, TrustLevel } from './store';
import { deviceKey, deviceListKey, sessionKey } from './store';

export const { corrupt, textOut, optionalTextOut, versionOut, acceptedBaseKeysOut } = rowReaders('PostgreSQL');

/** A fresh Uint8Array copy of a bytea column (pg's Buffers may share a pool; callers may mutate what we return). */
export function bytesOut(value: unknown, table: string, column: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw corrupt(table, `${column} is not bytea`);
  if (length !== undefined ? value.length !== length : value.length === 0)
    throw corrupt(table, `${column} is ${value.length} bytes${length !== undefined ? `, expected ${length}` : ''}`);
  return new Uint8Array(value);
}

/** A non-negative integer from an integer column (pg returns bigint as a decimal string). */
export function intOut(value: unknown, table: string, column: string): number {
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw corrupt(table, `${column} is not a non-negative integer`);
  return n;
}

export function arrayOut(value: unknown, table: string, column: string): unknown[] {
  if (!Array.isArray(value)) throw corrupt(table, `${column} is not an array`);
  return value;
}

export const PRE_KEY_COLUMNS = 'id, private_key, public_key, consumed, consumed_at, accepted_base_keys';
export const DEVICE_COLUMNS =
  'jid, device_id, active_in, label, identity_key, trust, previous_identities, sent_since_last_received, last_received_at, unanswered_since';

export function preKeyOut(r: Record<string, unknown>): StoredPreKey {
  const t = 'omemo_pre_keys';
  if (typeof r.consumed !== 'boolean') throw corrupt(t, 'consumed is not a boolean');
  const key: StoredPreKey = {
    id: intOut(r.id, t, 'id'),
    privateKey: bytesOut(r.private_key, t, 'private_key', KEY_BYTES),
    publicKey: bytesOut(r.public_key, t, 'public_key', KEY_BYTES),
    consumed: r.consumed,
  };
  const consumedAt = intOut(r.consumed_at, t, 'consumed_at');
  if (consumedAt !== 0) key.consumedAt = consumedAt;
  if (r.accepted_base_keys !== null) {
    key.acceptedBaseKeys = acceptedBaseKeysOut(bytesOut(r.accepted_base_keys, t, 'accepted_base_keys'), t, KEY_BYTES);
  }
  return key;
}

export function deviceOut(r: Record<string, unknown>): StoredDevice {
  const t = 'omemo_devices';
  const label = optionalTextOut(r.label, t, 'label');
  if (!TRUST_LEVELS.includes(r.trust as TrustLevel))
    throw corrupt(t, `unknown trust ${JSON.stringify(String(r.trust).slice(0, 20))}`);
  const unansweredSince = intOut(r.unanswered_since, t, 'unanswered_since');
  return {
    jid: textOut(r.jid, t, 'jid'),
    deviceId: intOut(r.device_id, t, 'device_id'),
    activeIn: arrayOut(r.active_in, t, 'active_in').map((v) => versionOut(v, t)),
    ...(label !== undefined ? { label } : {}),
    ...(r.identity_key !== null ? { identityKey: bytesOut(r.identity_key, t, 'identity_key', KEY_BYTES) } : {}),
    trust: r.trust as TrustLevel,
    ...(r.previous_identities !== null
      ? { previousIdentities: previousIdentitiesOut(r.previous_identities, 'omemo_devices') }
      : {}),
    sentSinceLastReceived: intOut(r.sent_since_last_received, t, 'sent_since_last_received'),
    lastReceivedAt: intOut(r.last_received_at, t, 'last_received_at'),
    ...(unansweredSince !== 0 ? { unansweredSince } : {}),
  };
}

/** One statement of a commit. */
export interface Statement {
  text: string;
  values: unknown[];
}

/** Columns of an unnest: one array per column. */
const columns = (n: number): unknown[][] => Array.from({ length: n }, () => []);

/** Appends one row to the columns of an unnest. */
function pushRow(v: unknown[][], row: readonly unknown[]): void {
  for (let j = 0; j < row.length; j++) v[j]!.push(row[j]);
}

/** Keeps the last value per key (MemoryStore semantics; one upsert may not touch a row twice). */
function lastByKey<T>(items: readonly T[], key: (t: T) => string): T[] {
  const m = new Map<string, T>();
  for (const t of items) {
    const k = key(t);
    m.delete(k);
    m.set(k, t);
  }
  return [...m.values()];
}

function upsert(table: string, cols: string, types: string, conflict: string, values: unknown[][]): Statement {
  const names = cols.split(', ');
  const set = names.filter((c) => !conflict.split(', ').includes(c)).map((c) => `${c} = excluded.${c}`);
  const params = types.split(', ').map((t, i) => `$${i + 2}::${t}[]`);
  return {
    text:
      `INSERT INTO ${table} (account, ${cols}) SELECT $1, * FROM unnest(${params.join(', ')}) ` +
      `ON CONFLICT (account, ${conflict}) DO UPDATE SET ${set.join(', ')}`,
    values,
  };
}

/** bigint[] parameters go as decimal strings: exact for every safe integer. */
const big = (n: number): string => String(n);

/**
 * Checks every change (before anything is sent) and turns them into statements in MemoryStore's order (puts
 * before deletes of each kind). The first value of each statement is the account id, filled in by the caller.
 * @throws OmemoError `store-owner-mismatch` for an identity of another JID; TypeError/RangeError for a malformed
 *   value.
 */
export function commitStatements(owner: string, c: StoreChanges): Statement[] {
  const out: Statement[] = [];
  if (c === null || typeof c !== 'object') throw new TypeError('changes must be an object');
  if (c.identity !== undefined) {
    const i = c.identity;
    if (i.jid !== owner)
      throw new OmemoError('store-owner-mismatch', `this PostgreSQL store belongs to ${owner}, not ${String(i.jid)}`);
    assertCount(i.deviceId, 'identity.deviceId');
    assertBytes(i.identityPrivateKey, 'identity.identityPrivateKey', KEY_BYTES);
    assertCount(i.nextPreKeyId, 'identity.nextPreKeyId');
    assertCount(i.nextSignedPreKeyId, 'identity.nextSignedPreKeyId');
    assertOptionalText(i.label, 'identity.label');
    out.push({
      text:
        'INSERT INTO omemo_identity (account, device_id, identity_private_key, next_pre_key_id, next_signed_pre_key_id, label) ' +
        'VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account) DO UPDATE SET device_id = excluded.device_id, ' +
        'identity_private_key = excluded.identity_private_key, next_pre_key_id = excluded.next_pre_key_id, ' +
        'next_signed_pre_key_id = excluded.next_signed_pre_key_id, label = excluded.label',
      values: [big(i.deviceId), i.identityPrivateKey, big(i.nextPreKeyId), big(i.nextSignedPreKeyId), i.label ?? null],
    });
  }
  const spks = c.putSignedPreKeys ?? [];
  if (spks.length > 0) {
    const v = columns(6);
    for (const k of lastByKey(spks, (k) => String(k?.id))) {
      assertCount(k.id, 'signed pre key id');
      assertBytes(k.privateKey, 'signed pre key privateKey', KEY_BYTES);
      assertBytes(k.publicKey, 'signed pre key publicKey', KEY_BYTES);
      assertBytes(k.signatures?.oldmemo, 'signed pre key signatures.oldmemo', SIGNATURE_BYTES);
      assertBytes(k.signatures?.twomemo, 'signed pre key signatures.twomemo', SIGNATURE_BYTES);
      assertCount(k.createdAt, 'signed pre key createdAt');
      pushRow(v, [big(k.id), k.privateKey, k.publicKey, k.signatures.oldmemo, k.signatures.twomemo, big(k.createdAt)]);
    }
    out.push(
      upsert(
        'omemo_signed_pre_keys',
        'id, private_key, public_key, signature_oldmemo, signature_twomemo, created_at',
        'bigint, bytea, bytea, bytea, bytea, bigint',
        'id',
        v,
      ),
    );
  }
  const spkDeletes = c.deleteSignedPreKeys ?? [];
  if (spkDeletes.length > 0) {
    for (const id of spkDeletes) assertCount(id, 'deleteSignedPreKeys id');
    out.push({
      text: 'DELETE FROM omemo_signed_pre_keys WHERE account = $1 AND id = ANY($2::bigint[])',
      values: [spkDeletes.map(big)],
    });
  }
  const pks = c.putPreKeys ?? [];
  if (pks.length > 0) {
    const v = columns(6);
    for (const k of lastByKey(pks, (k) => String(k?.id))) {
      assertCount(k.id, 'pre key id');
      assertBytes(k.privateKey, 'pre key privateKey', KEY_BYTES);
      assertBytes(k.publicKey, 'pre key publicKey', KEY_BYTES);
      if (typeof k.consumed !== 'boolean') throw new TypeError('pre key consumed must be a boolean');
      if (k.consumedAt !== undefined) assertCount(k.consumedAt, 'pre key consumedAt');
      const accepted = k.acceptedBaseKeys ?? [];
      if (!Array.isArray(accepted)) throw new TypeError('pre key acceptedBaseKeys must be an array');
      for (const b of accepted) assertBytes(b, 'pre key accepted base key', KEY_BYTES);
      const acceptedBlob = accepted.length === 0 ? null : concatBytes(...accepted);
      pushRow(v, [big(k.id), k.privateKey, k.publicKey, k.consumed, big(k.consumedAt ?? 0), acceptedBlob]);
    }
    out.push(upsert('omemo_pre_keys', PRE_KEY_COLUMNS, 'bigint, bytea, bytea, boolean, bigint, bytea', 'id', v));
  }
  const pkDeletes = c.deletePreKeys ?? [];
  if (pkDeletes.length > 0) {
    for (const id of pkDeletes) assertCount(id, 'deletePreKeys id');
    out.push({
      text: 'DELETE FROM omemo_pre_keys WHERE account = $1 AND id = ANY($2::bigint[])',
      values: [pkDeletes.map(big)],
    });
  }
  // Device lists one statement each: an array of arrays is no unnest column.
  for (const l of lastByKey(c.putDeviceLists ?? [], (l) => deviceListKey(l?.version, l?.jid))) {
    assertVersion(l.version, 'device list version');
    assertJid(l.jid, 'device list jid');
    if (!Array.isArray(l.deviceIds)) throw new TypeError('device list deviceIds must be an array');
    for (const id of l.deviceIds) assertCount(id, 'device list device id');
    out.push({
      text:
        'INSERT INTO omemo_device_lists (account, version, jid, device_ids) VALUES ($1, $2, $3, $4::bigint[]) ' +
        'ON CONFLICT (account, version, jid) DO UPDATE SET device_ids = excluded.device_ids',
      values: [l.version, l.jid, l.deviceIds.map(big)],
    });
  }
  const devices = c.putDevices ?? [];
  if (devices.length > 0) {
    const v = columns(10);
    for (const d of lastByKey(devices, (d) => deviceKey(d?.jid, d?.deviceId))) {
      const previousBlob = deviceRecordIn(d);
      // text[] inside an unnest column would flatten: active_in goes as its array literal text.
      pushRow(v, [
        d.jid,
        big(d.deviceId),
        `{${d.activeIn.join(',')}}`,
        d.label ?? null,
        d.identityKey ?? null,
        d.trust,
        previousBlob,
        big(d.sentSinceLastReceived),
        big(d.lastReceivedAt),
        big(d.unansweredSince ?? 0),
      ]);
    }
    const s = upsert(
      'omemo_devices',
      DEVICE_COLUMNS,
      'text, bigint, text, text, bytea, text, bytea, bigint, bigint, bigint',
      'jid, device_id',
      v,
    );
    // The third column arrives as text: cast each literal to text[] on the way in.
    s.text = s.text.replace(
      'SELECT $1, * FROM unnest(',
      'SELECT $1, u.c1, u.c2, u.c3::text[], u.c4, u.c5, u.c6, u.c7, u.c8, u.c9, u.c10 FROM unnest(',
    );
    s.text = s.text.replace(') ON CONFLICT', ') AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10) ON CONFLICT');
    out.push(s);
  }
  const sessions = c.putSessions ?? [];
  if (sessions.length > 0) {
    const v = columns(4);
    for (const s of lastByKey(sessions, (s) => (s?.address ? sessionKey(s.address) : ''))) {
      assertAddress(s.address, 'session address');
      assertBytes(s.record, 'session record');
      if (s.record.length === 0) throw new RangeError('session record must not be empty');
      pushRow(v, [s.address.version, s.address.jid, big(s.address.deviceId), s.record]);
    }
    out.push(
      upsert(
        'omemo_sessions',
        'version, jid, device_id, record',
        'text, text, bigint, bytea',
        'version, jid, device_id',
        v,
      ),
    );
  }
  const sessionDeletes = c.deleteSessions ?? [];
  if (sessionDeletes.length > 0) {
    const v = columns(3);
    for (const a of sessionDeletes) {
      assertAddress(a, 'deleteSessions address');
      pushRow(v, [a.version, a.jid, big(a.deviceId)]);
    }
    out.push({
      text:
        'DELETE FROM omemo_sessions s USING unnest($2::text[], $3::text[], $4::bigint[]) AS d(version, jid, device_id) ' +
        'WHERE s.account = $1 AND s.version = d.version AND s.jid = d.jid AND s.device_id = d.device_id',
      values: v,
    });
  }
  return out;
}
