// The behaviour every OmemoStore (src/omemo/store.ts) must have, as one uvu suite per implementation:
// reads of an empty store, commit then read back, atomic commits, values copied in and out, batched
// session reads, exact JID matching, deletes. memory-store.test.ts and sqlite-store.test.ts run it.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../src/crypto/bytes';
import { sessionKey, type OmemoStore, type SessionAddress, type StoreChanges, type StoredDevice, type StoredIdentity, type StoredPreKey, type StoredSignedPreKey } from '../../src/omemo/store/store';
import { snapshot } from './manager-fixture';

/** How the suite gets a fresh, empty store of the implementation under test (owned by OWNER_JID). */
export interface StoreFactory {
  open(): Promise<OmemoStore>;
  /** Releases a store the suite is done with (e.g. closes its file). */
  dispose?(store: OmemoStore): void | Promise<void>;
}

/** The account every conformance store belongs to. */
export const OWNER_JID = 'alice@example.org';

export async function rejects(fn: () => Promise<unknown>, pattern?: RegExp): Promise<unknown> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, 'expected a rejection');
  if (pattern) assert.match(String((caught as Error).message), pattern);
  return caught;
}

export const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

export function identity(): StoredIdentity {
  return { jid: OWNER_JID, deviceId: 12345, identityPrivateKey: bytes(32, 1), nextPreKeyId: 3, nextSignedPreKeyId: 2, label: 'phone' };
}
export function spk(id: number): StoredSignedPreKey {
  return { id, privateKey: bytes(32, 10 + id), publicKey: bytes(32, 20 + id), signatures: { oldmemo: bytes(64, 30 + id), twomemo: bytes(64, 40 + id) }, createdAt: 1000 * id };
}
export function pk(id: number, consumed = false): StoredPreKey {
  return { id, privateKey: bytes(32, 50 + id), publicKey: bytes(32, 60 + id), consumed };
}
export function device(jid: string, deviceId: number): StoredDevice {
  return { jid, deviceId, activeIn: ['oldmemo', 'twomemo'], identityKey: bytes(32, deviceId & 255), trust: 'blind', sentSinceLastReceived: 2, lastReceivedAt: 77 };
}
export const A1: SessionAddress = { version: 'oldmemo', jid: 'bob@example.org', deviceId: 1 };
export const A2: SessionAddress = { version: 'twomemo', jid: 'bob@example.org', deviceId: 1 };
export const A3: SessionAddress = { version: 'twomemo', jid: 'carol@example.org', deviceId: 9 };
export const JIDS = ['bob@example.org', 'carol@example.org'];
export const ADDRS = [A1, A2, A3];

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
    putSessions: [{ address: A3, record: bytes(8, 3) }, { address: A1, record: bytes(8, 4) }],
    deleteSessions: [A2],
  };
}

/** Asserts that the store holds exactly fullChanges() followed by secondChanges(). */
export async function assertSecondApplied(s: OmemoStore): Promise<void> {
  assert.is((await s.loadIdentity())!.nextPreKeyId, 99);
  assert.equal((await s.loadSignedPreKeys()).map((k) => k.id), [2]);
  assert.equal((await s.loadPreKeys()).map((k) => k.id), [3]);
  assert.equal(await s.loadDeviceList('oldmemo', 'bob@example.org'), [7]);
  assert.is((await s.loadDevices(['bob@example.org']))[0]!.trust, 'distrusted');
  // ADDRS is [A1, A2, A3]: A2 deleted, A1 replaced, A3 added.
  assert.equal(hexes(await s.loadSessions(ADDRS)), [toHex(bytes(8, 4)), '-', toHex(bytes(8, 3))]);
}

/** Records as hex, '-' where an address has none. */
export const hexes = (rs: (Uint8Array | undefined)[]): string[] => rs.map((r) => (r === undefined ? '-' : toHex(r)));

