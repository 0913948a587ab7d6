// Group-chat sends and receipts in the core (src/omemo/rooms/room-messages.ts over the manager's fan-out): every
// device of every member in both versions, the room as the SCE addressee, bounded and timed PEP fetches for a
// first send, unreached members reported, one stanza's size over both elements, reflections recognised.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../../src/crypto/ready';
import { PEP_FETCH_CONCURRENCY } from '../../../src/omemo/manager/bounded-fetch';
import type { OmemoTransport } from '../../../src/omemo/manager/transport';
import { OmemoRoom } from '../../../src/omemo/rooms/room';
import { encryptToRoom, resolveRoomSender } from '../../../src/omemo/rooms/room-messages';
import { parseEncrypted } from '../../../src/omemo/versions/by-version';
import { InProcessRouter, elementOf, openDevice, rejectsWith, syncDeviceLists, type Device } from '../manager-fixture';

const ROOM = 'team@conference.example.org';
const BOT = 'bot@example.org';

test.before(async () => {
  await cryptoReady();
});

/** A router transport whose fetches take a tick and count how many are in flight at once. */
function countingTransport(inner: OmemoTransport, hang: ReadonlySet<string> = new Set()) {
  const stats = { inFlight: 0, maxInFlight: 0, fetches: 0 };
  const transport: OmemoTransport = {
    publish: (...a) => inner.publish(...a),
    send: (...a) => inner.send(...a),
    fetch: async (jid, node, itemId) => {
      if (hang.has(jid)) return new Promise<never>(() => undefined); // a server that never answers
      stats.fetches += 1;
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        await new Promise((r) => setTimeout(r, 1));
        return await inner.fetch(jid, node, itemId);
      } finally {
        stats.inFlight -= 1;
      }
    },
  };
  return { transport, stats };
}

test('a room: every device of every member and our other devices decrypt, in both versions, <to> is the room', async () => {
  const router = new InProcessRouter();
  const bot = await openDevice(router, BOT, 'b1');
  const botPhone = await openDevice(router, BOT, 'b2');
  const room = new OmemoRoom(ROOM, BOT);
  const members: Device[] = [];
  for (let i = 0; i < 10; i++) {
    const jid = `m${i}@example.org`;
    room.setAffiliation(jid, i === 0 ? 'owner' : 'member');
    // 1–3 devices each; every third member runs OMEMO 0.3 only (Profanity, older Conversations).
    for (let d = 0; d <= i % 3; d++)
      members.push(await openDevice(router, jid, `d${d}`, i % 3 === 2 ? { versions: ['oldmemo'] } : {}));
  }
  await syncDeviceLists(router, [bot]); // our other device, as PEP would tell us
  const r = await encryptToRoom(bot.m, room, 'hello room', { originId: 'o-1' });
  assert.equal(r.elements.map((e) => e.version).sort(), ['oldmemo', 'twomemo']);
  assert.is(r.devices.filter((d) => d.ok).length, members.length + 1);
  assert.equal(
    r.recipients.filter((x) => !x.ok),
    [],
  );
  for (const m of [...members, botPhone]) {
    const mine = r.elements.find((e) => parseEncrypted(e.xml).keys.some((k) => k.rid === m.m.deviceId))!;
    const got = await m.m.decrypt(BOT, mine.xml);
    assert.is(got.text, 'hello room');
    if (got.version === 'twomemo') assert.is(got.envelope?.to, ROOM, 'the SCE <to> is the room');
  }
  // Our device has no key in its own message: the reflection is recognised by its origin-id, with its text.
  const sid = parseEncrypted(elementOf(r, 'twomemo')).sid;
  room.nick = 'bot';
  assert.equal(resolveRoomSender(room, bot.m.deviceId, { nick: 'bot', deviceId: sid, originId: 'o-1' }), {
    kind: 'reflection',
    sent: { originId: 'o-1', text: 'hello room' },
  });
  // The same from our other device is a member message of ours (decryptable); strangers need their real JID.
  assert.equal(resolveRoomSender(room, botPhone.m.deviceId, { nick: 'bot', deviceId: sid }), {
    kind: 'member',
    jid: BOT,
  });
  room.occupantPresent('zed', 'm1@example.org/x', 'member');
  assert.equal(resolveRoomSender(room, bot.m.deviceId, { nick: 'zed', deviceId: 7 }), {
    kind: 'member',
    jid: 'm1@example.org',
  });
  await rejectsWith(() => resolveRoomSender(room, bot.m.deviceId, { nick: 'ghost', deviceId: 7 }), 'unknown-real-jid');
});

