// The manager's cache of device records (src/omemo/manager/manager-core.ts loadDevicesOf): copies handed out, kept
// current by commits, never filled by a read that a commit overtook, forgotten when staged changes are lost.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManagerCore } from '../../src/omemo/manager/manager-core';
import type { OmemoTransport } from '../../src/omemo/manager/transport';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import type { StagedCommit, StoreChanges, StoredDevice } from '../../src/omemo/store/store';
import { device } from './store-conformance';

const BOB = 'bob@example.org';

function coreOn(store: MemoryStore): ManagerCore {
  return new ManagerCore({ jid: 'alice@example.org', store, transport: {} as OmemoTransport });
}

const counts = (ds: StoredDevice[]) => ds.map((d) => [d.jid, d.deviceId, d.sentSinceLastReceived]);

test('records are handed out as copies: changing one changes nothing', async () => {
  const store = new MemoryStore();
  await store.commit({ putDevices: [device(BOB, 1)] });
  const core = coreOn(store);
  const first = await core.loadDevicesOf([BOB]);
  first[0]!.sentSinceLastReceived = 40;
  first[0]!.activeIn.pop();
  first[0]!.identityKey!.fill(0xee);
  const again = await core.loadDevicesOf([BOB]);
  assert.equal(again, [device(BOB, 1)]);
  again[0]!.sentSinceLastReceived = 41;
  assert.equal(await core.loadDevicesOf([BOB]), [device(BOB, 1)], 'a copy of the cached record');
});

test('commits keep the cache current, and it serves reads without the store', async () => {
  const store = new MemoryStore();
  await store.commit({ putDevices: [device(BOB, 1)] });
  const core = coreOn(store);
  await core.loadDevicesOf([BOB, 'carol@example.org']);
  const mine = { ...device(BOB, 1), sentSinceLastReceived: 7 };
  await core.commit({ putDevices: [mine, device(BOB, 2), device('dave@example.org', 4)] });
  mine.sentSinceLastReceived = 8; // the committed record is kept, not the caller's object
  let reads = 0;
  const load = store.loadDevices.bind(store);
  store.loadDevices = (jids) => {
    reads++;
    return load(jids);
  };
  assert.equal(counts(await core.loadDevicesOf([BOB, 'carol@example.org'])), [
    [BOB, 1, 7],
    [BOB, 2, 2],
  ]);
  assert.is(reads, 0, 'served from the cache');
  assert.equal(counts(await core.loadDevicesOf(['dave@example.org'])), [['dave@example.org', 4, 2]]);
  assert.is(reads, 1, 'a JID not read before is read from the store');
});

test('a read that a commit overtook is not cached', async () => {
  const store = new MemoryStore();
  await store.commit({ putDevices: [device(BOB, 1)] });
  const core = coreOn(store);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const load = store.loadDevices.bind(store);
  store.loadDevices = async (jids) => {
    const before = await load(jids); // read now, answered late
    await gate;
    return before;
  };
  const late = core.loadDevicesOf([BOB]);
  await new Promise((resolve) => setImmediate(resolve));
  await core.commit({ putDevices: [{ ...device(BOB, 1), sentSinceLastReceived: 9 }] });
  release();
  assert.equal(counts(await late), [[BOB, 1, 2]], 'the late read answers with what it read');
  store.loadDevices = load;
  assert.equal(counts(await core.loadDevicesOf([BOB])), [[BOB, 1, 9]], 'the commit, not the late read');
});

test('staged changes that are lost leave the cache: reads show the durable records again', async () => {
  class LosingStore extends MemoryStore {
    stage(_changes: StoreChanges): StagedCommit {
      const durable = new Promise<void>((_, reject) =>
        setTimeout(() => reject(new Error('disk I/O error (simulated)')), 5),
      );
      durable.catch(() => undefined);
      return { durable };
    }
  }
  const store = new LosingStore();
  await store.commit({ putDevices: [device(BOB, 1)] });
  const core = coreOn(store);
  await core.loadDevicesOf([BOB]);
  core.beginOperation();
  await core.commit({ putDevices: [{ ...device(BOB, 1), sentSinceLastReceived: 30 }] }, [], true);
  assert.equal(counts(await core.loadDevicesOf([BOB])), [[BOB, 1, 30]], 'staged: visible');
  try {
    await core.settle();
  } catch {
    // the loss, reported to the operation
  }
  assert.equal(counts(await core.loadDevicesOf([BOB])), [[BOB, 1, 2]], 'lost: the store again');
});

test('a cached record taken over in place by a commit never aliases what was committed', async () => {
  const store = new MemoryStore();
  await store.commit({ putDevices: [device(BOB, 1)] });
  const core = coreOn(store);
  await core.loadDevicesOf([BOB]);
  const mine = { ...device(BOB, 1), sentSinceLastReceived: 9, activeIn: ['twomemo'] as StoredDevice['activeIn'] };
  mine.identityKey = new Uint8Array(32).fill(0x42);
  await core.commit({ putDevices: [mine] });
  const expected = structuredClone(mine);
  mine.activeIn.push('oldmemo');
  mine.identityKey.fill(0);
  mine.sentSinceLastReceived = 10;
  assert.equal(await core.loadDevicesOf([BOB]), [expected]);
  const { lastReceivedAt: _, ...rest } = expected;
  const other = { ...rest, lastReceivedAt: 5, unansweredSince: 3 };
  await core.commit({ putDevices: [other] });
  assert.equal(await core.loadDevicesOf([BOB]), [other], 'a field added by a later commit is there');
});

test.run();
