// Attacks and odd input against OmemoManager (the hardening issue): nothing that depends on remote input runs after
// a commit, a stripped <payload> stores nothing, replays during a catch-up are refused, one corrupt record fails
// only its device, and size limits are checked before anything is encrypted. Each test failed on the old code.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { utf8Encode } from '../../src/crypto/bytes';
import { cryptoReady } from '../../src/crypto/ready';
import { parseEncrypted } from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES } from '../../src/omemo/stanzas/stanza-size';
import { encryptedElementBytes, keyElementBytes } from '../../src/omemo/versions/by-version';
import {
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
const CAROL = 'carol@example.org';

async function pair(version: OmemoVersion): Promise<{ router: InProcessRouter; alice: Device; bob: Device }> {
  const router = new InProcessRouter();
  const alice = await openDevice(router, ALICE, 'a', { versions: [version] });
  const bob = await openDevice(router, BOB, 'b', { versions: [version] });
  await syncDeviceLists(router, [alice, bob]);
  return { router, alice, bob };
}

const stateOf = async (d: Device, jids: string[], peers: Device[], version: OmemoVersion) =>
  JSON.stringify([
    await snapshot(
      d.store,
      jids,
      peers.map((p) => ({ version, jid: p.jid, deviceId: p.m.deviceId })),
    ),
    d.store.commits,
  ]);

const envelope = (from: string) =>
  `<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>hi</body></content><from jid='${from}'/></envelope>`;

test('twomemo: an SCE envelope with an empty or oversized <from> is reported as no match, never thrown after the commit', async () => {
  const { alice, bob } = await pair('twomemo');
  for (const from of ['', `${'x'.repeat(3000)}@example.org`, 'not/a@bare']) {
    const xml = elementOf(await alice.m.encrypt([BOB], utf8Encode(envelope(from))), 'twomemo');
    const out = await bob.m.decrypt(ALICE, xml);
    assert.is(out.text, 'hi');
    assert.is(out.envelopeFromMatches, false, JSON.stringify(from.slice(0, 20)));
    // The message was delivered once; only its repetition is a duplicate.
    await rejectsWith(bob.m.decrypt(ALICE, xml), 'duplicate-message');
  }
  const good = await bob.m.decrypt(
    ALICE,
    elementOf(await alice.m.encrypt([BOB], utf8Encode(envelope(`${ALICE}/phone`))), 'twomemo'),
  );
  assert.is(good.envelopeFromMatches, true);
});

test('twomemo: a message whose <payload> was stripped is no empty message: it stores nothing and the real one still decrypts', async () => {
  const { alice, bob } = await pair('twomemo');
  // Established session first, then the key exchange itself.
  for (const label of ['key exchange', 'steady']) {
    if (label === 'steady') await alice.m.decrypt(BOB, elementOf(await bob.m.encrypt([ALICE], 'answer'), 'twomemo'));
    const real = elementOf(await alice.m.encrypt([BOB], `the real one (${label})`), 'twomemo');
    const stripped = real.replace(/<payload>[^<]*<\/payload>/, '');
    assert.is.not(stripped, real);
    const before = await stateOf(bob, [ALICE], [alice], 'twomemo');
    const out = await bob.m.decrypt(ALICE, stripped);
    assert.is(out.payloadMissing, true, label);
    assert.is(out.payload, undefined);
    assert.equal(out.sent, [], 'no automatic message for it');
    assert.is(await stateOf(bob, [ALICE], [alice], 'twomemo'), before, `${label}: nothing stored`);
    const later = await bob.m.decrypt(ALICE, real);
    assert.is(later.text, `the real one (${label})`);
    assert.not.ok(later.payloadMissing);
  }
  // A real empty message (32 zero bytes as key) is one.
  const empty = await bob.m.decrypt(ALICE, elementOf(await alice.m.encryptEmpty([BOB]), 'twomemo'));
  assert.is(empty.payload, undefined);
  assert.not.ok(empty.payloadMissing);
});

test('oldmemo: key transport messages (no <payload>) are still accepted', async () => {
  const { alice, bob } = await pair('oldmemo');
  const first = await bob.m.decrypt(ALICE, elementOf(await alice.m.encryptEmpty([BOB]), 'oldmemo'));
  assert.is(first.payload, undefined);
  assert.is(first.keyExchange, true);
  assert.not.ok(first.payloadMissing);
  assert.is(
    (await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'then text'), 'oldmemo'))).text,
    'then text',
  );
});

