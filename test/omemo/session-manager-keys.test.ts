// OmemoManager, own identity and keys: device id choice, publishing (nodes, item ids, publish options),
// re-opening, store ownership, own device-list repair, pre key replacement and signed pre key rotation.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8Encode } from '../../src/crypto/bytes';
import { seededRng } from '../../src/crypto/random';
import { cryptoReady } from '../../src/crypto/ready';
import { parseBundle, serializeBundle } from '../../src/omemo/versions/by-version';
import { verifyBundleSignature } from '../../src/omemo/stanzas/bundle-signature';
import { parseDeviceList, serializeDeviceList } from '../../src/omemo/versions/by-version';
import { NODE_LEGACY_DEVICELIST } from '../../src/omemo/versions/oldmemo';
import { NODE_OMEMO2_BUNDLES, NODE_OMEMO2_DEVICES } from '../../src/omemo/versions/twomemo';
import { pepLocations } from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { PRE_KEY_COUNT, SIGNED_PRE_KEY_ROTATION_MS } from '../../src/omemo/manager/session-manager';
import {
  Clock,
  CountingStore,
  InProcessRouter,
  VERSIONS,
  elementOf,
  openDevice,
  rejectsWith,
  snapshot,
  type Device,
} from './manager-fixture';

test.before(async () => {
  await cryptoReady();
});

const MAX_ID = 0x7fffffff;
const DAY = 24 * 3600 * 1000;

/** The device ids `randomId` draws from a seeded rng, in order (4 bytes each, top bit cleared, 0 skipped). */
function drawnIds(seed: string, n: number): number[] {
  const rng = seededRng(utf8Encode(seed));
  const out: number[] = [];
  while (out.length < n) {
    const b = rng(4);
    const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) & MAX_ID;
    if (v !== 0) out.push(v);
  }
  return out;
}

function bundleOf(router: InProcessRouter, jid: string, deviceId: number, version: OmemoVersion) {
  const loc = pepLocations(version, deviceId);
  const xml = router.item(jid, loc.bundleNode, loc.bundleItemId);
  assert.ok(xml, `no ${version} bundle for ${jid}/${deviceId}`);
  return parseBundle(xml!, version);
}

function listOf(router: InProcessRouter, jid: string, version: OmemoVersion): number[] {
  const xml = router.item(jid, pepLocations(version, 1).deviceListNode, 'current');
  assert.ok(xml, `no ${version} device list for ${jid}`);
  return parseDeviceList(xml!, version).map((d) => d.id);
}

test('a new manager picks a random device id that is not in its published device lists', async () => {
  const seed = 'device-id-choice';
  const [first, second, third] = drawnIds(seed, 3);
  const router = new InProcessRouter();
  const jid = 'alice@example.org';
  // The first draw is taken in the 0.3 list, the second in the OMEMO 2 list: the third must be chosen.
  router.setItem(jid, NODE_LEGACY_DEVICELIST, 'current', serializeDeviceList([{ id: first! }, { id: 111 }], 'oldmemo'));
  router.setItem(jid, NODE_OMEMO2_DEVICES, 'current', serializeDeviceList([{ id: 222 }, { id: second! }], 'twomemo'));
  const a = await openDevice(router, jid, 'phone', { rng: seededRng(utf8Encode(seed)) });
  assert.is(a.m.deviceId, third);
  assert.ok(a.m.deviceId >= 1 && a.m.deviceId <= MAX_ID);
  // Announcing keeps the devices already listed.
  assert.equal(listOf(router, jid, 'oldmemo').sort(), [first!, 111, third!].sort());
  assert.equal(listOf(router, jid, 'twomemo').sort(), [222, second!, third!].sort());
});

