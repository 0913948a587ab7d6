// Wire messages (src/protocol/wire.ts): field numbers checked by a hand-written protobuf reader (helpers.ts,
// independent of protobufjs) against the facts file, version byte, truncation, missing fields, key lengths,
// size bound. Messages come from real sessions made with seeded RNGs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { LEGACY_VERSION_BYTE, MAX_WIRE_MESSAGE_BYTES, type ProtocolVersion } from '../../src/protocol/constants';
import { identityWireKey } from '../../src/protocol/identity-key';
import {
  encodeKeyExchange,
  frameMessage,
  parseKeyExchange,
  parseMessage,
  parseMessageThoroughly,
} from '../../src/protocol/wire';
import { encodeMacInput, encodeMessage } from './protobufjs-reference';
import {
  VERSIONS,
  caseSeed,
  cat,
  copy,
  eqB,
  makePair,
  pbFieldNumbers,
  pbGet,
  pbRead,
  pbWrite,
  plaintext,
  recv,
  rngFor,
  snapshot,
  throwsOmemo,
  type PbValue,
} from './helpers';

test.before(async () => {
  await cryptoReady();
});

const K = new Uint8Array(32).fill(0x42);
const key05 = (k: Uint8Array) => cat(Uint8Array.of(5), k);
const V3 = Uint8Array.of(LEGACY_VERSION_BYTE);

/** A pair plus one normal message Alice→Bob (not yet delivered) and one key exchange (pair not answered). */
function material(version: ProtocolVersion, label: string) {
  const pair = makePair(version, caseSeed(`wire ${version} ${label}`));
  const normal = pair.alice.encrypt(plaintext(version, 'wire normal'));
  assert.not.ok(normal.keyExchange);
  const pending = makePair(version, caseSeed(`wire ${version} ${label} pending`), { answered: false });
  const kex = pending.alice.encrypt(plaintext(version, 'wire kex'));
  assert.ok(kex.keyExchange);
  return { pair, normal: normal.data, pending, kex: kex.data };
}

// ------------------------------------------------------------------ field numbers (facts file)

test('oldmemo: 0x33 ‖ WhisperMessage{ratchetKey=1, counter=2, previousCounter=3, ciphertext=4} ‖ 8-byte MAC', () => {
  const { pair } = material('oldmemo', 'fields');
  // Alice's chain after the answered key exchange: `normal` is n = 0 with pn = 1 (the key exchange message);
  // she sends n = 1..3, Bob receives them and answers on a new chain, Alice's next chain starts at n = 0, pn = 4.
  const chain1 = copy(pair.alice.state.sendingRatchet.publicKey);
  const sent = [0, 1, 2].map((i) => pair.alice.encrypt(plaintext('oldmemo', i)).data);
  for (const m of sent) recv(pair.bob, 'oldmemo', m, pair.rng);
  const reply = pair.bob.encrypt(plaintext('oldmemo', 'r'));
  recv(pair.alice, 'oldmemo', reply.data, pair.rng);
  const next = pair.alice.encrypt(plaintext('oldmemo', 'next')).data;
  const chain2 = copy(pair.alice.state.sendingRatchet.publicKey);
  assert.not.equal(chain1, chain2, 'a DH step gave Alice a new ratchet key');
  for (const [m, n, pn, ratchet] of [
    [sent[2]!, 3, 1, chain1],
    [next, 0, 4, chain2],
  ] as const) {
    assert.is(m[0], 0x33);
    const proto = m.subarray(1, m.length - 8);
    const fields = pbRead(proto);
    assert.equal(
      fields.map((f) => f.field),
      [1, 2, 3, 4],
    );
    const rk = pbGet(fields, 1).bytes!;
    assert.is(rk.length, 33);
    assert.is(rk[0], 0x05);
    eqB(rk.subarray(1), ratchet, 'ratchetKey = 0x05 ‖ the sender ratchet key');
    assert.is(pbGet(fields, 2).int, n, 'counter');
    assert.is(pbGet(fields, 3).int, pn, 'previousCounter');
    assert.is(pbGet(fields, 4).bytes!.length, 48, 'AES-CBC of 32 bytes with PKCS#7');
    assert.is(m.length, 1 + proto.length + 8, 'the MAC is exactly 8 bytes after the protobuf');
    const parsed = parseMessage('oldmemo', m);
    eqB(parsed.mac, m.subarray(m.length - 8));
    eqB(parsed.macInput, m.subarray(0, m.length - 8), 'MAC input = 0x33 ‖ protobuf');
    eqB(parsed.header.ratchetKey, rk.subarray(1));
    assert.equal([parsed.header.n, parsed.header.pn], [n, pn]);
  }
});

