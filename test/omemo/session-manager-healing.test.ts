// Sessions that never silently die (the healing issue): trust per identity key, a burst of first messages on one
// bundle snapshot, automatic repair after a restored backup or a lost store, resetSession, and the stale-device
// policy for one-way senders. Each test failed on the old code (2e41c5c).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isOmemoError } from '../../src/crypto/errors';
import { cryptoReady } from '../../src/crypto/ready';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { CONSUMED_PRE_KEY_KEEP_MS } from '../../src/omemo/policies/pre-key-policy';
import { SESSION_REPAIR_INTERVAL_MS } from '../../src/omemo/manager/session-manager';
import { STALE_DEVICE_AFTER_DAYS } from '../../src/omemo/policies/stale-device';
import {
  InProcessRouter,
  copyStore,
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
const DAY_MS = 24 * 3600 * 1000;

/** Delivers every message waiting for `to` (automatic ones included) and returns the decrypt results. */
async function deliverAll(router: InProcessRouter, to: Device) {
  const out = [];
  for (const m of router.drain(to.inbox)) out.push(await to.m.decrypt(m.from, m.xml));
  return out;
}

for (const version of VERSIONS) {
  const versions: OmemoVersion[] = [version];

  test(`${version}: a key exchange with a new identity key on a known device: new fingerprint, its own trust, reported`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions, trustPolicy: 'manual' });
    const bob = await openDevice(router, BOB, 'b', { versions });
    await syncDeviceLists(router, [alice, bob]);
    await alice.m.setTrust(BOB, bob.m.deviceId, 'blind');
    await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hi'), version));
    const oldFingerprint = bob.m.fingerprint;
    // Someone else now holds bob's device id with another identity key and writes first.
    const impostor = await openDevice(router, BOB, 'evil', { versions, deviceId: bob.m.deviceId, publish: false });
    await impostor.m.setDeviceList(ALICE, version, [alice.m.deviceId]);
    const out = await alice.m.decrypt(BOB, elementOf(await impostor.m.encrypt([ALICE], 'it is me, bob'), version));
    assert.equal(out.identityChanged, {
      previousFingerprint: oldFingerprint,
      fingerprint: impostor.m.fingerprint,
      trust: 'undecided',
    });
    assert.is(
      out.trust,
      'undecided',
      'manual policy: a new key waits for a decision, the old blind trust is not inherited',
    );
    const [dev] = await alice.m.devices(BOB);
    assert.is(dev!.fingerprint, impostor.m.fingerprint);
    // Nothing goes to the new key until the user decides.
    const r = await alice.m.encrypt([BOB], 'secret', { partial: true });
    assert.equal(
      r.devices.map((d) => [d.ok, d.error]),
      [[false, 'untrusted-device']],
    );
    assert.equal(r.elements, []);
    // A decision about a key the user did not see is refused.
    await rejectsWith(
      alice.m.setTrust(BOB, bob.m.deviceId, 'verified', { fingerprint: oldFingerprint }),
      'untrusted-device',
    );
    await alice.m.setTrust(BOB, bob.m.deviceId, 'distrusted', { fingerprint: impostor.m.fingerprint });
    await rejectsWith(
      alice.m.decrypt(BOB, elementOf(await impostor.m.encrypt([ALICE], 'again'), version)),
      'untrusted-device',
    );
    // The real bob writes on his session, which was kept: his key is back with its own trust, and alice answers.
    const real = await alice.m.decrypt(BOB, elementOf(await bob.m.encrypt([ALICE], 'the real bob'), version));
    assert.is(real.text, 'the real bob');
    assert.is(real.trust, 'blind');
    assert.equal(real.identityChanged, {
      previousFingerprint: impostor.m.fingerprint,
      fingerprint: oldFingerprint,
      trust: 'blind',
    });
    const answer = await alice.m.encrypt([BOB], 'welcome back');
    assert.is((await bob.m.decrypt(ALICE, elementOf(answer, version))).text, 'welcome back');
    // The impostor's key stays distrusted should it come back.
    await rejectsWith(
      alice.m.decrypt(BOB, elementOf(await impostor.m.encrypt([ALICE], 'me again'), version)),
      'untrusted-device',
    );
  });

  test(`${version}: BTBV: a verified device's new key is undecided; verifying it again restores sending`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    const bob = await openDevice(router, BOB, 'b', { versions });
    await syncDeviceLists(router, [alice, bob]);
    await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hi'), version));
    await alice.m.setTrust(BOB, bob.m.deviceId, 'verified');
    const reinstalled = await openDevice(router, BOB, 'b2', { versions, deviceId: bob.m.deviceId });
    await reinstalled.m.setDeviceList(ALICE, version, [alice.m.deviceId]);
    const out = await alice.m.decrypt(BOB, elementOf(await reinstalled.m.encrypt([ALICE], 'new phone'), version));
    assert.is(out.text, 'new phone', 'the message is shown, marked undecided');
    assert.is(out.trust, 'undecided');
    assert.is(out.identityChanged?.previousFingerprint, bob.m.fingerprint);
    await rejectsWith(alice.m.encrypt([BOB], 'x'), 'untrusted-device');
    await alice.m.setTrust(BOB, bob.m.deviceId, 'verified', { fingerprint: reinstalled.m.fingerprint });
    const back = await alice.m.encrypt([BOB], 'verified again');
    assert.is((await reinstalled.m.decrypt(ALICE, elementOf(back, version))).text, 'verified again');
  });

  test(`${version}: 100 contacts on one bundle snapshot: all 100 first messages decrypt; a replay is a duplicate`, async () => {
    const router = new InProcessRouter();
    const bot = await openDevice(router, 'bot@example.org', 'bot', { versions });
    const contacts: Device[] = [];
    for (let i = 0; i < 100; i++)
      contacts.push(await openDevice(router, `c${i}@example.org`, 'c', { versions, publish: i === 0 }));
    // Every contact builds its session on the same published bundle before the bot reads anything.
    for (const c of contacts) await c.m.buildSession('bot@example.org', bot.m.deviceId, version);
    const firsts = [];
    for (const c of contacts)
      firsts.push(elementOf(await c.m.encrypt(['bot@example.org'], `hello from ${c.jid}`), version));
    const texts = [];
    for (let i = 0; i < firsts.length; i++) texts.push((await bot.m.decrypt(contacts[i]!.jid, firsts[i]!)).text);
    assert.equal(
      texts,
      contacts.map((c) => `hello from ${c.jid}`),
    );
    // The bundle never offers a used key again; replays are refused and change nothing.
    const offered = new Set(bot.m.preKeyIds());
    const used = (await bot.store.loadPreKeys()).filter((k) => k.consumed);
    assert.ok(used.length > 0 && used.every((k) => !offered.has(k.id)));
    const state = await snapshot(
      bot.store,
      [contacts[7]!.jid],
      [{ version, jid: contacts[7]!.jid, deviceId: contacts[7]!.m.deviceId }],
    );
    await rejectsWith(bot.m.decrypt(contacts[7]!.jid, firsts[7]!), 'duplicate-message');
    assert.is(
      await snapshot(
        bot.store,
        [contacts[7]!.jid],
        [{ version, jid: contacts[7]!.jid, deviceId: contacts[7]!.m.deviceId }],
      ),
      state,
    );
    // After the keep time, used keys are deleted at the next maintenance.
    bot.clock.advance(CONSUMED_PRE_KEY_KEEP_MS);
    await bot.m.rotateSignedPreKey();
    assert.equal(
      (await bot.store.loadPreKeys()).filter((k) => k.consumed),
      [],
    );
  });

  test(`${version}: a device restored from an old backup talks normally again within one round trip`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    const bob = await openDevice(router, BOB, 'b', { versions });
    await syncDeviceLists(router, [alice, bob]);
    await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hi'), version));
    await deliverAll(router, alice);
    const addresses = [{ version, jid: ALICE, deviceId: alice.m.deviceId }];
    const saved = await copyStore(bob.store, [ALICE, BOB], addresses);
    // The conversation goes on (both ratchets turn), then bob's device is restored from the backup.
    for (let i = 0; i < 3; i++) {
      await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], `a${i}`), version));
      await alice.m.decrypt(BOB, elementOf(await bob.m.encrypt([ALICE], `b${i}`), version));
    }
    router.drain(bob.inbox);
    router.drain(alice.inbox);
    const restored = await openDevice(router, BOB, 'b', { versions, store: saved, publish: false, clock: bob.clock });
    // Alice's next message cannot be read by the restored device: it repairs the session at once.
    const lost = elementOf(await alice.m.encrypt([BOB], 'lost'), version);
    await rejectsWith(restored.m.decrypt(ALICE, lost), 'bad-mac');
    const repairs = router.drain(alice.inbox);
    assert.equal(
      repairs.map((m) => m.kind),
      ['session-repair'],
    );
    const got = await alice.m.decrypt(BOB, repairs[0]!.xml);
    assert.is(got.keyExchange, true);
    await deliverAll(router, restored); // alice's session completion
    assert.is(
      (await restored.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'can you read me?'), version))).text,
      'can you read me?',
    );
    assert.is((await alice.m.decrypt(BOB, elementOf(await restored.m.encrypt([ALICE], 'yes'), version))).text, 'yes');
  });

  test(`${version}: repair is rate-limited per device; resetSession is not`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    const bob = await openDevice(router, BOB, 'b', { versions });
    await syncDeviceLists(router, [alice, bob]);
    await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hi'), version));
    await alice.m.decrypt(BOB, elementOf(await bob.m.encrypt([ALICE], 'ho'), version));
    // Bob loses his sessions (a new store with the same identity would do the same).
    const amnesiac = await openDevice(router, BOB, 'b', {
      versions,
      store: await copyStore(bob.store, [ALICE], []),
      publish: false,
      clock: bob.clock,
    });
    router.drain(alice.inbox);
    await rejectsWith(amnesiac.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'one'), version)), 'no-session');
    // Bob now has the repair's new session; alice has not read its key exchange yet, so she still writes on hers.
    await rejectsWith(amnesiac.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'two'), version)), 'bad-mac');
    assert.equal(
      router.drain(alice.inbox).map((m) => m.kind),
      ['session-repair'],
      'one repair in the interval',
    );
    amnesiac.clock.advance(SESSION_REPAIR_INTERVAL_MS);
    await rejectsWith(amnesiac.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'three'), version)), 'bad-mac');
    const later = router.drain(alice.inbox);
    assert.equal(
      later.map((m) => m.kind),
      ['session-repair'],
      'again after the interval',
    );
    const sent = await amnesiac.m.resetSession(ALICE, alice.m.deviceId);
    assert.equal(
      sent.map((m) => [m.kind, m.version]),
      [['session-reset', version]],
    );
    const resets = router.drain(alice.inbox);
    assert.is(resets.length, 1);
    // Alice takes the newest key exchange; her answers decrypt.
    for (const m of [...later, ...resets]) await alice.m.decrypt(BOB, m.xml).catch(() => undefined);
    router.drain(amnesiac.inbox);
    assert.is(
      (await amnesiac.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'healed'), version))).text,
      'healed',
    );
  });

  test(`${version}: a one-way bot reaches a user who never answers 1000 times in a day (no heartbeats)`, async () => {
    const router = new InProcessRouter();
    const bot = await openDevice(router, 'bot@example.org', 'bot', { versions });
    const user = await openDevice(router, 'user@example.org', 'u', { versions });
    const tablet = await openDevice(router, 'user@example.org', 't', { versions });
    await syncDeviceLists(router, [bot, user, tablet]);
    for (let i = 0; i < 1000; i++) {
      bot.clock.advance(80_000); // 1000 alerts over ~22 hours
      const r = await bot.m.encrypt(['user@example.org'], `alert ${i}`);
      assert.ok(
        r.devices.every((d) => d.ok),
        `alert ${i}: ${JSON.stringify(r.devices)}`,
      );
      if (i % 100 === 0) {
        // The user reads (a 0.3 client like Profanity never sends heartbeats); answers are lost.
        await user.m.decrypt('bot@example.org', elementOf(r, version));
        router.drain(bot.inbox);
      }
    }
    // Only many messages AND a long silence make a device stale; `false` never does.
    bot.clock.advance(STALE_DEVICE_AFTER_DAYS * DAY_MS);
    const late = await bot.m.encrypt(['user@example.org'], 'a month later', { partial: true });
    assert.equal(late.devices.map((d) => d.error).sort(), ['stale-device', 'stale-device']);
    const patient = await openDevice(router, 'bot@example.org', 'bot', {
      versions,
      store: bot.store,
      publish: false,
      clock: bot.clock,
      staleDevice: false,
    });
    const still = await patient.m.encrypt(['user@example.org'], 'still there?');
    assert.ok(still.devices.every((d) => d.ok));
  });
}

