// Session records (src/protocol/session-record.ts): exact round trips at several points of a conversation, the
// frozen format-1 fixture (fixtures/session-record-v1.*, made by fixtures/make-fixture.ts), damaged records.
// Format 2 (archived states): session-record-v2.test.ts.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { x25519PublicKey } from '../../src/crypto/x25519';
import type { ProtocolVersion } from '../../src/protocol/constants';
import { identityFromPrivate } from '../../src/protocol/identity-key';
import { Session } from '../../src/protocol/session';
import { SESSION_RECORD_FORMAT, deserializeSession, serializeSession } from '../../src/protocol/session-record';
import { serializeSessionWithProtobufjs } from './protobufjs-reference';
import { parseKeyExchange, parseMessage } from '../../src/protocol/wire';
import {
  Dice,
  VERSIONS,
  bundleOf,
  caseSeed,
  hex,
  makeDevice,
  makePair,
  pbRead,
  pbWrite,
  plaintext,
  recv,
  rngFor,
  roundTrip,
  throwsOmemo,
  unhex,
  type Pair,
  type PbValue,
} from './helpers';

test.before(async () => {
  await cryptoReady();
});

/** Continues a conversation on the original and on a reloaded copy with identical RNGs: outputs must match. */
function behavesTheSame(pair: Pair, which: 'alice' | 'bob', label: string): void {
  const original = which === 'alice' ? pair.alice : pair.bob;
  const copy = deserializeSession(serializeSession(original));
  const other = which === 'alice' ? pair.bob : pair.alice;
  // messages to it (from a snapshot of the other side, so both receive identical bytes)
  const incoming = [0, 1, 2].map((i) => other.encrypt(plaintext(pair.version, `${label} in ${i}`)).data);
  for (const [i, m] of [incoming[2]!, incoming[0]!, incoming[1]!].entries()) {
    const r1 = rngFor(`${pair.seed} ${label} ${i}`);
    const r2 = rngFor(`${pair.seed} ${label} ${i}`);
    assert.is(
      hex(copy.decryptParsed(parseMessage(pair.version, m), r2)),
      hex(original.decryptParsed(parseMessage(pair.version, m), r1)),
      `${label} (seed ${pair.seed})`,
    );
  }
  for (let i = 0; i < 3; i++) {
    const p = plaintext(pair.version, `${label} out ${i}`);
    assert.is(hex(copy.encrypt(p).data), hex(original.encrypt(p).data), `${label}: outgoing ${i} (seed ${pair.seed})`);
  }
  assert.is(
    hex(serializeSession(copy)),
    hex(serializeSession(original)),
    `${label}: states diverged (seed ${pair.seed})`,
  );
}

