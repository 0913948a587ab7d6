// src/crypto/ed25519.ts: RFC 8032 known answers, verification strictness, Ed25519 <-> Curve25519 maps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concatBytes, toHex } from '../../src/crypto/bytes';
import {
  curve25519PublicToEd25519,
  ed25519KeyPairFromSeed,
  ed25519PublicToCurve25519,
  ed25519SeedToCurve25519Private,
  ed25519Sign,
  ed25519Verify,
} from '../../src/crypto/ed25519';
import { cryptoReady } from '../../src/crypto/ready';
import { x25519PublicKey } from '../../src/crypto/x25519';
import {
  eqBytes,
  eqHex,
  flipBit,
  h,
  isPlainU8,
  loadVectors,
  pseudo,
  seq,
  throwsArg,
  throwsCode,
  type XeddsaIdentity,
} from './helpers';

interface EdVectors {
  rfc8032_7_1: { name: string; secretKey: string; publicKey: string; message: string; signature: string }[];
}
interface XedVectors {
  identities: XeddsaIdentity[];
  montgomeryToEdwards: { name: string; curve25519Public: string; signBit: 0 | 1; ed25519Public: string }[];
}
const ED = loadVectors<EdVectors>('ed25519.json');
const XED = loadVectors<XedVectors>('xeddsa.json');