test('the device id is in 1..2^31-1 and avoids many taken ids', async () => {
  for (let round = 0; round < 3; round++) {
    const router = new InProcessRouter();
    const jid = `user${round}@example.org`;
    const seed = `many-taken-${round}`;
    const taken = drawnIds(seed, 8); // the first eight draws are all taken
    for (let i = 0; i < 150; i++) taken.push(1 + ((i * 2654435761) % MAX_ID));
    const unique = [...new Set(taken)];
    router.setItem(
      jid,
      NODE_LEGACY_DEVICELIST,
      'current',
      serializeDeviceList(
        unique.slice(0, 150).map((id) => ({ id })),
        'oldmemo',
      ),
    );
    router.setItem(
      jid,
      NODE_OMEMO2_DEVICES,
      'current',
      serializeDeviceList(
        unique.slice(50).map((id) => ({ id })),
        'twomemo',
      ),
    );
    const a = await openDevice(router, jid, 'x', { rng: seededRng(utf8Encode(seed)) });
    assert.ok(Number.isInteger(a.m.deviceId) && a.m.deviceId >= 1 && a.m.deviceId <= MAX_ID);
    assert.not.ok(unique.includes(a.m.deviceId), `picked taken id ${a.m.deviceId}`);
    assert.is(a.m.deviceId, drawnIds(seed, 9)[8]);
  }
});

test('open publishes, per version, the bundle and a device list with the right nodes, item ids and options', async () => {
  const router = new InProcessRouter();
  const a = await openDevice(router, 'alice@example.org', 'phone', { label: 'Phone' });
  const id = a.m.deviceId;
  const mine = router.publishes.filter((p) => p.jid === 'alice@example.org');
  const key = (p: { node: string; itemId: string }) => `${p.node} ${p.itemId}`;
  assert.equal(
    mine.map(key).sort(),
    [
      `eu.siacs.conversations.axolotl.bundles:${id} current`,
      'eu.siacs.conversations.axolotl.devicelist current',
      `urn:xmpp:omemo:2:bundles ${id}`,
      'urn:xmpp:omemo:2:devices current',
    ].sort(),
  );
  const byNode = new Map(mine.map((p) => [p.node, p]));
  assert.equal(
    { ...byNode.get(`eu.siacs.conversations.axolotl.bundles:${id}`)!.options },
    { 'pubsub#access_model': 'open' },
  );
  assert.equal(
    { ...byNode.get('eu.siacs.conversations.axolotl.devicelist')!.options },
    { 'pubsub#access_model': 'open' },
  );
  assert.equal(
    { ...byNode.get(NODE_OMEMO2_BUNDLES)!.options },
    { 'pubsub#access_model': 'open', 'pubsub#max_items': 'max' },
  );
  assert.equal({ ...byNode.get(NODE_OMEMO2_DEVICES)!.options }, { 'pubsub#access_model': 'open' });
  // Each bundle is complete and validly signed, its identity is our fingerprint, and a list contains us.
  for (const version of VERSIONS) {
    const b = bundleOf(router, 'alice@example.org', id, version);
    assert.is(b.preKeys.length, PRE_KEY_COUNT);
    assert.equal(
      b.preKeys.map((k) => k.id).sort((x, y) => x - y),
      Array.from({ length: PRE_KEY_COUNT }, (_, i) => i + 1),
    );
    assert.ok(verifyBundleSignature(b, version), `${version} bundle signature`);
    assert.equal(listOf(router, 'alice@example.org', version), [id]);
    assert.is(
      router.item('alice@example.org', pepLocations(version, id).bundleNode, pepLocations(version, id).bundleItemId),
      a.m.bundleXml(version),
    );
  }
  assert.is(toHex(bundleOf(router, 'alice@example.org', id, 'oldmemo').identityKey), a.m.fingerprint);
  // OMEMO 2 device list carries the label; the 0.3 list never has attributes other than id.
  const two = router.item('alice@example.org', NODE_OMEMO2_DEVICES, 'current')!;
  assert.equal(parseDeviceList(two, 'twomemo'), [{ id, label: 'Phone' }]);
  assert.not.match(router.item('alice@example.org', NODE_LEGACY_DEVICELIST, 'current')!, /label/);
  // The bundle is published before the device list that announces it.
  const order = mine.map((p) => p.node);
  assert.ok(order.indexOf(`eu.siacs.conversations.axolotl.bundles:${id}`) < order.indexOf(NODE_LEGACY_DEVICELIST));
  assert.ok(order.indexOf(NODE_OMEMO2_BUNDLES) < order.indexOf(NODE_OMEMO2_DEVICES));
});