for (const version of VERSIONS) {
  test(`${version}: exact round trip at every stage of a conversation`, () => {
    const seed = caseSeed(`${version} record stages`);
    const rng = rngFor(seed);
    const aliceDevice = makeDevice(version, rng);
    const bobDevice = makeDevice(version, rng, 100);
    const alice = Session.initiate(version, aliceDevice.identity, bundleOf(bobDevice, 100), rng);
    roundTrip(alice, 'fresh initiator with pending key exchange');
    const kexBytes = alice.encrypt(plaintext(version, 0)).data;
    const kex = parseKeyExchange(version, kexBytes);
    const bob = Session.respond(bobDevice.identity, kex, bobDevice.signedPreKeys.get(7)!, bobDevice.preKeys.get(100)!);
    const bobFresh = roundTrip(bob, 'responder before its first decryption (no chains)');
    assert.is(bobFresh.state.sendingChainKey, undefined);
    assert.is(bobFresh.state.receivingChainKey, undefined);
    assert.equal(
      bobFresh.decryptParsed(kex.message, rngFor('x')),
      plaintext(version, 0),
      'a reloaded fresh responder still decrypts',
    );
    bob.decryptParsed(kex.message, rng);
    roundTrip(bob, 'responder after the key exchange');
    // Alice is still pending: her messages are key exchanges; Bob recognises the base key and decrypts the inner message
    const ms = [1, 2, 3, 4, 5].map((i) => alice.encrypt(plaintext(version, i)).data);
    const inner = (m: Uint8Array) => {
      const k = parseKeyExchange(version, m);
      assert.is(hex(k.baseKey), hex(bob.baseKey));
      return k.message;
    };
    for (const i of [4, 1]) bob.decryptParsed(inner(ms[i]!), rng);
    assert.ok(bob.state.skipped.size === 3);
    roundTrip(bob, 'with skipped keys');
    roundTrip(alice, 'initiator still pending after several messages');
    const r = bob.encrypt(plaintext(version, 'r')).data;
    recv(alice, version, r, rng);
    roundTrip(alice, 'initiator after its DH step (no longer pending)');
    const m6 = alice.encrypt(plaintext(version, 6)).data;
    recv(bob, version, m6, rng);
    const reloaded = roundTrip(bob, 'after DH steps, with an old chain and skipped keys');
    assert.ok(reloaded.state.oldChains.length >= 1);
    for (const i of [0, 2, 3])
      assert.equal(
        reloaded.decryptParsed(inner(ms[i]!), rng),
        plaintext(version, i + 1),
        `skipped key ${i} survives reloading`,
      );
  });

  test(`${version}: a reloaded session behaves exactly like the original (seeded random conversations)`, () => {
    for (let s = 0; s < 3; s++) {
      const seed = caseSeed(`${version} record behaviour ${s}`);
      const pair = makePair(version, seed);
      const dice = new Dice(seed);
      for (let round = 0; round < 8; round++) {
        const from = dice.chance(0.5) ? 'alice' : 'bob';
        const sender = from === 'alice' ? pair.alice : pair.bob;
        const receiver = from === 'alice' ? pair.bob : pair.alice;
        const ms = Array.from(
          { length: dice.range(1, 6) },
          (_, i) => sender.encrypt(plaintext(version, `${round} ${i}`)).data,
        );
        for (const m of dice.shuffle(ms).slice(0, Math.max(1, ms.length - 1))) recv(receiver, version, m, pair.rng);
        roundTrip(pair.alice, `round ${round} alice (seed ${seed})`);
        roundTrip(pair.bob, `round ${round} bob (seed ${seed})`);
      }
      behavesTheSame(pair, 'alice', `alice ${s}`);
      behavesTheSame(pair, 'bob', `bob ${s}`);
    }
  });

  test(`${version}: pending key exchange round trip: pre key id, id 0 and no pre key`, () => {
    const seed = caseSeed(`${version} record pending`);
    const rng = rngFor(seed);
    const aliceDevice = makeDevice(version, rng);
    const bobDevice = makeDevice(version, rng, 0);
    for (const preKeyId of [0, 1, version === 'oldmemo' ? undefined : 2]) {
      const alice = Session.initiate(version, aliceDevice.identity, bundleOf(bobDevice, preKeyId), rng);
      const again = roundTrip(alice, `pending with pre key ${String(preKeyId)}`);
      assert.is(again.state.pending!.preKeyId, preKeyId, 'pre key id 0 is an id, absence stays absence');
      assert.is(again.state.pending!.signedPreKeyId, 7);
      assert.is(hex(again.encrypt(plaintext(version, 0)).data), hex(alice.encrypt(plaintext(version, 0)).data));
    }
  });

  test(`${version}: record size of an established session`, () => {
    const pair = makePair(version, caseSeed(`${version} record size`));
    const sizes = [serializeSession(pair.alice).length, serializeSession(pair.bob).length];
    // 6 keys × 34 + ratchet/root/identity keys: about 320 bytes; skipped keys add ~40 bytes each
    for (const n of sizes) assert.ok(n > 250 && n < 400, `established record is ${n} bytes`);
    const ms = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => pair.alice.encrypt(plaintext(version, i)).data);
    recv(pair.bob, version, ms[10]!, pair.rng);
    const grown = serializeSession(pair.bob).length - sizes[1]!;
    assert.ok(grown >= 10 * 36 && grown <= 10 * 80, `10 skipped keys add ${grown} bytes`);
  });
}

