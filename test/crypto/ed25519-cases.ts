// Ed25519 signatures made from their parts (RFC 8032 §5.1.6 with chosen r and key points) on libsodium's scalar
// and point operations, for holding ed25519Verify to libsodium's crypto_sign_verify_detached on what honest
// signers never make: mixed-order keys, R with a torsion part, non-canonical encodings, S at the order's edges.
// No tests here.

import { concatBytes, fromHex } from '../../src/crypto/bytes';
import { sodium } from '../../src/crypto/sodium';

/** The order L of the base point, little-endian. */
export const ORDER_L = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');

/** Points of order 1, 2, 4 and 8 (libsodium accepts them as crypto_core_ed25519_add operands). */
export const TORSION_POINTS: readonly Uint8Array[] = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2 (y = -1)
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4 (y = 0, x even)
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4 (y = 0, x odd)
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
].map(fromHex);

/** (s + k) as a 256-bit little-endian number (k < 2^32; the carry out of bit 255 is dropped). */
export function addSmall(s: Uint8Array, k: number): Uint8Array {
  const out = s.slice();
  let carry = k;
  for (let i = 0; i < 32 && carry > 0; i++) {
    const v = out[i]! + (carry % 256);
    out[i] = v & 0xff;
    carry = Math.floor(carry / 256) + (v >> 8);
  }
  return out;
}

/** A signer's scalar a and point A from 32 bytes of seed material (any bytes: a is reduced mod L). */
export function signerOf(material: Uint8Array): { a: Uint8Array; A: Uint8Array } {
  const s = sodium();
  const a = s.crypto_core_ed25519_scalar_reduce(s.crypto_hash_sha512(concatBytes(Uint8Array.of(1), material)));
  return { a, A: s.crypto_scalarmult_ed25519_base_noclamp(a) };
}

/**
 * R ‖ S with R = [r]B (+ rTorsion) and S = r + h a, h = SHA-512(R ‖ key ‖ message) mod L: a signature under the
 * point `key` (normally [a]B; A + T for a mixed-order key, which only verifies when [h]T is the identity).
 */
export function signParts(
  a: Uint8Array,
  key: Uint8Array,
  message: Uint8Array,
  nonceMaterial: Uint8Array,
  rTorsion?: Uint8Array,
): Uint8Array {
  const s = sodium();
  const r = s.crypto_core_ed25519_scalar_reduce(s.crypto_hash_sha512(concatBytes(Uint8Array.of(2), nonceMaterial)));
  let R = s.crypto_scalarmult_ed25519_base_noclamp(r);
  if (rTorsion !== undefined) R = s.crypto_core_ed25519_add(R, rTorsion);
  const h = s.crypto_core_ed25519_scalar_reduce(s.crypto_hash_sha512(concatBytes(R, key, message)));
  return concatBytes(R, s.crypto_core_ed25519_scalar_add(r, s.crypto_core_ed25519_scalar_mul(h, a)));
}

/** libsodium's answer (its wrapper throws for some refusals). */
export function libsodiumVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return sodium().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}
