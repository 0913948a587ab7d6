// serializeSessionAfterSend (src/protocol/session-record.ts): the record a fan-out stores after each send, written
// by rewriting only the send fields of the session's last record, must be byte for byte the full writer's after any
// history: sends, deliveries in and out of order (in place and on clones, as the manager does), lost messages,
// crossed and repeated key exchanges (archived states), reloads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OmemoError } from '../../src/crypto/errors';
import { cryptoReady } from '../../src/crypto/ready';
import { Session, skipId, type SessionState } from '../../src/protocol/session';
import { deserializeSession, serializeSession, serializeSessionAfterSend } from '../../src/protocol/session-record';
import { parseMessage } from '../../src/protocol/wire';
import {
  Dice,
  VERSIONS,
  caseSeed,
  hex,
  makeCrossed,
  makePair,
  plaintext,
  sideInitiate,
  sideReceive,
  sideSend,
  type Sent,
  type Side,
} from './helpers';

test.before(async () => {
  await cryptoReady();
});

/** The fields serializeSessionAfterSend knows; a new one must be added to its check of a kept record. */
const STATE_FIELDS = [
  'version',
  'localIdentityKey',
  'remoteIdentityKey',
  'initiator',
  'rootKey',
  'sendingRatchet',
  'receivingRatchetKey',
  'sendingChainKey',
  'sendingCounter',
  'previousCounter',
  'receivingChainKey',
  'receivingCounter',
  'skipped',
  'oldChains',
  'pending',
  'unanswered',
  'baseKey',
];

function sameAsFullWriter(side: Side, what: string): void {
  const s = side.session;
  if (s === undefined) return;
  assert.is(hex(serializeSessionAfterSend(s)), hex(serializeSession(s)), `${side.name}: ${what}`);
}

for (const version of VERSIONS) {
  test(`${version}: after any history, the record after a send is the full writer's (random histories)`, () => {
    let fast = 0;
    for (let run = 0; run < 12; run++) {
      const seed = caseSeed(`record after send ${version} ${run}`);
      const c = makeCrossed(version, seed);
      const dice = new Dice(seed);
      const inFlight: { to: Side; m: Sent }[] = [
        { to: c.bob, m: c.kexA },
        { to: c.alice, m: c.kexB },
      ];
      const sides = [c.alice, c.bob];
      for (let step = 0; step < 90; step++) {
        const side = sides[dice.int(2)]!;
        const other = side === c.alice ? c.bob : c.alice;
        const what = `seed ${seed}, step ${step}`;
        const op = dice.int(100);
        if (op < 45 && side.session !== undefined) {
          // A burst of sends, each stored as a fan-out stores it.
          for (let n = dice.range(1, 3); n > 0; n--) {
            const before = side.session.state.sendingCounter;
            inFlight.push({ to: other, m: sideSend(side, `${step}.${n}`) });
            sameAsFullWriter(side, `${what} (send)`);
            if (side.session.state.sendingCounter === before + 1 && before > 0) fast++;
          }
        } else if (op < 85 && inFlight.length > 0) {
          // A delivery, in any order: on a clone that replaces the session (the manager), or in place.
          const { to, m } = inFlight.splice(dice.int(inFlight.length), 1)[0]!;
          try {
            if (!m.keyExchange && to.session !== undefined && dice.chance(0.5)) {
              to.session.decryptParsed(parseMessage(version, m.data), c.rng);
            } else sideReceive(to, m, c.rng);
          } catch (e) {
            if (!(e instanceof OmemoError)) throw e; // a duplicate or a lost chain: nothing changed
          }
          // Mostly not written here: the manager writes a received session in full, and the next send's record
          // must then notice every change since the kept one (unanswered is 0 again by then).
          if (dice.chance(0.2)) sameAsFullWriter(to, `${what} (delivery)`);
        } else if (op < 90) {
          inFlight.splice(dice.int(Math.max(1, inFlight.length)), 1); // lost
        } else if (op < 95) {
          // A new key exchange: the old state is archived.
          sideInitiate(side, other.device, undefined, c.rng);
          if (dice.chance(0.2)) sameAsFullWriter(side, `${what} (new session)`);
        } else if (side.session !== undefined) {
          side.session = deserializeSession(serializeSession(side.session)); // a reload
          if (dice.chance(0.2)) sameAsFullWriter(side, `${what} (reload)`);
        }
        for (const s of sides) {
          if (s.session === undefined) continue;
          for (const st of [s.session.state, ...s.session.archivedStates]) {
            assert.equal(Object.keys(st).sort(), [...STATE_FIELDS].sort(), `${what}: SessionState fields`);
          }
        }
      }
    }
    assert.ok(fast > 100, `the histories send on advanced chains (${fast} sends)`);
  });
}