// ------------------------------------------------------------------ the frozen format-1 fixture

interface FixtureVersion {
  records: Record<'alice' | 'bob' | 'pending', { offset: number; length: number }>;
  bobKeys: {
    identityPrivate: string;
    signedPreKeyPrivate: string;
    signedPreKeyId: number;
    preKeyPrivate: string;
    preKeyId: number;
  };
  undelivered: {
    toBob: { name: string; data: string; plaintext: string }[];
    toAlice: { name: string; data: string; plaintext: string }[];
    pendingFirst: string;
  };
  afterLoad: {
    bobRng: string;
    aliceRng: string;
    bobNext: { plaintext: string; data: string };
    pendingAgain: { plaintext: string; data: string };
  };
}
const FIXTURE_BIN = new Uint8Array(readFileSync(new URL('./fixtures/session-record-v1.bin', import.meta.url)));
const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/session-record-v1.json', import.meta.url), 'utf8')) as {
  format: number;
  versions: Record<ProtocolVersion, FixtureVersion>;
};

function fixtureRecord(v: FixtureVersion, name: 'alice' | 'bob' | 'pending'): Uint8Array {
  const { offset, length } = v.records[name];
  return FIXTURE_BIN.slice(offset, offset + length);
}

test('fixture: format 1 keeps loading; this code writes format 2 only with archived states (fixture v2)', () => {
  assert.is(FIXTURE.format, 1);
  assert.is(
    SESSION_RECORD_FORMAT,
    2,
    'a new format needs a new fixture (session-record-v3.*); these must keep loading',
  );
  const ends = Object.values(FIXTURE.versions).flatMap((v) => Object.values(v.records).map((r) => r.offset + r.length));
  assert.is(Math.max(...ends), FIXTURE_BIN.length, 'the .bin holds exactly the listed records');
});

for (const version of VERSIONS) {
  test(`${version} fixture: records load and re-serialize to the same bytes`, () => {
    const v = FIXTURE.versions[version];
    for (const name of ['alice', 'bob', 'pending'] as const) {
      const rec = fixtureRecord(v, name);
      const s = deserializeSession(rec);
      assert.is(s.version, version, name);
      assert.is(hex(serializeSession(s)), hex(rec), `${name}: format 1 bytes are written back unchanged`);
      const fields = pbRead(rec);
      assert.is(fields.find((f) => f.field === 1)?.int, 1, `${name}: format field = 1`);
    }
    const bob = deserializeSession(fixtureRecord(v, 'bob'));
    assert.is(bob.state.skipped.size, 2, 'Bob kept a1 and a3');
    assert.ok(bob.state.oldChains.length >= 1);
    assert.ok(deserializeSession(fixtureRecord(v, 'pending')).hasPendingKeyExchange);
    assert.is(deserializeSession(fixtureRecord(v, 'pending')).state.pending!.preKeyId, 42);
  });

  test(`${version} fixture: loaded sessions decrypt the undelivered messages and produce the expected bytes`, () => {
    const v = FIXTURE.versions[version];
    const bob = deserializeSession(fixtureRecord(v, 'bob'));
    const bobRng = rngFor(v.afterLoad.bobRng);
    for (const m of v.undelivered.toBob)
      assert.is(hex(bob.decryptParsed(parseMessage(version, unhex(m.data)), bobRng)), m.plaintext, m.name);
    const next = bob.encrypt(unhex(v.afterLoad.bobNext.plaintext));
    assert.is(hex(next.data), v.afterLoad.bobNext.data, 'Bob encrypts exactly the recorded bytes');
    const alice = deserializeSession(fixtureRecord(v, 'alice'));
    const aliceRng = rngFor(v.afterLoad.aliceRng);
    assert.is(hex(alice.decryptParsed(parseMessage(version, next.data), aliceRng)), v.afterLoad.bobNext.plaintext);
    for (const m of v.undelivered.toAlice)
      assert.is(hex(alice.decryptParsed(parseMessage(version, unhex(m.data)), aliceRng)), m.plaintext, m.name);
    // the pending initiation still sends its key exchange, and Bob's keys accept it
    const pending = deserializeSession(fixtureRecord(v, 'pending'));
    const again = pending.encrypt(unhex(v.afterLoad.pendingAgain.plaintext));
    assert.ok(again.keyExchange);
    assert.is(hex(again.data), v.afterLoad.pendingAgain.data);
    const k = v.bobKeys;
    const spkPriv = unhex(k.signedPreKeyPrivate);
    const pkPriv = unhex(k.preKeyPrivate);
    const kex = parseKeyExchange(version, again.data);
    assert.is(kex.preKeyId, k.preKeyId);
    assert.is(kex.signedPreKeyId, k.signedPreKeyId);
    const responder = Session.respond(
      identityFromPrivate(unhex(k.identityPrivate)),
      kex,
      { privateKey: spkPriv, publicKey: x25519PublicKey(spkPriv) },
      { privateKey: pkPriv, publicKey: x25519PublicKey(pkPriv) },
    );
    assert.is(
      hex(responder.decryptParsed(kex.message, rngFor('fixture responder'))),
      v.afterLoad.pendingAgain.plaintext,
    );
  });
}