/** Group order L, little-endian arithmetic helpers for the malleability test. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}
function bigToLe(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 255n);
    n >>= 8n;
  }
  return out;
}

test.before(async () => {
  await cryptoReady();
});

test('vector files are complete', () => {
  assert.equal(
    ED.rfc8032_7_1.map((v) => v.name),
    ['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)'],
  );
  assert.ok(XED.identities.length >= 8);
  assert.ok(XED.montgomeryToEdwards.length >= 16);
});

test('RFC 8032 7.1: key pair from seed, signature and verification (TEST 1, 2, 3, 1024, SHA(abc))', () => {
  for (const v of ED.rfc8032_7_1) {
    const kp = ed25519KeyPairFromSeed(h(v.secretKey));
    eqHex(kp.publicKey, v.publicKey, `${v.name} public key`);
    eqHex(kp.seed, v.secretKey, `${v.name} seed`);
    eqHex(kp.secretKey, v.secretKey + v.publicKey, `${v.name} 64-byte secret key = seed || public`);
    const sig = ed25519Sign(h(v.secretKey), h(v.message));
    isPlainU8(sig);
    eqHex(sig, v.signature, `${v.name} signature`);
    assert.is(ed25519Verify(h(v.publicKey), h(v.message), h(v.signature)), true, `${v.name} verify`);
  }
});

test('RFC 8032 vectors: changed message, other key and every flipped signature bit are rejected', () => {
  for (const [i, v] of ED.rfc8032_7_1.entries()) {
    const msg = h(v.message);
    const sig = h(v.signature);
    const pub = h(v.publicKey);
    const other = h(ED.rfc8032_7_1[(i + 1) % ED.rfc8032_7_1.length]!.publicKey);
    assert.is(ed25519Verify(other, msg, sig), false, `${v.name} under another key`);
    assert.is(ed25519Verify(pub, concatBytes(msg, Uint8Array.of(0)), sig), false, `${v.name} with a byte appended`);
    if (msg.length > 0) {
      assert.is(ed25519Verify(pub, flipBit(msg, 0), sig), false, `${v.name} with a flipped message bit`);
      assert.is(ed25519Verify(pub, msg.subarray(0, msg.length - 1), sig), false, `${v.name} truncated message`);
    }
  }
  const v = ED.rfc8032_7_1[1]!;
  for (let bit = 0; bit < 512; bit++) {
    assert.is(
      ed25519Verify(h(v.publicKey), h(v.message), flipBit(h(v.signature), bit)),
      false,
      `signature bit ${bit} flipped`,
    );
  }
  for (let bit = 0; bit < 256; bit++) {
    assert.is(
      ed25519Verify(flipBit(h(v.publicKey), bit), h(v.message), h(v.signature)),
      false,
      `public key bit ${bit} flipped`,
    );
  }
});

test('ed25519Verify rejects a non-canonical S (S + L), as RFC 8032 5.1.7 requires', () => {
  for (const v of ED.rfc8032_7_1) {
    const sig = h(v.signature);
    const S = leToBig(sig.subarray(32));
    const mal = concatBytes(sig.subarray(0, 32), bigToLe(S + L, 32));
    assert.is(ed25519Verify(h(v.publicKey), h(v.message), mal), false, v.name);
  }
});

test('ed25519Verify returns false (does not throw) for public keys that are not points or are small-order', () => {
  const v = ED.rfc8032_7_1[0]!;
  for (const bad of ['02', '07', '01', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f']) {
    const pub = bad.length === 2 ? concatBytes(h(bad), new Uint8Array(31)) : h(bad);
    assert.is(ed25519Verify(pub, h(v.message), h(v.signature)), false, bad);
  }
});

test('own signatures: deterministic, verify, and fail under a flipped message/key', () => {
  for (let i = 0; i < 16; i++) {
    const seed = pseudo(32, 300 + i);
    const msg = pseudo(i * 37, 400 + i);
    const kp = ed25519KeyPairFromSeed(seed);
    const s1 = ed25519Sign(seed, msg);
    const s2 = ed25519Sign(seed, msg);
    eqBytes(s1, s2, 'Ed25519 is deterministic');
    assert.is(ed25519Verify(kp.publicKey, msg, s1), true);
    assert.is(ed25519Verify(kp.publicKey, concatBytes(msg, Uint8Array.of(1)), s1), false);
    assert.is(ed25519Verify(ed25519KeyPairFromSeed(flipBit(seed, 0)).publicKey, msg, s1), false);
  }
});

test('ed25519KeyPairFromSeed: seed is copied, not aliased', () => {
  const seed = seq(32);
  const kp = ed25519KeyPairFromSeed(seed);
  seed.fill(0);
  eqBytes(kp.seed, seq(32));
});

test('identities (python3-xeddsa): Ed25519 public, Curve25519 private and public keys', () => {
  let ones = 0;
  for (const id of XED.identities) {
    const kp = ed25519KeyPairFromSeed(h(id.seed));
    eqHex(kp.publicKey, id.ed25519Public, `${id.name} ed25519 public`);
    assert.is(kp.publicKey[31]! >> 7, id.signBit, `${id.name} sign bit`);
    eqHex(ed25519SeedToCurve25519Private(h(id.seed)), id.curve25519Private, `${id.name} curve private`);
    eqHex(ed25519PublicToCurve25519(h(id.ed25519Public)), id.curve25519Public, `${id.name} ed -> curve`);
    eqHex(x25519PublicKey(h(id.curve25519Private)), id.curve25519Public, `${id.name} X25519 public`);
    eqHex(
      curve25519PublicToEd25519(h(id.curve25519Public), id.signBit as 0 | 1),
      id.ed25519Public,
      `${id.name} curve -> ed`,
    );
    ones += id.signBit;
  }
  assert.ok(ones >= 3 && XED.identities.length - ones >= 3, 'both sign bits must be covered');
});

test('curve25519PublicToEd25519: python3-xeddsa conversion pairs for both sign bits', () => {
  for (const c of XED.montgomeryToEdwards) {
    eqHex(curve25519PublicToEd25519(h(c.curve25519Public), c.signBit), c.ed25519Public, c.name);
  }
});

test('curve25519PublicToEd25519 and ed25519PublicToCurve25519 are inverse on random keys', () => {
  for (let i = 0; i < 32; i++) {
    const kp = ed25519KeyPairFromSeed(pseudo(32, 500 + i));
    const u = ed25519PublicToCurve25519(kp.publicKey);
    eqBytes(
      u,
      x25519PublicKey(ed25519SeedToCurve25519Private(kp.seed)),
      'birational map agrees with X25519 of the converted scalar',
    );
    const sign = (kp.publicKey[31]! >> 7) as 0 | 1;
    eqBytes(curve25519PublicToEd25519(u, sign), kp.publicKey);
    const other = curve25519PublicToEd25519(u, (1 - sign) as 0 | 1);
    assert.is(toHex(other.subarray(0, 31)), toHex(kp.publicKey.subarray(0, 31)), 'only bit 255 differs');
    assert.is(other[31]! ^ kp.publicKey[31]!, 0x80);
  }
});

test('curve25519PublicToEd25519: u = p - 1 (= -1) has no Edwards form and throws OmemoError invalid-key', () => {
  throwsCode(
    () => curve25519PublicToEd25519(h('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 0),
    'invalid-key',
  );
});

test('ed25519PublicToCurve25519: a y with no point (y = 2, 7) or the identity throws OmemoError invalid-key', () => {
  for (const y of ['02', '07', '01']) {
    throwsCode(() => ed25519PublicToCurve25519(concatBytes(h(y), new Uint8Array(31))), 'invalid-key', `y = ${y}`);
  }
});

test('bad inputs: TypeError/RangeError naming the parameter', () => {
  const seed = seq(32);
  const pub = ed25519KeyPairFromSeed(seed).publicKey;
  const sig = ed25519Sign(seed, seq(3));
  throwsArg(() => ed25519KeyPairFromSeed(seq(31)), RangeError, 'seed');
  throwsArg(() => ed25519KeyPairFromSeed(seq(64)), RangeError, 'seed');
  throwsArg(() => ed25519KeyPairFromSeed('seed' as unknown as Uint8Array), TypeError, 'seed');
  throwsArg(() => ed25519Sign(seq(33), seq(3)), RangeError, 'seed');
  throwsArg(() => ed25519Sign(seed, 'msg' as unknown as Uint8Array), TypeError, 'message');
  throwsArg(() => ed25519Verify(seq(31), seq(3), sig), RangeError, 'publicKey');
  throwsArg(() => ed25519Verify(pub, [1, 2] as unknown as Uint8Array, sig), TypeError, 'message');
  throwsArg(() => ed25519Verify(pub, seq(3), sig.subarray(0, 63)), RangeError, 'signature');
  throwsArg(() => ed25519Verify(pub, seq(3), null as unknown as Uint8Array), TypeError, 'signature');
  throwsArg(() => ed25519PublicToCurve25519(seq(31)), RangeError, 'edPublic');
  throwsArg(() => ed25519PublicToCurve25519({} as unknown as Uint8Array), TypeError, 'edPublic');
  throwsArg(() => ed25519SeedToCurve25519Private(seq(16)), RangeError, 'seed');
  throwsArg(() => curve25519PublicToEd25519(seq(31), 0), RangeError, 'u');
  throwsArg(() => curve25519PublicToEd25519('u' as unknown as Uint8Array, 0), TypeError, 'u');
  throwsArg(() => curve25519PublicToEd25519(seq(32), 2 as 0 | 1), RangeError, 'signBit');
});

test.run();
