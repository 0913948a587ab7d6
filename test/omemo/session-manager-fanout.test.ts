// OmemoManager fan-out: stale devices, batched store access for 200 devices, and store failures that must
// neither desynchronise sessions nor leave memory and store disagreeing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { serializeDeviceList } from '../../src/omemo/versions/by-version';
import { parseEncrypted } from '../../src/omemo/versions/by-version';
import { pepLocations } from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { STALE_DEVICE_AFTER_DAYS, STALE_DEVICE_AFTER_MESSAGES } from '../../src/omemo/manager/session-manager';
import { parseKeyExchange } from '../../src/protocol/wire';
import {
  CountingStore,
  InProcessRouter,
  VERSIONS,
  elementOf,
  openDevice,
  rejectsWith,
  snapshot,
  syncDeviceLists,
  type Device,
} from './manager-fixture';

test.before(async () => {
  await cryptoReady();
});

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

for (const version of VERSIONS) {
  const versions: OmemoVersion[] = [version];

  test(`${version}: a device silent for ${STALE_DEVICE_AFTER_MESSAGES} messages and ${STALE_DEVICE_AFTER_DAYS} days is skipped until it speaks`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    const b1 = await openDevice(router, BOB, 'b1', { versions });
    const b2 = await openDevice(router, BOB, 'b2', { versions });
    await syncDeviceLists(router, [alice, b1, b2]);
    // b1 reads the first message but its answer is lost; b2 answers.
    const first = elementOf(await alice.m.encrypt([BOB], 'm1'), version);
    await b1.m.decrypt(ALICE, first);
    const fromB2 = await b2.m.decrypt(ALICE, first);
    router.drain(alice.inbox);
    await alice.m.decrypt(BOB, fromB2.sent[0]!.xml);
    for (let i = 2; i < STALE_DEVICE_AFTER_MESSAGES; i++) await alice.m.encrypt([BOB], `m${i}`);
    const info = async (d: Device) => (await alice.m.devices(BOB)).find((x) => x.deviceId === d.m.deviceId)!;
    assert.is((await info(b1)).stale, false, `after ${STALE_DEVICE_AFTER_MESSAGES - 1}`);
    const last = await alice.m.encrypt([BOB], 'last one for b1');
    assert.is(
      last.devices.find((d) => d.deviceId === b1.m.deviceId)?.ok,
      true,
      `message ${STALE_DEVICE_AFTER_MESSAGES} still goes to b1`,
    );
    assert.is((await info(b1)).stale, false, 'many messages in a short time are no reason');
    alice.clock.advance(STALE_DEVICE_AFTER_DAYS * 24 * 3600 * 1000 - 60_000);
    assert.is((await info(b1)).stale, false, 'one minute before the time is up');
    alice.clock.advance(60_000);
    assert.is((await info(b1)).stale, true);
    // b2 keeps answering now and then, so it is never stale.
    await alice.m.decrypt(BOB, elementOf(await b2.m.encrypt([ALICE], 'b2 here'), version));
    assert.is((await info(b2)).stale, false);

    const skipped = await alice.m.encrypt([BOB], 'b1 is stale');
    const rep = skipped.devices.find((d) => d.deviceId === b1.m.deviceId);
    assert.is(rep?.ok, false);
    assert.is(rep?.error, 'stale-device');
    assert.equal(
      parseEncrypted(elementOf(skipped, version)).keys.map((k) => k.rid),
      [b2.m.deviceId],
    );
    // A recipient whose only device is stale is refused.
    await alice.m.setTrust(BOB, b2.m.deviceId, 'distrusted');
    const e = await rejectsWith(alice.m.encrypt([BOB], 'x'), 'no-eligible-devices');
    assert.match(e.message, /stale-device/);
    await alice.m.setTrust(BOB, b2.m.deviceId, 'blind');

    // b1 speaks again: it is used again and reads alice's next message.
    const back = await alice.m.decrypt(BOB, elementOf(await b1.m.encrypt([ALICE], 'I am back'), version));
    assert.is(back.text, 'I am back');
    assert.is((await info(b1)).stale, false);
    const again = await alice.m.encrypt([BOB], 'welcome back');
    assert.is(again.devices.find((d) => d.deviceId === b1.m.deviceId)?.ok, true);
    assert.is((await b1.m.decrypt(ALICE, elementOf(again, version))).text, 'welcome back');
  });

  test(`${version}: encrypting to 200 devices (40 accounts × 5) is one loadSessions and one commit`, async () => {
    const router = new InProcessRouter();
    // One real device lends its bundle to all 200 devices; it is itself device 0 of account 0.
    const real = await openDevice(router, 'user0@example.org', 'real', { versions });
    const loc = pepLocations(version, real.m.deviceId);
    const bundle = router.item(real.jid, loc.bundleNode, loc.bundleItemId)!;
    const jids: string[] = [];
    for (let a = 0; a < 40; a++) {
      const jid = `user${a}@example.org`;
      jids.push(jid);
      const ids =
        a === 0
          ? [real.m.deviceId, 11, 12, 13, 14]
          : [a * 10 + 1, a * 10 + 2, a * 10 + 3, a * 10 + 4, a * 10 + 5].map((x) => x + 1000);
      router.setItem(
        jid,
        pepLocations(version, 1).deviceListNode,
        'current',
        serializeDeviceList(
          ids.map((id) => ({ id })),
          version,
        ),
      );
      for (const id of ids) {
        const l = pepLocations(version, id);
        router.setItem(jid, l.bundleNode, l.bundleItemId, bundle);
      }
    }
    const store = new CountingStore();
    const alice = await openDevice(router, ALICE, 'a', { versions, store });
    const c0 = store.commitCalls;
    const l0 = store.loadSessionsCalls;
    const r = await alice.m.encrypt(jids, 'to everyone');
    assert.is(store.commitCalls - c0, 1, 'one commit');
    assert.is(store.loadSessionsCalls - l0, 1, 'one batched session read');
    assert.is(store.loadSessionsSizes.at(-1), 200);
    assert.is(r.devices.length, 200);
    assert.ok(
      r.devices.every((d) => d.ok),
      JSON.stringify(r.devices.filter((d) => !d.ok).slice(0, 3)),
    );
    const keys = parseEncrypted(elementOf(r, version)).keys;
    assert.is(keys.length, 200);
    // All 200 sessions were built from the same bundle: each picked a random one of its 100 pre keys.
    const picked = new Set(keys.map((k) => parseKeyExchange(version, k.data).preKeyId));
    assert.ok(picked.size > 50, `only ${picked.size} distinct pre keys used`);
    assert.is((await real.m.decrypt(ALICE, elementOf(r, version))).text, 'to everyone', 'the output is real');

    // A fresh process on the same store: the 200 sessions come from one read, one commit again.
    const again = await openDevice(router, ALICE, 'a', { versions, store, publish: false });
    const c1 = store.commitCalls;
    const l1 = store.loadSessionsCalls;
    const r2 = await again.m.encrypt(jids, 'second');
    assert.is(store.commitCalls - c1, 1);
    assert.is(store.loadSessionsCalls - l1, 1);
    assert.is(store.loadSessionsSizes.at(-1), 200);
    assert.ok(r2.devices.every((d) => d.ok));
    assert.is((await real.m.decrypt(ALICE, elementOf(r2, version))).text, 'second');
    // Sessions now cached in memory: no read at all, still one commit.
    const l2 = store.loadSessionsCalls;
    const c2 = store.commitCalls;
    await again.m.encrypt(jids, 'third');
    assert.is(store.loadSessionsCalls - l2, 0);
    assert.is(store.commitCalls - c2, 1);
  });

  test(`${version}: a failing commit rejects encrypt with 'store-error' and does not desynchronise`, async () => {
    const router = new InProcessRouter();
    const store = new CountingStore();
    const alice = await openDevice(router, ALICE, 'a', { versions, store });
    const b1 = await openDevice(router, BOB, 'b1', { versions });
    const b2 = await openDevice(router, BOB, 'b2', { versions });
    await syncDeviceLists(router, [alice, b1, b2]);
    // b1's session is complete (alice read its answer); b2's is still a pending key exchange.
    const setup = elementOf(await alice.m.encrypt([BOB], 'setup'), version);
    const done = await b1.m.decrypt(ALICE, setup);
    await b2.m.decrypt(ALICE, setup);
    await alice.m.decrypt(BOB, done.sent[0]!.xml);
    const m = await alice.m.encrypt([BOB], 'm');
    assert.equal(
      m.devices.map((d) => [d.deviceId, d.keyExchange]).sort(),
      [
        [b1.m.deviceId, false],
        [b2.m.deviceId, true],
      ].sort(),
    );
    for (const b of [b1, b2]) await b.m.decrypt(ALICE, elementOf(m, version));

    for (let round = 0; round < 2; round++) {
      store.failCommits = 1;
      const e = await rejectsWith(alice.m.encrypt([BOB], `lost ${round}`), 'store-error');
      assert.is(e.cause, store.failure, 'the store error is the cause');
      const r = await alice.m.encrypt([BOB], `after failure ${round}`);
      assert.ok(r.devices.every((d) => d.ok));
      for (const b of [b1, b2])
        assert.is((await b.m.decrypt(ALICE, elementOf(r, version))).text, `after failure ${round}`);
    }
    // And after a restart of alice on the same store.
    const restarted = await openDevice(router, ALICE, 'a', { versions, store, publish: false });
    const r = await restarted.m.encrypt([BOB], 'after restart');
    for (const b of [b1, b2]) assert.is((await b.m.decrypt(ALICE, elementOf(r, version))).text, 'after restart');
  });

  test(`${version}: a failing commit on the very first message (new sessions) leaves no trace`, async () => {
    const router = new InProcessRouter();
    const store = new CountingStore();
    const alice = await openDevice(router, ALICE, 'a', { versions, store });
    const bob = await openDevice(router, BOB, 'b', { versions });
    await syncDeviceLists(router, [alice, bob]);
    const addr = [{ version, jid: BOB, deviceId: bob.m.deviceId }];
    const before = await snapshot(store, [BOB], addr);
    store.failCommits = 1;
    await rejectsWith(alice.m.encrypt([BOB], 'lost'), 'store-error');
    assert.is(await snapshot(store, [BOB], addr), before);
    const r = await alice.m.encrypt([BOB], 'first real');
    assert.is((await bob.m.decrypt(ALICE, elementOf(r, version))).text, 'first real');
  });
}