test('oldmemo: 0x33 ‖ PreKeyWhisperMessage{preKeyId=1, baseKey=2, identityKey=3, message=4, signedPreKeyId=6}', () => {
  for (const withPreKey of [true, false]) {
    const p = makePair('oldmemo', caseSeed(`wire kex fields ${withPreKey}`), { answered: false, withPreKey });
    const m = p.alice.encrypt(plaintext('oldmemo', 'k')).data;
    assert.is(m[0], 0x33);
    const fields = pbRead(m.subarray(1));
    assert.equal(
      fields.map((f) => f.field).sort(),
      withPreKey ? [1, 2, 3, 4, 6] : [2, 3, 4, 6],
      'no registrationId (5)',
    );
    if (withPreKey) assert.is(pbGet(fields, 1).int, 101);
    eqB(pbGet(fields, 2).bytes, key05(p.alice.baseKey));
    eqB(pbGet(fields, 3).bytes, key05(p.aliceDevice.identity.publicKey), 'identityKey = 0x05 ‖ Curve25519 identity');
    assert.is(pbGet(fields, 6).int, 7, 'signedPreKeyId');
    const inner = pbGet(fields, 4).bytes!;
    assert.is(inner[0], 0x33, 'message = a whole WhisperMessage with version byte and MAC');
    assert.equal(pbFieldNumbers(inner.subarray(1, inner.length - 8)), [1, 2, 3, 4]);
    const parsed = parseKeyExchange('oldmemo', m);
    assert.is(parsed.preKeyId, withPreKey ? 101 : undefined);
    assert.is(parsed.signedPreKeyId, 7);
    eqB(parsed.baseKey, p.alice.baseKey);
    eqB(parsed.identityKey, p.aliceDevice.identity.publicKey);
    eqB(parsed.message.macInput, inner.subarray(0, inner.length - 8));
  }
});

test('twomemo: OMEMOAuthenticatedMessage{mac=1 (16 bytes), message=2} wrapping OMEMOMessage{n=1, pn=2, dh_pub=3, ciphertext=4}', () => {
  const { pair } = material('twomemo', 'fields');
  const chain1 = copy(pair.alice.state.sendingRatchet.publicKey);
  const sent = [0, 1, 2].map((i) => pair.alice.encrypt(plaintext('twomemo', i)).data);
  for (const m of sent) recv(pair.bob, 'twomemo', m, pair.rng);
  const reply = pair.bob.encrypt(plaintext('twomemo', 'r'));
  recv(pair.alice, 'twomemo', reply.data, pair.rng);
  const next = pair.alice.encrypt(plaintext('twomemo', 'next')).data;
  const chain2 = copy(pair.alice.state.sendingRatchet.publicKey);
  assert.not.equal(chain1, chain2, 'a DH step gave Alice a new ratchet key');
  for (const [m, n, pn, ratchet] of [
    [sent[1]!, 2, 1, chain1],
    [next, 0, 4, chain2],
  ] as const) {
    const outer = pbRead(m);
    assert.equal(
      outer.map((f) => f.field),
      [1, 2],
    );
    assert.is(pbGet(outer, 1).bytes!.length, 16, 'OMEMO 2 MAC: 16 bytes inside the protobuf');
    const inner = pbRead(pbGet(outer, 2).bytes!);
    assert.equal(
      inner.map((f) => f.field),
      [1, 2, 3, 4],
    );
    assert.is(pbGet(inner, 1).int, n, 'n');
    assert.is(pbGet(inner, 2).int, pn, 'pn');
    eqB(pbGet(inner, 3).bytes, ratchet, 'dh_pub: raw 32 bytes');
    assert.is(pbGet(inner, 4).bytes!.length, 64, 'AES-CBC of 48 bytes with PKCS#7');
    const parsed = parseMessage('twomemo', m);
    eqB(parsed.macInput, pbGet(outer, 2).bytes, 'MAC input = the OMEMOMessage bytes as received');
    eqB(parsed.mac, pbGet(outer, 1).bytes);
  }
});

