// The @xmpp/client adapter against a real Prosody 0.12 (test/adapters/prosody-server.ts): several accounts and
// devices, both OMEMO versions, a device added later, offline delivery and MAM catch-up, a 20-device fan-out,
// the echo bot (examples/echo-bot.ts) with a restart on its SQLite store, and PEP node reconfiguration.
//
// What Prosody does that a client must cope with (found here and in Prosody's source):
// - mod_mam archives a message only with <body>, <store xmlns='urn:xmpp:hints'/>, (0.12) EME <encryption> or a
//   few other markers: OMEMO messages get a fallback body, EME and the store hint, automatic empty messages the
//   store hint. (0.12's mod_offline stores every chat/normal message; other servers and versions filter.)
// - PEP nodes default to access_model=presence and max_items=1: a contact-less peer cannot read a bundle and
//   the OMEMO 2 bundles node would keep one device, so publish-options are mandatory.
// - 0.12 accepts pubsub#max_items=max (stored as "max", meaning pep_max_items, default 256) but compares
//   publish-options literally: a node created with max_items=256 refuses max (and vice versa) with
//   <conflict/><precondition-not-met/> "Field does not match: max_items"; reconfiguring the node
//   (pubsub#owner, a partial form is merged with the old config) and publishing again works.
// - Fetching a missing item of an existing node gives an empty <items/>, a missing node item-not-found.
// - +notify: only caps with hash='sha-1' count (other hashes are ignored: no notifications at all); Prosody
//   computes the hash itself from our disco#info answer, and it pushes a contact's notifications only
//   if the contact's roster has us with a presence subscription (mutual contacts here via mod_groups).
// - Messages to the bare JID go to all available resources of the highest priority; a device that was
//   offline while another one was online gets nothing from the offline store: MAM catch-up is its only way.
//   mod_offline delivers and deletes on the first available presence, and not at all to a session that
//   queried MAM before its first presence (the adapter sends presence during setup, before any catch-up).
// - MAM pages hold at most 50 results (max_archive_query_results) whatever <max> says; the result
//   messages come without a from attribute (= our own archive).
// - An approved subscription reaches the requester as the contact's presence; the <presence type='subscribed'/>
//   itself only goes to resources that requested the roster.
// - Refuses to run as root (mod_posix) unless run_as_root = true; runs in the foreground with -F.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { client, xml } from '@xmpp/client';
import { NODE_OMEMO2_BUNDLES } from '../../src/omemo/versions/twomemo';
import { createPepTransport } from '../../src/adapters/pep-transport';
import { OmemoError } from '../../src/crypto/errors';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import { createXmppClientOmemo } from '../../src/adapters/xmpp-client';
import { runEchoBotToExit, startEchoBot } from './echo-bot-process';
import { ensureProsody, startProsody, type ProsodyServer } from './prosody-server';
import { PASSWORD, connectDevice, stopAll, waitFor, waitForDevices, waitForMessage, type Device } from './xmpp-helpers';

const CHAT = ['alice', 'bob', 'carol', 'dave'];
const FANOUT_ACCOUNTS = ['f1', 'f2', 'f3', 'f4', 'f5'];
const FANOUT_DEVICES_PER_ACCOUNT = 4;
const ECHO_ROUNDS = 20;
const OTHERS = ['fanbot', 'echobot', 'tester', 'erin'];
const ALERTS = ['notifier', 'reader'];
/** An account that never uses OMEMO (a contact of alice's). */
const PLAIN = 'plain';
/** Alerts a one-way bot sends a reader who never answers, in one simulated day. */
const ALERT_COUNT = 1000;

let serverPromise: Promise<ProsodyServer> | undefined;
const server = (): Promise<ProsodyServer> =>
  (serverPromise ??= startProsody({
    users: [...CHAT, ...FANOUT_ACCOUNTS, ...OTHERS, ...ALERTS, PLAIN],
    password: PASSWORD,
    groups: { Chat: CHAT, Fanout: ['fanbot', ...FANOUT_ACCOUNTS], Alerts: ALERTS, Plain: ['alice', PLAIN] },
  }));