test(`a first send to 120 members fetches with at most PEP_FETCH_CONCURRENCY (${PEP_FETCH_CONCURRENCY}) in flight`, async () => {
  const router = new InProcessRouter();
  const { transport, stats } = countingTransport(router.connect(BOT, `${BOT}/b`));
  const bot = await openDevice(router, BOT, 'b', { transport, versions: ['twomemo'] });
  const room = new OmemoRoom(ROOM, BOT);
  for (let i = 0; i < 120; i++) {
    const jid = `u${i}@example.org`;
    room.setAffiliation(jid, 'member');
    await openDevice(router, jid, 'd', { versions: ['twomemo'] });
  }
  stats.maxInFlight = 0;
  stats.fetches = 0;
  const r = await encryptToRoom(bot.m, room, 'first contact', { originId: 'o-2' });
  assert.is(r.devices.filter((d) => d.ok).length, 120);
  assert.is(stats.fetches, 240, 'one device list and one bundle per member');
  assert.ok(stats.maxInFlight <= PEP_FETCH_CONCURRENCY, `${stats.maxInFlight} fetches in flight`);
  assert.ok(stats.maxInFlight > 1, 'fetches do run concurrently');
});

test('a member whose PEP never answers is reported (peer-timeout), not waited for; without partial the send fails', async () => {
  const router = new InProcessRouter();
  const silent = 'silent@example.org';
  const { transport } = countingTransport(router.connect(BOT, `${BOT}/b`), new Set([silent]));
  const bot = await openDevice(router, BOT, 'b', { transport, fetchTimeoutMs: 50 });
  const room = new OmemoRoom(ROOM, BOT);
  const alice = await openDevice(router, 'alice@example.org', 'a');
  await openDevice(router, silent, 's');
  room.setAffiliation(alice.jid, 'member');
  room.setAffiliation(silent, 'member');
  const started = Date.now();
  const e = await rejectsWith(encryptToRoom(bot.m, room, 'x', { originId: 'o-3' }), 'peer-timeout');
  assert.match(e.message, `${silent}: its server did not answer in time (fetching the`);
  assert.match(e.message, 'no answer within 50 ms');
  const r = await encryptToRoom(bot.m, room, 'partial', { originId: 'o-4', partial: true });
  assert.ok(Date.now() - started < 2000, 'the timeout, not forever');
  assert.equal(
    r.recipients.filter((u) => !u.ok).map((u) => [u.jid, u.error]),
    [[silent, 'peer-timeout']],
  );
  assert.is((await alice.m.decrypt(BOT, elementOf(r, 'twomemo'))).text, 'partial');
});

test('members whose devices are all unusable are reported per member (partial) with the shared reason', async () => {
  const router = new InProcessRouter();
  const bot = await openDevice(router, BOT, 'b', { trustPolicy: 'manual' });
  const room = new OmemoRoom(ROOM, BOT);
  for (const u of ['ann', 'ben']) {
    await openDevice(router, `${u}@example.org`, 'd1');
    await openDevice(router, `${u}@example.org`, 'd2');
    room.setAffiliation(`${u}@example.org`, 'member');
  }
  room.setAffiliation('nobody@example.org', 'member'); // never published a device list
  // The first send learns everyone's keys (all undecided under 'manual'); ben's are then verified.
  const first = await encryptToRoom(bot.m, room, 'x', { originId: 'o-5', partial: true });
  assert.is(first.recipients.filter((u) => !u.ok).length, 3);
  for (const d of await bot.m.devices('ben@example.org')) await bot.m.setTrust(d.jid, d.deviceId, 'verified');
  const r = await encryptToRoom(bot.m, room, 'y', { originId: 'o-5b', partial: true });
  const unreached = new Map(r.recipients.filter((u) => !u.ok).map((u) => [u.jid, u.error]));
  assert.is(unreached.get('ann@example.org'), 'untrusted-device');
  assert.is(unreached.get('nobody@example.org'), 'no-omemo');
  assert.is(unreached.has('ben@example.org'), false, `${JSON.stringify(r.recipients)}`);
});

test('one stanza: both versions together must fit the limit (each element alone fitting is not enough)', async () => {
  const measure = async (maxElementBytes: number) => {
    const router = new InProcessRouter();
    const bot = await openDevice(router, BOT, 'b', { maxElementBytes });
    const room = new OmemoRoom(ROOM, BOT);
    for (let i = 0; i < 16; i++) {
      const jid = `p${i}@example.org`;
      room.setAffiliation(jid, 'member');
      await openDevice(router, jid, 'd', { versions: [i % 2 === 0 ? 'oldmemo' : 'twomemo'] });
    }
    return { bot, room };
  };
  const unlimited = await measure(Infinity);
  const r = await encryptToRoom(unlimited.bot.m, unlimited.room, 'sized', { originId: 'o-6' });
  const sizes = r.elements.map((e) => e.xml.length);
  assert.is(sizes.length, 2);
  const limit = Math.round(Math.max(...sizes) * 1.45);
  assert.ok(limit < sizes[0]! + sizes[1]!, `${limit} vs ${sizes}`);
  const limited = await measure(limit);
  const e = await rejectsWith(
    encryptToRoom(limited.bot.m, limited.room, 'sized', { originId: 'o-7' }),
    'stanza-too-large',
  );
  const fit = Number(/: (\d+) devices fit/.exec(e.message)?.[1]);
  assert.ok(fit > 0 && fit < 16, e.message);
});

test.run();
