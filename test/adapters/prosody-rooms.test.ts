// OMEMO group chats with the @xmpp/client adapter against a real Prosody 0.12 with mod_muc and mod_muc_mam
// (test/adapters/prosody-server.ts): a members-only, non-anonymous room with a bot and ten accounts of 1–3
// devices each (some 0.3-only), none of them contacts, every message decrypted by every other device, a member
// added later and one removed, our reflections, the room archive, an anonymous room refused, the echo bot.
//
// What Prosody 0.12 does that the adapter relies on (found here and in its mod_muc / mod_muc_mam source):
// - `muc_room_default_members_only` / `muc_room_default_public_jids` make new rooms OMEMO-ready; a new room is
//   locked (status 201) until its owner submits a configuration (an empty form keeps the defaults).
// - In a members-only, non-anonymous room every member may read all affiliation lists (muc#admin); elsewhere
//   only admins and owners may.
// - An affiliation change of someone not in the room is announced to the occupants as a `<message from='room'>`
//   with the item; a member removed while present is kicked with status 321.
// - The room archive adds `<x xmlns='…muc#user'><item jid/>` with the sender's real JID (non-anonymous rooms
//   only) after whatever the sender put in the message; occupants' own `<x>` elements are not stripped.
// - Device lists of non-contacts: our publish-options make the nodes `access_model=open`, so members fetch them
//   explicitly (no `+notify` pushes reach non-contacts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xml } from '@xmpp/client';
import { isOmemoError } from '../../src/crypto/errors';
import { startEchoBot } from './echo-bot-process';
import { ensureProsody, startProsody, type ProsodyServer } from './prosody-server';
import { PASSWORD, connectDevice, stopAll, waitFor, waitForMessage, type Device } from './xmpp-helpers';

const MUC = 'conference.localhost';
const ANON_MUC = 'anon.localhost';
const MEMBERS = Array.from({ length: 10 }, (_, i) => `m${i + 1}`);
const ROOM = `team@${MUC}`;

let serverPromise: Promise<ProsodyServer> | undefined;
const server = (): Promise<ProsodyServer> =>
  (serverPromise ??= startProsody({
    users: ['bot', ...MEMBERS, 'late', 'echobot', 'inviter'],
    password: PASSWORD,
    muc: [
      { host: MUC, membersOnly: true, publicJids: true },
      { host: ANON_MUC, membersOnly: true, publicJids: false },
    ],
  }));

/** Devices of member i: 1–3, and every fourth device runs OMEMO 0.3 only (Profanity, older clients). */
const devicesOf = (i: number) => 1 + (i % 3);
const oldmemoOnly = (i: number, d: number) => (i + d) % 4 === 3;

const nickOf = (d: Device) => `${d.user}-${d.resource}`;

function noErrors(devices: readonly Device[]): void {
  for (const d of devices)
    assert.equal(
      d.errors.map((e) => `${e.context.phase}: ${e.error.message}`),
      [],
      `${d.user}/${d.resource} reported errors`,
    );
}

/** Waits until every device in `receivers` got `text` from `sender` through the room, and checks what it says. */
async function everyoneGets(sender: Device, receivers: readonly Device[], text: string): Promise<void> {
  for (const r of receivers) {
    const m = await waitForMessage(r, text, 15_000);
    assert.is(m.via, 'groupchat', `${nickOf(r)}: via`);
    assert.is(m.room, ROOM);
    assert.is(m.nick, nickOf(sender));
    assert.is(m.realJid, sender.jid);
    assert.is(m.from, sender.jid);
    assert.not.ok(m.reflected);
    const oldOnly = (d: Device) => d.omemo.manager.versions.length === 1;
    const expected = oldOnly(r) || oldOnly(sender) ? 'oldmemo' : 'twomemo';
    assert.is(m.result.version, expected, `${nickOf(r)} decrypted ${text} in ${m.result.version}`);
    if (expected === 'twomemo') assert.is(m.result.envelope?.to, ROOM, 'the SCE <to> is the room');
  }
  const own = await waitForMessage(sender, text);
  assert.is(own.reflected, true, 'our own message comes back from the room, recognised as ours');
  assert.is(own.from, sender.jid);
}

const availability = ensureProsody();