test('device lists are read from the store once, then follow updates and failed commits from memory', async () => {
  const router = new InProcessRouter();
  const alice = await openDevice(router, ALICE, 'a', { versions: ['twomemo'] });
  const b1 = await openDevice(router, BOB, 'b1', { versions: ['twomemo'] });
  await syncDeviceLists(router, [alice, b1]);
  const store = alice.store as CountingStore;
  await alice.m.encrypt([BOB], 'one');
  const reads = store.loadDeviceListCalls;
  await alice.m.encrypt([BOB], 'two');
  assert.is(store.loadDeviceListCalls, reads, 'the second send reads no device list');
  // A device announced later is used at once, still without a read.
  const b2 = await openDevice(router, BOB, 'b2', { versions: ['twomemo'] });
  await syncDeviceLists(router, [alice, b1, b2]);
  const third = await alice.m.encrypt([BOB], 'three');
  assert.equal(
    third.devices
      .filter((d) => d.ok)
      .map((d) => d.deviceId)
      .sort(),
    [b1.m.deviceId, b2.m.deviceId].sort(),
  );
  assert.is(store.loadDeviceListCalls, reads);
  // A list update whose commit fails is not taken: memory follows the store.
  store.failCommits = 1;
  await rejectsWith(
    () => alice.m.onDeviceListUpdate(BOB, 'twomemo', serializeDeviceList([{ id: b1.m.deviceId }], 'twomemo')),
    'store-error',
  );
  const fourth = await alice.m.encrypt([BOB], 'four');
  assert.equal(
    fourth.devices
      .filter((d) => d.ok)
      .map((d) => d.deviceId)
      .sort(),
    [b1.m.deviceId, b2.m.deviceId].sort(),
    'b2 is still listed',
  );
});

test.run();
