// Ed25519 (RFC 8032 §5.1) and the birational maps between Ed25519 and Curve25519 (RFC 7748 §4.1), which
// OMEMO needs because 0.3 publishes Curve25519 identity keys and OMEMO 2 publishes Ed25519 ones.
import { assertBytes, fromHex, lessThanLittleEndian } from './bytes';
import { OmemoError } from './errors';
import {
  ed25519VerifyEquation,
  edwardsYToMontgomeryU,
  edwardsYToMontgomeryUChecked,
  montgomeryUToEdwardsY,
} from './field25519';
import { sodium, sodiumRaw, wasmScratch } from './sodium';

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

/**
 * Verifies a detached Ed25519 signature; false for every invalid key, signature or message. Accepts exactly what
 * libsodium's crypto_sign_verify_detached accepts (its checks here, the group equation in our WebAssembly field
 * module, ~15% faster; libsodium itself where that module is not available). Cofactorless, as libsodium is.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey', 32);
  assertBytes(message, 'message');
  assertBytes(signature, 'signature', 64);
  return verify(publicKey, message, signature, undefined);
}

/**
 * `ed25519Verify`, returning on success the Curve25519 u of the public key as `ed25519VerifiedPublicToCurve25519`
 * gives it (computed with the verification's own field inversion); undefined when the signature does not verify.
 */
export function ed25519VerifyToCurve25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Uint8Array | undefined {
  assertBytes(publicKey, 'publicKey', 32);
  assertBytes(message, 'message');
  assertBytes(signature, 'signature', 64);
  const u = new Uint8Array(32);
  if (!verify(publicKey, message, signature, u)) return undefined;
  return u;
}