test('only enabled versions are published; publish:false publishes nothing', async () => {
  for (const version of VERSIONS) {
    const router = new InProcessRouter();
    const a = await openDevice(router, 'alice@example.org', 'x', { versions: [version] });
    const loc = pepLocations(version, a.m.deviceId);
    assert.equal(router.publishes.map((p) => p.node).sort(), [loc.bundleNode, loc.deviceListNode].sort());
    assert.throws(
      () => a.m.bundleXml(version === 'oldmemo' ? 'twomemo' : 'oldmemo'),
      (e: unknown) => e instanceof TypeError,
    );
  }
  const router = new InProcessRouter();
  const quiet = await openDevice(router, 'alice@example.org', 'x', { publish: false });
  assert.is(router.publishes.length, 0);
  await quiet.m.publish();
  assert.is(router.publishes.length, 4);
});

test('re-opening with the same store keeps identity, device id and pre keys', async () => {
  const router = new InProcessRouter();
  const store = new CountingStore();
  const clock = new Clock();
  const a = await openDevice(router, 'alice@example.org', 'phone', { store, clock });
  const before = { id: a.m.deviceId, fp: a.m.fingerprint, pks: a.m.preKeyIds(), bundle: a.m.bundleXml('twomemo') };
  const snap = await snapshot(store, [], []);
  const commits = store.commits;
  // Another rng: nothing may be generated anew.
  const again = await openDevice(router, 'alice@example.org', 'phone', {
    store,
    clock,
    rng: seededRng(utf8Encode('other')),
  });
  assert.is(again.m.deviceId, before.id);
  assert.is(again.m.fingerprint, before.fp);
  assert.equal(again.m.preKeyIds(), before.pks);
  assert.is(again.m.bundleXml('twomemo'), before.bundle);
  assert.is(await snapshot(store, [], []), snap, 'no key material changed');
  assert.ok(store.commits - commits <= 1, 'at most the device-list bookkeeping of publish()');
  // A full JID works too (the resource is ignored).
  const third = await openDevice(router, 'alice@example.org/laptop', 'phone', { store, clock, publish: false });
  assert.is(third.m.deviceId, before.id);
});

test("a store of another JID is refused with 'store-owner-mismatch'", async () => {
  const router = new InProcessRouter();
  const store = new CountingStore();
  await openDevice(router, 'alice@example.org', 'phone', { store });
  const snap = await snapshot(store, [], []);
  const publishes = router.publishes.length;
  await rejectsWith(openDevice(router, 'mallory@example.org', 'phone', { store }), 'store-owner-mismatch');
  await rejectsWith(openDevice(router, 'Alice@example.org.evil', 'phone', { store }), 'store-owner-mismatch');
  assert.is(await snapshot(store, [], []), snap);
  assert.is(router.publishes.length, publishes, 'nothing published for the wrong account');
});

test('an own device-list update without our device re-announces us with the other devices', async () => {
  for (const version of VERSIONS) {
    const router = new InProcessRouter();
    const a = await openDevice(router, 'alice@example.org', 'phone', { versions: [version] });
    const node = pepLocations(version, 1).deviceListNode;
    const foreign = serializeDeviceList([{ id: 77 }, { id: 88 }], version);
    router.setItem('alice@example.org', node, 'current', foreign); // another client dropped us
    const n = router.publishes.length;
    await a.m.onDeviceListUpdate('alice@example.org', version, foreign);
    const republished = router.publishes.slice(n).filter((p) => p.node === node);
    assert.is(republished.length, 1, `${version}: one device-list publish`);
    assert.is(republished[0]!.itemId, 'current');
    assert.equal({ ...republished[0]!.options }, { 'pubsub#access_model': 'open' });
    assert.equal(
      parseDeviceList(republished[0]!.xml, version)
        .map((d) => d.id)
        .sort(),
      [77, 88, a.m.deviceId].sort(),
    );
    // The other devices are now known as our other devices.
    assert.equal((await a.m.devices('alice@example.org')).map((d) => d.deviceId).sort(), [77, 88]);
    // An update that contains us publishes nothing.
    const m = router.publishes.length;
    await a.m.onDeviceListUpdate(
      'alice@example.org',
      version,
      serializeDeviceList([{ id: 77 }, { id: a.m.deviceId }], version),
    );
    assert.is(router.publishes.length, m);
    // Someone else's list without us is none of our business.
    await a.m.onDeviceListUpdate('bob@example.org', version, serializeDeviceList([{ id: 5 }], version));
    assert.is(router.publishes.length, m);
  }
});

