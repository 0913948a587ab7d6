// OmemoManager encrypt/decrypt between alice (2 devices) and bob (3 devices), each version on its own and
// both together: fan-out, lazy session building, per-device failures, session completion, heartbeats,
// replays and tampering without state change, and MAM catch-up.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { parseBundle, serializeBundle } from '../../src/omemo/versions/by-version';
import { serializeDeviceList } from '../../src/omemo/versions/by-version';
import { parseEncrypted, serializeEncrypted } from '../../src/omemo/versions/by-version';
import { pepLocations } from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { HEARTBEAT_AFTER_MESSAGES, PRE_KEY_COUNT } from '../../src/omemo/manager/session-manager';
import type { OmemoTransport } from '../../src/omemo/manager/transport';
import {
  InProcessRouter,
  VERSIONS,
  elementOf,
  openDevice,
  rejectsWith,
  sessionBytes,
  snapshot,
  syncDeviceLists,
  type Device,
} from './manager-fixture';

test.before(async () => {
  await cryptoReady();
});

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const CAROL = 'carol@example.org';

/** Wraps a transport and records its bundle fetches. */
function countingTransport(inner: OmemoTransport): OmemoTransport & { bundleFetches: string[] } {
  const bundleFetches: string[] = [];
  return {
    bundleFetches,
    publish: (n, i, x, o) => inner.publish(n, i, x, o),
    fetch: (jid, node, itemId) => {
      if (node.includes('bundles')) bundleFetches.push(`${jid} ${node} ${itemId ?? ''}`);
      return inner.fetch(jid, node, itemId);
    },
    send: (to, xml, kind) => inner.send(to, xml, kind),
  };
}

interface World {
  router: InProcessRouter;
  a1: Device & { transport: ReturnType<typeof countingTransport> };
  a2: Device;
  bobs: Device[];
}

async function world(version: OmemoVersion): Promise<World> {
  const router = new InProcessRouter();
  const versions = [version];
  const a1 = await openDevice(router, ALICE, 'a1', {
    versions,
    transport: countingTransport(router.connect(ALICE, `${ALICE}/a1`)),
  });
  const a2 = await openDevice(router, ALICE, 'a2', { versions });
  const bobs = [
    await openDevice(router, BOB, 'b1', { versions }),
    await openDevice(router, BOB, 'b2', { versions }),
    await openDevice(router, BOB, 'b3', { versions }),
  ];
  await syncDeviceLists(router, [a1, a2, ...bobs]);
  return { router, a1: a1 as World['a1'], a2, bobs };
}

/** The `<key>` recipients of an element: "jid/rid" for OMEMO 2, "rid" for 0.3 (no JID on the wire). */
function recipients(xml: string): string[] {
  const p = parseEncrypted(xml);
  return p.keys.map((k) => (k.jid ? `${k.jid}/${k.rid}` : String(k.rid))).sort();
}

function expectedRecipients(version: OmemoVersion, list: Device[]): string[] {
  return list.map((d) => (version === 'twomemo' ? `${d.jid}/${d.m.deviceId}` : String(d.m.deviceId))).sort();
}

function addr(version: OmemoVersion, d: Device) {
  return { version, jid: d.jid, deviceId: d.m.deviceId };
}