for (const version of VERSIONS) {
  test(`${version}: during a catch-up a replayed key exchange is refused and cannot roll the session back`, async () => {
    const { router, alice, bob } = await pair(version);
    bob.m.startCatchUp();
    const kex1 = elementOf(await alice.m.encrypt([BOB], 'first session'), version);
    assert.is((await bob.m.decrypt(ALICE, kex1)).text, 'first session');
    // Alice reinstalls on the same device id: a new session from a new key exchange replaces the first.
    const again = await openDevice(router, ALICE, 'a2', { versions: [version], deviceId: alice.m.deviceId });
    await syncDeviceLists(router, [again, bob]);
    assert.is(
      (await bob.m.decrypt(ALICE, elementOf(await again.m.encrypt([BOB], 'second session'), version))).text,
      'second session',
    );
    const before = await stateOf(bob, [ALICE], [alice], version);
    await rejectsWith(bob.m.decrypt(ALICE, kex1), 'duplicate-message');
    assert.is(await stateOf(bob, [ALICE], [alice], version), before, 'nothing changed');
    // The second session is still the one in use.
    assert.is(
      (await bob.m.decrypt(ALICE, elementOf(await again.m.encrypt([BOB], 'still here'), version))).text,
      'still here',
    );
    await bob.m.endCatchUp();
  });

  test(`${version}: one corrupt session record fails its device alone, and the device is repaired`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions: [version] });
    const bob = await openDevice(router, BOB, 'b', { versions: [version] });
    const carol = await openDevice(router, CAROL, 'c', { versions: [version] });
    await syncDeviceLists(router, [alice, bob, carol]);
    for (const d of [bob, carol]) await d.m.decrypt(ALICE, elementOf(await alice.m.encrypt([d.jid], 'hello'), version));
    // Alice's record for bob is damaged on disk; the manager must not have it cached.
    const address = { version, jid: BOB, deviceId: bob.m.deviceId };
    await alice.store.commit({ putSessions: [{ address, record: new Uint8Array([0x08, 0x09, 0xff, 0xff]) }] });
    const reopened = await openDevice(router, ALICE, 'a', {
      versions: [version],
      store: alice.store,
      publish: false,
      clock: alice.clock,
    });
    const r = await reopened.m.encrypt([BOB, CAROL], 'to both', { partial: true });
    const report = (jid: string) => r.devices.find((d) => d.jid === jid);
    assert.is(report(BOB)?.ok, false);
    assert.is(report(BOB)?.error, 'malformed-record');
    assert.is(report(CAROL)?.ok, true);
    assert.is((await carol.m.decrypt(ALICE, elementOf(r, version))).text, 'to both');
    // The repair replaced the corrupt record and told bob: his answer decrypts, and so does the next send.
    const repair = router.drain(`${BOB}/b`).filter((m) => m.kind === 'session-repair');
    assert.is(repair.length, 1, 'one repair message to bob');
    const completion = await bob.m.decrypt(ALICE, repair[0]!.xml);
    assert.is(completion.keyExchange, true);
    assert.is(
      (await reopened.m.decrypt(BOB, elementOf(await bob.m.encrypt([ALICE], 'repaired'), version))).text,
      'repaired',
    );
    assert.is(
      (await bob.m.decrypt(ALICE, elementOf(await reopened.m.encrypt([BOB], 'and back'), version))).text,
      'and back',
    );
  });

  test(`${version}: a message on a session whose stored record does not load fails as malformed-record, then is repaired`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions: [version] });
    const bob = await openDevice(router, BOB, 'b', { versions: [version] });
    await syncDeviceLists(router, [alice, bob]);
    await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hello'), version));
    for (const m of router.drain(`${ALICE}/a`)) await alice.m.decrypt(m.from, m.xml);
    const next = elementOf(await alice.m.encrypt([BOB], 'after the damage'), version);
    // Bob's record for alice is damaged on disk; a reopened manager has nothing cached and must read it.
    const address = { version, jid: ALICE, deviceId: alice.m.deviceId };
    await bob.store.commit({ putSessions: [{ address, record: new Uint8Array([0x08, 0x09, 0xff, 0xff]) }] });
    const reopened = await openDevice(router, BOB, 'b', { versions: [version], store: bob.store, publish: false });
    await rejectsWith(reopened.m.decrypt(ALICE, next), 'malformed-record');
    // The failure offers alice a new session (rate-limited): her next message decrypts.
    const repairs = router.drain(`${ALICE}/a`).filter((m) => m.kind === 'session-repair');
    assert.is(repairs.length, 1, 'one repair offer to alice');
    await alice.m.decrypt(BOB, repairs[0]!.xml);
    assert.is(
      (await reopened.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'repaired'), version))).text,
      'repaired',
    );
  });

  test(`${version}: more keys or bytes than the limits fail before anything is encrypted, saying how many devices fit`, async () => {
    const router = new InProcessRouter();
    const bot = await openDevice(router, 'bot@example.org', 'bot', { versions: [version], maxElementBytes: 2500 });
    const users: Device[] = [];
    for (let i = 0; i < 12; i++)
      users.push(await openDevice(router, `u${i}@example.org`, 'u', { versions: [version] }));
    await syncDeviceLists(router, [bot, ...users]);
    const jids = users.map((u) => u.jid);
    const before = await stateOf(bot, jids, users, version);
    const e = await rejectsWith(bot.m.encrypt(jids, 'too many for 2500 bytes'), 'stanza-too-large');
    const fit = Number(/: (\d+) devices fit/.exec(e.message)?.[1]);
    assert.ok(fit > 0 && fit < 12, e.message);
    assert.is(await stateOf(bot, jids, users, version), before, 'nothing stored');
    // As many as it said fit do fit, and the real element is below the limit.
    const ok = await bot.m.encrypt(jids.slice(0, fit), 'these fit');
    assert.ok(elementOf(ok, version).length <= 2500, `${elementOf(ok, version).length} bytes`);
    assert.is((await users[0]!.m.decrypt('bot@example.org', elementOf(ok, version))).text, 'these fit');
  });

  test(`${version}: the size bound is never below the real element (key exchanges, steady keys, long JIDs)`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions: [version] });
    const others: Device[] = [];
    // Long JIDs with characters of 2 to 4 UTF-8 bytes (the element's size is in bytes, not characters).
    for (let i = 0; i < 5; i++)
      others.push(
        await openDevice(router, `${'łøñğ'.repeat(20)}-${i}-中文-🎉@exämple.org`, 'x', { versions: [version] }),
      );
    await syncDeviceLists(router, [alice, ...others]);
    const jids = others.map((o) => o.jid);
    for (const [round, text] of [
      [1, 'first: key exchanges'],
      [2, 'x'.repeat(5000)],
    ] as const) {
      const r = await alice.m.encrypt(jids, text);
      const xml = elementOf(r, version);
      const keys = parseEncrypted(xml).keys;
      const keyBytes = keys.reduce((n, k) => n + keyElementBytes(version, k.keyExchange), 0);
      const plain = version === 'twomemo' ? 600 + text.length : text.length; // SCE envelope around the text
      const bound = encryptedElementBytes(version, keyBytes, jids, plain);
      assert.ok(utf8Encode(xml).length <= bound, `round ${round}: ${utf8Encode(xml).length} > ${bound}`);
    }
    assert.is(DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES, 252 * 1024);
  });
}

