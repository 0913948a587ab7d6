// OmemoManager trust: BTBV, manual (with the onTrustDecision callback), blind, distrusted senders,
// identity changes and fingerprints (hex of the Curve25519 identity key, the same in both versions).

import sodium from 'libsodium-wrappers-sumo';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../src/crypto/bytes';
import { cryptoReady } from '../../src/crypto/ready';
import { parseBundle } from '../../src/omemo/versions/by-version';
import { parseEncrypted } from '../../src/omemo/versions/by-version';
import { pepLocations } from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import type { DeviceInfo } from '../../src/omemo/manager/session-manager';
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
  await sodium.ready;
});

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

function rids(xml: string): number[] {
  return parseEncrypted(xml)
    .keys.map((k) => k.rid)
    .sort((a, b) => a - b);
}

async function trustOf(m: Device, jid: string, deviceId: number): Promise<string | undefined> {
  return (await m.m.devices(jid)).find((d) => d.deviceId === deviceId)?.trust;
}

for (const version of VERSIONS) {
  const versions: OmemoVersion[] = [version];

  test(`${version} btbv: new devices are trusted until one device of the JID is verified`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    const b1 = await openDevice(router, BOB, 'b1', { versions });
    const b2 = await openDevice(router, BOB, 'b2', { versions });
    await syncDeviceLists(router, [alice, b1, b2]);
    assert.is(await trustOf(alice, BOB, b1.m.deviceId), 'blind');
    assert.is(await trustOf(alice, BOB, b2.m.deviceId), 'blind');
    const r = await alice.m.encrypt([BOB], 'before verification');
    assert.equal(
      rids(elementOf(r, version)),
      [b1.m.deviceId, b2.m.deviceId].sort((a, b) => a - b),
    );

    await alice.m.setTrust(BOB, b1.m.deviceId, 'verified');
    assert.is(await trustOf(alice, BOB, b1.m.deviceId), 'verified');
    // A third device appears after the verification: undecided, not encrypted to.
    const b3 = await openDevice(router, BOB, 'b3', { versions });
    await syncDeviceLists(router, [alice], [BOB]);
    assert.is(await trustOf(alice, BOB, b3.m.deviceId), 'undecided');
    const r2 = await alice.m.encrypt([BOB], 'after verification');
    const rep = r2.devices.find((d) => d.deviceId === b3.m.deviceId);
    assert.is(rep?.ok, false);
    assert.is(rep?.error, 'untrusted-device');
    assert.equal(
      rids(elementOf(r2, version)),
      [b1.m.deviceId, b2.m.deviceId].sort((a, b) => a - b),
      'b2 stays blindly trusted',
    );
    await rejectsWith(b3.m.decrypt(ALICE, elementOf(r2, version)), 'message-not-for-us');
    // A message from the undecided device still decrypts and reports its trust.
    await syncDeviceLists(router, [b3], [ALICE]);
    const fromB3 = await alice.m.decrypt(BOB, elementOf(await b3.m.encrypt([ALICE], 'hi from b3'), version));
    assert.is(fromB3.text, 'hi from b3');
    assert.is(fromB3.trust, 'undecided');
    // Deciding includes it.
    await alice.m.setTrust(BOB, b3.m.deviceId, 'verified');
    const r3 = await alice.m.encrypt([BOB], 'all three');
    assert.equal(
      rids(elementOf(r3, version)),
      [b1, b2, b3].map((d) => d.m.deviceId).sort((a, b) => a - b),
    );
    assert.is((await b3.m.decrypt(ALICE, elementOf(r3, version))).text, 'all three');
  });

  test(`${version} btbv: a device first seen in a key exchange after a verification is undecided`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    const b1 = await openDevice(router, BOB, 'b1', { versions });
    await syncDeviceLists(router, [alice, b1]);
    await alice.m.encrypt([BOB], 'x');
    await alice.m.setTrust(BOB, b1.m.deviceId, 'verified');
    const b2 = await openDevice(router, BOB, 'b2', { versions });
    const out = await alice.m.decrypt(BOB, elementOf(await b2.m.encrypt([ALICE], 'new device'), version));
    assert.is(out.trust, 'undecided');
    assert.is(await trustOf(alice, BOB, b2.m.deviceId), 'undecided');
  });

  test(`${version} manual: devices stay undecided (not encrypted to) until setTrust`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions, trustPolicy: 'manual' });
    const b1 = await openDevice(router, BOB, 'b1', { versions });
    const b2 = await openDevice(router, BOB, 'b2', { versions });
    await syncDeviceLists(router, [alice, b1, b2]);
    assert.is(await trustOf(alice, BOB, b1.m.deviceId), 'undecided');
    const e = await rejectsWith(alice.m.encrypt([BOB], 'nobody trusted'), 'untrusted-device');
    assert.match(e.message, /untrusted-device/);
    const partial = await alice.m.encrypt([BOB], 'nobody trusted', { partial: true });
    assert.equal(partial.elements, []);
    assert.equal(
      partial.devices.map((d) => d.error),
      ['untrusted-device', 'untrusted-device'],
    );
    await alice.m.setTrust(BOB, b2.m.deviceId, 'verified');
    const r = await alice.m.encrypt([BOB], 'one trusted');
    assert.equal(rids(elementOf(r, version)), [b2.m.deviceId]);
    assert.is(r.devices.find((d) => d.deviceId === b1.m.deviceId)?.error, 'untrusted-device');
    await alice.m.setTrust(BOB, b1.m.deviceId, 'blind');
    assert.equal(
      rids(elementOf(await alice.m.encrypt([BOB], 'both'), version)),
      [b1, b2].map((d) => d.m.deviceId).sort((a, b) => a - b),
    );
    // Incoming: an unknown sender's key exchange decrypts and is reported undecided.
    const carol = await openDevice(router, 'carol@example.org', 'c', { versions });
    const out = await alice.m.decrypt('carol@example.org', elementOf(await carol.m.encrypt([ALICE], 'hello'), version));
    assert.is(out.text, 'hello');
    assert.is(out.trust, 'undecided');
  });

  test(`${version} manual: the onTrustDecision callback can decide (sync or async)`, async () => {
    const router = new InProcessRouter();
    const asked: DeviceInfo[] = [];
    const b1 = await openDevice(router, BOB, 'b1', { versions });
    const b2 = await openDevice(router, BOB, 'b2', { versions });
    const b3 = await openDevice(router, BOB, 'b3', { versions });
    const alice = await openDevice(router, ALICE, 'a', {
      versions,
      trustPolicy: 'manual',
      onTrustDecision: (d) => {
        asked.push(d);
        if (d.deviceId === b1.m.deviceId) return 'verified';
        if (d.deviceId === b2.m.deviceId) return Promise.resolve('blind');
        return undefined; // b3: no decision now
      },
    });
    await syncDeviceLists(router, [alice], [BOB]);
    assert.equal(asked.map((d) => d.deviceId).sort(), [b1, b2, b3].map((d) => d.m.deviceId).sort());
    for (const d of asked) {
      assert.is(d.jid, BOB);
      assert.is(d.trust, 'undecided');
    }
    assert.is(await trustOf(alice, BOB, b1.m.deviceId), 'verified');
    assert.is(await trustOf(alice, BOB, b2.m.deviceId), 'blind');
    assert.is(await trustOf(alice, BOB, b3.m.deviceId), 'undecided');
    const r = await alice.m.encrypt([BOB], 'decided');
    assert.equal(
      rids(elementOf(r, version)),
      [b1.m.deviceId, b2.m.deviceId].sort((a, b) => a - b),
    );
    assert.is(r.devices.find((d) => d.deviceId === b3.m.deviceId)?.error, 'untrusted-device');
    // Known devices are not asked again.
    const n = asked.length;
    await syncDeviceLists(router, [alice], [BOB]);
    await alice.m.encrypt([BOB], 'again');
    assert.is(asked.length, n);
  });

  test(`${version} blind: new devices are trusted even after a verification`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions, trustPolicy: 'blind' });
    const b1 = await openDevice(router, BOB, 'b1', { versions });
    await syncDeviceLists(router, [alice, b1]);
    await alice.m.setTrust(BOB, b1.m.deviceId, 'verified');
    const b2 = await openDevice(router, BOB, 'b2', { versions });
    await syncDeviceLists(router, [alice], [BOB]);
    assert.is(await trustOf(alice, BOB, b2.m.deviceId), 'blind');
    const r = await alice.m.encrypt([BOB], 'blind');
    assert.equal(
      rids(elementOf(r, version)),
      [b1.m.deviceId, b2.m.deviceId].sort((a, b) => a - b),
    );
  });

  test(`${version}: a distrusted sender's message throws 'untrusted-device' without state change`, async () => {
    const router = new InProcessRouter();
    const store = new CountingStore();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    const mallory = await openDevice(router, 'mallory@example.org', 'm', { versions });
    const bob = await openDevice(router, BOB, 'b', { versions, store });
    const addr = [
      { version, jid: ALICE, deviceId: alice.m.deviceId },
      { version, jid: 'mallory@example.org', deviceId: mallory.m.deviceId },
    ];
    // An established session, then distrusted.
    await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hi'), version));
    await bob.m.setTrust(ALICE, alice.m.deviceId, 'distrusted');
    const before = await snapshot(store, [ALICE, 'mallory@example.org'], addr);
    const commits = store.commits;
    const pks = bob.m.preKeyIds();
    await rejectsWith(
      bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'ignored'), version)),
      'untrusted-device',
    );
    // A key exchange from a device distrusted before any session (known from its device list).
    assert.is(await snapshot(store, [ALICE, 'mallory@example.org'], addr), before);
    assert.is(store.commits, commits, 'nothing stored for the refused message');
    await syncDeviceLists(router, [bob], ['mallory@example.org']);
    await bob.m.setTrust('mallory@example.org', mallory.m.deviceId, 'distrusted');
    const before2 = await snapshot(store, [ALICE, 'mallory@example.org'], addr);
    const commits2 = store.commits;
    await rejectsWith(
      bob.m.decrypt('mallory@example.org', elementOf(await mallory.m.encrypt([BOB], 'kex'), version)),
      'untrusted-device',
    );
    assert.is(await snapshot(store, [ALICE, 'mallory@example.org'], addr), before2);
    assert.is(store.commits, commits2, 'nothing stored for the refused key exchange');
    assert.equal(bob.m.preKeyIds(), pks, 'no pre key consumed for a distrusted key exchange');
    assert.is.not(before2, before);
    // Bob does not encrypt to distrusted devices either.
    const r = await bob.m.encrypt([ALICE, 'mallory@example.org'], 'x', { partial: true });
    assert.equal(
      r.devices.map((d) => d.error),
      ['untrusted-device', 'untrusted-device'],
    );
    // Trusting again: alice's session is intact.
    await bob.m.setTrust(ALICE, alice.m.deviceId, 'verified');
    assert.is(
      (await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'trusted again'), version))).text,
      'trusted again',
    );
  });

  test(`${version}: a verified device that changes its identity key is no longer encrypted to (bundle)`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    const bob = await openDevice(router, BOB, 'b', { versions });
    await syncDeviceLists(router, [alice, bob]);
    await alice.m.encrypt([BOB], 'x');
    await alice.m.setTrust(BOB, bob.m.deviceId, 'verified');
    const fp = (await alice.m.devices(BOB))[0]!.fingerprint;
    // Bob reinstalls with the same device id: a new identity key in the bundle.
    const reinstalled = await openDevice(router, BOB, 'b-new', { versions, deviceId: bob.m.deviceId });
    assert.is.not(reinstalled.m.fingerprint, bob.m.fingerprint);
    // Alice's existing session still points at the old identity; a session rebuild must notice the change.
    await rejectsWith(alice.m.buildSession(BOB, bob.m.deviceId, version), 'untrusted-device');
    // The new key is a new fingerprint with its own trust (undecided: bob's old key was verified); the old key
    // keeps its verification, and the old session is not replaced.
    const [now] = await alice.m.devices(BOB);
    assert.is(now!.fingerprint, reinstalled.m.fingerprint, 'the device now shows its new key');
    assert.is(now!.trust, 'undecided');
    const sent = await alice.m.encrypt([BOB], 'to whom?', { partial: true });
    assert.equal(
      sent.devices.map((d) => [d.ok, d.error]),
      [[false, 'untrusted-device']],
    );
    assert.is(fp, bob.m.fingerprint);
  });

  test(`${version}: setTrust of an unknown device is 'sender-not-found'; a bad level is a TypeError`, async () => {
    const router = new InProcessRouter();
    const alice = await openDevice(router, ALICE, 'a', { versions });
    await rejectsWith(alice.m.setTrust(BOB, 12345, 'verified'), 'sender-not-found');
    let caught: unknown;
    try {
      await alice.m.setTrust(BOB, 12345, 'trusted' as never);
    } catch (e) {
      caught = e;
    }
    assert.instance(caught, TypeError);
  });
}