// ------------------------------------------------------------------ damaged records

for (const version of VERSIONS) {
  test(`${version}: truncated records → malformed-record (cuts inside a field or before the last key)`, () => {
    const pair = makePair(version, caseSeed(`${version} record truncate`));
    const ms = [0, 1, 2].map((i) => pair.alice.encrypt(plaintext(version, i)).data);
    recv(pair.bob, version, ms[2]!, pair.rng);
    const rec = serializeSession(pair.bob);
    const fields = pbRead(rec);
    const boundaries = new Set([...fields.map((f) => f.offset), rec.length]);
    const baseKeyEnd = fields.find((f) => f.field === 19)!;
    const afterBaseKey = fields[fields.indexOf(baseKeyEnd) + 1]?.offset ?? rec.length;
    const loadedAt: number[] = [];
    for (let len = 0; len < rec.length; len++) {
      const cut = rec.slice(0, len);
      if (!boundaries.has(len) || len < afterBaseKey) {
        throwsOmemo(() => deserializeSession(cut), 'malformed-record', `cut at ${len} of ${rec.length}`);
      } else {
        // only the trailing flags (has_receiving_chain / has_sending_chain) can be lost without an error
        try {
          deserializeSession(cut);
          loadedAt.push(len);
        } catch (e) {
          throwsOmemo(() => {
            throw e;
          }, 'malformed-record');
        }
      }
    }
    assert.ok(
      loadedAt.every((l) => l >= afterBaseKey),
      `loaded: ${loadedAt.join(',')}`,
    );
  });

  test(`${version}: garbage, other formats and protocols → malformed-record`, () => {
    const seed = caseSeed(`${version} record garbage`);
    const dice = new Dice(seed);
    const rng = rngFor(seed);
    for (let i = 0; i < 200; i++) {
      const g = rng(dice.range(0, 400));
      throwsOmemo(() => deserializeSession(g), 'malformed-record', `garbage #${i} (seed ${seed})`);
    }
    throwsOmemo(() => deserializeSession(new Uint8Array(0)), 'malformed-record');
    const rec = serializeSession(makePair(version, seed).bob);
    const fields = pbRead(rec);
    const rewrite = (field: number, value: number | undefined): Uint8Array => {
      const out: PbValue[] = [];
      for (const f of fields) {
        if (f.field === field) {
          if (value !== undefined) out.push([field, value]);
        } else out.push([f.field, f.wireType === 0 ? f.int! : f.bytes!]);
      }
      return pbWrite(out);
    };
    assert.is(hex(rewrite(-1, undefined)), hex(rec), 'the rewriter reproduces the record');
    assert.is(hex(serializeSession(deserializeSession(rewrite(-1, undefined)))), hex(rec));
    let e = throwsOmemo(() => deserializeSession(rewrite(1, 3)), 'malformed-record');
    assert.match(e.message, /format/);
    e = throwsOmemo(() => deserializeSession(rewrite(1, 2)), 'malformed-record');
    assert.match(e.message, /format 2 record without archived states/);
    e = throwsOmemo(() => deserializeSession(rewrite(1, undefined)), 'malformed-record');
    assert.match(e.message, /format/);
    throwsOmemo(() => deserializeSession(rewrite(2, 3)), 'malformed-record');
    throwsOmemo(() => deserializeSession(rewrite(2, undefined)), 'malformed-record');
    // a key of the wrong length
    const badKey = pbWrite(
      fields.map(
        (f) => [f.field, f.field === 6 ? f.bytes!.subarray(0, 31) : f.wireType === 0 ? f.int! : f.bytes!] as PbValue,
      ),
    );
    e = throwsOmemo(() => deserializeSession(badKey), 'malformed-record');
    assert.match(e.message, /root_key/);
    assert.throws(() => deserializeSession('record' as unknown as Uint8Array), TypeError);
  });
}