/**
 * Rounds of messages between devices, delivered in a seeded random order, automatic messages included. In the
 * first round every device writes before reading anything: crossed key exchanges between every pair. Asserts that
 * every message decrypts exactly once at each other device.
 */
async function converse(
  router: InProcessRouter,
  devices: Device[],
  rounds: number,
  seed: number,
  version: OmemoVersion,
): Promise<void> {
  let x = seed;
  const random = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < rounds; round++) {
    const writers = round === 0 ? devices : devices.filter(() => random() < 0.5);
    const expected = new Map<string, Set<string>>(devices.map((d) => [d.inbox, new Set()]));
    for (const w of writers) {
      const text = `${w.inbox} round ${round}`;
      const to = [...new Set(devices.filter((d) => d.jid !== w.jid).map((d) => d.jid))];
      const xml = elementOf(await w.m.encrypt(to, text), version);
      for (const d of devices) {
        if (d === w) continue;
        router.deliver({ from: w.jid, to: d.inbox, xml, kind: 'chat' });
        expected.get(d.inbox)!.add(text);
      }
    }
    for (let guard = 0; guard < 20; guard++) {
      const pending = devices.map((d) => [d, router.drain(d.inbox)] as const).filter(([, m]) => m.length > 0);
      if (pending.length === 0) break;
      for (const [d, msgs] of pending.sort(() => random() - 0.5)) {
        for (const m of msgs.sort(() => random() - 0.5)) {
          // An automatic message goes to every device of a JID (as on a server); it has a key for one of them.
          const out = await d.m.decrypt(m.from, m.xml).catch((e: unknown) => {
            if (m.kind !== 'chat' && isOmemoError(e, 'message-not-for-us')) return undefined;
            throw e;
          });
          if (out?.text !== undefined)
            assert.ok(expected.get(d.inbox)!.delete(out.text), `${d.inbox}: ${out.text} twice`);
        }
      }
    }
    for (const [inbox, left] of expected)
      assert.equal([...left], [], `${inbox} missed messages in round ${round} (seed ${seed})`);
  }
}

