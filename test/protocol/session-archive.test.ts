// Archived session states (src/protocol/session.ts; libsignal's SessionRecord keeps previous states the same
// way): crossed key exchanges (both sides initiate at once) converge, in both versions, whatever the order of
// delivery; promotion survives serialization; a message no state decrypts changes nothing and reports the
// current state's error; the archive is bounded. `Side`/`sideReceive` (helpers.ts) do what the manager does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OmemoError } from '../../src/crypto/errors';
import { cryptoReady } from '../../src/crypto/ready';
import { MAX_ARCHIVED_SESSION_STATES } from '../../src/protocol/constants';
import { Session } from '../../src/protocol/session';
import { deserializeSession, serializeSession } from '../../src/protocol/session-record';
import { parseKeyExchange, parseMessage } from '../../src/protocol/wire';
import {
  Dice,
  VERSIONS,
  caseSeed,
  copy,
  hex,
  makeCrossed,
  makeDevice,
  makePair,
  plaintext,
  rngFor,
  sideInitiate,
  sideReceive,
  sideSend,
  snapshot,
  throwsOmemo,
  type Sent,
  type Side,
} from './helpers';

test.before(async () => {
  await cryptoReady();
});

type Crossed = ReturnType<typeof makeCrossed>;

function deliver(c: Crossed, to: Side, m: Sent): { built: boolean } {
  let got;
  try {
    got = sideReceive(to, m, c.rng);
  } catch (e) {
    throw new Error(`${m.label} to ${to.name} failed: ${(e as Error).message} (seed ${c.seed})`, { cause: e });
  }
  assert.is(hex(got.plaintext), hex(m.plain), `${m.label} to ${to.name} (seed ${c.seed})`);
  return { built: got.built };
}

type KexOrder = "alice gets bob's first" | "bob gets alice's first";

/** Delivers both key exchanges; each side builds a session from the other's and archives its own initiation. */
function cross(c: Crossed, order: KexOrder): void {
  const steps: [Side, Sent][] = [
    [c.alice, c.kexB],
    [c.bob, c.kexA],
  ];
  if (order === "bob gets alice's first") steps.reverse();
  for (const [to, m] of steps)
    assert.ok(deliver(c, to, m).built, `a new session from the other's key exchange (seed ${c.seed})`);
  // Alice: current = responder to Bob's (Bob's base key), archived = her initiation; Bob the mirror image.
  assert.is(hex(c.alice.session!.baseKey), hex(c.bobBase));
  assert.is(hex(c.bob.session!.baseKey), hex(c.aliceBase));
  assert.equal(
    c.alice.session!.archivedStates.map((s) => hex(s.baseKey)),
    [hex(c.aliceBase)],
  );
  assert.equal(
    c.bob.session!.archivedStates.map((s) => hex(s.baseKey)),
    [hex(c.bobBase)],
  );
}

/**
 * Convergence: one strict round trip, then both current states are the two halves of one X3DH (same base key),
 * and a message in either direction decrypts with the receiver's current state alone: no promotion any more.
 */
function assertConverges(c: Crossed, label: string): void {
  deliver(c, c.bob, sideSend(c.alice, `${label} sync a`));
  deliver(c, c.alice, sideSend(c.bob, `${label} sync b`));
  assert.is(
    hex(c.alice.session!.baseKey),
    hex(c.bob.session!.baseKey),
    `${label}: current states pair up (seed ${c.seed})`,
  );
  for (const [from, to] of [
    [c.alice, c.bob],
    [c.bob, c.alice],
  ] as const) {
    for (let i = 0; i < 2; i++) {
      const m = sideSend(from, `${label} converged ${i}`);
      assert.not.ok(m.keyExchange);
      const currentOnly = new Session(to.session!.clone().state);
      assert.is(
        hex(currentOnly.decryptParsed(parseMessage(c.version, m.data), rngFor('current only'))),
        hex(m.plain),
        `${label}: the current state alone decrypts (seed ${c.seed})`,
      );
      const before = to.session!.archivedStates.map((s) => hex(s.baseKey));
      const base = hex(to.session!.baseKey);
      deliver(c, to, m);
      assert.is(hex(to.session!.baseKey), base, `${label}: no promotion after convergence (seed ${c.seed})`);
      assert.equal(
        to.session!.archivedStates.map((s) => hex(s.baseKey)),
        before,
      );
    }
  }
}