test('more than MAX_KEYS_PER_MESSAGE keys are refused before the commit, even with no byte limit', async () => {
  // 10 001 devices would take minutes to build; one fake account lists 200 devices, 51 accounts exceed 10 000.
  const { MAX_KEYS_PER_MESSAGE } = await import('../../src/omemo/stanzas/encrypted-element');
  assert.is(MAX_KEYS_PER_MESSAGE, 10000);
  const router = new InProcessRouter();
  const alice = await openDevice(router, ALICE, 'a', { versions: ['twomemo'], maxElementBytes: Infinity });
  const bob = await openDevice(router, BOB, 'b', { versions: ['twomemo'] });
  await syncDeviceLists(router, [alice, bob]);
  await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'session'), 'twomemo'));
  // The check counts sessions ready to encrypt: give alice 10 001 of them by reusing one record under many addresses.
  const record = (await alice.store.loadSessions([{ version: 'twomemo', jid: BOB, deviceId: bob.m.deviceId }]))
    .values()
    .next().value!;
  const jids: string[] = [];
  const puts = [];
  const lists = [];
  const devices = [];
  for (let j = 0; j < 51; j++) {
    const jid = `many${j}@example.org`;
    jids.push(jid);
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    lists.push({ version: 'twomemo' as const, jid, deviceIds: ids });
    for (const deviceId of ids) {
      puts.push({ address: { version: 'twomemo' as const, jid, deviceId }, record });
      devices.push({
        jid,
        deviceId,
        activeIn: ['twomemo' as const],
        trust: 'blind' as const,
        sentSinceLastReceived: 0,
        lastReceivedAt: 0,
      });
    }
  }
  await alice.store.commit({ putSessions: puts, putDeviceLists: lists, putDevices: devices });
  const reopened = await openDevice(router, ALICE, 'a', {
    versions: ['twomemo'],
    store: alice.store,
    publish: false,
    maxElementBytes: Infinity,
  });
  const commits = alice.store.commits;
  const e = await rejectsWith(reopened.m.encrypt(jids, 'x'), 'stanza-too-large');
  assert.match(e.message, /10000 devices fit/);
  assert.is(alice.store.commits, commits, 'nothing committed');
});

test.run();
