// Fuzz properties of the crypto layer's untrusted-input checks: Ed25519 verification (RFC 8032 §5.1.7) of
// bundle signatures, held to libsodium's crypto_sign_verify_detached on signatures near and far from valid.

import fc from 'fast-check';
import { concatBytes, toHex } from '../../src/crypto/bytes';
import { ed25519Verify } from '../../src/crypto/ed25519';
import { sodium } from '../../src/crypto/sodium';
import { addSmall, libsodiumVerify, ORDER_L, signerOf, signParts, TORSION_POINTS } from '../crypto/ed25519-cases';
import type { PropertySpec } from './parser-properties';

interface VerifyCase {
  material: Uint8Array;
  nonce: Uint8Array;
  message: Uint8Array;
  /** A + T for a mixed-order key. */
  keyTorsion: number | null;
  /** R + T. */
  rTorsion: number | null;
  /** Replaces the key bytes (random, or an edge encoding). */
  keyBytes: Uint8Array | null;
  /** Replaces S. */
  s: Uint8Array | null;
  /** Bits flipped in key ‖ signature ‖ message. */
  flips: number[];
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

const pPlus = (k: number, sign: boolean): Uint8Array => {
  const y = new Uint8Array(32).fill(0xff);
  y[31] = sign ? 0xff : 0x7f;
  y[0] = 0xed + k;
  return y;
};

const edgeKeyArb = fc.oneof(
  bytes32,
  fc.tuple(fc.integer({ min: 0, max: 18 }), fc.boolean()).map(([k, sign]) => pPlus(k, sign)),
  fc.tuple(fc.integer({ min: 0, max: TORSION_POINTS.length - 1 }), fc.boolean()).map(([k, sign]) => {
    const t = TORSION_POINTS[k]!.slice();
    if (sign) t[31]! ^= 0x80;
    return t;
  }),
);

const edgeScalarArb = fc.oneof(
  bytes32,
  fc.integer({ min: -3, max: 3 }).map((k) => (k >= 0 ? addSmall(ORDER_L, k) : lMinus(-k))),
  fc.integer({ min: 0, max: 255 }).map((top) => {
    const s = new Uint8Array(32);
    s[31] = top;
    return s;
  }),
);

function lMinus(k: number): Uint8Array {
  const s = ORDER_L.slice();
  s[0]! -= k; // L ends in 0xed: no borrow for k < 0xed
  return s;
}

const verifyCaseArb: fc.Arbitrary<VerifyCase> = fc.record({
  material: bytes32,
  nonce: bytes32,
  message: fc.uint8Array({ maxLength: 80 }),
  keyTorsion: fc.option(fc.integer({ min: 0, max: TORSION_POINTS.length - 1 }), { freq: 3 }),
  rTorsion: fc.option(fc.integer({ min: 0, max: TORSION_POINTS.length - 1 }), { freq: 6 }),
  keyBytes: fc.option(edgeKeyArb, { freq: 6 }),
  s: fc.option(edgeScalarArb, { freq: 6 }),
  flips: fc.array(fc.nat(), { maxLength: 2 }),
});

function caseBytes(c: VerifyCase): { key: Uint8Array; signature: Uint8Array; message: Uint8Array } {
  const { a, A } = signerOf(c.material);
  let key = c.keyTorsion === null ? A : sodium().crypto_core_ed25519_add(A, TORSION_POINTS[c.keyTorsion]!);
  if (c.keyBytes !== null) key = c.keyBytes;
  const rTorsion = c.rTorsion === null ? undefined : TORSION_POINTS[c.rTorsion];
  let signature = signParts(a, key, c.message, c.nonce, rTorsion);
  if (c.s !== null) signature = concatBytes(signature.subarray(0, 32), c.s);
  const all = concatBytes(key, signature, c.message);
  for (const f of c.flips) {
    const bit = f % (all.length * 8);
    all[bit >> 3]! ^= 1 << (bit & 7);
  }
  return { key: all.subarray(0, 32), signature: all.subarray(32, 96), message: all.subarray(96) };
}

export const cryptoProperties = [
  {
    name: 'ed25519.verify',
    description:
      'signatures made from their parts (mixed-order keys, R with torsion, edge encodings of keys and S, bit flips): ' +
      'ed25519Verify answers as libsodium crypto_sign_verify_detached',
    arbitrary: verifyCaseArb,
    check: (c: VerifyCase) => {
      const { key, signature, message } = caseBytes(c);
      const ours = ed25519Verify(key, message, signature);
      const theirs = libsodiumVerify(key, message, signature);
      if (ours !== theirs) {
        throw new Error(
          `ed25519Verify ${ours}, libsodium ${theirs}: key ${toHex(key)} sig ${toHex(signature)} msg ${toHex(message)}`,
        );
      }
    },
    ciRuns: 1500,
    batchRuns: 2000,
    weight: 1,
  } satisfies PropertySpec<VerifyCase>,
];