const ORDERS: KexOrder[] = ["alice gets bob's first", "bob gets alice's first"];

for (const version of VERSIONS) {
  test(`${version}: no archive (the manager's old way): crossed key exchanges break, bad-mac both ways`, () => {
    for (const order of ORDERS) {
      const c = makeCrossed(version, caseSeed(`${version} crossed replace ${order}`), 'replace');
      for (const [to, m] of order === ORDERS[0]
        ? ([
            [c.alice, c.kexB],
            [c.bob, c.kexA],
          ] as const)
        : ([
            [c.bob, c.kexA],
            [c.alice, c.kexB],
          ] as const)) {
        deliver(c, to, m); // both first messages decrypt: each side replaces its initiation
      }
      for (let i = 0; i < 3; i++) {
        throwsOmemo(
          () => sideReceive(c.bob, sideSend(c.alice, `a${i}`), c.rng),
          'bad-mac',
          `alice → bob ${i} (seed ${c.seed})`,
        );
        throwsOmemo(
          () => sideReceive(c.alice, sideSend(c.bob, `b${i}`), c.rng),
          'bad-mac',
          `bob → alice ${i} (seed ${c.seed})`,
        );
      }
    }
  });

  for (const order of ORDERS) {
    test(`${version}: crossed key exchanges (${order}), then alternating messages: all decrypt, converge`, () => {
      for (const first of ['alice', 'bob'] as const) {
        const c = makeCrossed(version, caseSeed(`${version} crossed alternating ${order} ${first}`));
        cross(c, order);
        const [x, y] = first === 'alice' ? [c.alice, c.bob] : [c.bob, c.alice];
        // x's first message is decrypted by y's archived initiation, which is promoted; from then on they match.
        deliver(c, y, sideSend(x, 'first'));
        assert.is(hex(y.session!.baseKey), hex(x.session!.baseKey), `promoted on first contact (seed ${c.seed})`);
        for (let i = 0; i < 4; i++) {
          deliver(c, x, sideSend(y, `y${i}`));
          deliver(c, y, sideSend(x, `x${i}`));
        }
        assertConverges(c, `${order} ${first}`);
      }
    });

    test(`${version}: crossed (${order}), both send at once, bursts, late key exchanges: all decrypt, converge`, () => {
      const c = makeCrossed(version, caseSeed(`${version} crossed simultaneous ${order}`));
      // Each sends a second key exchange before anything arrives (it repeats its initiation's base key).
      const kexA2 = sideSend(c.alice, 'kex 2');
      const kexB2 = sideSend(c.bob, 'kex 2');
      assert.ok(kexA2.keyExchange && kexB2.keyExchange);
      cross(c, order);
      // Both send at once, twice: each message is read by the other's archived state (promotions back and forth).
      for (let round = 0; round < 2; round++) {
        const a = sideSend(c.alice, `both ${round}`);
        const b = sideSend(c.bob, `both ${round}`);
        deliver(c, c.bob, a);
        deliver(c, c.alice, b);
      }
      // The repeated key exchanges arrive late: they belong to a kept state (hasState), no new session is built.
      assert.not.ok(deliver(c, c.bob, kexA2).built, `late repeated key exchange of alice (seed ${c.seed})`);
      assert.not.ok(deliver(c, c.alice, kexB2).built, `late repeated key exchange of bob (seed ${c.seed})`);
      assert.is(c.alice.session!.archivedStates.length, 1);
      assert.is(c.bob.session!.archivedStates.length, 1);
      // Bursts, delivered out of order.
      const dice = new Dice(c.seed);
      for (let round = 0; round < 6; round++) {
        const fromAlice = Array.from({ length: dice.range(1, 4) }, (_, i) => sideSend(c.alice, `burst ${round} ${i}`));
        const fromBob = Array.from({ length: dice.range(1, 4) }, (_, i) => sideSend(c.bob, `burst ${round} ${i}`));
        const all = dice.shuffle([
          ...fromAlice.map((m) => [c.bob, m] as const),
          ...fromBob.map((m) => [c.alice, m] as const),
        ]);
        for (const [to, m] of all) deliver(c, to, m);
      }
      assertConverges(c, order);
    });
  }

  test(`${version}: crossed key exchanges, seeded random schedules (delays, reordering, all delivered)`, () => {
    for (let s = 0; s < 6; s++) {
      const c = makeCrossed(version, caseSeed(`${version} crossed random ${s}`));
      const dice = new Dice(c.seed);
      const inFlight: { to: Side; m: Sent }[] = [
        { to: c.bob, m: c.kexA },
        { to: c.alice, m: c.kexB },
      ];
      // Sending before the key exchanges arrive is allowed too: those messages are key exchanges as well.
      let delivered = 0;
      for (let round = 0; round < 30; round++) {
        if (dice.int(3) < 2) {
          const from = dice.chance(0.5) ? c.alice : c.bob;
          const to = from === c.alice ? c.bob : c.alice;
          for (let i = 0, n = dice.range(1, 4); i < n; i++) inFlight.push({ to, m: sideSend(from, `r${round} ${i}`) });
        } else {
          const batch = dice.shuffle(inFlight.splice(0, inFlight.length));
          for (const item of batch) {
            if (dice.int(5) === 0)
              inFlight.push(item); // later
            else {
              deliver(c, item.to, item.m);
              delivered++;
            }
          }
        }
      }
      for (const item of dice.shuffle(inFlight)) {
        deliver(c, item.to, item.m);
        delivered++;
      }
      assert.ok(delivered > 20, `the schedule delivered ${delivered} (seed ${c.seed})`);
      for (const side of [c.alice, c.bob])
        assert.ok(side.session!.archivedStates.length <= 1, `two states per side at most (seed ${c.seed})`);
      assertConverges(c, `random ${s}`);
    }
  });

  test(`${version}: a promotion is persisted through serialize/deserialize`, () => {
    const c = makeCrossed(version, caseSeed(`${version} crossed persist`));
    cross(c, ORDERS[0]!);
    const before = serializeSession(c.bob.session!);
    deliver(c, c.bob, sideSend(c.alice, 'promotes')); // Bob's archived initiation decrypts it
    assert.is(hex(c.bob.session!.baseKey), hex(c.bobBase));
    const record = serializeSession(c.bob.session!);
    assert.is.not(hex(record), hex(before));
    const reloaded = deserializeSession(record);
    assert.is(hex(reloaded.baseKey), hex(c.bobBase), 'the promoted state is current after reloading');
    assert.equal(
      reloaded.archivedStates.map((s) => hex(s.baseKey)),
      [hex(c.aliceBase)],
      'the demoted one is archived',
    );
    assert.is(hex(serializeSession(reloaded)), hex(record));
    c.bob.session = reloaded;
    for (let i = 0; i < 2; i++) {
      deliver(c, c.alice, sideSend(c.bob, `after reload ${i}`));
      deliver(c, c.bob, sideSend(c.alice, `after reload ${i}`));
    }
    assertConverges(c, 'reloaded');
  });

  test(`${version}: a tampered message tried on every state changes nothing; the current state's error wins`, () => {
    const c = makeCrossed(version, caseSeed(`${version} crossed tamper`));
    cross(c, ORDERS[0]!);
    const forArchived = sideSend(c.alice, "for bob's archived state");
    const bob = c.bob.session!;
    const before = snapshot(bob);
    const problems: string[] = [];
    for (let i = 0; i < forArchived.data.length; i++) {
      const bad = copy(forArchived.data);
      bad[i]! ^= 0x01;
      try {
        bob.decrypt(bad);
        problems.push(`byte ${i}: accepted`);
      } catch (e) {
        if (!(e instanceof OmemoError)) problems.push(`byte ${i}: ${String(e)}`);
      }
      if (snapshot(bob) !== before) problems.push(`byte ${i}: changed the session`);
    }
    assert.ok(problems.length === 0, `tampered variants (seed ${c.seed}):\n  ${problems.join('\n  ')}`);
    // Nothing decrypted: the current state is Bob's responder state still, and the archive unchanged.
    assert.is(hex(bob.baseKey), hex(c.aliceBase));
    deliver(c, c.bob, forArchived); // promotes Bob's initiation
    // A replay of that message: the current state says duplicate-message, the archived one bad-mac.
    let s = snapshot(c.bob.session!);
    throwsOmemo(() => sideReceive(c.bob, forArchived, c.rng), 'duplicate-message', `(seed ${c.seed})`);
    assert.is(snapshot(c.bob.session!), s);
    // A replay of Alice's key exchange: its state (now archived) says duplicate-message, the current bad-mac. The
    // current state does not know that chain, the archived one read the message already: a duplicate, as for any
    // message read before (the long fuzz run found it after a repair made a fresh state current).
    s = snapshot(c.bob.session!);
    throwsOmemo(() => sideReceive(c.bob, c.kexA, c.rng), 'duplicate-message', `(seed ${c.seed})`);
    assert.is(snapshot(c.bob.session!), s);
    const archivedOnly = new Session(c.bob.session!.clone().archivedStates[0]!);
    throwsOmemo(
      () => archivedOnly.decryptParsed(parseKeyExchange(version, c.kexA.data).message, c.rng),
      'duplicate-message',
      'what the archived state says',
    );
    deliver(c, c.alice, sideSend(c.bob, 'still fine'));
  });

  test(`${version}: at most MAX_ARCHIVED_SESSION_STATES archived: the oldest dropped, the others still decrypt`, () => {
    assert.is(MAX_ARCHIVED_SESSION_STATES, 4);
    const seed = caseSeed(`${version} archive bound`);
    const rng = rngFor(seed);
    const alice: Side = { name: 'alice', device: makeDevice(version, rng), session: undefined, policy: 'archive' };
    const bob: Side = { name: 'bob', device: makeDevice(version, rng, 100), session: undefined, policy: 'archive' };
    const c = { seed, rng, version } as Crossed;
    const count = MAX_ARCHIVED_SESSION_STATES + 2;
    const bases: string[] = [];
    const replies: Sent[] = [];
    for (let i = 0; i < count; i++) {
      sideInitiate(alice, bob.device, 100 + (i % 3), rng); // a new initiation each time, the previous archived
      bases.push(hex(alice.session!.baseKey));
      assert.ok(deliver(c, bob, sideSend(alice, `kex ${i}`)).built);
      replies.push(sideSend(bob, `reply ${i}`)); // on Bob's newest state, held back
      assert.is(alice.session!.archivedStates.length, Math.min(i, MAX_ARCHIVED_SESSION_STATES));
      assert.is(bob.session!.archivedStates.length, Math.min(i, MAX_ARCHIVED_SESSION_STATES));
    }
    const dropped = bases.slice(0, count - 1 - MAX_ARCHIVED_SESSION_STATES);
    assert.is(dropped.length, 1);
    const ik = bob.session!.remoteIdentityKey;
    for (const b of bases)
      assert.is(
        alice.session!.hasState(unhexed(b), alice.session!.remoteIdentityKey),
        !dropped.includes(b),
        `hasState ${b.slice(0, 8)}`,
      );
    assert.not.ok(
      bob.session!.hasState(unhexed(bases[count - 1]!), new Uint8Array(32)),
      'hasState checks the identity key too',
    );
    assert.ok(bob.session!.hasState(unhexed(bases[count - 1]!), ik));
    // The replies of the kept states decrypt (promoting each in turn); the dropped state's reply cannot.
    for (let i = count - 1; i >= 1; i--) deliver(c, alice, replies[i]!);
    const before = snapshot(alice.session!);
    throwsOmemo(() => sideReceive(alice, replies[0]!, rng), 'bad-mac', `the dropped state (seed ${seed})`);
    assert.is(snapshot(alice.session!), before);
    assert.is(alice.session!.archivedStates.length, MAX_ARCHIVED_SESSION_STATES, 'promotions keep the count');
    assert.throws(
      () => new Session(alice.session!.state, [...alice.session!.archivedStates, alice.session!.state]),
      RangeError,
    );
  });

  test(`${version}: withArchiveFrom copies, refuses misuse; hasState; the getters speak of the current state`, () => {
    const pair = makePair(version, caseSeed(`${version} archive api`));
    const previous = pair.alice;
    const fresh = Session.initiate(version, pair.aliceDevice.identity, { ...bundleFor(pair) }, pair.rng);
    assert.ok(fresh.withArchiveFrom(previous) === fresh, 'returns this');
    assert.is(fresh.archivedStates.length, 1);
    assert.ok(fresh.archivedStates[0] !== previous.state, 'the state is copied');
    assert.ok(fresh.archivedStates[0]!.skipped !== previous.state.skipped);
    assert.throws(() => fresh.withArchiveFrom(previous), TypeError, 'already has an archive');
    const other = Session.initiate(version, pair.aliceDevice.identity, bundleFor(pair), pair.rng);
    assert.throws(() => other.withArchiveFrom(other), TypeError, 'itself');
    const otherVersion = makePair(
      version === 'oldmemo' ? 'twomemo' : 'oldmemo',
      caseSeed(`${version} archive api other`),
    );
    assert.throws(() => other.withArchiveFrom(otherVersion.alice), TypeError, 'another version');
    assert.throws(() => new Session(fresh.state, [otherVersion.alice.state]), TypeError);
    // The previous session stays usable and independent.
    const before = snapshot(fresh);
    for (const m of [0, 1].map((i) => pair.bob.encrypt(plaintext(version, `b${i}`)).data)) previous.decrypt(m);
    assert.is(snapshot(fresh), before);
    // Getters and encrypt are about the current state: a pending key exchange, its base key.
    assert.ok(fresh.hasPendingKeyExchange);
    assert.not.ok(fresh.archivedStates[0]!.pending !== undefined);
    assert.is(hex(fresh.baseKey), hex(fresh.state.baseKey));
    assert.is.not(hex(fresh.baseKey), hex(previous.baseKey));
    assert.ok(fresh.hasState(previous.baseKey, previous.remoteIdentityKey), 'the archived state is found');
    assert.ok(fresh.hasState(fresh.baseKey, fresh.remoteIdentityKey));
    const e = fresh.encrypt(plaintext(version, 'x'));
    assert.ok(e.keyExchange);
    assert.is(hex(parseKeyExchange(version, e.data).baseKey), hex(fresh.baseKey));
    assert.is(fresh.unansweredCount, 0);
    // encryptMany treats it like any session.
    const [r] = Session.encryptMany([fresh], plaintext(version, 'y'));
    assert.ok(!(r instanceof Error) && r!.keyExchange);
  });

  test(`${version}: a new remote identity key keeps the old key's states; a decrypt says whose key it was`, () => {
    const seed = caseSeed(`${version} archive identity`);
    const pair = makePair(version, seed);
    const late = plaintext(version, 'late from the old identity');
    const lateData = pair.bob.encrypt(late).data;
    const oldKey = hex(pair.alice.remoteIdentityKey);
    // Bob's device id now answers with a new identity (a reinstall, or an impostor): Alice starts over with its
    // bundle, and keeps the old key's session until she decides.
    const bob2 = makeDevice(version, pair.rng, 200);
    const alice: Side = { name: 'alice', device: pair.aliceDevice, session: pair.alice, policy: 'archive' };
    sideInitiate(alice, bob2, 200, pair.rng);
    assert.is(alice.session!.archivedStates.length, 1, `the old identity's state is kept (seed ${seed})`);
    assert.is.not(hex(alice.session!.remoteIdentityKey), oldKey);
    assert.ok(alice.session!.hasState(pair.alice.baseKey, pair.alice.remoteIdentityKey));
    // A late message of the old key decrypts with its state, which becomes current: the caller reads whose key.
    const out = sideReceive(alice, { data: lateData, keyExchange: false, plain: late, label: 'late' }, pair.rng);
    assert.not.ok(out.built);
    assert.is(hex(alice.session!.remoteIdentityKey), oldKey, 'the decrypting state (old key) is current');
    // As responder: a key exchange from a new identity for the same address archives the old key's state too.
    const bobSide: Side = { name: 'bob', device: pair.bobDevice, session: pair.bob, policy: 'archive' };
    const alice2 = makeDevice(version, pair.rng, 300);
    const other: Side = { name: 'alice2', device: alice2, session: undefined, policy: 'archive' };
    sideInitiate(other, pair.bobDevice, 101, pair.rng);
    const kex = sideSend(other, 'kex from a new identity');
    assert.ok(sideReceive(bobSide, kex, pair.rng).built);
    assert.is(bobSide.session!.archivedStates.length, 1);
    assert.is.not(hex(bobSide.session!.archivedStates[0]!.remoteIdentityKey), hex(bobSide.session!.remoteIdentityKey));
  });

  test(`${version}: clone() deep-copies archived states: a promotion on the clone leaves the original as is`, () => {
    const c = makeCrossed(version, caseSeed(`${version} crossed clone`));
    const kexA2 = sideSend(c.alice, 'kex 2'); // repeats Alice's initiation
    cross(c, ORDERS[0]!);
    const ms = [0, 1, 2].map((i) => sideSend(c.alice, `m${i}`)); // on Alice's responder state
    deliver(c, c.bob, ms[2]!); // promotes Bob's initiation, which keeps the keys of m0 and m1
    assert.not.ok(deliver(c, c.bob, kexA2).built); // promotes Bob's responder state: the initiation is archived
    const bob = c.bob.session!;
    assert.is(hex(bob.baseKey), hex(c.aliceBase));
    assert.is(bob.archivedStates[0]!.skipped.size, 2, 'the archived state holds skipped keys');
    const before = snapshot(bob);
    const clone = bob.clone();
    assert.is(snapshot(clone), before);
    assert.is(hex(clone.decrypt(ms[0]!.data)), hex(ms[0]!.plain)); // from the archived state's skipped key: promoted
    assert.is(hex(clone.baseKey), hex(c.bobBase));
    assert.is(snapshot(bob), before, "the original, its archived state and that state's skipped keys, unchanged");
    for (const m of [ms[0]!, ms[1]!]) deliver(c, c.bob, m);
    assert.is(bob.archivedStates.length, 1);
  });
}

function unhexed(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
}

function bundleFor(pair: ReturnType<typeof makePair>) {
  const spk = pair.bobDevice.signedPreKeys.get(pair.bobDevice.signedPreKeyId)!;
  return {
    identityKey: pair.bob.state.localIdentityKey,
    signedPreKeyId: pair.bobDevice.signedPreKeyId,
    signedPreKey: spk.publicKey,
    signedPreKeySignature: pair.bobDevice.signature,
  };
}

test.run();