for (const version of VERSIONS) {
  test(`${version}: a message has a key for each of bob's devices and alice's other device, never the sender's`, async () => {
    const { a1, a2, bobs } = await world(version);
    const r = await a1.m.encrypt([BOB], 'hello bob');
    assert.is(r.elements.length, 1);
    assert.is(r.elements[0]!.version, version);
    const xml = elementOf(r, version);
    assert.equal(recipients(xml), expectedRecipients(version, [...bobs, a2]));
    assert.is(parseEncrypted(xml).sid, a1.m.deviceId);
    assert.not.ok(
      parseEncrypted(xml).keys.some((k) => k.rid === a1.m.deviceId && (k.jid ?? ALICE) === ALICE),
      'no key for the sending device',
    );
    assert.is(r.devices.length, 4);
    assert.ok(
      r.devices.every((d) => d.ok && d.keyExchange === true && d.version === version),
      JSON.stringify(r.devices),
    );
    // Everybody can read it and learns who sent it.
    for (const d of [...bobs, a2]) {
      const out = await d.m.decrypt(ALICE, xml);
      assert.is(out.text, 'hello bob');
      assert.is(out.version, version);
      assert.equal(out.sender, { jid: ALICE, deviceId: a1.m.deviceId });
      assert.is(out.keyExchange, true);
      assert.is(out.trust, 'blind');
      if (version === 'twomemo') {
        assert.is(out.envelope?.body, 'hello bob');
        assert.is(out.envelopeFromMatches, true);
      }
    }
  });

  test(`${version}: sessions are built lazily from bundles fetched on the first send only`, async () => {
    const { a1, bobs } = await world(version);
    const bobIds = bobs.map((b) => b.m.deviceId).sort();
    assert.equal((await a1.m.devicesWithoutSession(BOB, version)).sort(), bobIds);
    assert.is(a1.transport.bundleFetches.length, 0, 'nothing fetched before the first message');
    await a1.m.encrypt([BOB], 'one');
    assert.equal(a1.transport.bundleFetches.filter((f) => f.startsWith(BOB)).length, 3);
    assert.equal(await a1.m.devicesWithoutSession(BOB, version), []);
    const n = a1.transport.bundleFetches.length;
    const r = await a1.m.encrypt([BOB], 'two');
    assert.is(a1.transport.bundleFetches.length, n, 'no fetch once the sessions exist');
    assert.is(r.devices.length, 4);
  });

  test(`${version}: a device without a bundle or with a forged signature fails alone`, async () => {
    const { router, a1, a2, bobs } = await world(version);
    const [b1, b2, b3] = bobs as [Device, Device, Device];
    // Bob's list also names a device that never published a bundle.
    const list = serializeDeviceList([...bobs.map((b) => ({ id: b.m.deviceId })), { id: 4242 }], version);
    router.setItem(BOB, pepLocations(version, 1).deviceListNode, 'current', list);
    await a1.m.onDeviceListUpdate(BOB, version, list);
    // b3's bundle now carries a signature that does not verify.
    const loc = pepLocations(version, b3.m.deviceId);
    const bundle = parseBundle(router.item(BOB, loc.bundleNode, loc.bundleItemId)!, version);
    const sig = bundle.signedPreKeySignature.slice();
    sig[10]! ^= 0x01;
    router.setItem(
      BOB,
      loc.bundleNode,
      loc.bundleItemId,
      serializeBundle({ ...bundle, signedPreKeySignature: sig }, version),
    );

    const r = await a1.m.encrypt([BOB], 'despite the broken ones');
    const report = (id: number) => r.devices.find((d) => d.jid === BOB && d.deviceId === id);
    assert.is(report(4242)?.ok, false);
    assert.is(report(4242)?.error, 'bundle-unavailable');
    assert.is(report(b3.m.deviceId)?.ok, false);
    assert.is(report(b3.m.deviceId)?.error, 'invalid-signature');
    assert.is(report(b1.m.deviceId)?.ok, true);
    assert.is(report(b2.m.deviceId)?.ok, true);
    assert.is(r.devices.find((d) => d.jid === ALICE)?.ok, true);
    const xml = elementOf(r, version);
    assert.equal(recipients(xml), expectedRecipients(version, [b1, b2, a2]));
    assert.is((await b1.m.decrypt(ALICE, xml)).text, 'despite the broken ones');
    await rejectsWith(b3.m.decrypt(ALICE, xml), 'message-not-for-us');
  });

  test(`${version}: a recipient without usable device is refused with its reason; partial avoids the throw`, async () => {
    const { router, a1, a2, bobs } = await world(version);
    const carol = await openDevice(router, CAROL, 'c', { versions: [version] });
    router.unreachable.add('dave@example.org');
    const commits = a1.store.commits;
    // Nobody published anything for eve (no OMEMO); dave's server does not answer; each has its own code.
    for (const [who, code] of [
      ['eve@example.org', 'no-omemo'],
      ['dave@example.org', 'recipient-unreachable'],
    ] as const) {
      const e = await rejectsWith(a1.m.encrypt([who], 'x'), code);
      assert.match(e.message, who);
      await rejectsWith(a1.m.encrypt([BOB, who], 'x'), code);
    }
    // Recipients that fail for different reasons: the general code, each named with its reason.
    const mixed = await rejectsWith(a1.m.encrypt(['eve@example.org', 'dave@example.org'], 'x'), 'no-eligible-devices');
    assert.match(mixed.message, /eve@example\.org: no OMEMO.*dave@example\.org: the recipient's server cannot/);
    assert.is(a1.store.commits, commits, 'a refused send stores nothing');
    // With partial, the others still get it, and every recipient is reported, in the order given.
    const r = await a1.m.encrypt([BOB, 'eve@example.org', 'dave@example.org'], 'partial', { partial: true });
    assert.equal(recipients(elementOf(r, version)), expectedRecipients(version, [...bobs, a2]));
    assert.not.ok(r.devices.some((d) => d.jid === 'eve@example.org' && d.ok));
    assert.equal(
      r.recipients.map(({ jid, ok, devices, error }) => ({ jid, ok, devices, error })),
      [
        { jid: BOB, ok: true, devices: bobs.length, error: undefined },
        { jid: 'eve@example.org', ok: false, devices: 0, error: 'no-omemo' },
        { jid: 'dave@example.org', ok: false, devices: 0, error: 'recipient-unreachable' },
      ],
    );
    // The refused sends did not advance bob's sessions: he reads the partial message.
    assert.is((await bobs[0]!.m.decrypt(ALICE, elementOf(r, version))).text, 'partial');
    // A recipient whose only device fails (no bundle) is refused too.
    const list = serializeDeviceList([{ id: 999 }], version);
    await a1.m.onDeviceListUpdate('frank@example.org', version, list);
    const e = await rejectsWith(a1.m.encrypt(['frank@example.org'], 'x'), 'bundle-unavailable');
    assert.match(e.message, /bundle-unavailable/);
    // Carol is reachable: works.
    const rc = await a1.m.encrypt([CAROL], 'hi carol');
    assert.is((await carol.m.decrypt(ALICE, elementOf(rc, version))).text, 'hi carol');
  });

  test(`${version}: a message for other devices is 'message-not-for-us'`, async () => {
    const { router, a1, bobs } = await world(version);
    const carol = await openDevice(router, CAROL, 'c', { versions: [version] });
    const xml = elementOf(await a1.m.encrypt([BOB], 'not for carol'), version);
    const commits = carol.store.commits;
    await rejectsWith(carol.m.decrypt(ALICE, xml), 'message-not-for-us');
    assert.is(carol.store.commits, commits);
    assert.is((await bobs[1]!.m.decrypt(ALICE, xml)).text, 'not for carol');
  });

  test(`${version}: after a key exchange the receiver answers with an empty message; then no more key exchange`, async () => {
    const { router, a1, a2, bobs } = await world(version);
    const [b1] = bobs as [Device];
    const first = elementOf(await a1.m.encrypt([BOB], 'first'), version);
    router.drain(a1.inbox);
    const r = await b1.m.decrypt(ALICE, first);
    assert.is(r.keyExchange, true);
    assert.is(r.sent.length, 1);
    assert.is(r.sent[0]!.kind, 'session-completion');
    assert.is(r.sent[0]!.to, ALICE);
    assert.is(r.sent[0]!.version, version);
    const completion = parseEncrypted(r.sent[0]!.xml);
    assert.is(completion.payload, undefined, 'empty message');
    assert.equal(
      completion.keys.map((k) => k.rid),
      [a1.m.deviceId],
    );
    assert.is(completion.keys[0]!.keyExchange, false);
    if (version === 'oldmemo') assert.is(completion.iv?.length, 12, '0.3 empty messages carry an <iv>');
    // Delivered through the transport.
    const inbox = router.drain(a1.inbox);
    assert.is(inbox.length, 1);
    assert.is(inbox[0]!.xml, r.sent[0]!.xml);
    assert.is(inbox[0]!.kind, 'session-completion');
    assert.is(inbox[0]!.from, BOB);
    // Until alice has read it, she repeats the key exchange.
    const second = await a1.m.encrypt([BOB], 'second');
    assert.is(second.devices.find((d) => d.deviceId === b1.m.deviceId)?.keyExchange, true);
    assert.is(
      (await b1.m.decrypt(ALICE, elementOf(second, version))).text,
      'second',
      'a repeated key exchange decrypts',
    );
    // Alice reads the empty message.
    const done = await a1.m.decrypt(BOB, inbox[0]!.xml);
    assert.is(done.payload, undefined);
    assert.is(done.text, undefined);
    assert.is(done.keyExchange, false);
    assert.equal(done.sent, []);
    assert.equal(done.sender, { jid: BOB, deviceId: b1.m.deviceId });
    // Now the session with b1 carries no key exchange; b2/b3 (no answer yet) still get one.
    const third = await a1.m.encrypt([BOB], 'third');
    const kex = (id: number) => third.devices.find((d) => d.jid === BOB && d.deviceId === id)?.keyExchange;
    assert.is(kex(b1.m.deviceId), false);
    assert.is(kex(bobs[1]!.m.deviceId), true);
    const xml = elementOf(third, version);
    const key = parseEncrypted(xml).keys.find((k) => k.rid === b1.m.deviceId)!;
    assert.is(key.keyExchange, false);
    const flag = version === 'oldmemo' ? 'prekey' : 'kex';
    assert.not.match(
      xml,
      new RegExp(`rid="${b1.m.deviceId}"[^>]*${flag}=`),
      'no kex/prekey attribute at all (never "false")',
    );
    const out = await b1.m.decrypt(ALICE, xml);
    assert.is(out.text, 'third');
    assert.is(out.keyExchange, false);
    assert.equal(out.sent, [], 'no second completion');
    // a2 also got bob's empty message (every device of alice does); it has no key for a2.
    const forA2 = router.drain(a2.inbox).find((x) => x.kind === 'session-completion');
    assert.ok(forA2);
    await rejectsWith(a2.m.decrypt(BOB, forA2!.xml), 'message-not-for-us');
  });

  test(`${version}: after ${HEARTBEAT_AFTER_MESSAGES} messages without answer the receiver sends a heartbeat`, async () => {
    const router = new InProcessRouter();
    const a = await openDevice(router, ALICE, 'a', { versions: [version] });
    const b = await openDevice(router, BOB, 'b', { versions: [version] });
    const first = await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], 'start'), version));
    assert.is(first.sent[0]?.kind, 'session-completion');
    await a.m.decrypt(BOB, first.sent[0]!.xml);
    router.drain(a.inbox);
    for (let i = 1; i <= HEARTBEAT_AFTER_MESSAGES; i++) {
      const out = await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], `m${i}`), version));
      assert.is(out.text, `m${i}`);
      if (i < HEARTBEAT_AFTER_MESSAGES) {
        assert.equal(out.sent, [], `no heartbeat after ${i}`);
      } else {
        assert.is(out.sent.length, 1, `heartbeat after ${i}`);
        assert.is(out.sent[0]!.kind, 'heartbeat');
        assert.is(parseEncrypted(out.sent[0]!.xml).payload, undefined);
      }
    }
    const inbox = router.drain(a.inbox);
    assert.equal(
      inbox.map((m) => m.kind),
      ['heartbeat'],
    );
    const hb = await a.m.decrypt(BOB, inbox[0]!.xml);
    assert.is(hb.payload, undefined);
    // The counter starts again: the next message needs no heartbeat.
    const next = await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], 'after'), version));
    assert.equal(next.sent, []);
    // Answering resets the count too.
    for (let i = 0; i < HEARTBEAT_AFTER_MESSAGES - 2; i++)
      await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], 'x'), version));
    await a.m.decrypt(BOB, elementOf(await b.m.encrypt([ALICE], 'answer'), version));
    for (let i = 0; i < 5; i++) {
      const o = await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], 'y'), version));
      assert.equal(o.sent, [], 'bob answered, so no heartbeat yet');
    }
  });

  test(`${version}: a replay or a tampered message fails without any state change; later messages decrypt`, async () => {
    const router = new InProcessRouter();
    const a = await openDevice(router, ALICE, 'a', { versions: [version] });
    const b = await openDevice(router, BOB, 'b', { versions: [version] });
    const at = [addr(version, a)];
    const kex = elementOf(await a.m.encrypt([BOB], 'kex'), version);
    const r0 = await b.m.decrypt(ALICE, kex);
    await a.m.decrypt(BOB, r0.sent[0]!.xml);
    const m1 = elementOf(await a.m.encrypt([BOB], 'm1'), version);
    const m2 = elementOf(await a.m.encrypt([BOB], 'm2'), version);
    const m3 = elementOf(await a.m.encrypt([BOB], 'm3'), version);
    assert.is((await b.m.decrypt(ALICE, m1)).text, 'm1');

    const state = async () =>
      JSON.stringify({
        s: await sessionBytes(b.store, at),
        snap: await snapshot(b.store, [ALICE], at),
        commits: b.store.commits,
        pk: b.m.preKeyIds(),
      });
    const before = await state();
    router.drain(a.inbox);
    // Replays: a normal message and the original key exchange.
    await rejectsWith(b.m.decrypt(ALICE, m1), 'duplicate-message');
    assert.is(await state(), before, 'replay of a normal message');
    await rejectsWith(b.m.decrypt(ALICE, kex), 'duplicate-message');
    assert.is(await state(), before, 'replay of the key exchange');
    // Tampered payload.
    const p = parseEncrypted(m2);
    const payload = p.payload!.slice();
    payload[0]! ^= 0x80;
    const tampered = serializeEncrypted({ ...p, payload }, version);
    await rejectsWith(b.m.decrypt(ALICE, tampered), 'authentication-failed');
    assert.is(await state(), before, 'tampered payload');
    // Tampered ratchet message (the <key>).
    const data = p.keys[0]!.data.slice();
    data[data.length - 1]! ^= 0x01;
    const badKey = serializeEncrypted({ ...p, keys: [{ ...p.keys[0]!, data }] }, version);
    await rejectsWith(b.m.decrypt(ALICE, badKey), 'bad-mac');
    assert.is(await state(), before, 'tampered key');
    assert.is(router.drain(a.inbox).length, 0, 'nothing sent for a failure');
    // The genuine messages still decrypt, even out of order.
    assert.is((await b.m.decrypt(ALICE, m3)).text, 'm3');
    assert.is((await b.m.decrypt(ALICE, m2)).text, 'm2');
    await rejectsWith(b.m.decrypt(ALICE, m2), 'duplicate-message');
    assert.is((await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], 'm4'), version))).text, 'm4');
  });

  test(`${version}: MAM catch-up keeps a consumed pre key usable until endCatchUp`, async () => {
    const router = new InProcessRouter();
    // Used pre keys deleted as soon as the catch-up ends (the default keeps them a day: see the healing tests).
    const b = await openDevice(router, BOB, 'b', { versions: [version], consumedPreKeys: { keepMs: 0, maxKept: 0 } });
    const senders = await Promise.all(
      ['alice', 'carol', 'dave'].map((n) => openDevice(router, `${n}@example.org`, n, { versions: [version] })),
    );
    const [alice, carol, dave] = senders as [Device, Device, Device];
    // Bob's published bundle offers a single pre key, so all three key exchanges name it.
    const loc = pepLocations(version, b.m.deviceId);
    const full = parseBundle(router.item(BOB, loc.bundleNode, loc.bundleItemId)!, version);
    const pinned = full.preKeys[0]!.id;
    router.setItem(
      BOB,
      loc.bundleNode,
      loc.bundleItemId,
      serializeBundle({ ...full, preKeys: [full.preKeys[0]!] }, version),
    );
    for (const s of senders) await s.m.buildSession(BOB, b.m.deviceId, version);

    b.m.startCatchUp();
    assert.is(b.m.isCatchingUp, true);
    const publishes = router.publishes.length;
    const fromAlice = elementOf(await alice.m.encrypt([BOB], 'history 1'), version);
    assert.is((await b.m.decrypt(ALICE, fromAlice)).text, 'history 1');
    assert.not.ok(b.m.preKeyIds().includes(pinned), 'consumed: no longer offered');
    assert.not.ok(
      parseBundle(b.m.bundleXml(version), version).preKeys.some((k) => k.id === pinned),
      'not in the bundle',
    );
    assert.is((await b.store.loadPreKey(pinned))?.consumed, true, 'kept in the store, marked consumed');
    // The very same message delivered again (live and from the archive) is a duplicate; nothing changes.
    const state = JSON.stringify([
      await snapshot(b.store, [ALICE], [{ version, jid: ALICE, deviceId: alice.m.deviceId }]),
      b.store.commits,
    ]);
    await rejectsWith(b.m.decrypt(ALICE, fromAlice), 'duplicate-message');
    assert.is(
      JSON.stringify([
        await snapshot(b.store, [ALICE], [{ version, jid: ALICE, deviceId: alice.m.deviceId }]),
        b.store.commits,
      ]),
      state,
    );
    // Another key exchange on the same pre key (e.g. an older session's message in the archive) still decrypts.
    assert.is(
      (await b.m.decrypt(CAROL, elementOf(await carol.m.encrypt([BOB], 'history 2'), version))).text,
      'history 2',
    );
    assert.is(router.publishes.length, publishes, 'no republish during the catch-up');

    await b.m.endCatchUp();
    assert.is(b.m.isCatchingUp, false);
    assert.is(await b.store.loadPreKey(pinned), undefined, 'deleted after the catch-up');
    assert.is(b.m.preKeyIds().length, PRE_KEY_COUNT, 'refilled');
    const republished = router.publishes.slice(publishes).filter((p) => p.node === loc.bundleNode);
    assert.is(republished.length, 1, 'bundle republished once');
    const ids = parseBundle(republished[0]!.xml, version).preKeys.map((k) => k.id);
    assert.is(ids.length, PRE_KEY_COUNT);
    assert.not.ok(ids.includes(pinned));
    // Now the pre key is gone for good.
    await rejectsWith(
      b.m.decrypt('dave@example.org', elementOf(await dave.m.encrypt([BOB], 'too late'), version)),
      'unknown-prekey',
    );
    // The catch-up sessions work on.
    assert.is((await b.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'live'), version))).text, 'live');
    // Ending a catch-up with nothing consumed publishes nothing.
    const n = router.publishes.length;
    b.m.startCatchUp();
    await b.m.endCatchUp();
    assert.is(router.publishes.length, n);
  });
}