/** Registers and runs the conformance suite for one implementation. */
export function runStoreConformance(name: string, factory: StoreFactory): void {
  const test = suite<{ stores: OmemoStore[] }>(`${name} conformance`, { stores: [] });
  const open = async (ctx: { stores: OmemoStore[] }) => {
    const s = await factory.open();
    ctx.stores.push(s);
    return s;
  };
  test.after.each(async (ctx) => {
    for (const s of ctx.stores.splice(0)) await factory.dispose?.(s);
  });

  test('an empty store reads as empty/undefined', async (ctx) => {
    const s = await open(ctx);
    assert.is(await s.loadIdentity(), undefined);
    assert.equal(await s.loadSignedPreKeys(), []);
    assert.equal(await s.loadPreKeys(), []);
    assert.is(await s.loadPreKey(1), undefined);
    assert.is(await s.loadDeviceList('oldmemo', 'bob@example.org'), undefined);
    assert.equal(await s.loadDevices(JIDS), []);
    assert.equal(await s.loadSessions(ADDRS), [undefined, undefined, undefined]);
  });

  test('commit writes everything; reads return it', async (ctx) => {
    const s = await open(ctx);
    await s.commit(fullChanges());
    assert.equal(await s.loadIdentity(), identity());
    assert.equal(await s.loadSignedPreKeys(), [spk(1)]);
    assert.equal((await s.loadPreKeys()).sort((a, b) => a.id - b.id), [pk(1), pk(2, true)]);
    assert.equal(await s.loadPreKey(2), pk(2, true));
    assert.equal(await s.loadDeviceList('oldmemo', 'bob@example.org'), [1, 2]);
    assert.is(await s.loadDeviceList('twomemo', 'bob@example.org'), undefined, 'lists are per version');
    assert.equal(await s.loadDevices(['bob@example.org']), [device('bob@example.org', 1)]);
    assert.equal(hexes(await s.loadSessions([A1, A2])), [toHex(bytes(40, 0xa1)), toHex(bytes(40, 0xa2))]);
  });

  test('optional fields stay absent, and values round-trip exactly (order of activeIn, large numbers)', async (ctx) => {
    const s = await open(ctx);
    const { label: _l, ...noLabel } = identity();
    const bare: StoredDevice = { jid: 'bob@example.org', deviceId: 2 ** 31 - 1, activeIn: [], trust: 'undecided', sentSinceLastReceived: 0, lastReceivedAt: 0 };
    const reordered: StoredDevice = { ...device('bob@example.org', 5), activeIn: ['twomemo', 'oldmemo'], label: 'Grüße <&> "x"' };
    const bigSpk = { ...spk(3), createdAt: Date.UTC(2300, 0, 1) };
    await s.commit({ identity: noLabel, putDevices: [bare, reordered], putSignedPreKeys: [bigSpk] });
    const id = await s.loadIdentity();
    assert.equal(id, noLabel);
    assert.not.ok(id !== undefined && 'label' in id, 'no label key at all');
    const devs = (await s.loadDevices(['bob@example.org'])).sort((a, b) => a.deviceId - b.deviceId);
    assert.equal(devs, [reordered, bare]);
    assert.not.ok('identityKey' in devs[1]! || 'label' in devs[1]!, 'absent optional device fields are not present as undefined');
    assert.equal(await s.loadSignedPreKeys(), [bigSpk]);
  });

  test('trust per identity key, silence and kept pre keys round-trip (and stay absent when unset)', async (ctx) => {
    const s = await open(ctx);
    const changed: StoredDevice = {
      ...device('bob@example.org', 3),
      previousIdentities: [
        { identityKey: bytes(32, 0xe1), trust: 'verified' },
        { identityKey: bytes(32, 0xe2), trust: 'distrusted' },
      ],
      unansweredSince: Date.UTC(2026, 11, 1),
    };
    const kept: StoredPreKey = { ...pk(7, true), consumedAt: Date.UTC(2026, 11, 2), acceptedBaseKeys: [bytes(32, 0xb1), bytes(32, 0xb2)] };
    await s.commit({ putDevices: [changed, device('bob@example.org', 4)], putPreKeys: [kept, pk(8)] });
    const devs = (await s.loadDevices(['bob@example.org'])).sort((a, b) => a.deviceId - b.deviceId);
    assert.equal(devs, [changed, device('bob@example.org', 4)]);
    assert.not.ok('previousIdentities' in devs[1]! || 'unansweredSince' in devs[1]!, 'unset fields are absent');
    assert.equal(await s.loadPreKey(7), kept);
    const plain = await s.loadPreKey(8);
    assert.equal(plain, pk(8));
    assert.not.ok('consumedAt' in plain! || 'acceptedBaseKeys' in plain!, 'unset pre key fields are absent');
    (devs[0]!.previousIdentities![0]!.identityKey as Uint8Array)[0] = 0;
    assert.equal((await s.loadDevices(['bob@example.org']))[0], changed, 'previous identities are copied out');
  });

  test('an empty device list is stored as [] (not as "never fetched")', async (ctx) => {
    const s = await open(ctx);
    await s.commit({ putDeviceLists: [{ version: 'twomemo', jid: 'bob@example.org', deviceIds: [] }] });
    assert.equal(await s.loadDeviceList('twomemo', 'bob@example.org'), []);
  });

  test('commit is atomic: an invalid value at the end of a large commit leaves nothing of it visible', async (ctx) => {
    const s = await open(ctx);
    await s.commit(fullChanges());
    const before = await snapshot(s, JIDS, ADDRS);
    const second = secondChanges();
    const dave: SessionAddress = { version: 'twomemo', jid: 'dave@example.org', deviceId: 4 };
    const bad: StoreChanges = { ...second, putSessions: [...second.putSessions!, { address: dave, record: (() => 1) as unknown as Uint8Array }] };
    await rejects(() => s.commit(bad));
    assert.is(await snapshot(s, JIDS, ADDRS), before, 'nothing of the failed commit is visible');
    assert.equal(await s.loadSessions([dave]), [undefined]);
    // The same changes apply once they are valid.
    await s.commit(second);
    assert.is.not(await snapshot(s, JIDS, ADDRS), before);
    await assertSecondApplied(s);
  });

  test('values are copied in: mutating what was committed does not change the store', async (ctx) => {
    const s = await open(ctx);
    const changes = fullChanges();
    await s.commit(changes);
    const before = await snapshot(s, JIDS, ADDRS);
    changes.identity!.identityPrivateKey.fill(0xee);
    changes.identity!.deviceId = 1;
    changes.putSignedPreKeys![0]!.signatures.oldmemo.fill(0xee);
    changes.putSignedPreKeys![0]!.privateKey.fill(0xee);
    changes.putPreKeys![0]!.privateKey.fill(0xee);
    changes.putPreKeys![0]!.consumed = true;
    changes.putDeviceLists![0]!.deviceIds.push(99);
    changes.putDevices![0]!.activeIn.pop();
    changes.putDevices![0]!.identityKey!.fill(0xee);
    changes.putDevices![0]!.trust = 'distrusted';
    changes.putSessions![0]!.record.fill(0xee);
    assert.is(await snapshot(s, JIDS, ADDRS), before);
  });

  test('values are copied out: mutating what was read does not change the store', async (ctx) => {
    const s = await open(ctx);
    await s.commit(fullChanges());
    const before = await snapshot(s, JIDS, ADDRS);
    const id = (await s.loadIdentity())!;
    id.identityPrivateKey.fill(0xee);
    id.nextPreKeyId = 1;
    const spks = await s.loadSignedPreKeys();
    spks[0]!.signatures.twomemo.fill(0xee);
    spks[0]!.publicKey.fill(0xee);
    spks.push(spk(5));
    const pks = await s.loadPreKeys();
    pks[0]!.privateKey.fill(0xee);
    pks[0]!.consumed = true;
    const one = (await s.loadPreKey(1))!;
    one.publicKey.fill(0xee);
    (await s.loadDeviceList('oldmemo', 'bob@example.org'))!.push(5);
    const devs = await s.loadDevices(JIDS);
    devs[0]!.activeIn.length = 0;
    devs[0]!.identityKey!.fill(0xee);
    devs[0]!.sentSinceLastReceived = 1000;
    const sessions = await s.loadSessions(ADDRS);
    for (const r of sessions) r?.fill(0xee);
    assert.is(await snapshot(s, JIDS, ADDRS), before);
  });

  test('loadSessions is one batched read: one entry per address in order, undefined where none, version-distinct', async (ctx) => {
    const s = await open(ctx);
    const addrs: SessionAddress[] = [];
    const puts: { address: SessionAddress; record: Uint8Array }[] = [];
    for (let i = 1; i <= 300; i++) {
      for (const version of ['oldmemo', 'twomemo'] as const) {
        const address = { version, jid: `user${i % 30}@example.org`, deviceId: i };
        addrs.push(address);
        if (i % 3 !== 0) puts.push({ address, record: Uint8Array.of(version === 'oldmemo' ? 1 : 2, i & 255, i >> 8) });
      }
    }
    await s.commit({ putSessions: puts });
    const got = await s.loadSessions(addrs);
    assert.is(got.length, addrs.length);
    const stored = new Map(puts.map((p) => [sessionKey(p.address), toHex(p.record)]));
    assert.equal(hexes(got), addrs.map((a) => stored.get(sessionKey(a)) ?? '-'));
    // Same device id, other JID or other version: not found.
    const other = await s.loadSessions([{ version: 'oldmemo', jid: 'nobody@example.org', deviceId: 1 }]);
    assert.equal(other, [undefined]);
    // Asking for an address twice or in any order gives the same records, each in its place.
    const twice = await s.loadSessions([A1, addrs[0]!, addrs[0]!]);
    assert.equal(hexes(twice), ['-', '010100', '010100']);
    assert.equal(await s.loadSessions([]), []);
  });

  test('loadDevices returns exactly the devices of the given JIDs', async (ctx) => {
    const s = await open(ctx);
    await s.commit({ putDevices: [device('bob@example.org', 1), device('bob@example.org', 2), device('carol@example.org', 3), device('bob@example.org.evil', 4)] });
    assert.equal((await s.loadDevices(['bob@example.org'])).map((d) => d.deviceId).sort(), [1, 2]);
    assert.equal((await s.loadDevices(['carol@example.org', 'bob@example.org'])).map((d) => d.deviceId).sort(), [1, 2, 3]);
    assert.equal((await s.loadDevices(['BOB@example.org', 'bob@example.org/res', 'bob@example'])).length, 0, 'no case folding, no prefix match');
    assert.equal(await s.loadDevices([]), []);
    // A put replaces the record of the same (jid, device id).
    await s.commit({ putDevices: [{ ...device('bob@example.org', 1), trust: 'verified' }] });
    const bob = await s.loadDevices(['bob@example.org']);
    assert.is(bob.length, 2);
    assert.is(bob.find((d) => d.deviceId === 1)!.trust, 'verified');
  });

  test('deletes remove exactly what they name; a put and a delete of the same key in one commit deletes', async (ctx) => {
    const s = await open(ctx);
    await s.commit({ putSignedPreKeys: [spk(1), spk(2)], putPreKeys: [pk(1), pk(2), pk(3)], putSessions: [{ address: A1, record: bytes(4, 1) }, { address: A2, record: bytes(4, 2) }] });
    await s.commit({ deleteSignedPreKeys: [1], deletePreKeys: [2], deleteSessions: [A2] });
    assert.equal((await s.loadSignedPreKeys()).map((k) => k.id), [2]);
    assert.equal((await s.loadPreKeys()).map((k) => k.id).sort(), [1, 3]);
    assert.is(await s.loadPreKey(2), undefined);
    assert.equal(hexes(await s.loadSessions(ADDRS)), [toHex(bytes(4, 1)), '-', '-']);
    // Deleting what is not there is no error.
    await s.commit({ deleteSignedPreKeys: [42], deletePreKeys: [42], deleteSessions: [A3] });
    await s.commit({ putPreKeys: [pk(7)], deletePreKeys: [7], putSessions: [{ address: A3, record: bytes(4, 3) }], deleteSessions: [A3] });
    assert.is(await s.loadPreKey(7), undefined);
    assert.equal(await s.loadSessions([A3]), [undefined]);
  });

  test('reads during a commit see all of it or none of it; reads after it see all of it', async (ctx) => {
    const s = await open(ctx);
    await s.commit(fullChanges());
    const before = await snapshot(s, JIDS, ADDRS);
    // One read of the sessions changed by secondChanges(), as the hex of A1 | A2 | A3 (absent: '-').
    const readSessions = async () => {
      return hexes(await s.loadSessions(ADDRS)).join('|');
    };
    const old = await readSessions();
    const reads: Promise<string>[] = [];
    const listReads: Promise<number[] | undefined>[] = [];
    const committing = s.commit(secondChanges());
    let done = false;
    void committing.then(() => (done = true), () => (done = true));
    // Keep reading until the commit has returned (at least a few reads, however fast the store is).
    while (!done || reads.length < 4) {
      reads.push(readSessions());
      listReads.push(s.loadDeviceList('oldmemo', 'bob@example.org'));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await committing;
    const after = await readSessions();
    assert.is.not(after, old);
    for (const r of await Promise.all(reads)) assert.ok(r === old || r === after, `a read saw part of a commit: ${r}`);
    for (const l of await Promise.all(listReads)) assert.ok(['1,2', '7'].includes(String(l)), `list ${String(l)}`);
    await assertSecondApplied(s);
    assert.is.not(await snapshot(s, JIDS, ADDRS), before);
  });

  test.run();
}