test('a device label follows the OMEMO 2 list (set, changed, removed); 0.3 lists, which have none, keep it', async () => {
  const router = new InProcessRouter();
  const a = await openDevice(router, 'alice@example.org', 'phone');
  const label = async () => (await a.m.devices('bob@example.org')).find((d) => d.deviceId === 5)?.label;
  await a.m.onDeviceListUpdate('bob@example.org', 'twomemo', serializeDeviceList([{ id: 5 }], 'twomemo'));
  assert.is(await label(), undefined);
  await a.m.onDeviceListUpdate(
    'bob@example.org',
    'twomemo',
    serializeDeviceList([{ id: 5, label: 'Laptop' }], 'twomemo'),
  );
  assert.is(await label(), 'Laptop', 'a label added later is taken');
  await a.m.onDeviceListUpdate('bob@example.org', 'oldmemo', serializeDeviceList([{ id: 5 }], 'oldmemo'));
  assert.is(await label(), 'Laptop', 'a 0.3 list does not clear it');
  await a.m.onDeviceListUpdate(
    'bob@example.org',
    'twomemo',
    serializeDeviceList([{ id: 5, label: 'Work laptop' }], 'twomemo'),
  );
  assert.is(await label(), 'Work laptop');
  await a.m.onDeviceListUpdate('bob@example.org', 'twomemo', serializeDeviceList([{ id: 5 }], 'twomemo'));
  assert.is(await label(), undefined, 'a removed label is removed');
});

test('an empty own device list (e.g. after a server reset) is repaired too', async () => {
  for (const version of VERSIONS) {
    const router = new InProcessRouter();
    const a = await openDevice(router, 'alice@example.org', 'phone', { versions: [version] });
    const n = router.publishes.length;
    await a.m.onDeviceListUpdate('alice@example.org', version, serializeDeviceList([], version));
    const lists = router.publishes.slice(n).filter((p) => p.node === pepLocations(version, 1).deviceListNode);
    assert.is(lists.length, 1);
    assert.equal(
      parseDeviceList(lists[0]!.xml, version).map((d) => d.id),
      [a.m.deviceId],
    );
  }
});

/** Bob's bundle re-published with only its first pre key, so every sender has to use that one. */
function pinOnePreKey(router: InProcessRouter, jid: string, deviceId: number, version: OmemoVersion): number {
  const loc = pepLocations(version, deviceId);
  const b = parseBundle(router.item(jid, loc.bundleNode, loc.bundleItemId)!, version);
  const pk = b.preKeys[0]!;
  router.setItem(jid, loc.bundleNode, loc.bundleItemId, serializeBundle({ ...b, preKeys: [pk] }, version));
  return pk.id;
}