test('both versions enabled: OMEMO 2 is preferred per device; a 0.3-only device gets a 0.3 element', async () => {
  const router = new InProcessRouter();
  const a = await openDevice(router, ALICE, 'a');
  const b1 = await openDevice(router, BOB, 'b1');
  const b2 = await openDevice(router, BOB, 'b2');
  const legacyOnly = await openDevice(router, BOB, 'old', { versions: ['oldmemo'] });
  await syncDeviceLists(router, [a, b1, b2, legacyOnly]);
  const r = await a.m.encrypt([BOB], 'mixed');
  assert.equal(r.elements.map((e) => e.version).sort(), ['oldmemo', 'twomemo']);
  assert.equal(recipients(elementOf(r, 'twomemo')), expectedRecipients('twomemo', [b1, b2]));
  assert.equal(recipients(elementOf(r, 'oldmemo')), [String(legacyOnly.m.deviceId)]);
  assert.is((await b1.m.decrypt(ALICE, elementOf(r, 'twomemo'))).text, 'mixed');
  assert.is((await legacyOnly.m.decrypt(ALICE, elementOf(r, 'oldmemo'))).text, 'mixed');
  // Forcing a version.
  const old = await a.m.encrypt([BOB], 'old style', { version: 'oldmemo' });
  assert.equal(
    old.elements.map((e) => e.version),
    ['oldmemo'],
  );
  assert.equal(recipients(elementOf(old, 'oldmemo')), expectedRecipients('oldmemo', [b1, b2, legacyOnly]));
  const out = await b2.m.decrypt(ALICE, elementOf(old, 'oldmemo'));
  assert.is(out.text, 'old style');
  assert.is(out.version, 'oldmemo');
});