if (!availability.ok && process.env.CI === 'true') {
  test('prosody is available (required under CI=true)', () => {
    assert.unreachable(availability.reason);
  });
} else if (!availability.ok) {
  console.warn(`\n!!! SKIPPED the Prosody group-chat tests: ${availability.reason}\n`);
  test.skip('prosody group-chat tests', () => undefined);
} else {
  const all: Device[] = [];
  test.after(async () => {
    await stopAll(all);
    if (serverPromise) await (await serverPromise.catch(() => undefined))?.stop();
  });

  test('a members-only, non-anonymous room: bot and 10 members with 1–3 devices, every message both ways', async () => {
    const s = await server();
    const bot = await connectDevice(s, 'bot', 'b');
    all.push(bot);
    const room = await bot.omemo.joinRoom(ROOM, { nick: nickOf(bot) }); // creates it: owner, default config
    assert.equal(room.members(), []);
    for (const u of MEMBERS) await bot.omemo.setRoomAffiliation(ROOM, s.jid(u), 'member');
    assert.equal(room.members().sort(), MEMBERS.map((u) => s.jid(u)).sort());

    const members: Device[] = [];
    for (const [i, u] of MEMBERS.entries()) {
      for (let d = 0; d < devicesOf(i); d++) {
        const device = await connectDevice(
          s,
          u,
          `d${d}`,
          oldmemoOnly(i, d) ? { manager: { versions: ['oldmemo'] } } : {},
        );
        members.push(device);
        all.push(device);
      }
    }
    for (const d of members) {
      const r = await d.omemo.joinRoom(ROOM, { nick: nickOf(d) });
      assert.ok(r.isMember(bot.jid), 'the owner is listed (members read affiliation lists here)');
    }
    assert.is(
      members.length,
      MEMBERS.reduce((n, _, i) => n + devicesOf(i), 0),
    );
    // The bot saw every member join (their device lists were fetched when they did): one message reaches all.
    const everyone = [bot, ...members];
    await bot.omemo.idle();
    const r = await bot.omemo.sendToRoom(ROOM, 'hello team');
    assert.equal(r.elements.map((e) => e.version).sort(), ['oldmemo', 'twomemo']);
    assert.is(r.devices.filter((x) => x.ok).length, members.length);
    await everyoneGets(bot, members, 'hello team');
    // Both ways: the first device of each member writes; every other device (its own other ones too) reads it.
    for (const u of MEMBERS) {
      const sender = members.find((d) => d.user === u)!;
      await sender.omemo.sendToRoom(ROOM, `from ${u}`);
      await everyoneGets(
        sender,
        everyone.filter((d) => d !== sender),
        `from ${u}`,
      );
    }
    // Each version on its own, both ways: 0.3 reaches every device; OMEMO 2 only those that have it, and the
    // members without any such device are reported (partial), not silently left out.
    for (const sender of [bot, members.find((d) => d.user === 'm1' && d.resource === 'd0')!]) {
      const old = await sender.omemo.sendToRoom(ROOM, `0.3 from ${sender.user}`, { version: 'oldmemo' });
      assert.equal(
        old.elements.map((e) => e.version),
        ['oldmemo'],
      );
      for (const d of everyone.filter((x) => x !== sender))
        assert.is((await waitForMessage(d, `0.3 from ${sender.user}`)).result.version, 'oldmemo');
      const two = await sender.omemo.sendToRoom(ROOM, `2 from ${sender.user}`, { version: 'twomemo', partial: true });
      const twoCapable = everyone.filter((d) => d !== sender && d.omemo.manager.versions.includes('twomemo'));
      for (const d of twoCapable)
        assert.is((await waitForMessage(d, `2 from ${sender.user}`)).result.version, 'twomemo');
      const oldOnlyAccounts = MEMBERS.map((u) => s.jid(u)).filter((jid) =>
        members.filter((d) => d.jid === jid).every((d) => !d.omemo.manager.versions.includes('twomemo')),
      );
      assert.ok(oldOnlyAccounts.length > 0);
      assert.equal(
        two.recipients
          .filter((u) => !u.ok)
          .map((u) => u.jid)
          .sort(),
        oldOnlyAccounts.filter((j) => j !== sender.jid).sort(),
      );
    }
    noErrors(everyone);
  });

  test('a member added later gets the next message; a removed one gets no key', async () => {
    const s = await server();
    const [bot, m1] = [all.find((d) => d.user === 'bot')!, all.find((d) => d.user === 'm1')!];
    const late = await connectDevice(s, 'late', 'l');
    all.push(late);
    await rejects(late.omemo.joinRoom(ROOM, { nick: 'late-l' }), 'transport-error'); // not a member yet
    await bot.omemo.setRoomAffiliation(ROOM, late.jid, 'member');
    await waitFor('m1 to see late as a member (affiliation announcement)', () =>
      Boolean(m1.omemo.room(ROOM)?.isMember(late.jid)),
    );
    await late.omemo.joinRoom(ROOM, { nick: 'late-l' });
    await waitFor('m1 to see late join', () => m1.omemo.room(ROOM)?.realJidOf('late-l') === late.jid);
    await m1.omemo.sendToRoom(ROOM, 'welcome late');
    const got = await waitForMessage(late, 'welcome late');
    assert.is(got.realJid, m1.jid);

    // Removing m9 (present: kicked with 321) drops it from every member list, so from the next message.
    const m9 = s.jid('m9');
    await bot.omemo.setRoomAffiliation(ROOM, m9, 'none');
    assert.not.ok(bot.omemo.room(ROOM)!.isMember(m9));
    await waitFor('m1 to see m9 removed', () => !m1.omemo.room(ROOM)!.isMember(m9));
    for (const sender of [bot, m1]) {
      const r = await sender.omemo.sendToRoom(ROOM, `without m9 from ${sender.user}`);
      assert.equal(
        r.devices.filter((x) => x.jid === m9),
        [],
        'no key for a removed member',
      );
      assert.ok(r.devices.some((x) => x.jid === late.jid && x.ok));
    }
    await waitForMessage(late, 'without m9 from bot');
  });

  test('the room archive (MAM): a device that was away catches up with real JIDs and its own reflections', async () => {
    const s = await server();
    const bot = all.find((d) => d.user === 'bot')!;
    const away = all.find((d) => d.user === 'm3')!; // one device
    const store = away.store;
    await away.stop();
    await bot.omemo.sendToRoom(ROOM, 'while m3 was away');
    const back = await connectDevice(s, 'm3', away.resource, { store });
    all.push(back);
    await back.omemo.joinRoom(ROOM, { nick: 'm3-back' });
    const result = await back.omemo.catchUp({ room: ROOM });
    assert.ok(result.complete);
    const m = back.messages.find((x) => x.text === 'while m3 was away');
    assert.ok(m, `delivered ${result.delivered} of ${result.processed}`);
    assert.is(m!.via, 'archive');
    assert.is(m!.room, ROOM);
    assert.is(m!.realJid, bot.jid);
    // m3's own earlier message is in the archive too: recognised as ours (this device has no key in it).
    const own = back.messages.find((x) => x.text === undefined && x.reflected && x.via === 'archive');
    assert.ok(own, 'our own archived message is returned as ours');
    assert.is(own!.from, back.jid);
    assert.equal(
      back.errors.map((e) => e.error.message).filter((e) => !/duplicate/.test(e)),
      [],
    );
  });

  test('an anonymous room is refused with room-not-eligible, before or after creating it', async () => {
    const bot = all.find((d) => d.user === 'bot')!;
    const anon = `secret@${ANON_MUC}`;
    await rejects(bot.omemo.joinRoom(anon, { nick: 'bot' }), 'room-not-eligible'); // we created it: refused
    assert.is(bot.omemo.room(anon), undefined);
    const e = await rejects(bot.omemo.joinRoom(anon, { nick: 'bot' }), 'room-not-eligible'); // exists now
    assert.match(e.message, 'muc_nonanonymous');
  });

  test('the echo bot joins on invitation (direct and mediated) and answers in the room', async () => {
    const s = await server();
    const dir = mkdtempSync(join(tmpdir(), 'omemo-echo-room-'));
    const echo = await startEchoBot({
      service: s.service,
      jid: s.jid('echobot'),
      password: PASSWORD,
      store: join(dir, 'e.sqlite'),
    });
    try {
      const owner = await connectDevice(s, 'inviter', 'i');
      all.push(owner);
      for (const [kind, roomJid] of [
        ['direct', `direct@${MUC}`],
        ['mediated', `mediated@${MUC}`],
      ] as const) {
        await owner.omemo.joinRoom(roomJid, { nick: 'owner' });
        await owner.omemo.setRoomAffiliation(roomJid, s.jid('echobot'), 'member');
        const invite =
          kind === 'direct'
            ? xml('message', { to: s.jid('echobot') }, xml('x', { xmlns: 'jabber:x:conference', jid: roomJid }))
            : xml(
                'message',
                { to: roomJid },
                xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' }, xml('invite', { to: s.jid('echobot') })),
              );
        await owner.omemo.client.send(invite);
        await waitFor(
          `the echo bot to join ${roomJid}`,
          () => owner.omemo.room(roomJid)!.realJidOf('echo-bot') !== undefined,
          20_000,
        );
        await owner.omemo.idle();
        await owner.omemo.sendToRoom(roomJid, `echo ${kind}`);
        const answers = () => owner.messages.filter((m) => m.text === `echo ${kind}` && m.room === roomJid);
        await waitFor(`the echo in ${roomJid}`, () => answers().some((m) => m.realJid === s.jid('echobot')), 20_000);
      }
      assert.equal(echo.stderr, []);
    } finally {
      await echo.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function rejects(p: Promise<unknown>, code: Parameters<typeof isOmemoError>[1]) {
  try {
    await p;
  } catch (e) {
    assert.ok(isOmemoError(e, code), `expected ${code}, got ${String(e)}`);
    return e as Error;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

test.run();