test('twomemo: OMEMOKeyExchange{pk_id=1, spk_id=2, ik=3 (Ed25519), ek=4, message=5}', () => {
  const { pending, kex } = material('twomemo', 'kex fields');
  const fields = pbRead(kex);
  assert.equal(
    fields.map((f) => f.field),
    [1, 2, 3, 4, 5],
  );
  assert.is(pbGet(fields, 1).int, 101);
  assert.is(pbGet(fields, 2).int, 7);
  eqB(pbGet(fields, 3).bytes, pending.aliceDevice.identity.edPublicKey, 'ik = Ed25519 identity');
  eqB(pbGet(fields, 3).bytes, identityWireKey(pending.aliceDevice.identity, 'twomemo'));
  eqB(pbGet(fields, 4).bytes, pending.alice.baseKey);
  const auth = pbRead(pbGet(fields, 5).bytes!);
  assert.equal(
    auth.map((f) => f.field),
    [1, 2],
  );
  assert.is(pbGet(auth, 1).bytes!.length, 16);
  assert.equal(pbFieldNumbers(pbGet(auth, 2).bytes!), [1, 2, 3, 4]);
});

// ------------------------------------------------------------------ version byte

for (const [kind, pick] of [
  ['normal', 'normal'],
  ['key exchange', 'kex'],
] as const) {
  test(`oldmemo ${kind}: version byte 0x33 accepted, any other high nibble → unsupported-version`, () => {
    const mat = material('oldmemo', `version ${kind}`);
    const bytes = mat[pick];
    const parse = (b: Uint8Array) => (pick === 'normal' ? parseMessage('oldmemo', b) : parseKeyExchange('oldmemo', b));
    parse(bytes);
    for (let hi = 0; hi < 16; hi++) {
      const b = copy(bytes);
      b[0] = (hi << 4) | 0x3;
      if (hi === 3) parse(b);
      else throwsOmemo(() => parse(b), 'unsupported-version', `version byte 0x${b[0]!.toString(16)}`);
    }
    // a different low nibble (minimum version) parses, as in libsignal; for a normal message the MAC then fails
    // (it covers the version byte); a key exchange's own version byte is not authenticated
    for (let lo = 0; lo < 16; lo++) {
      const b = copy(bytes);
      b[0] = 0x30 | lo;
      parse(b);
    }
    if (pick === 'normal') {
      const b = copy(bytes);
      b[0] = 0x32;
      parse(b);
      const before = snapshot(mat.pair.bob);
      throwsOmemo(() => mat.pair.bob.decrypt(b), 'bad-mac');
      assert.is(snapshot(mat.pair.bob), before);
      eqB(mat.pair.bob.decrypt(bytes), plaintext('oldmemo', 'wire normal'));
    }
  });
}

test('twomemo messages have no version byte (first byte is the protobuf tag 0x0a / 0x08)', () => {
  const { normal, kex } = material('twomemo', 'no version byte');
  assert.is(normal[0], 0x0a);
  assert.is(kex[0], 0x08);
  assert.not.ok(normal[0] === 0x33);
});

// ------------------------------------------------------------------ truncation, garbage, size