test('concurrent encrypt/decrypt calls are serialized: nothing races on a session', async () => {
  for (const version of VERSIONS) {
    const router = new InProcessRouter();
    const a = await openDevice(router, ALICE, 'a', { versions: [version] });
    const b = await openDevice(router, BOB, 'b', { versions: [version] });
    // Twenty sends at once, the first of them building the session.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => a.m.encrypt([BOB], `c${i}`)));
    const counters = new Set(results.map((r) => elementOf(r, version)));
    assert.is(counters.size, 20);
    // Decrypted concurrently and out of order, from a full JID: all arrive, each once.
    const order = [5, 0, 19, 3, 1, 2, 4, ...Array.from({ length: 13 }, (_, i) => i + 6)];
    const outs = await Promise.all(order.map((i) => b.m.decrypt(`${ALICE}/phone`, elementOf(results[i]!, version))));
    assert.equal(
      outs.map((o) => o.text),
      order.map((i) => `c${i}`),
    );
    assert.ok(outs.every((o) => o.sender.jid === ALICE && o.sender.deviceId === a.m.deviceId));
    assert.is(
      outs.filter((o) => o.sent.some((m) => m.kind === 'session-completion')).length,
      1,
      'one session, completed once',
    );
  }
});

test('OMEMO 2 without SCE and binary payloads round-trip as bytes', async () => {
  const router = new InProcessRouter();
  const a = await openDevice(router, ALICE, 'a', { versions: ['twomemo'] });
  const b = await openDevice(router, BOB, 'b', { versions: ['twomemo'] });
  const raw = await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], 'plain', { sce: false }), 'twomemo'));
  assert.is(raw.text, 'plain');
  assert.is(raw.envelope, undefined);
  const bytes = Uint8Array.of(0, 255, 1, 254);
  const bin = await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], bytes), 'twomemo'));
  assert.equal([...bin.payload!], [0, 255, 1, 254]);
});

test('a failing transport does not fail the decrypt that triggered a session completion', async () => {
  const router = new InProcessRouter();
  const a = await openDevice(router, ALICE, 'a', { versions: ['twomemo'] });
  const inner = router.connect(BOB, `${BOB}/b`);
  let failSends = true;
  const flaky: OmemoTransport = {
    ...inner,
    send: async (...args) => (failSends ? Promise.reject(new Error('offline')) : inner.send(...args)),
  };
  const b = await openDevice(router, BOB, 'b', { versions: ['twomemo'], transport: flaky });
  const r = await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], 'hi'), 'twomemo'));
  assert.is(r.text, 'hi');
  assert.is(r.sent.length, 1, 'still reported');
  failSends = false;
  // The session is stored; alice reads bob's later messages.
  assert.is((await a.m.decrypt(BOB, elementOf(await b.m.encrypt([ALICE], 'back'), 'twomemo'))).text, 'back');
});

test.run();
