// src/crypto/ed25519.ts ed25519Verify (RFC 8032 §5.1.7 with libsodium's checks; the group equation in our
// WebAssembly field module) against libsodium's crypto_sign_verify_detached, case by case.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concatBytes, toHex } from '../../src/crypto/bytes';
import {
  ed25519PublicToCurve25519,
  ed25519VerifiedPublicToCurve25519,
  ed25519Verify,
  ed25519VerifyToCurve25519,
} from '../../src/crypto/ed25519';
import { ed25519VerifyEquation } from '../../src/crypto/field25519';
import { cryptoReady } from '../../src/crypto/ready';
import { sodium } from '../../src/crypto/sodium';
import { addSmall, libsodiumVerify, ORDER_L, signerOf, signParts, TORSION_POINTS } from './ed25519-cases';
import { flipBit, pseudo } from './helpers';

test.before(async () => {
  await cryptoReady();
});

/** Both answers, asserted equal; returns the answer. */
function same(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, what: string): boolean {
  const ours = ed25519Verify(publicKey, message, signature);
  const theirs = libsodiumVerify(publicKey, message, signature);
  assert.is(
    ours,
    theirs,
    `${what}: ours ${ours}, libsodium ${theirs} (key ${toHex(publicKey)}, sig ${toHex(signature)})`,
  );
  return ours;
}

test('the field module is in use (the equation answers, not only the libsodium fallback)', () => {
  const { a, A } = signerOf(pseudo(32, 1));
  const sig = signParts(a, A, Uint8Array.of(7), pseudo(32, 2));
  const s = sodium();
  const h = s.crypto_core_ed25519_scalar_reduce(
    s.crypto_hash_sha512(concatBytes(sig.subarray(0, 32), A, Uint8Array.of(7))),
  );
  assert.is(ed25519VerifyEquation(A, sig.subarray(0, 32), sig.subarray(32), h), true);
  assert.is(ed25519VerifyEquation(A, sig.subarray(0, 32), sig.subarray(32), flipBit(h, 0)), false);
});

test('random keys and messages: valid signatures accepted; every kind of single-bit flip decided as libsodium', () => {
  let accepted = 0;
  for (let i = 0; i < 60; i++) {
    const { a, A } = signerOf(pseudo(32, 100 + i));
    const message = pseudo(i % 70, 300 + i);
    const sig = signParts(a, A, message, pseudo(32, 500 + i));
    if (same(A, message, sig, `valid ${i}`)) accepted++;
    const bit = (k: number, n: number) => (i * 37 + k * 101) % n;
    same(A, message, flipBit(sig, bit(1, 256)), `R bit ${i}`);
    same(A, message, flipBit(sig, 256 + bit(2, 256)), `S bit ${i}`);
    same(A, message, flipBit(sig, 504 + (i % 8)), `S top byte bit ${i}`);
    same(flipBit(A, bit(3, 256)), message, sig, `A bit ${i}`);
    same(flipBit(A, 255), message, sig, `A sign bit ${i}`);
    if (message.length > 0) same(A, flipBit(message, bit(4, message.length * 8)), sig, `message bit ${i}`);
  }
  assert.is(accepted, 60);
});

test('mixed-order keys A + T: accepted exactly when libsodium accepts ([h]T = identity), for every torsion point', () => {
  const counts = TORSION_POINTS.map(() => ({ yes: 0, no: 0 }));
  for (let i = 0; i < 48; i++) {
    const { a, A } = signerOf(pseudo(32, 900 + i));
    TORSION_POINTS.forEach((t, k) => {
      const key = sodium().crypto_core_ed25519_add(A, t);
      const message = pseudo(8, 2000 + 8 * i + k);
      const ok = same(key, message, signParts(a, key, message, pseudo(32, 3000 + 8 * i + k)), `A + T${k} (${i})`);
      counts[k]![ok ? 'yes' : 'no']++;
    });
  }
  // A + T is not of small order, so libsodium's checks let it through and the equation decides: always for the
  // identity (T0), for 1/2, 1/4 or 1/8 of the h for T of order 2, 4 or 8. Both answers must occur.
  assert.is(counts[0]!.no, 0, 'A + identity is A');
  for (let k = 1; k < TORSION_POINTS.length; k++) {
    assert.ok(counts[k]!.yes > 0 && counts[k]!.no > 0, `T${k}: ${JSON.stringify(counts[k])} (want both answers)`);
  }
});

test('R with a torsion part: refused by both (the check is cofactorless); R of small order refused', () => {
  const { a, A } = signerOf(pseudo(32, 41));
  TORSION_POINTS.forEach((t, k) => {
    const message = pseudo(5, k);
    const ok = same(A, message, signParts(a, A, message, pseudo(32, 60 + k), t), `R + T${k}`);
    assert.is(ok, k === 0, `R + T${k}`);
    same(A, message, concatBytes(t, signParts(a, A, message, pseudo(32, 70 + k)).subarray(32)), `R = T${k}`);
  });
});