for (const version of VERSIONS) {
  test(`${version}: every truncation of a normal message is rejected with an OmemoError, session unchanged`, () => {
    const { pair, normal } = material(version, 'truncate');
    const before = snapshot(pair.bob);
    for (let len = 0; len < normal.length; len++) {
      throwsOmemo(
        () => pair.bob.decrypt(normal.subarray(0, len)),
        ['malformed-message', 'bad-mac', 'unsupported-version'],
        `(${version}, length ${len} of ${normal.length}, seed ${pair.seed})`,
      );
    }
    assert.is(snapshot(pair.bob), before);
    eqB(pair.bob.decrypt(normal), plaintext(version, 'wire normal'));
  });

  test(`${version}: every truncation of a key exchange is rejected by parseKeyExchange or the session`, () => {
    const { pending, kex } = material(version, 'truncate kex');
    for (let len = 0; len < kex.length; len++) {
      throwsOmemo(
        () => {
          const parsed = parseKeyExchange(version, kex.subarray(0, len));
          // a prefix that still parses must fail the MAC in the existing session
          pending.bob.decryptParsed(parsed.message, pending.rng);
        },
        ['malformed-message', 'bad-mac', 'unsupported-version'],
        `(${version}, length ${len} of ${kex.length}, seed ${pending.seed})`,
      );
    }
  });

  test(`${version}: garbage and non-protobuf input → malformed-message (or unsupported-version)`, () => {
    const samples = [
      new Uint8Array(0),
      Uint8Array.of(0x33),
      Uint8Array.of(0x33, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
      new Uint8Array(100).fill(0x33),
      new Uint8Array(64).fill(0xff),
    ];
    for (const s of samples) {
      throwsOmemo(() => parseMessage(version, s), ['malformed-message', 'unsupported-version'], `normal ${s.length}`);
      throwsOmemo(() => parseKeyExchange(version, s), ['malformed-message', 'unsupported-version'], `kex ${s.length}`);
    }
  });

  test(`${version}: messages over MAX_WIRE_MESSAGE_BYTES are rejected before parsing`, () => {
    const limit = MAX_WIRE_MESSAGE_BYTES;
    assert.is(limit, 4096);
    const make = (total: number): Uint8Array => {
      // a well-formed message whose ciphertext is padded to reach `total` bytes
      const build = (ctLen: number) => {
        const ct = new Uint8Array(ctLen).fill(7);
        return version === 'oldmemo'
          ? cat(
              V3,
              pbWrite([
                [1, key05(K)],
                [2, 0],
                [3, 0],
                [4, ct],
              ]),
              new Uint8Array(8),
            )
          : pbWrite([
              [1, new Uint8Array(16)],
              [
                2,
                pbWrite([
                  [1, 0],
                  [2, 0],
                  [3, K],
                  [4, ct],
                ]),
              ],
            ]);
      };
      let ctLen = total - 60;
      while (build(ctLen).length < total) ctLen++;
      while (build(ctLen).length > total) ctLen--;
      const m = build(ctLen);
      assert.is(m.length, total, 'test construction');
      return m;
    };
    const atLimit = make(limit);
    assert.is(parseMessage(version, atLimit).ciphertext.length > 4000, true, 'exactly at the limit parses');
    const over = make(limit + 1);
    const e = throwsOmemo(() => parseMessage(version, over), 'malformed-message');
    assert.match(e.message, /4096/);
    throwsOmemo(() => parseKeyExchange(version, new Uint8Array(limit + 1).fill(0x33)), 'malformed-message');
    throwsOmemo(() => parseKeyExchange(version, new Uint8Array(1 << 20)), 'malformed-message');
  });

  test(`${version}: non-Uint8Array input is a TypeError`, () => {
    assert.throws(() => parseMessage(version, [0x33, 1, 2] as unknown as Uint8Array), TypeError);
    assert.throws(() => parseKeyExchange(version, 'abc' as unknown as Uint8Array), TypeError);
  });

  test(`${version}: encode → parse round trip of header, ciphertext and MAC`, () => {
    const header = { ratchetKey: K, n: 4294967295, pn: 123456 };
    const ct = new Uint8Array(48).fill(3);
    const macLen = version === 'oldmemo' ? 8 : 16;
    const mac = new Uint8Array(macLen).fill(9);
    const macInput = encodeMacInput(version, header, ct);
    const msg = encodeMessage(version, macInput, mac);
    const p = parseMessage(version, msg);
    eqB(p.header.ratchetKey, header.ratchetKey);
    assert.equal([p.header.n, p.header.pn], [header.n, header.pn], 'uint32 counters survive (max value)');
    eqB(p.ciphertext, ct);
    eqB(p.mac, mac);
    eqB(p.macInput, macInput);
    const kexMsg = encodeKeyExchange(
      version,
      { preKeyId: 0x7fffffff, signedPreKeyId: 1, identityKey: K, baseKey: new Uint8Array(32).fill(1) },
      msg,
    );
    const k = parseKeyExchange(version, kexMsg);
    assert.is(k.preKeyId, 0x7fffffff);
    assert.is(k.signedPreKeyId, 1);
    eqB(k.identityKey, K);
    eqB(k.baseKey, new Uint8Array(32).fill(1));
    eqB(k.message.macInput, p.macInput);
    eqB(k.message.mac, p.mac);
  });

  test(`${version}: the ratchet key and the MAC are copies, the MAC input and the ciphertext views of the input`, () => {
    // A session may keep the ratchet key (skipped keys name it); the MAC input and the ciphertext are read by the
    // decryption at once, so the canonical reader does not copy them (an allocation of over 64 bytes per message).
    const { normal } = material(version, 'copies');
    const buf = copy(normal);
    const p = parseMessage(version, buf);
    const kept = JSON.stringify([Array.from(p.header.ratchetKey), Array.from(p.mac)]);
    const macInput = Array.from(p.macInput);
    assert.is(p.macInput.buffer, buf.buffer, 'the MAC input is a view of the input');
    assert.is(p.ciphertext.buffer, buf.buffer, 'the ciphertext is a view of the input');
    eqB(
      p.macInput.subarray(p.macInput.length - p.ciphertext.length),
      p.ciphertext,
      'the ciphertext ends the MAC input',
    );
    buf.fill(0);
    assert.is(JSON.stringify([Array.from(p.header.ratchetKey), Array.from(p.mac)]), kept, 'copies');
    assert.ok(macInput.some((b) => b !== 0) && p.macInput.every((b) => b === 0), 'views');
    // The thorough path (any protobuf encoding) copies everything.
    const t = parseMessageThoroughly(version, copy(normal));
    assert.is.not(t.macInput.buffer, normal.buffer);
  });
}

// ------------------------------------------------------------------ missing fields and key lengths (hand-built)

function legacyNormal(fields: PbValue[]): Uint8Array {
  return cat(V3, pbWrite(fields), new Uint8Array(8));
}
const legacyInner = legacyNormal([
  [1, key05(K)],
  [2, 1],
  [3, 0],
  [4, new Uint8Array(16)],
]);

test('oldmemo WhisperMessage: missing ratchetKey / ciphertext → malformed; missing counters read as 0', () => {
  throwsOmemo(
    () =>
      parseMessage(
        'oldmemo',
        legacyNormal([
          [2, 1],
          [3, 0],
          [4, new Uint8Array(16)],
        ]),
      ),
    'malformed-message',
  );
  throwsOmemo(
    () =>
      parseMessage(
        'oldmemo',
        legacyNormal([
          [1, key05(K)],
          [2, 1],
          [3, 0],
        ]),
      ),
    'malformed-message',
  );
  const p = parseMessage(
    'oldmemo',
    legacyNormal([
      [1, key05(K)],
      [4, new Uint8Array(16)],
    ]),
  );
  assert.equal([p.header.n, p.header.pn], [0, 0]);
  // hand-built fields in another order parse the same
  const q = parseMessage(
    'oldmemo',
    legacyNormal([
      [4, new Uint8Array(16)],
      [3, 5],
      [2, 6],
      [1, key05(K)],
    ]),
  );
  assert.equal([q.header.n, q.header.pn], [6, 5]);
});

test('oldmemo keys: 32 bytes without 0x05, wrong type byte, 34 bytes → malformed', () => {
  for (const bad of [K, cat(Uint8Array.of(6), K), cat(Uint8Array.of(5), K, Uint8Array.of(0)), new Uint8Array(0)]) {
    const e = throwsOmemo(
      () =>
        parseMessage(
          'oldmemo',
          legacyNormal([
            [1, bad],
            [2, 1],
            [3, 0],
            [4, new Uint8Array(16)],
          ]),
        ),
      'malformed-message',
      `ratchetKey of ${bad.length}`,
    );
    assert.match(e.message, /ratchetKey/);
    const kexFields = (baseKey: Uint8Array, identityKey: Uint8Array): PbValue[] => [
      [1, 1],
      [2, baseKey],
      [3, identityKey],
      [4, legacyInner],
      [6, 7],
    ];
    const e2 = throwsOmemo(
      () => parseKeyExchange('oldmemo', cat(V3, pbWrite(kexFields(bad, key05(K))))),
      'malformed-message',
    );
    assert.match(e2.message, /baseKey/);
    const e3 = throwsOmemo(
      () => parseKeyExchange('oldmemo', cat(V3, pbWrite(kexFields(key05(K), bad)))),
      'malformed-message',
    );
    assert.match(e3.message, /identityKey/);
  }
});

test('oldmemo PreKeyWhisperMessage: each required field missing → malformed; preKeyId optional', () => {
  const all: PbValue[] = [
    [1, 1],
    [2, key05(K)],
    [3, key05(K)],
    [4, legacyInner],
    [6, 7],
  ];
  const ok = parseKeyExchange('oldmemo', cat(V3, pbWrite(all)));
  assert.is(ok.preKeyId, 1);
  for (const drop of [2, 3, 4, 6]) {
    throwsOmemo(
      () => parseKeyExchange('oldmemo', cat(V3, pbWrite(all.filter(([f]) => f !== drop)))),
      'malformed-message',
      `without field ${drop}`,
    );
  }
  const noPk = parseKeyExchange('oldmemo', cat(V3, pbWrite(all.filter(([f]) => f !== 1))));
  assert.is(noPk.preKeyId, undefined);
  const zeroPk = parseKeyExchange('oldmemo', cat(V3, pbWrite([[1, 0], ...all.slice(1)])));
  assert.is(zeroPk.preKeyId, 0, 'pre key id 0 is an id, not "absent"');
  // the inner message is checked too
  throwsOmemo(
    () =>
      parseKeyExchange(
        'oldmemo',
        cat(
          V3,
          pbWrite([
            [1, 1],
            [2, key05(K)],
            [3, key05(K)],
            [4, Uint8Array.of(0x23, 1, 2, 3, 4, 5, 6, 7, 8, 9)],
            [6, 7],
          ]),
        ),
      ),
    'unsupported-version',
  );
  throwsOmemo(
    () =>
      parseKeyExchange(
        'oldmemo',
        cat(
          V3,
          pbWrite([
            [1, 1],
            [2, key05(K)],
            [3, key05(K)],
            [4, legacyNormal([[2, 1]])],
            [6, 7],
          ]),
        ),
      ),
    'malformed-message',
  );
});

const omemoMsg = (fields: PbValue[]) => pbWrite(fields);
const goodInner = omemoMsg([
  [1, 1],
  [2, 0],
  [3, K],
  [4, new Uint8Array(16)],
]);
const authMsg = (mac: Uint8Array | undefined, inner: Uint8Array | undefined) =>
  pbWrite([...(mac ? ([[1, mac]] as PbValue[]) : []), ...(inner ? ([[2, inner]] as PbValue[]) : [])]);

test('twomemo OMEMOAuthenticatedMessage / OMEMOMessage: missing fields and wrong lengths → malformed', () => {
  parseMessage('twomemo', authMsg(new Uint8Array(16), goodInner));
  throwsOmemo(() => parseMessage('twomemo', authMsg(undefined, goodInner)), 'malformed-message');
  throwsOmemo(() => parseMessage('twomemo', authMsg(new Uint8Array(16), undefined)), 'malformed-message');
  for (const len of [0, 8, 15, 17, 32])
    throwsOmemo(
      () => parseMessage('twomemo', authMsg(new Uint8Array(len), goodInner)),
      'malformed-message',
      `mac of ${len}`,
    );
  throwsOmemo(
    () =>
      parseMessage(
        'twomemo',
        authMsg(
          new Uint8Array(16),
          omemoMsg([
            [1, 1],
            [2, 0],
            [4, new Uint8Array(16)],
          ]),
        ),
      ),
    'malformed-message',
  );
  throwsOmemo(
    () =>
      parseMessage(
        'twomemo',
        authMsg(
          new Uint8Array(16),
          omemoMsg([
            [1, 1],
            [2, 0],
            [3, K],
          ]),
        ),
      ),
    'malformed-message',
  );
  for (const dh of [new Uint8Array(31), key05(K), new Uint8Array(0)]) {
    const e = throwsOmemo(
      () =>
        parseMessage(
          'twomemo',
          authMsg(
            new Uint8Array(16),
            omemoMsg([
              [1, 1],
              [2, 0],
              [3, dh],
              [4, new Uint8Array(16)],
            ]),
          ),
        ),
      'malformed-message',
      `dh_pub of ${dh.length}`,
    );
    assert.match(e.message, /dh_pub/);
  }
  const noCounters = parseMessage(
    'twomemo',
    authMsg(
      new Uint8Array(16),
      omemoMsg([
        [3, K],
        [4, new Uint8Array(16)],
      ]),
    ),
  );
  assert.equal([noCounters.header.n, noCounters.header.pn], [0, 0]);
  throwsOmemo(
    () => parseMessage('twomemo', authMsg(new Uint8Array(16), Uint8Array.of(0xff, 0xff))),
    'malformed-message',
  );
});

test('twomemo OMEMOKeyExchange: missing ik / ek / message and wrong key lengths → malformed', () => {
  const good = authMsg(new Uint8Array(16), goodInner);
  const all: PbValue[] = [
    [1, 3],
    [2, 7],
    [3, K],
    [4, K],
    [5, good],
  ];
  const ok = parseKeyExchange('twomemo', pbWrite(all));
  assert.equal([ok.preKeyId, ok.signedPreKeyId], [3, 7]);
  for (const drop of [3, 4, 5])
    throwsOmemo(
      () => parseKeyExchange('twomemo', pbWrite(all.filter(([f]) => f !== drop))),
      'malformed-message',
      `without field ${drop}`,
    );
  for (const bad of [key05(K), new Uint8Array(31)]) {
    throwsOmemo(
      () =>
        parseKeyExchange(
          'twomemo',
          pbWrite([
            [1, 3],
            [2, 7],
            [3, bad],
            [4, K],
            [5, good],
          ]),
        ),
      'malformed-message',
      `ik of ${bad.length}`,
    );
    throwsOmemo(
      () =>
        parseKeyExchange(
          'twomemo',
          pbWrite([
            [1, 3],
            [2, 7],
            [3, K],
            [4, bad],
            [5, good],
          ]),
        ),
      'malformed-message',
      `ek of ${bad.length}`,
    );
  }
  throwsOmemo(
    () =>
      parseKeyExchange(
        'twomemo',
        pbWrite([
          [1, 3],
          [2, 7],
          [3, K],
          [4, K],
          [5, authMsg(new Uint8Array(15), goodInner)],
        ]),
      ),
    'malformed-message',
  );
  // proto3-style writers omit zero ids: they read as 0
  const zeros = parseKeyExchange(
    'twomemo',
    pbWrite([
      [3, K],
      [4, K],
      [5, good],
    ]),
  );
  assert.equal([zeros.preKeyId, zeros.signedPreKeyId], [0, 0]);
});

test('a message of one version is not accepted as the other', () => {
  const o = material('oldmemo', 'cross');
  const t = material('twomemo', 'cross');
  throwsOmemo(() => parseMessage('twomemo', o.normal), 'malformed-message');
  throwsOmemo(() => parseMessage('oldmemo', t.normal), ['malformed-message', 'unsupported-version']);
  throwsOmemo(() => parseKeyExchange('twomemo', o.kex), 'malformed-message');
  throwsOmemo(() => parseKeyExchange('oldmemo', t.kex), ['malformed-message', 'unsupported-version']);
  assert.throws(() => o.pair.bob.decryptParsed(parseMessage('twomemo', t.normal)), TypeError);
});

test('frameMessage lays out exactly what encodeMessage(encodeMacInput(...)) produces', () => {
  const rng = rngFor(caseSeed('frameMessage'));
  const counters = [0, 1, 127, 128, 300, 16383, 16384, 0x1fffff, 0x200000, 0xfffffff, 0x10000000, 0xffffffff];
  let cases = 0;
  for (const version of ['oldmemo', 'twomemo'] as const) {
    for (const n of counters) {
      for (const ctLength of [0, 16, 48, 112, 128, 1040]) {
        const pn = counters[(counters.indexOf(n) * 7 + ctLength) % counters.length]!;
        const header = { ratchetKey: rng(32), n, pn };
        const ciphertext = rng(ctLength);
        const mac = rng(version === 'oldmemo' ? 8 : 16);
        const frame = frameMessage(version, header, ctLength);
        const macInput = frame.message.slice(frame.headerOffset, frame.headerOffset + frame.headerLength + ctLength);
        macInput.set(ciphertext, frame.headerLength);
        frame.message.set(ciphertext, frame.headerOffset + frame.headerLength);
        frame.message.set(mac, frame.macOffset);
        const expectedInput = encodeMacInput(version, header, ciphertext);
        eqB(macInput, expectedInput, `${version} n=${n} pn=${pn} ct=${ctLength}: MAC input`);
        eqB(
          frame.message,
          encodeMessage(version, expectedInput, mac),
          `${version} n=${n} pn=${pn} ct=${ctLength}: message`,
        );
        const parsed = parseMessage(version, frame.message);
        assert.is(parsed.header.n, n);
        assert.is(parsed.header.pn, pn);
        cases++;
      }
    }
  }
  assert.is(cases, 2 * 12 * 6);
});

test.run();
