// src/crypto/ed25519.ts ed25519VerifyDeferred: node:crypto's verification (on its thread pool) held to accept
// exactly what libsodium's ed25519Verify accepts, including the keys and signatures OpenSSL alone would take.
import fc from 'fast-check';
import { createPublicKey, verify as opensslVerify } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concatBytes, fromHex, toHex } from '../../src/crypto/bytes';
import { ed25519KeyPairFromSeed, ed25519Sign, ed25519Verify, ed25519VerifyDeferred } from '../../src/crypto/ed25519';
import { cryptoReady } from '../../src/crypto/ready';
import { sodium } from '../../src/crypto/sodium';
import { flipBit, h, loadVectors, pseudo, seq, throwsArg } from './helpers';

interface EdVectors {
  rfc8032_7_1: { name: string; secretKey: string; publicKey: string; message: string; signature: string }[];
}
const ED = loadVectors<EdVectors>('ed25519.json');

/** The group order L (RFC 8032 §5.1), for S + L. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const IDENTITY = fromHex('0100000000000000000000000000000000000000000000000000000000000000');

function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}
function bigToLe(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 255n);
  return out;
}
function reduce(wide: Uint8Array): Uint8Array {
  const w = new Uint8Array(64);
  w.set(wide);
  return sodium().crypto_core_ed25519_scalar_reduce(w);
}

/** OpenSSL's own answer, without the checks ed25519VerifyDeferred makes first. */
function opensslAlone(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const x = Buffer.from(publicKey).toString('base64url');
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    return opensslVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

async function agrees(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, what: string) {
  const expected = ed25519Verify(publicKey, message, signature);
  assert.is(await ed25519VerifyDeferred(publicKey, message, signature), expected, what);
  return expected;
}

test.before(async () => {
  await cryptoReady();
});

test('RFC 8032 vectors verify; every flipped signature and key bit of TEST 1 is refused, as ed25519Verify does', async () => {
  for (const v of ED.rfc8032_7_1) {
    assert.is(await agrees(h(v.publicKey), h(v.message), h(v.signature), v.name), true, v.name);
  }
  const v = ED.rfc8032_7_1[0]!;
  for (let bit = 0; bit < 512; bit++) {
    const sig = flipBit(h(v.signature), bit);
    assert.is(await agrees(h(v.publicKey), h(v.message), sig, `signature bit ${bit}`), false, `bit ${bit}`);
  }
  for (let bit = 0; bit < 256; bit++) {
    const pub = flipBit(h(v.publicKey), bit);
    assert.is(await agrees(pub, h(v.message), h(v.signature), `key bit ${bit}`), false, `key bit ${bit}`);
  }
});

test('S + L is refused (RFC 8032 §5.1.7), and so are keys that are no point or of small order', async () => {
  for (const v of ED.rfc8032_7_1) {
    const sig = h(v.signature);
    const mal = concatBytes(sig.subarray(0, 32), bigToLe(leToBig(sig.subarray(32)) + L));
    assert.is(await agrees(h(v.publicKey), h(v.message), mal, `${v.name} S + L`), false);
  }
  const v = ED.rfc8032_7_1[0]!;
  for (const bad of ['02', '07', '01', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f']) {
    const pub = bad.length === 2 ? concatBytes(h(bad), new Uint8Array(31)) : h(bad);
    assert.is(await agrees(pub, h(v.message), h(v.signature), bad), false, bad);
  }
});

test('a small-order key with a signature its equation holds for: OpenSSL alone accepts, both verifiers refuse', async () => {
  // A = the identity: [S]B − [h]A = [r]B = R for S = r, whatever the message (anyone can "sign").
  const s = sodium();
  const r = reduce(pseudo(32, 7));
  const signature = concatBytes(s.crypto_scalarmult_ed25519_base_noclamp(r), r);
  const message = seq(32);
  assert.is(opensslAlone(IDENTITY, message, signature), true, 'OpenSSL takes it: the check before it is needed');
  assert.is(await agrees(IDENTITY, message, signature, 'identity key'), false);
});

test('a signature whose R is the identity (made with the private key): OpenSSL alone accepts, both refuse', async () => {
  // R = O, S = h·a: [S]B − [h]A = O. libsodium refuses a small-order R; the deferred check must too.
  const s = sodium();
  const kp = ed25519KeyPairFromSeed(pseudo(32, 8));
  const a = reduce(s.crypto_sign_ed25519_sk_to_curve25519(kp.secretKey));
  assert.is(toHex(s.crypto_scalarmult_ed25519_base_noclamp(a)), toHex(kp.publicKey), 'a is the key scalar');
  const message = seq(33);
  const hash = reduce(s.crypto_hash_sha512(concatBytes(IDENTITY, kp.publicKey, message)));
  const signature = concatBytes(IDENTITY, s.crypto_core_ed25519_scalar_mul(hash, a));
  assert.is(opensslAlone(kp.publicKey, message, signature), true, 'OpenSSL takes it: the check before it is needed');
  assert.is(await agrees(kp.publicKey, message, signature, 'R = identity'), false);
});

test('property: for signatures, changed ones and random bytes, the deferred answer is ed25519Verify’s', async () => {
  const cases = fc.tuple(
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.uint8Array({ maxLength: 80 }),
    fc.oneof(
      fc.constant<['none', number]>(['none', 0]),
      fc.tuple(fc.constant('signature' as const), fc.nat(511)),
      fc.tuple(fc.constant('key' as const), fc.nat(255)),
      fc.tuple(fc.constant('message' as const), fc.nat(639)),
      fc.tuple(fc.constant('random' as const), fc.nat()),
    ),
  );
  await fc.assert(
    fc.asyncProperty(cases, async ([seed, message, [change, at]]) => {
      let publicKey = ed25519KeyPairFromSeed(seed).publicKey;
      let signature = ed25519Sign(seed, message);
      let msg: Uint8Array = message;
      if (change === 'signature') signature = flipBit(signature, at);
      if (change === 'key') publicKey = flipBit(publicKey, at);
      if (change === 'message' && msg.length > 0) msg = flipBit(msg, at % (msg.length * 8));
      if (change === 'random') signature = pseudo(64, at);
      await agrees(publicKey, msg, signature, `${change} ${at}`);
    }),
    { numRuns: 300, seed: 20261206 },
  );
});

test('the arrays may change while the check runs: the answer is for the bytes at the call', async () => {
  const seed = seq(32);
  const pub = ed25519KeyPairFromSeed(seed).publicKey;
  const message = seq(40);
  const signature = ed25519Sign(seed, message);
  const pending = ed25519VerifyDeferred(pub, message, signature);
  message[0]! ^= 1;
  signature[5]! ^= 1;
  assert.is(await pending, true);
});

test('bad inputs: TypeError/RangeError naming the parameter, thrown at the call', () => {
  const seed = seq(32);
  const pub = ed25519KeyPairFromSeed(seed).publicKey;
  const sig = ed25519Sign(seed, seq(3));
  throwsArg(() => ed25519VerifyDeferred(seq(31), seq(3), sig), RangeError, 'publicKey');
  throwsArg(() => ed25519VerifyDeferred(pub, 'm' as unknown as Uint8Array, sig), TypeError, 'message');
  throwsArg(() => ed25519VerifyDeferred(pub, seq(3), sig.subarray(0, 63)), RangeError, 'signature');
});

test.run();