function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, uOut: Uint8Array | undefined) {
  const r = signature.subarray(0, 32);
  const s = signature.subarray(32);
  // libsodium's order: S canonical (below L), R not of small order, A canonical and not of small order.
  // S < L is sc25519_is_canonical; y < p with the sign bit ignored is ge25519_is_canonical.
  const canonical = lessThanLittleEndian(s, GROUP_ORDER) && lessThanLittleEndian(publicKey, FIELD_PRIME, 0x7f);
  if (!canonical || hasSmallOrder(r) || hasSmallOrder(publicKey)) {
    return false;
  }
  // h = SHA-512(R ‖ A ‖ M) mod L on libsodium's raw exports in one scratch region (the wrappers allocate and
  // copy for each call): the digest at +0, h at +64, R ‖ A ‖ M from +96.
  const raw = sodiumRaw();
  const base = wasmScratch(160 + message.length);
  const heap = raw.HEAPU8;
  heap.set(r, base + 96);
  heap.set(publicKey, base + 128);
  heap.set(message, base + 160);
  raw._crypto_hash_sha512(base, base + 96, 64 + message.length, 0);
  raw._crypto_core_ed25519_scalar_reduce(base + 64, base);
  const equation = ed25519VerifyEquation(publicKey, r, s, heap.subarray(base + 64, base + 96), uOut);
  if (equation !== undefined) return equation;
  let ok: boolean;
  try {
    ok = sodium().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
  if (ok && uOut !== undefined) uOut.set(ed25519VerifiedPublicToCurve25519(publicKey));
  return ok;
}

/** L = 2^252 + 27742317777372353535851937790883648493, the order of B (RFC 8032 §5.1), little-endian. */
const GROUP_ORDER = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');

/** p = 2^255 - 19, the field prime (RFC 7748 §4.1), little-endian. Shared: read only, never write to it. */
export const FIELD_PRIME = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');

/**
 * The Curve25519 (Montgomery u) form of an Ed25519 public key, with libsodium's checks (a point, not of small order,
 * in the prime-order subgroup). The library itself uses the cheaper maps below; this is their reference in tests.
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

/**
 * The Curve25519 u = (1 + y) / (1 - y) (RFC 7748 §4.1) of an Ed25519 public key that `ed25519Verify` has just
 * accepted, without the subgroup check of `ed25519PublicToCurve25519` (a full scalar multiplication, ~70 µs of
 * its ~85). Skipping it is sound for a key used as X3DH does:
 * - libsodium's verify already refused what the map cannot take: y >= p (non-canonical), a y with no x (not on
 *   the curve), and the small-order points (y = 1 among them, the only pole of the map);
 * - what it lets through beyond the prime-order subgroup is a mixed-order A + T (T of order 2, 4 or 8). Its u
 *   differs from A's, but X25519 clamps its scalar to a multiple of 8, so DH with either u gives the same secret:
 *   the key agreement is A's. Such a key can only sign for whoever holds A's private key (a signature needs
 *   it), so it names that holder's key under another encoding, which that holder can do anyway by making a new
 *   key: no one else's identity can be claimed with it.
 * libsignal (curve25519 `fe_edy_to_montx`) and curve25519-dalek (`to_montgomery`) map without the check too.
 * Never use it on a key no signature was checked against: use `ed25519PointToCurve25519`.
 * @throws OmemoError `invalid-key` for y = 1 (which a verified key never has).
 */
export function ed25519VerifiedPublicToCurve25519(edPublic: Uint8Array): Uint8Array {
  assertBytes(edPublic, 'edPublic', 32);
  const u = edwardsYToMontgomeryU(edPublic);
  if (u === undefined) throw new OmemoError('invalid-key', 'not a valid Ed25519 public key (y = 1)');
  return u;
}

/**
 * The encodings of the eight small-order points of edwards25519 with the x sign bit cleared, as libsodium's
 * ge25519_has_small_order lists them: y = 0, 1, the two y of order 8, p - 1, and the non-canonical p and p + 1.
 */
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map(fromHex);

function hasSmallOrder(edPublic: Uint8Array): boolean {
  return SMALL_ORDER_Y.some((y) => {
    for (let i = 0; i < 31; i++) if (y[i] !== edPublic[i]) return false;
    return y[31] === (edPublic[31]! & 0x7f);
  });
}

/**
 * The Curve25519 u of an Ed25519 public key that no signature was checked against (a received key exchange's
 * identity key), with libsodium's checks but the last: `edPublic` must be a point (its y read mod p, as libsodium
 * reads it) and not one of the small-order points; there is no prime-order subgroup check (a scalar
 * multiplication), for the reason `ed25519VerifiedPublicToCurve25519` gives: X25519's clamped scalars ignore
 * the torsion part of a mixed-order key, so a key exchange under A + T has A's secret and only the holder of A's
 * private key can complete one (and it is recorded under its own key A + T). ~10 µs instead of ~85.
 * @throws OmemoError `invalid-key` when `edPublic` is not a point or is of small order.
 */
export function ed25519PointToCurve25519(edPublic: Uint8Array): Uint8Array {
  assertBytes(edPublic, 'edPublic', 32);
  if (hasSmallOrder(edPublic)) throw new OmemoError('invalid-key', 'Ed25519 public key of small order');
  const u = edwardsYToMontgomeryUChecked(edPublic);
  if (u === undefined) throw new OmemoError('invalid-key', 'not a valid Ed25519 public key');
  return u;
}

/** The Curve25519 private scalar (clamped) that belongs to an Ed25519 seed. */
export function ed25519SeedToCurve25519Private(seed: Uint8Array): Uint8Array {
  assertBytes(seed, 'seed', 32);
  const s = sodium();
  return s.crypto_sign_ed25519_sk_to_curve25519(s.crypto_sign_seed_keypair(seed).privateKey);
}

/**
 * Montgomery u → Edwards public key: y = (u − 1)/(u + 1) mod p, with the x sign bit in bit 7 of byte 31.
 * libsodium has the map in the other direction only. The top bit of `u` is masked as RFC 7748 §5 says.
 * @throws OmemoError `invalid-key` for u = −1 (no Edwards point).
 */
export function curve25519PublicToEd25519(u: Uint8Array, signBit: 0 | 1): Uint8Array {
  assertBytes(u, 'u', 32);
  if (signBit !== 0 && signBit !== 1) throw new RangeError(`signBit must be 0 or 1, got ${String(signBit)}`);
  const out = montgomeryUToEdwardsY(u);
  if (out === undefined) throw new OmemoError('invalid-key', 'u = -1 has no Edwards form');
  out[31]! |= signBit << 7;
  return out;
}