for (const version of VERSIONS) {
  const versions: OmemoVersion[] = [version];
  for (const seed of [1, 2, 3]) {
    test(`${version}: crossed key exchanges converge (two contacts, delivery order ${seed})`, async () => {
      const router = new InProcessRouter();
      const alice = await openDevice(router, ALICE, 'a', { versions });
      const bob = await openDevice(router, BOB, 'b', { versions });
      await syncDeviceLists(router, [alice, bob]);
      await converse(router, [alice, bob], 6, seed, version);
    });
  }

  test(`${version}: crossed key exchanges converge between our own devices and a contact`, async () => {
    const router = new InProcessRouter();
    const a1 = await openDevice(router, ALICE, 'a1', { versions });
    const a2 = await openDevice(router, ALICE, 'a2', { versions });
    const bob = await openDevice(router, BOB, 'b', { versions });
    await syncDeviceLists(router, [a1, a2, bob]);
    await converse(router, [a1, a2, bob], 6, 7, version);
  });
}

for (const version of VERSIONS) {
  test(`${version}: after a repair, a message read through the previous state is a duplicate when it comes again`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions: [version] });
    const bob = await openDevice(router, BOB, 'b', { versions: [version] });
    await syncDeviceLists(router, [alice, bob]);
    await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hi'), version));
    await alice.m.decrypt(BOB, elementOf(await bob.m.encrypt([ALICE], 'reply'), version));
    router.drain(alice.inbox);
    const m = elementOf(await alice.m.encrypt([BOB], 'opens a new chain'), version);
    // A forged message on M's chain, which bob cannot follow yet: bad MAC, and bob repairs (a new current session).
    const parsed = (await import('../../src/omemo/versions/by-version')).parseEncrypted(m);
    const ours = parsed.keys.find((k) => k.rid === bob.m.deviceId)!;
    const tampered = Uint8Array.from(ours.data);
    tampered[tampered.length - 1]! ^= 0x01; // the MAC: M's own (new) chain, which bob cannot follow yet
    const b64 = (await import('../../src/crypto/bytes')).toBase64;
    const bad = m.replace(b64(ours.data), b64(tampered));
    await rejectsWith(bob.m.decrypt(ALICE, bad), 'bad-mac');
    assert.equal(
      router.drain(alice.inbox).map((x) => x.kind),
      ['session-repair'],
    );
    assert.is((await bob.m.decrypt(ALICE, m)).text, 'opens a new chain');
    await rejectsWith(bob.m.decrypt(ALICE, m), 'duplicate-message');
  });

  test(`${version}: read, then a repair, then the same message again: a duplicate (not the fresh session's bad MAC)`, async () => {
    // Found by the long fuzz run (seed 3680688099, decrypt.oldmemo.normal batch 4).
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions: [version] });
    const bob = await openDevice(router, BOB, 'b', { versions: [version] });
    await syncDeviceLists(router, [alice, bob]);
    await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hi'), version));
    await alice.m.decrypt(BOB, elementOf(await bob.m.encrypt([ALICE], 'reply'), version));
    router.drain(alice.inbox);
    const m = elementOf(await alice.m.encrypt([BOB], 'read once'), version);
    assert.is((await bob.m.decrypt(ALICE, m)).text, 'read once');
    // A forged message on a chain nobody knows makes bob repair: his current state is now a fresh one.
    const parsed = (await import('../../src/omemo/versions/by-version')).parseEncrypted(m);
    const ours = parsed.keys.find((k) => k.rid === bob.m.deviceId)!;
    const forged = Uint8Array.from(ours.data);
    // A byte of the ratchet key: 0x33 ‖ WhisperMessage{ratchetKey 0x05 ‖ key}; OMEMO 2: {mac 16, message{n, pn, dh_pub}}.
    forged[version === 'oldmemo' ? 5 : 30]! ^= 0x40;
    const b64 = (await import('../../src/crypto/bytes')).toBase64;
    await rejectsWith(bob.m.decrypt(ALICE, m.replace(b64(ours.data), b64(forged))), 'bad-mac');
    assert.equal(
      router.drain(alice.inbox).map((x) => x.kind),
      ['session-repair'],
    );
    await rejectsWith(bob.m.decrypt(ALICE, m), 'duplicate-message');
  });
}

test('options are checked: a bad staleDevice, consumedPreKeys or repair is a RangeError/TypeError', async () => {
  const router = new InProcessRouter();
  for (const bad of [
    { staleDevice: { afterMessages: -1, afterDays: 1 } },
    { staleDevice: true },
    { consumedPreKeys: { keepMs: 1, maxKept: 1.5 } },
    { repair: { minIntervalMs: -5 } },
    { maxElementBytes: 0 },
  ]) {
    let caught: unknown;
    try {
      await openDevice(router, ALICE, 'x', bad as never);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof RangeError || caught instanceof TypeError, JSON.stringify(bad));
  }
});

test.run();
