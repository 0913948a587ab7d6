// Ed25519 (RFC 8032 §5.1) and the birational maps between Ed25519 and Curve25519 (RFC 7748 §4.1), which
// OMEMO needs because 0.3 publishes Curve25519 identity keys and OMEMO 2 publishes Ed25519 ones.
import { assertBytes } from './bytes';
import { OmemoError } from './errors';
import { sodium } from './sodium';

/** An Ed25519 key pair in libsodium's form. */
export interface Ed25519KeyPair {
  seed: Uint8Array;
  publicKey: Uint8Array;
  /** seed ‖ publicKey, libsodium's 64-byte secret key. */
  secretKey: Uint8Array;
}

/** The Ed25519 key pair of a 32-byte seed. */
export function ed25519KeyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  assertBytes(seed, 'seed', 32);
  const kp = sodium().crypto_sign_seed_keypair(seed);
  return { seed: seed.slice(), publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/** A detached Ed25519 signature by the key of `seed`. */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  assertBytes(seed, 'seed', 32);
  assertBytes(message, 'message');
  const s = sodium();
  return s.crypto_sign_detached(message, s.crypto_sign_seed_keypair(seed).privateKey);
}

/** Verifies a detached Ed25519 signature; false for every invalid key, signature or message. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey', 32);
  assertBytes(message, 'message');
  assertBytes(signature, 'signature', 64);
  try {
    return sodium().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/**
 * The Curve25519 (Montgomery u) form of an Ed25519 public key.
 * @throws OmemoError `invalid-key` when `edPublic` is not a valid point.
 */
export function ed25519PublicToCurve25519(edPublic: Uint8Array): Uint8Array {
  assertBytes(edPublic, 'edPublic', 32);
  try {
    return sodium().crypto_sign_ed25519_pk_to_curve25519(edPublic);
  } catch (cause) {
    throw new OmemoError('invalid-key', 'not a valid Ed25519 public key', { cause });
  }
}

/** The Curve25519 private scalar (clamped) that belongs to an Ed25519 seed. */
export function ed25519SeedToCurve25519Private(seed: Uint8Array): Uint8Array {
  assertBytes(seed, 'seed', 32);
  const s = sodium();
  return s.crypto_sign_ed25519_sk_to_curve25519(s.crypto_sign_seed_keypair(seed).privateKey);
}

const P = (1n << 255n) - 19n;

function bytesToBigLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = base % P;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/**
 * Montgomery u → Edwards public key: y = (u − 1)/(u + 1) mod p, with the x sign bit in bit 7 of byte 31.
 * libsodium has the map in the other direction only. The top bit of `u` is masked as RFC 7748 §5 says.
 * @throws OmemoError `invalid-key` for u = −1 (no Edwards point).
 */
export function curve25519PublicToEd25519(u: Uint8Array, signBit: 0 | 1): Uint8Array {
  assertBytes(u, 'u', 32);
  if (signBit !== 0 && signBit !== 1) throw new RangeError(`signBit must be 0 or 1, got ${String(signBit)}`);
  const masked = u.slice();
  masked[31]! &= 0x7f;
  const un = bytesToBigLE(masked) % P;
  const denominator = (un + 1n) % P;
  if (denominator === 0n) throw new OmemoError('invalid-key', 'u = -1 has no Edwards form');
  const y = (((un - 1n + P) % P) * modPow(denominator, P - 2n)) % P;
  const out = new Uint8Array(32);
  let v = y;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[31]! |= signBit << 7;
  return out;
}