/** A change to one field of a state, most of them keeping every field's size. */
const CHANGES: [string, (s: SessionState) => void][] = [
  ['version', (s) => (s.version = s.version === 'oldmemo' ? 'twomemo' : 'oldmemo')],
  ['localIdentityKey', (s) => (s.localIdentityKey = key(1))],
  ['remoteIdentityKey', (s) => (s.remoteIdentityKey = key(2))],
  ['initiator', (s) => (s.initiator = !s.initiator)],
  ['rootKey', (s) => (s.rootKey = key(3))],
  ['sendingRatchet.privateKey', (s) => (s.sendingRatchet = { ...s.sendingRatchet, privateKey: key(4) })],
  ['sendingRatchet.publicKey', (s) => (s.sendingRatchet = { ...s.sendingRatchet, publicKey: key(5) })],
  ['receivingRatchetKey', (s) => (s.receivingRatchetKey = key(6))],
  ['previousCounter', (s) => (s.previousCounter += 1)],
  ['receivingChainKey', (s) => (s.receivingChainKey = key(7))],
  ['receivingCounter', (s) => (s.receivingCounter += 1)],
  ['skipped (one replaced)', (s) => replaceSkipped(s)],
  ['oldChains (one replaced)', (s) => (s.oldChains[0] = { ratchetKey: key(8), nextN: s.oldChains[0]!.nextN })],
  ['pending', (s) => (s.pending = { preKeyId: 9, signedPreKeyId: 10, baseKey: key(11) })],
  ['baseKey', (s) => (s.baseKey = key(12))],
  // The send fields: rewritten in the current state, inputs like any other in an archived one.
  ['sendingChainKey', (s) => (s.sendingChainKey = key(15))],
  ['sendingCounter', (s) => (s.sendingCounter += 1)],
  ['unanswered', (s) => (s.unanswered += 1)],
];

function key(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill);
}

function replaceSkipped(s: SessionState): void {
  const [id, first] = s.skipped.entries().next().value!;
  s.skipped.delete(id);
  const entry = { ratchetKey: key(13), n: first.n, seed: key(14) };
  s.skipped.set(skipId(entry.ratchetKey, entry.n), entry);
}

/** A session with a skipped key and an old chain: every field has a value to change. */
function richState(version: (typeof VERSIONS)[number], label: string): SessionState {
  const pair = makePair(version, caseSeed(label));
  const { alice, bob, rng } = pair;
  const pt = plaintext(version, label);
  bob.encrypt(pt); // lost: a skipped key
  alice.decryptParsed(parseMessage(version, bob.encrypt(pt).data), rng);
  alice.encrypt(pt);
  bob.decryptParsed(parseMessage(version, alice.encrypt(pt).data), rng);
  alice.decryptParsed(parseMessage(version, bob.encrypt(pt).data), rng); // a new chain: the old one is kept
  return alice.state;
}

/** Such a state, with another such state archived. */
function richSession(version: (typeof VERSIONS)[number], label: string): Session {
  const previous = new Session(richState(version, `${label} previous`));
  return new Session(richState(version, label)).withArchiveFrom(previous);
}

for (const version of VERSIONS) {
  for (const [field, change] of CHANGES) {
    for (const where of ['current', 'archived'] as const) {
      test(`${version}: a change to ${field} of the ${where} state since the kept record is written`, () => {
        const s = richSession(version, `record after send ${field}`);
        const pt = plaintext(version, field);
        Session.encryptMany([s], pt);
        serializeSessionAfterSend(s); // kept
        Session.encryptMany([s], pt);
        const state = where === 'current' ? s.state : s.archivedStates[0]!;
        assert.ok(state.skipped.size > 0 && state.oldChains.length > 0, 'a skipped key and an old chain');
        change(state);
        assert.is(hex(serializeSessionAfterSend(s)), hex(serializeSession(s)));
      });
    }
  }
}

test('an archived state added since the kept record is written', () => {
  const s = new Session(richState('twomemo', 'record after send archive added'));
  const pt = plaintext('twomemo', 'z');
  Session.encryptMany([s], pt);
  serializeSessionAfterSend(s);
  Session.encryptMany([s], pt);
  s.withArchiveFrom(new Session(richState('twomemo', 'record after send archive added, previous')));
  assert.is(hex(serializeSessionAfterSend(s)), hex(serializeSession(s)));
});

test('the records it returns are arrays of their own, independent of each other and of the kept record', () => {
  const pair = makePair('twomemo', caseSeed('record after send independence'));
  const s = pair.alice;
  const pt = plaintext('twomemo', 'x');
  const records: Uint8Array[] = [];
  for (let i = 0; i < 4; i++) {
    Session.encryptMany([s], pt);
    const r = serializeSessionAfterSend(s);
    assert.ok(Object.getPrototypeOf(r) === Uint8Array.prototype, 'a plain Uint8Array');
    assert.is(r.byteOffset, 0);
    assert.is(r.buffer.byteLength, r.length, 'owns its whole buffer');
    assert.is(hex(r), hex(serializeSession(s)));
    records.push(r);
    r.fill(0xff); // a store that writes into what it was given changes nothing here
  }
  assert.is(new Set(records.map((r) => r.buffer)).size, records.length);
  Session.encryptMany([s], pt);
  assert.is(hex(serializeSessionAfterSend(s)), hex(serializeSession(s)));
});

test('a send after an in-place decryption, a skipped key used, and a counter that grows a byte are written in full', () => {
  const pair = makePair('oldmemo', caseSeed('record after send cases'));
  const { alice, bob, rng } = pair;
  const pt = plaintext('oldmemo', 'y');
  serializeSessionAfterSend(alice);
  const late = bob.encrypt(pt);
  const next = bob.encrypt(pt);
  alice.decryptParsed(parseMessage('oldmemo', next.data), rng); // in place, one key skipped
  Session.encryptMany([alice], pt);
  assert.is(hex(serializeSessionAfterSend(alice)), hex(serializeSession(alice)), 'after an in-place decryption');
  alice.decryptParsed(parseMessage('oldmemo', late.data), rng); // the skipped key is used and removed
  Session.encryptMany([alice], pt);
  assert.is(hex(serializeSessionAfterSend(alice)), hex(serializeSession(alice)), 'after a skipped key was used');
  for (let i = 0; i < 140; i++) {
    Session.encryptMany([alice], pt);
    assert.is(hex(serializeSessionAfterSend(alice)), hex(serializeSession(alice)), `send ${i} (counter 127 → 128)`);
  }
});

test.run();
