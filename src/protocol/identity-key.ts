// Identity keys (X3DH §2.1, XEdDSA §2.3): one Curve25519 key pair serves both OMEMO versions. OMEMO 0.3
// publishes its Curve25519 form, OMEMO 2 its Ed25519 form with sign bit 0, so XEdDSA signatures verify under
// both and the two bundles of one device carry the same key (python-omemo checks that).
import { assertBytes, concatBytes } from '../crypto/bytes';
import { ed25519PublicToCurve25519, ed25519Verify } from '../crypto/ed25519';
import type { Rng } from '../crypto/random';
import { randomBytes } from '../crypto/random';
import { x25519GenerateKeyPair, x25519PublicKey, type KeyPair } from '../crypto/x25519';
import { xeddsaEd25519Public, xeddsaSign, xeddsaVerify } from '../crypto/xeddsa';
import type { ProtocolVersion } from './constants';
import { LEGACY_KEY_TYPE_DJB } from './constants';

/** Our long-term identity: a Curve25519 key pair plus its derived Ed25519 public key. */
export interface IdentityKeyPair extends KeyPair {
  /** The Ed25519 form (sign bit 0) published by OMEMO 2 as `ik`. */
  edPublicKey: Uint8Array;
}

/** A new random identity. */
export function generateIdentityKeyPair(rng: Rng = randomBytes): IdentityKeyPair {
  return identityFromPrivate(x25519GenerateKeyPair(rng).privateKey);
}

/** The identity of a stored Curve25519 private key. */
export function identityFromPrivate(privateKey: Uint8Array): IdentityKeyPair {
  assertBytes(privateKey, 'privateKey', 32);
  return {
    privateKey: privateKey.slice(),
    publicKey: x25519PublicKey(privateKey),
    edPublicKey: xeddsaEd25519Public(privateKey),
  };
}

/** The identity key as the given version publishes it (0.3: Curve25519; OMEMO 2: Ed25519). */
export function identityWireKey(identity: IdentityKeyPair, version: ProtocolVersion): Uint8Array {
  return version === 'oldmemo' ? identity.publicKey : identity.edPublicKey;
}

/**
 * Remote Ed25519 identity keys whose Curve25519 form is remembered (by content, oldest forgotten first): the
 * conversion checks the point's subgroup, tens of µs, and a key exchange or a session build asks twice for one key
 * (X3DH, then the trust check of the device record).
 */
export const IDENTITY_CURVE_MEMO_ENTRIES = 1024;
const curveForms = new Map<string, Uint8Array>();

/** The Curve25519 form of a remote identity key given in the version's wire form (a new array). */
export function remoteIdentityToCurve(version: ProtocolVersion, wireKey: Uint8Array): Uint8Array {
  assertBytes(wireKey, 'identityKey', 32);
  if (version === 'oldmemo') return wireKey.slice();
  const key = String.fromCharCode(...wireKey);
  let curve = curveForms.get(key);
  if (curve === undefined) {
    curve = ed25519PublicToCurve25519(wireKey); // throws for an invalid key: nothing remembered
    curveForms.set(key, curve);
    if (curveForms.size > IDENTITY_CURVE_MEMO_ENTRIES) curveForms.delete(curveForms.keys().next().value as string);
  }
  return curve.slice();
}

/** 0x05 ‖ key, the legacy wire form of a public key. */
export function legacySerializeKey(key: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(LEGACY_KEY_TYPE_DJB), key);
}

/** The message a signed pre key signature covers: 0.3 signs 0x05 ‖ spk, OMEMO 2 the raw spk. */
function signedPreKeyMessage(version: ProtocolVersion, signedPreKey: Uint8Array): Uint8Array {
  return version === 'oldmemo' ? legacySerializeKey(signedPreKey) : signedPreKey;
}

/** Signs a signed pre key (XEdDSA; a valid Ed25519 signature under `edPublicKey`). */
export function signSignedPreKey(
  identity: IdentityKeyPair,
  version: ProtocolVersion,
  signedPreKey: Uint8Array,
  rng: Rng = randomBytes,
): Uint8Array {
  return xeddsaSign(identity.privateKey, signedPreKeyMessage(version, signedPreKey), rng);
}

/**
 * Verifies a bundle's signed pre key signature: 0.3 with XEdDSA against the Curve25519 identity (both sign-bit
 * conventions), OMEMO 2 with Ed25519 against `ik`.
 */
export function verifySignedPreKey(
  version: ProtocolVersion,
  identityWireKeyBytes: Uint8Array,
  signedPreKey: Uint8Array,
  signature: Uint8Array,
): boolean {
  assertBytes(identityWireKeyBytes, 'identityKey', 32);
  assertBytes(signedPreKey, 'signedPreKey', 32);
  assertBytes(signature, 'signature', 64);
  const message = signedPreKeyMessage(version, signedPreKey);
  return version === 'oldmemo'
    ? xeddsaVerify(identityWireKeyBytes, message, signature)
    : ed25519Verify(identityWireKeyBytes, message, signature);
}