/** Runs `body` with a list that collects devices, stopping all of them afterwards whatever happens. */
async function withDevices(body: (devices: Device[]) => Promise<void>): Promise<void> {
  const devices: Device[] = [];
  try {
    await body(devices);
  } finally {
    await stopAll(devices);
  }
}

function noErrors(devices: readonly Device[]): void {
  for (const d of devices)
    assert.equal(
      d.errors.map((e) => `${e.context.phase}: ${e.error.message}`),
      [],
      `${d.user}/${d.resource} reported errors`,
    );
}

const availability = ensureProsody();

if (!availability.ok && process.env.CI === 'true') {
  test('prosody is available (required under CI=true)', () => {
    assert.unreachable(availability.reason);
  });
} else if (!availability.ok) {
  console.warn(`\n!!! SKIPPED the Prosody integration tests of the @xmpp/client adapter: ${availability.reason}\n`);
  test.skip('prosody integration tests', () => undefined);
} else {
  // alice's and bob's devices are shared by the first three tests (stopped after the third or at the end).
  let a1: Device, a2: Device, b1: Device, b2: Device;
  const shared: Device[] = [];

  test.after(async () => {
    await stopAll(shared);
    if (serverPromise) await (await serverPromise.catch(() => undefined))?.stop();
  });

  test('OMEMO 2 and 0.3 between two accounts: both directions, carbons to our own devices, a 0.3-only peer', async () => {
    const s = await server();
    shared.push((a1 = await connectDevice(s, 'alice', 'a1')));
    shared.push((a2 = await connectDevice(s, 'alice', 'a2')));
    shared.push((b1 = await connectDevice(s, 'bob', 'b1')));
    shared.push((b2 = await connectDevice(s, 'bob', 'b2')));
    const all = [a1, a2, b1, b2];
    for (const d of all) await waitForDevices(d, all);

    // alice/a1 → bob in OMEMO 2 (the default for devices that have it): key exchanges to every device.
    const r1 = await a1.omemo.send(b1.jid, 'hello bob');
    assert.equal(
      r1.elements.map((e) => e.version),
      ['twomemo'],
    );
    assert.equal(r1.devices.filter((d) => d.ok).length, 3);
    for (const d of [b1, b2]) {
      const m = await waitForMessage(d, 'hello bob');
      assert.is(m.via, 'direct');
      assert.is(m.from, a1.jid);
      assert.is(m.result.version, 'twomemo');
      assert.ok(m.result.keyExchange);
      assert.is(m.result.envelopeFromMatches, true);
    }
    const carbon = await waitForMessage(a2, 'hello bob');
    assert.is(carbon.via, 'carbon-sent');
    assert.is(carbon.from, a1.jid);
    assert.is(carbon.peer, b1.jid);

    // bob/b2 → alice, legacy 0.3 on request; b1 sees its own account's message as a sent carbon.
    const r2 = await b2.omemo.send(a1.jid, 'hi alice, in 0.3', { version: 'oldmemo' });
    assert.equal(
      r2.elements.map((e) => e.version),
      ['oldmemo'],
    );
    for (const d of [a1, a2]) assert.is((await waitForMessage(d, 'hi alice, in 0.3')).result.version, 'oldmemo');
    assert.is((await waitForMessage(b1, 'hi alice, in 0.3')).via, 'carbon-sent');

    // The automatic empty messages settle the sessions: once alice/a1 has heard back from a device, no more
    // key exchanges to it. b1 and b2 sent theirs before their next messages, and a1 processes in order.
    await b1.omemo.send(a1.jid, 'second from bob');
    await waitForMessage(a1, 'second from bob');
    await a1.omemo.idle();
    const r3 = await a1.omemo.send(b1.jid, 'no key exchange any more');
    assert.equal(
      r3.devices.filter((d) => d.jid === b1.jid && d.version === 'twomemo').map((d) => d.keyExchange),
      [false, false],
    );
    for (const d of [b1, b2])
      assert.is((await waitForMessage(d, 'no key exchange any more')).result.keyExchange, false);

    // dave only speaks 0.3: alice's client picks 0.3 for him without being told.
    await withDevices(async (devices) => {
      const dave = await connectDevice(s, 'dave', 'd1', { manager: { versions: ['oldmemo'] } });
      devices.push(dave);
      await waitForDevices(a1, [dave]);
      const r4 = await a1.omemo.send(dave.jid, 'hello dave');
      assert.equal(
        r4.elements.map((e) => e.version).sort(),
        ['oldmemo', 'twomemo'],
        'dave in 0.3, alice/a2 in OMEMO 2',
      );
      assert.is((await waitForMessage(dave, 'hello dave')).result.version, 'oldmemo');
      await dave.omemo.send(a1.jid, 'hello alice, from 0.3');
      for (const d of [a1, a2]) assert.is((await waitForMessage(d, 'hello alice, from 0.3')).result.version, 'oldmemo');
      for (const d of [...all, dave]) await d.omemo.idle();
      noErrors([...all, dave]);
    });
  });

  test('a device added later is included once its device-list event arrived', async () => {
    const s = await server();
    assert.ok(a1 && b1, 'needs the devices of the first test');
    await withDevices(async (devices) => {
      const a3 = await connectDevice(s, 'alice', 'a3');
      devices.push(a3);
      // bob learns about a3 only through the PEP event (+notify): his list of alice was fetched long ago.
      await waitForDevices(b1, [a1, a2, a3]);
      const r = await b1.omemo.send(a1.jid, 'welcome, a3');
      assert.ok(r.devices.some((d) => d.deviceId === a3.deviceId && d.ok && d.keyExchange));
      for (const d of [a1, a2, a3]) await waitForMessage(d, 'welcome, a3');
      await waitForDevices(a3, [b1, b2]);
      await a3.omemo.send(b1.jid, 'a3 answers');
      for (const d of [b1, b2]) await waitForMessage(d, 'a3 answers');
      assert.is((await waitForMessage(a1, 'a3 answers')).via, 'carbon-sent');
      noErrors([a3, a1, b1]);
    });
  });

  test('offline: a device that was away catches up from MAM; an account that was away gets the offline store', async () => {
    const s = await server();
    assert.ok(a1 && b2, 'needs the devices of the first test');
    await withDevices(async (devices) => {
      // bob/b2 goes away while b1 stays: Prosody delivers to b1 only, so b2 needs the archive.
      const since = new Date(Date.now() - 1000);
      const b2Store = b2.store;
      await b2.stop();
      await a1.omemo.send(b1.jid, 'while b2 was away 1');
      await a1.omemo.send(b1.jid, 'while b2 was away 2');
      await waitForMessage(b1, 'while b2 was away 2');
      const b2again = await connectDevice(s, 'bob', 'b2', { store: b2Store });
      devices.push(b2again);
      assert.is(b2again.deviceId, b2.deviceId);
      const caught = await b2again.omemo.catchUp({ start: since });
      assert.ok(caught.complete);
      assert.ok(caught.last !== undefined);
      for (const text of ['while b2 was away 1', 'while b2 was away 2']) {
        const m = await waitForMessage(b2again, text);
        assert.is(m.via, 'archive');
        assert.ok(m.archiveId !== undefined && m.delay !== undefined);
      }
      // Older archived messages this device had already decrypted fail quietly as duplicates.
      noErrors([b2again]);

      // carol has published her device, then goes offline entirely: the offline store keeps the messages.
      const carol = await connectDevice(s, 'carol', 'c1');
      await waitForDevices(a1, [carol]);
      await carol.stop();
      await a1.omemo.send(carol.jid, 'for carol, stored offline');
      const carolAgain = await connectDevice(s, 'carol', 'c1', { store: carol.store });
      devices.push(carolAgain);
      const m = await waitForMessage(carolAgain, 'for carol, stored offline');
      assert.is(m.via, 'direct');
      assert.ok(m.delay !== undefined, 'offline messages carry a delay stamp');
      assert.ok(m.result.keyExchange);
      await waitForMessage(a2, 'for carol, stored offline');
      noErrors([carolAgain, a1]);
    });
    await stopAll(shared);
  });

  test(`a bot fans out to ${FANOUT_ACCOUNTS.length * FANOUT_DEVICES_PER_ACCOUNT} devices of ${FANOUT_ACCOUNTS.length} accounts, all decrypt`, async () => {
    const s = await server();
    await withDevices(async (devices) => {
      const bot = await connectDevice(s, 'fanbot', 'bot');
      devices.push(bot);
      const fans = (
        await Promise.all(
          FANOUT_ACCOUNTS.map(async (user) => {
            const mine: Device[] = [];
            for (let i = 1; i <= FANOUT_DEVICES_PER_ACCOUNT; i++) {
              const d = await connectDevice(s, user, `phone${i}`);
              mine.push(d);
              devices.push(d);
            }
            return mine;
          }),
        )
      ).flat();
      await waitForDevices(bot, fans);
      const jids = FANOUT_ACCOUNTS.map((u) => s.jid(u));
      for (const text of ['announcement 1', 'announcement 2']) {
        const r = await bot.omemo.send(jids, text);
        assert.is(r.devices.filter((d) => d.ok).length, fans.length);
        for (const f of fans) {
          const m = await waitForMessage(f, text);
          assert.is(m.from, bot.jid);
        }
      }
      for (const f of fans) assert.is(f.messages.length, 2, `${f.user}/${f.resource} got each message once`);
      await bot.omemo.idle();
      noErrors(devices);
    });
  });

  test(`echo bot (npm run bot): encrypted echoes, ${ECHO_ROUNDS} round trips timed, restart on its SQLite store`, async () => {
    const s = await server();
    const dir = mkdtempSync(join(tmpdir(), 'omemo-echo-'));
    const store = join(dir, 'echobot.sqlite');
    const botJid = s.jid('echobot');
    let bot = await startEchoBot({ service: s.service, jid: botJid, password: PASSWORD, store });
    try {
      await withDevices(async (devices) => {
        // The tester is no contact of the bot: bundles and device lists must be open to everyone.
        const tester = await connectDevice(s, 'tester', 'laptop');
        devices.push(tester);
        // The bot approves subscription requests and asks back (its approveSubscriptions). Prosody shows the approval
        // as the bot's available presence (the `subscribed` itself only goes to resources that fetched the roster).
        const presences: string[] = [];
        tester.omemo.client.on('stanza', (st) => {
          if (st.name === 'presence' && st.attrs.from?.startsWith(botJid)) presences.push(st.attrs.type ?? 'available');
        });
        await tester.omemo.client.send(xml('presence', { to: botJid, type: 'subscribe' }));
        await waitFor(
          'the bot to approve and subscribe back',
          () => presences.includes('available') && presences.includes('subscribe'),
        );
        const rtts: number[] = [];
        for (let i = 0; i < ECHO_ROUNDS; i++) {
          const text = `ping ${i}`;
          const t0 = performance.now();
          await tester.omemo.send(botJid, text);
          const echo = await waitForMessage(tester, text);
          rtts.push(performance.now() - t0);
          assert.is(echo.from, botJid);
          assert.is(echo.result.sender.deviceId, bot.deviceId);
        }
        rtts.sort((a, b) => a - b);
        const median = (rtts[ECHO_ROUNDS / 2 - 1]! + rtts[ECHO_ROUNDS / 2]!) / 2;
        console.log(
          `\n  echo bot round trip on loopback (encrypt → Prosody → bot decrypts, encrypts → Prosody → decrypt): median ${median.toFixed(1)} ms, min ${rtts[0]!.toFixed(1)}, max ${rtts[rtts.length - 1]!.toFixed(1)} over ${ECHO_ROUNDS}`,
        );

        // Restart: same device, same sessions from the SQLite file; the conversation just continues. Now with
        // --verbose: the library's events on stderr.
        assert.is(await bot.stop(), 0);
        assert.equal(bot.stderr, []);
        bot = await startEchoBot({ service: s.service, jid: botJid, password: PASSWORD, store, verbose: true });
        const r = await tester.omemo.send(botJid, 'after the restart');
        assert.equal(
          r.devices.filter((d) => d.jid === botJid).map((d) => [d.deviceId, d.keyExchange]),
          [[bot.deviceId, false]],
        );
        const echo = await waitForMessage(tester, 'after the restart');
        assert.is(echo.result.sender.deviceId, bot.deviceId);
        assert.is(echo.result.keyExchange, false, 'the bot kept its session');
        noErrors([tester]);
        await waitFor('the bot to log its answer', () => bot.stderr.some((l) => l.startsWith('debug encrypted ')));
        assert.ok(bot.stderr.some((l) => l.startsWith(`info online jid=${botJid} deviceId=${bot.deviceId} `)));
        for (const l of bot.stderr) assert.match(l, /^(debug|info) [a-z-]+ /, 'only debug and info events');
      });
    } finally {
      await bot.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('publish-options: a bundles node created with other options is reconfigured, then open to everyone', async () => {
    const s = await server();
    // Another client created erin's OMEMO 2 bundles node with Prosody's defaults (presence access, 1 item).
    const raw = client({
      service: s.service,
      domain: s.domain,
      resource: 'raw',
      credentials: (auth: (c: unknown, m: string) => Promise<void>) =>
        auth({ username: 'erin', password: PASSWORD }, 'PLAIN'),
    });
    raw.on('error', () => undefined);
    await raw.start();
    try {
      await raw.iqCaller.request(
        xml(
          'iq',
          { type: 'set' },
          xml(
            'pubsub',
            { xmlns: 'http://jabber.org/protocol/pubsub' },
            xml(
              'publish',
              { node: NODE_OMEMO2_BUNDLES },
              xml('item', { id: '7' }, xml('bundle', { xmlns: 'urn:xmpp:omemo:2' })),
            ),
          ),
        ),
      );
    } finally {
      await raw.stop();
    }
    await withDevices(async (devices) => {
      const erin = await connectDevice(s, 'erin', 'e1', { manager: { versions: ['twomemo'] } });
      devices.push(erin);
      const tester = await connectDevice(s, 'tester', 'phone');
      devices.push(tester);
      // No contact of erin's, so only access_model=open lets the tester read both items (max_items > 1).
      const transport = createPepTransport(tester.omemo.client);
      assert.ok((await transport.fetch(erin.jid, NODE_OMEMO2_BUNDLES, String(erin.deviceId)))?.includes('<bundle'));
      assert.ok(
        await transport.fetch(erin.jid, NODE_OMEMO2_BUNDLES, '7'),
        'the older item survived: max_items was raised',
      );
      assert.not.ok(transport.usesNumericMaxItems);
      await tester.omemo.send(erin.jid, 'hello erin');
      await waitForMessage(erin, 'hello erin');
      noErrors(devices);
    });
  });

  test('a wrong password or no server: ready() rejects with a typed error; the echo bot says so in one line', async () => {
    const s = await server();
    const attempt = async (service: string, password: string) => {
      const xmpp = client({
        service,
        domain: s.domain,
        resource: 'r',
        credentials: (auth: (c: { username: string; password: string }, m: string) => Promise<void>) =>
          auth({ username: 'erin', password }, 'PLAIN'),
      });
      xmpp.on('error', () => undefined); // what the caller sees is ready()'s
      const omemo = createXmppClientOmemo({ client: xmpp, store: new MemoryStore() });
      xmpp.start().catch(() => undefined);
      try {
        await omemo.ready();
        return undefined;
      } catch (e) {
        return e;
      } finally {
        await xmpp.stop().catch(() => undefined);
      }
    };
    const wrong = await attempt(s.service, 'not the password');
    assert.instance(wrong, OmemoError);
    assert.is((wrong as OmemoError).code, 'login-failed');
    assert.match((wrong as Error).message, /not-authorized/);
    const closed = await attempt('xmpp://127.0.0.1:1', PASSWORD);
    assert.is((closed as OmemoError).code, 'connection-failed');
    assert.match((closed as Error).message, /ECONNREFUSED/);

    const dir = mkdtempSync(join(tmpdir(), 'omemo-bot-'));
    try {
      const bot = { jid: s.jid('echobot'), store: join(dir, 'bot.sqlite') };
      const denied = await runEchoBotToExit({ ...bot, service: s.service, password: 'wrong' });
      assert.is(denied.code, 1);
      assert.equal(denied.stderr, ['echo bot: login failed: not-authorized']);
      const nowhere = await runEchoBotToExit({ ...bot, service: 'xmpp://127.0.0.1:1', password: PASSWORD });
      assert.is(nowhere.code, 1);
      assert.is(nowhere.stderr.length, 1, nowhere.stderr.join('\n'));
      assert.match(nowhere.stderr[0]!, /^echo bot: connecting failed: .*ECONNREFUSED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('recipients: an invalid JID, no such account, a remote domain and a contact without OMEMO are told apart', async () => {
    const s = await server();
    await withDevices(async (devices) => {
      const alice = await connectDevice(s, 'alice', 'recipients');
      const bob = await connectDevice(s, 'bob', 'recipients');
      devices.push(alice, bob);
      const codes: Record<string, string> = {
        'bad@@jid': 'invalid-jid',
        [s.jid('nosuchuser')]: 'device-list-forbidden', // Prosody answers <forbidden/> for accounts it lacks
        'someone@unreachable.example': 'recipient-unreachable', // no federation: <not-allowed/>
        [s.jid(PLAIN)]: 'no-omemo', // <item-not-found/>: no device list
      };
      for (const [who, code] of Object.entries(codes)) {
        let e: unknown;
        await alice.omemo.send(who, 'x').catch((x: unknown) => (e = x));
        assert.is((e as OmemoError)?.code, code, `${who}: ${(e as Error)?.message}`);
      }
      const r = await alice.omemo.send([bob.jid, ...Object.keys(codes)], 'only for bob', { partial: true });
      assert.equal(
        r.recipients.map((x) => [x.jid, x.error ?? 'ok']),
        [[bob.jid, 'ok'], ...Object.entries(codes)],
      );
      await waitForMessage(bob, 'only for bob');
      noErrors(devices);
    });
  });

  test(`a one-way bot reaches both 0.3 devices of a reader who never answers, ${ALERT_COUNT} times in a day`, async () => {
    const s = await server();
    await withDevices(async (devices) => {
      // The reader's clients speak 0.3 and, like Profanity, send nothing back: no session completion, no
      // heartbeat. Before the stale-device policy, the bot dropped them after 500 unanswered messages.
      const reader = [await connectDevice(s, 'reader', 'profanity', { manager: { versions: ['oldmemo'] } })];
      reader.push(await connectDevice(s, 'reader', 'laptop', { manager: { versions: ['oldmemo'] } }));
      for (const r of reader) (r.omemo.transport as { send: unknown }).send = async () => undefined;
      let now = Date.now();
      const bot = await connectDevice(s, 'notifier', 'bot', { manager: { now: () => now } });
      devices.push(...reader, bot);
      await waitForDevices(bot, reader);
      for (let i = 0; i < ALERT_COUNT; i++) {
        now += 86_000; // ~24 hours in all
        const r = await bot.omemo.send(reader[0]!.jid, `alert ${i}`);
        assert.equal(
          r.devices.map((d) => d.ok),
          [true, true],
          `alert ${i}: ${JSON.stringify(r.devices)}`,
        );
      }
      for (const r of reader) {
        await waitFor(
          `${r.resource} to read ${ALERT_COUNT} alerts`,
          () => r.messages.filter((m) => m.text?.startsWith('alert ')).length >= ALERT_COUNT,
        );
        assert.equal(new Set(r.messages.map((m) => m.text)).size, ALERT_COUNT, 'each alert exactly once');
      }
      assert.is(bot.messages.length, 0, 'the bot never heard back');
      noErrors(devices);
    });
  });
}

test.run();
