// The data of the store conformance suite (store-conformance.ts): an identity, keys, devices and session addresses
// of one account, two commits that touch every kind of record, and a canonical snapshot of what a store holds.
import { toHex } from '../crypto/bytes';
import {
  sessionKey,
  type OmemoStore,
  type SessionAddress,
  type StoreChanges,
  type StoredDevice,
  type StoredIdentity,
  type StoredPreKey,
  type StoredSignedPreKey,
} from '../omemo/store/store';
import { equal, is } from './assert';

/** The account every store of the conformance suite belongs to: `StoreFactory.open` gets it. */
export const CONFORMANCE_OWNER_JID = 'alice@example.org';

/** `n` bytes, each `fill`. */
export const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

/** The identity of CONFORMANCE_OWNER_JID (with a label). */
export function identity(): StoredIdentity {
  return {
    jid: CONFORMANCE_OWNER_JID,
    deviceId: 12345,
    identityPrivateKey: bytes(32, 1),
    nextPreKeyId: 3,
    nextSignedPreKeyId: 2,
    label: 'phone',
  };
}

/** Signed pre key `id`, its bytes derived from the id. */
export function spk(id: number): StoredSignedPreKey {
  return {
    id,
    privateKey: bytes(32, 10 + id),
    publicKey: bytes(32, 20 + id),
    signatures: { oldmemo: bytes(64, 30 + id), twomemo: bytes(64, 40 + id) },
    createdAt: 1000 * id,
  };
}

/** Pre key `id`, its bytes derived from the id. */
export function pk(id: number, consumed = false): StoredPreKey {
  return { id, privateKey: bytes(32, 50 + id), publicKey: bytes(32, 60 + id), consumed };
}

/** A blindly trusted device active in both versions, its identity key derived from the device id. */
export function device(jid: string, deviceId: number): StoredDevice {
  return {
    jid,
    deviceId,
    activeIn: ['oldmemo', 'twomemo'],
    identityKey: bytes(32, deviceId & 255),
    trust: 'blind',
    sentSinceLastReceived: 2,
    lastReceivedAt: 77,
  };
}

/** Session address: bob's device 1 in OMEMO 0.3. */
export const A1: SessionAddress = { version: 'oldmemo', jid: 'bob@example.org', deviceId: 1 };
/** Session address: bob's device 1 in OMEMO 2 (same device as A1, other version). */
export const A2: SessionAddress = { version: 'twomemo', jid: 'bob@example.org', deviceId: 1 };
/** Session address: carol's device 9 in OMEMO 2. */
export const A3: SessionAddress = { version: 'twomemo', jid: 'carol@example.org', deviceId: 9 };
/** The contacts of the suite. */
export const JIDS: readonly string[] = ['bob@example.org', 'carol@example.org'];
/** A1, A2, A3. */
export const ADDRS: readonly SessionAddress[] = [A1, A2, A3];

/** A first commit with a record of every kind. */
export function fullChanges(): StoreChanges {
  return {
    identity: identity(),
    putSignedPreKeys: [spk(1)],
    putPreKeys: [pk(1), pk(2, true)],
    putDeviceLists: [{ version: 'oldmemo', jid: 'bob@example.org', deviceIds: [1, 2] }],
    putDevices: [device('bob@example.org', 1), device('carol@example.org', 9)],
    putSessions: [
      { address: A1, record: bytes(40, 0xa1) },
      { address: A2, record: bytes(40, 0xa2) },
    ],
  };
}

/** Changes of every kind that also undo parts of fullChanges(). */
export function secondChanges(): StoreChanges {
  return {
    identity: { ...identity(), nextPreKeyId: 99 },
    putSignedPreKeys: [spk(2)],
    deleteSignedPreKeys: [1],
    putPreKeys: [pk(3)],
    deletePreKeys: [1, 2],
    putDeviceLists: [{ version: 'oldmemo', jid: 'bob@example.org', deviceIds: [7] }],
    putDevices: [{ ...device('bob@example.org', 1), trust: 'distrusted' }],
    putSessions: [
      { address: A3, record: bytes(8, 3) },
      { address: A1, record: bytes(8, 4) },
    ],
    deleteSessions: [A2],
  };
}

/** Records as hex, '-' where an address has none. */
export const hexes = (records: readonly (Uint8Array | undefined)[]): string[] =>
  records.map((r) => (r === undefined ? '-' : toHex(r)));

/**
 * Checks that the store holds exactly fullChanges() followed by secondChanges().
 * @throws ConformanceError naming the first record that differs.
 */
export async function assertSecondApplied(s: OmemoStore): Promise<void> {
  is((await s.loadIdentity())?.nextPreKeyId, 99, 'the second commit replaced the identity');
  equal(
    (await s.loadSignedPreKeys()).map((k) => k.id),
    [2],
    'signed pre key ids after the second commit',
  );
  equal(
    (await s.loadPreKeys()).map((k) => k.id),
    [3],
    'pre key ids after the second commit',
  );
  equal(await s.loadDeviceList('oldmemo', 'bob@example.org'), [7], 'the device list after the second commit');
  is((await s.loadDevices(['bob@example.org']))[0]?.trust, 'distrusted', 'the device after the second commit');
  // ADDRS is [A1, A2, A3]: A2 deleted, A1 replaced, A3 added.
  equal(
    hexes(await s.loadSessions(ADDRS)),
    [toHex(bytes(8, 4)), '-', toHex(bytes(8, 3))],
    'sessions A1 (replaced), A2 (deleted), A3 (added) after the second commit',
  );
}

function hexReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? toHex(value) : value;
}

/**
 * Everything a store holds that is reachable through the OmemoStore API for the given JIDs and session
 * addresses, as a canonical string (records sorted, byte arrays as hex): two snapshots are equal exactly when
 * the store returned the same data.
 */
export async function storeSnapshot(
  store: OmemoStore,
  jids: readonly string[],
  addresses: readonly SessionAddress[],
): Promise<string> {
  const identity = await store.loadIdentity();
  const spks = (await store.loadSignedPreKeys()).sort((a, b) => a.id - b.id);
  const pks = (await store.loadPreKeys()).sort((a, b) => a.id - b.id);
  const devices = (await store.loadDevices(jids)).sort((a, b) =>
    (a.jid + a.deviceId).localeCompare(b.jid + b.deviceId),
  );
  const lists: Record<string, unknown> = {};
  for (const jid of jids) {
    for (const v of ['oldmemo', 'twomemo'] as const) lists[`${v} ${jid}`] = await store.loadDeviceList(v, jid);
  }
  const records = await store.loadSessions(addresses);
  const sessions = addresses
    .map((a, i) => [sessionKey(a), records[i]] as const)
    .filter(([, r]) => r !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify({ identity, spks, pks, devices, lists, sessions }, hexReplacer);
}