test('100 pre keys; a consumed one is replaced by a new, never reused id and the bundle is republished', async () => {
  for (const version of VERSIONS) {
    const router = new InProcessRouter();
    const store = new CountingStore();
    // Used pre keys deleted at once (the default keeps them a day: session-manager-healing.test.ts).
    const consumedPreKeys = { keepMs: 0, maxKept: 0 };
    const bob = await openDevice(router, 'bob@example.org', 'b', { versions: [version], store, consumedPreKeys });
    const alice = await openDevice(router, 'alice@example.org', 'a', { versions: [version] });
    const carol = await openDevice(router, 'carol@example.org', 'c', { versions: [version] });
    assert.equal(
      bob.m.preKeyIds().sort((x, y) => x - y),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const pinned = pinOnePreKey(router, 'bob@example.org', bob.m.deviceId, version);
    // Alice and carol both build their session on the pinned pre key.
    await alice.m.buildSession('bob@example.org', bob.m.deviceId, version);
    await carol.m.buildSession('bob@example.org', bob.m.deviceId, version);

    const n = router.publishes.length;
    const r = await bob.m.decrypt(
      'alice@example.org',
      elementOf(await alice.m.encrypt(['bob@example.org'], 'hi'), version),
    );
    assert.is(r.keyExchange, true);
    assert.is(r.text, 'hi');
    const ids = bob.m.preKeyIds();
    assert.is(ids.length, PRE_KEY_COUNT);
    assert.not.ok(ids.includes(pinned), 'the consumed pre key is gone');
    assert.ok(ids.includes(101), 'replaced by the next id');
    assert.is(await store.loadPreKey(pinned), undefined, 'deleted from the store');
    assert.is((await store.loadPreKeys()).length, PRE_KEY_COUNT);
    assert.is((await store.loadIdentity())!.nextPreKeyId, 102);
    // Republished: the new bundle has the new key, not the consumed one.
    const bundles = router.publishes
      .slice(n)
      .filter((p) => p.node === pepLocations(version, bob.m.deviceId).bundleNode);
    assert.is(bundles.length, 1, 'one bundle publish');
    const published = parseBundle(bundles[0]!.xml, version).preKeys.map((k) => k.id);
    assert.equal(
      published.sort((x, y) => x - y),
      ids.sort((x, y) => x - y),
    );

    // Carol's key exchange names the consumed pre key: refused, nothing changes.
    const snap = await snapshot(
      store,
      ['carol@example.org'],
      [{ version, jid: 'carol@example.org', deviceId: carol.m.deviceId }],
    );
    await rejectsWith(
      bob.m.decrypt('carol@example.org', elementOf(await carol.m.encrypt(['bob@example.org'], 'late'), version)),
      'unknown-prekey',
    );
    assert.is(
      await snapshot(store, ['carol@example.org'], [{ version, jid: 'carol@example.org', deviceId: carol.m.deviceId }]),
      snap,
    );

    // Ids keep growing across a restart: the next replacement is 102, never an old id.
    const reopened = await openDevice(router, 'bob@example.org', 'b', {
      versions: [version],
      store,
      publish: false,
      consumedPreKeys,
    });
    assert.equal(
      reopened.m.preKeyIds().sort((x, y) => x - y),
      ids.sort((x, y) => x - y),
    );
    const dave = await openDevice(router, 'dave@example.org', 'd', { versions: [version] });
    await reopened.m.decrypt('dave@example.org', elementOf(await dave.m.encrypt(['bob@example.org'], 'x'), version));
    const after = reopened.m.preKeyIds();
    assert.ok(after.includes(102));
    assert.is(after.length, PRE_KEY_COUNT);
    assert.is(Math.max(...after), 102);
  }
});

test('signed pre key: rotated after 7 days via the clock, previous key kept one more period', async () => {
  for (const version of VERSIONS) {
    const router = new InProcessRouter();
    const clock = new Clock();
    const store = new CountingStore();
    const bob = await openDevice(router, 'bob@example.org', 'b', { versions: [version], clock, store });
    const alice = await openDevice(router, 'alice@example.org', 'a', { versions: [version] });
    const carol = await openDevice(router, 'carol@example.org', 'c', { versions: [version] });
    const spkId = () => bundleOf(router, 'bob@example.org', bob.m.deviceId, version).signedPreKeyId;
    assert.is(spkId(), 1);
    // Both build against the first signed pre key.
    await alice.m.buildSession('bob@example.org', bob.m.deviceId, version);
    await carol.m.buildSession('bob@example.org', bob.m.deviceId, version);

    clock.advance(SIGNED_PRE_KEY_ROTATION_MS - 1);
    assert.is(await bob.m.rotateSignedPreKey(), false, 'not due yet');
    assert.is(spkId(), 1);
    clock.advance(1);
    const n = router.publishes.length;
    assert.is(await bob.m.rotateSignedPreKey(), true, 'due after 7 days');
    assert.is(spkId(), 2, 'the new signed pre key is published');
    assert.ok(router.publishes.slice(n).some((p) => p.node === pepLocations(version, bob.m.deviceId).bundleNode));
    assert.ok(verifyBundleSignature(bundleOf(router, 'bob@example.org', bob.m.deviceId, version), version));
    assert.equal((await store.loadSignedPreKeys()).map((k) => k.id).sort(), [1, 2], 'the previous key is kept');
    assert.is(await bob.m.rotateSignedPreKey(), false, 'not due again right away');

    // A key exchange made against the old bundle still decrypts after one rotation.
    const r = await bob.m.decrypt(
      'alice@example.org',
      elementOf(await alice.m.encrypt(['bob@example.org'], 'old spk'), version),
    );
    assert.is(r.text, 'old spk');

    clock.advance(7 * DAY);
    assert.is(await bob.m.rotateSignedPreKey(), true);
    assert.is(spkId(), 3);
    assert.equal(
      (await store.loadSignedPreKeys()).map((k) => k.id).sort(),
      [2, 3],
      'the key two periods old is deleted',
    );
    // ...but not after two.
    const addr = [{ version, jid: 'carol@example.org', deviceId: carol.m.deviceId }];
    const snap = await snapshot(store, ['carol@example.org'], addr);
    await rejectsWith(
      bob.m.decrypt('carol@example.org', elementOf(await carol.m.encrypt(['bob@example.org'], 'too old'), version)),
      'unknown-signed-prekey',
    );
    assert.is(await snapshot(store, ['carol@example.org'], addr), snap);
    // Sessions built on a rotated-away key keep working once established (alice's goes on).
    const r2 = await bob.m.decrypt(
      'alice@example.org',
      elementOf(await alice.m.encrypt(['bob@example.org'], 'still fine'), version),
    );
    assert.is(r2.text, 'still fine');
    // force rotates regardless of the clock.
    assert.is(await bob.m.rotateSignedPreKey(true), true);
    assert.is(spkId(), 4);
  }
});

test('a due rotation also happens when the manager is re-opened', async () => {
  const router = new InProcessRouter();
  const clock = new Clock();
  const store = new CountingStore();
  await openDevice(router, 'bob@example.org', 'b', { clock, store });
  clock.advance(8 * DAY);
  const again = await openDevice(router, 'bob@example.org', 'b', { clock, store });
  assert.equal((await store.loadSignedPreKeys()).map((k) => k.id).sort(), [1, 2]);
  for (const version of VERSIONS)
    assert.is(bundleOf(router, 'bob@example.org', again.m.deviceId, version).signedPreKeyId, 2);
});

/** `count` new contacts' key exchanges to `bob`, one an hour; the ids of the pre keys they used, in order. */
async function keyExchanges(
  router: InProcessRouter,
  bob: Device,
  count: number,
  check?: (used: number[]) => Promise<void>,
) {
  const usedIds: number[] = [];
  for (let i = 0; i < count; i++) {
    const jid = `s${router.publishes.length}-${i}@example.org`;
    const s = await openDevice(router, jid, 's', { versions: ['twomemo'], clock: bob.clock });
    await s.m.setDeviceList('bob@example.org', 'twomemo', [bob.m.deviceId]);
    const live = new Set(bob.m.preKeyIds());
    const r = await bob.m.decrypt(jid, elementOf(await s.m.encrypt(['bob@example.org'], `hi ${i}`), 'twomemo'));
    assert.is(r.keyExchange, true);
    usedIds.push([...live].find((id) => !bob.m.preKeyIds().includes(id))!);
    await check?.(usedIds);
    bob.clock.advance(HOUR);
  }
  return usedIds;
}

const HOUR = 3600 * 1000;
const usedPreKeys = async (d: Device) =>
  (await d.store.loadPreKeys())
    .filter((k) => k.consumed)
    .map((k) => k.id)
    .sort((x, y) => x - y);

test('used pre keys: the newest maxKept are kept, the oldest deleted with the next key exchange', async () => {
  const router = new InProcessRouter();
  const consumedPreKeys = { keepMs: 100 * HOUR, maxKept: 2 };
  const bob = await openDevice(router, 'bob@example.org', 'b', { versions: ['twomemo'], consumedPreKeys });
  await keyExchanges(router, bob, 4, async (ids) =>
    assert.equal(
      await usedPreKeys(bob),
      ids.slice(-2).sort((x, y) => x - y),
      `after ${ids.length}`,
    ),
  );
});

test('used pre keys: a key exchange deletes the used keys kept keepMs, not younger ones', async () => {
  const router = new InProcessRouter();
  const consumedPreKeys = { keepMs: 10 * HOUR, maxKept: 50 };
  const bob = await openDevice(router, 'bob@example.org', 'b', { versions: ['twomemo'], consumedPreKeys });
  const first = await keyExchanges(router, bob, 2);
  bob.clock.advance(8 * HOUR); // the first was used exactly 10 hours ago, the second 9
  const [third] = await keyExchanges(router, bob, 1);
  assert.equal(
    await usedPreKeys(bob),
    [first[1]!, third!].sort((x, y) => x - y),
  );
});

test.run();