test('fingerprints: hex of the Curve25519 identity key, identical for both versions', async () => {
  const router = new InProcessRouter();
  const bob = await openDevice(router, BOB, 'b');
  const fp = bob.m.fingerprint;
  assert.match(fp, /^[0-9a-f]{64}$/);
  // Independently: the 0.3 bundle carries the Curve25519 key, OMEMO 2 the Ed25519 form.
  const legacy = parseBundle(
    router.item(BOB, pepLocations('oldmemo', bob.m.deviceId).bundleNode, 'current')!,
    'oldmemo',
  );
  assert.is(toHex(legacy.identityKey), fp);
  const two = parseBundle(
    router.item(BOB, pepLocations('twomemo', bob.m.deviceId).bundleNode, String(bob.m.deviceId))!,
    'twomemo',
  );
  assert.is.not(toHex(two.identityKey), fp, 'the OMEMO 2 wire key is the Edwards form');
  assert.is(toHex(sodium.crypto_sign_ed25519_pk_to_curve25519(two.identityKey)), fp);
  // Peers see the same fingerprint whichever version they learned it through (bundle or key exchange).
  for (const version of VERSIONS) {
    const alice = await openDevice(router, ALICE, `a-${version}`, { versions: [version] });
    await syncDeviceLists(router, [alice], [BOB]);
    assert.is((await alice.m.devices(BOB))[0]!.fingerprint, undefined, 'unknown before the bundle is fetched');
    const r = await alice.m.encrypt([BOB], 'fp');
    assert.is((await alice.m.devices(BOB))[0]!.fingerprint, fp, `${version}: from the bundle`);
    await bob.m.decrypt(ALICE, elementOf(r, version));
    assert.is(
      (await bob.m.devices(ALICE)).find((d) => d.deviceId === alice.m.deviceId)?.fingerprint,
      alice.m.fingerprint,
      `${version}: from the key exchange`,
    );
  }
});

test.run();
