// XEdDSA (Signal, "The XEdDSA and VXEdDSA Signature Schemes", rev. 1, §2.3–2.4 and §3.3): Ed25519-compatible
// signatures made and checked with Curve25519 keys, as OMEMO 0.3 signs its signed pre key.
// Signing is XEdDSA proper (the Edwards key is forced to sign bit 0). Verification also accepts the
// historical libsignal/python-omemo form, where the signer used its natural Ed25519 key and stored that
// key's sign bit in bit 7 of the signature's last byte (see shared notes "XEdDSA and the sign bit").
import { assertBytes, concatBytes, lessThanLittleEndian } from './bytes';
import { curve25519PublicToEd25519, ed25519Verify, FIELD_PRIME } from './ed25519';
import type { Rng } from './random';
import { randomBytes } from './random';
import { sodium } from './sodium';

/** hash1 prefix of XEdDSA §2.5: the 32-byte little-endian encoding of 2^256 − 1 − 1. */
const HASH1_PREFIX = (() => {
  const p = new Uint8Array(32).fill(0xff);
  p[0] = 0xfe;
  return p;
})();

function reduce64(x: Uint8Array): Uint8Array {
  return sodium().crypto_core_ed25519_scalar_reduce(x);
}

/** calculate_key_pair of XEdDSA §2.3: the Edwards key with sign bit 0 and its scalar a (k or −k mod q). */
function calculateKeyPair(curvePrivateKey: Uint8Array): { a: Uint8Array; A: Uint8Array } {
  const s = sodium();
  // X25519 clamps the scalar (RFC 7748 §5); sign with the scalar X25519 actually uses for the public key.
  const wide = new Uint8Array(64);
  wide.set(curvePrivateKey);
  wide[0]! &= 248;
  wide[31]! &= 127;
  wide[31]! |= 64;
  let a = reduce64(wide);
  const E = s.crypto_scalarmult_ed25519_base_noclamp(a);
  if ((E[31]! & 0x80) !== 0) {
    a = s.crypto_core_ed25519_scalar_negate(a);
    E[31]! &= 0x7f;
  }
  return { a, A: E };
}

/** The Ed25519 public key (sign bit 0) that XEdDSA signatures of this Curve25519 private key verify under. */
export function xeddsaEd25519Public(curvePrivateKey: Uint8Array): Uint8Array {
  assertBytes(curvePrivateKey, 'curvePrivateKey', 32);
  return calculateKeyPair(curvePrivateKey).A;
}

/** XEdDSA signature (64 bytes) of `message` with a Curve25519 private key; `rng` supplies the 64-byte Z. */
export function xeddsaSign(curvePrivateKey: Uint8Array, message: Uint8Array, rng: Rng = randomBytes): Uint8Array {
  assertBytes(curvePrivateKey, 'curvePrivateKey', 32);
  assertBytes(message, 'message');
  const z = rng(64);
  assertBytes(z, 'rng output', 64);
  const s = sodium();
  const { a, A } = calculateKeyPair(curvePrivateKey);
  const r = reduce64(s.crypto_hash_sha512(concatBytes(HASH1_PREFIX, a, message, z)));
  const R = s.crypto_scalarmult_ed25519_base_noclamp(r);
  const h = reduce64(s.crypto_hash_sha512(concatBytes(R, A, message)));
  const sig = new Uint8Array(64);
  sig.set(R);
  sig.set(s.crypto_core_ed25519_scalar_add(r, s.crypto_core_ed25519_scalar_mul(h, a)), 32);
  return sig;
}

/**
 * Verifies an XEdDSA signature against a Curve25519 public key. Accepts XEdDSA proper signatures and the
 * historical form carrying the Ed25519 sign bit in bit 7 of `signature[63]`; rejects everything else.
 */
export function xeddsaVerify(curvePublicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes(curvePublicKey, 'curvePublicKey', 32);
  assertBytes(message, 'message');
  assertBytes(signature, 'signature', 64);
  const u = curvePublicKey.slice();
  u[31]! &= 0x7f;
  if (!lessThanLittleEndian(u, FIELD_PRIME)) return false;
  const signBit = (signature[63]! >> 7) as 0 | 1;
  const sig = signature.slice();
  sig[63]! &= 0x7f;
  let A: Uint8Array;
  try {
    A = curve25519PublicToEd25519(u, signBit);
  } catch {
    return false;
  }
  return ed25519Verify(A, message, sig);
}