test('S at the edges of the order: S + L, L - 1, L, L + 1, 2^252 and a set top nibble are decided as libsodium', () => {
  const { a, A } = signerOf(pseudo(32, 77));
  const message = Uint8Array.of(1, 2, 3);
  const sig = signParts(a, A, message, pseudo(32, 78));
  const R = sig.subarray(0, 32);
  const S = sig.subarray(32);
  // S + L is the same group element but not canonical: RFC 8032 and libsodium refuse it.
  let carry = 0;
  const sPlusL = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    const v = S[i]! + ORDER_L[i]! + carry;
    sPlusL[i] = v & 0xff;
    carry = v >> 8;
  }
  assert.is(same(A, message, concatBytes(R, sPlusL), 'S + L'), false);
  const lMinus1 = ORDER_L.slice();
  lMinus1[0]! -= 1;
  const twoTo252 = new Uint8Array(32);
  twoTo252[31] = 0x10;
  const edges = [lMinus1, ORDER_L, addSmall(ORDER_L, 1), twoTo252, new Uint8Array(32)];
  for (const nibble of [0x10, 0x20, 0x40, 0x80, 0xf0]) {
    const s = S.slice();
    s[31]! |= nibble;
    edges.push(s);
  }
  for (const s of edges) same(A, message, concatBytes(R, s), `S = ${toHex(s)}`);
});

test('key encodings: y >= p, small order with either sign bit, off the curve, x = 0 with the sign bit set', () => {
  const { a, A } = signerOf(pseudo(32, 5));
  const message = pseudo(12, 6);
  const keys: Uint8Array[] = [];
  for (let k = 0; k < 19; k++) {
    // p + k (y >= p): 0xed + k in byte 0, 0xff..., 0x7f; and with the sign bit.
    const y = new Uint8Array(32).fill(0xff);
    y[31] = 0x7f;
    y[0] = 0xed + k;
    keys.push(y, flipBit(y, 255));
  }
  for (const t of TORSION_POINTS) keys.push(t, flipBit(t, 255));
  for (let y = 2; y < 40; y++) {
    const b = new Uint8Array(32);
    b[0] = y;
    keys.push(b, flipBit(b, 255));
  }
  for (const key of keys) {
    // Under a signature made for the key bytes themselves (h binds them) and under A's own signature.
    same(key, message, signParts(a, key, message, pseudo(32, key[0]!)), `signed under ${toHex(key)}`);
    same(key, message, signParts(a, A, message, pseudo(32, 9)), `A's signature under ${toHex(key)}`);
  }
});

test('R encodings: y >= p and points off the curve are refused by both', () => {
  const { a, A } = signerOf(pseudo(32, 15));
  const message = pseudo(3, 16);
  const S = signParts(a, A, message, pseudo(32, 17)).subarray(32);
  for (let k = 0; k < 19; k++) {
    const y = new Uint8Array(32).fill(0xff);
    y[31] = 0x7f;
    y[0] = 0xed + k;
    same(A, message, concatBytes(y, S), `R = p + ${k}`);
    same(A, message, concatBytes(flipBit(y, 255), S), `R = p + ${k}, sign bit`);
  }
  for (let i = 0; i < 64; i++) same(A, message, concatBytes(pseudo(32, 40 + i), S), `random R ${i}`);
});

test('ed25519VerifyToCurve25519: the u of the verified key (shared inversion) exactly when ed25519Verify accepts', () => {
  let accepted = 0;
  for (let i = 0; i < 40; i++) {
    const { a, A } = signerOf(pseudo(32, 7000 + i));
    // Prime-order keys, then mixed-order ones (A + T of order 8: accepted for 1/8 of h).
    const key = i < 20 ? A : sodium().crypto_core_ed25519_add(A, TORSION_POINTS[4 + (i % 4)]!);
    const message = pseudo(i, 7100 + i);
    for (const sig of [
      signParts(a, key, message, pseudo(32, 7200 + i)),
      flipBit(signParts(a, key, message, pseudo(32, 7300 + i)), i * 7),
    ]) {
      const u = ed25519VerifyToCurve25519(key, message, sig);
      const ok = ed25519Verify(key, message, sig);
      assert.is(u !== undefined, ok, `key ${i}`);
      if (u === undefined) continue;
      accepted++;
      assert.is(toHex(u), toHex(ed25519VerifiedPublicToCurve25519(key)), `u of key ${i}`);
      if (i < 20) assert.is(toHex(u), toHex(ed25519PublicToCurve25519(key)), `libsodium's u of key ${i}`);
    }
  }
  assert.ok(accepted >= 20, `${accepted} accepted`);
});

test.run();