test('records of the two versions are distinguished by the protocol field', () => {
  const o = makePair('oldmemo', caseSeed('record protocol o'));
  const t = makePair('twomemo', caseSeed('record protocol t'));
  assert.is(pbRead(serializeSession(o.bob)).find((f) => f.field === 2)?.int, 1);
  assert.is(pbRead(serializeSession(t.bob)).find((f) => f.field === 2)?.int, 2);
  assert.is(deserializeSession(serializeSession(t.alice)).version, 'twomemo');
});

test('serializeSession returns a plain Uint8Array (no Node Buffer in the public API)', () => {
  const p = makePair('twomemo', caseSeed('record type'));
  const rec = serializeSession(p.bob);
  assert.is(rec.constructor, Uint8Array, `got ${rec.constructor.name}`);
  const loaded = deserializeSession(rec);
  assert.is(loaded.state.rootKey.constructor, Uint8Array, `state keys: got ${loaded.state.rootKey.constructor.name}`);
});

test('the record writer matches protobufjs at counter and size extremes (varint lengths 1..5, absent fields)', () => {
  const pair = makePair('twomemo', caseSeed('record extremes'));
  const base = pair.alice.state;
  const values = [0, 1, 127, 128, 16383, 16384, 0x1fffff, 0x200000, 0xfffffff, 0x10000000, 0xffffffff];
  const key = (b: number) => new Uint8Array(32).fill(b);
  let checked = 0;
  for (const [i, v] of values.entries()) {
    const skipped = new Map(
      Array.from(
        { length: i * 13 },
        (_, j) => [`k${j}`, { ratchetKey: key(j), n: (v + j) >>> 0, seed: key(j + 1) }] as const,
      ),
    );
    const s = new Session({
      ...base,
      sendingCounter: v,
      previousCounter: values[values.length - 1 - i]!,
      receivingCounter: v >>> 1,
      unanswered: v,
      initiator: i % 2 === 0,
      skipped,
      oldChains: Array.from({ length: i % 6 }, (_, j) => ({ ratchetKey: key(j), nextN: v })),
      pending: i % 3 === 0 ? undefined : { preKeyId: i % 3 === 1 ? v : undefined, signedPreKeyId: v, baseKey: key(9) },
      receivingChainKey: i % 4 === 0 ? undefined : key(3),
      receivingRatchetKey: i % 4 === 0 ? undefined : key(4),
      sendingChainKey: i % 5 === 0 ? undefined : key(5),
    });
    assert.is(hex(serializeSession(s)), hex(serializeSessionWithProtobufjs(s)), `value ${v}`);
    checked++;
  }
  assert.is(checked, values.length);
});

test.run();
