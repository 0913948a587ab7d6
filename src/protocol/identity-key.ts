// Identity keys (X3DH §2.1, XEdDSA §2.3): one Curve25519 key pair serves both OMEMO versions. OMEMO 0.3
// publishes its Curve25519 form, OMEMO 2 its Ed25519 form with sign bit 0, so XEdDSA signatures verify under
// both and the two bundles of one device carry the same key (python-omemo checks that).
import { assertBytes, bytesEqual, concatBytes } from '../crypto/bytes';
import { ed25519PointToCurve25519, ed25519Verify, ed25519VerifyToCurve25519 } from '../crypto/ed25519';
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
 * The Curve25519 form of a remote identity key given in the version's wire form. OMEMO 2 keys must be points of
 * edwards25519 not of small order; a mixed-order key is taken (see `ed25519PointToCurve25519`). A new array each time;
 * the conversion is remembered per key array (see curveForms).
 * @throws OmemoError `invalid-key` for an OMEMO 2 key that is not a point or is of small order.
 */
export function remoteIdentityToCurve(version: ProtocolVersion, wireKey: Uint8Array): Uint8Array {
  assertBytes(wireKey, 'identityKey', 32);
  if (version === 'oldmemo') return wireKey.slice();
  const known = curveForms.get(wireKey);
  if (known !== undefined && bytesEqual(known.wire, wireKey)) return known.curve.slice();
  const curve = ed25519PointToCurve25519(wireKey);
  curveForms.set(wireKey, { wire: wireKey.slice(), curve: curve.slice() });
  return curve;
}

/**
 * Curve25519 forms of OMEMO 2 identity keys by the array holding the wire key, with a copy of its bytes (a changed
 * array is converted again): every decrypt asks for the form of the session state's key (trust is per key), and a
 * key exchange converts the sender's key in X3DH first (rememberRemoteIdentityCurve gives the form to the session's
 * copy). Held as long as that array is.
 */
const curveForms = new WeakMap<Uint8Array, { wire: Uint8Array; curve: Uint8Array }>();

/** Remembers `curve` as the Curve25519 form of the OMEMO 2 wire key in `wireKey` (a copy of a key just converted). */
export function rememberRemoteIdentityCurve(wireKey: Uint8Array, curve: Uint8Array): void {
  curveForms.set(wireKey, { wire: wireKey.slice(), curve: curve.slice() });
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

/**
 * Verifies a bundle's signed pre key signature (as `verifySignedPreKey`) and returns the Curve25519 form of the
 * identity key it was checked against, or undefined when it does not verify. For OMEMO 2 the verification has
 * validated the Ed25519 key, so the conversion skips libsodium's second point check (see
 * `ed25519VerifiedPublicToCurve25519` for why that is sound) and shares the verification's field inversion.
 */
export function verifyBundleIdentity(
  version: ProtocolVersion,
  identityWireKeyBytes: Uint8Array,
  signedPreKey: Uint8Array,
  signature: Uint8Array,
): Uint8Array | undefined {
  if (version === 'oldmemo') {
    return verifySignedPreKey(version, identityWireKeyBytes, signedPreKey, signature)
      ? identityWireKeyBytes.slice()
      : undefined;
  }
  assertBytes(identityWireKeyBytes, 'identityKey', 32);
  assertBytes(signedPreKey, 'signedPreKey', 32);
  assertBytes(signature, 'signature', 64);
  // The u comes out of the verification (one field inversion for both).
  return ed25519VerifyToCurve25519(identityWireKeyBytes, signedPreKeyMessage(version, signedPreKey), signature);
}
