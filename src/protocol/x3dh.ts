// X3DH (Signal, "The X3DH Key Agreement Protocol" §3.3 sending the initial message, §3.4 receiving it) as OMEMO uses
// it: the first state of a Double Ratchet session, as initiator from a bundle or as responder from a key exchange.
import { assertBytes } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import type { Rng } from '../crypto/random';
import { randomBytes } from '../crypto/random';
import { x25519CopyPrivateKey, x25519GenerateKeyPair, x25519SharedSecret, type KeyPair } from '../crypto/x25519';
import type { ProtocolVersion } from './constants';
import type { IdentityKeyPair } from './identity-key';
import {
  identityWireKey,
  rememberRemoteIdentityCurve,
  remoteIdentityToCurve,
  verifyBundleIdentity,
} from './identity-key';
import { kdfRootKey, x3dhSharedSecret } from './kdf';
import { freshChains, type SessionState } from './session-state';
import type { ParsedKeyExchange } from './wire';

/** A remote device's published pre key material, as needed to start a session (X3DH §3.2). */
export interface PreKeyBundle {
  /** Identity key in the version's wire form without prefix (0.3: Curve25519, OMEMO 2: Ed25519). */
  identityKey: Uint8Array;
  signedPreKeyId: number;
  signedPreKey: Uint8Array;
  signedPreKeySignature: Uint8Array;
  /** The one-time pre key chosen from the bundle (optional in 0.3). */
  preKeyId?: number;
  preKey?: Uint8Array;
}

/**
 * The initiator's first state (X3DH §3.3) from a remote bundle; its messages carry the key exchange until answered.
 * @throws OmemoError `invalid-signature` when the signed pre key signature does not verify; `invalid-key` for
 *   unusable public keys.
 */
export function x3dhInitiate(
  version: ProtocolVersion,
  identity: IdentityKeyPair,
  bundle: PreKeyBundle,
  rng: Rng = randomBytes,
): SessionState {
  return x3dhInitiateVerified(version, identity, bundle, rng).state;
}

/**
 * `x3dhInitiate`, also returning the Curve25519 form of the bundle's identity key that the signature was verified
 * against (what a caller records as the device's identity, without converting the key a second time).
 * @throws as `x3dhInitiate`.
 */
export function x3dhInitiateVerified(
  version: ProtocolVersion,
  identity: IdentityKeyPair,
  bundle: PreKeyBundle,
  rng: Rng = randomBytes,
): { state: SessionState; remoteIdentityCurve: Uint8Array } {
  assertBytes(bundle.identityKey, 'bundle.identityKey', 32);
  assertBytes(bundle.signedPreKey, 'bundle.signedPreKey', 32);
  assertBytes(bundle.signedPreKeySignature, 'bundle.signedPreKeySignature', 64);
  if (bundle.preKey !== undefined) assertBytes(bundle.preKey, 'bundle.preKey', 32);
  const remoteCurve = verifyBundleIdentity(
    version,
    bundle.identityKey,
    bundle.signedPreKey,
    bundle.signedPreKeySignature,
  );
  if (remoteCurve === undefined)
    throw new OmemoError('invalid-signature', 'the signed pre key signature does not verify');
  const ephemeral = x25519GenerateKeyPair(rng);
  const dh = [
    x25519SharedSecret(identity.privateKey, bundle.signedPreKey),
    x25519SharedSecret(ephemeral.privateKey, remoteCurve),
    x25519SharedSecret(ephemeral.privateKey, bundle.signedPreKey),
  ];
  if (bundle.preKey !== undefined) dh.push(x25519SharedSecret(ephemeral.privateKey, bundle.preKey));
  const sk = x3dhSharedSecret(version, dh);
  const sendingRatchet = x25519GenerateKeyPair(rng);
  const root = kdfRootKey(version, sk, x25519SharedSecret(sendingRatchet.privateKey, bundle.signedPreKey));
  const state: SessionState = {
    version,
    localIdentityKey: identityWireKey(identity, version),
    remoteIdentityKey: bundle.identityKey.slice(),
    initiator: true,
    rootKey: root.rootKey,
    sendingRatchet,
    receivingRatchetKey: bundle.signedPreKey.slice(),
    sendingChainKey: root.chainKey,
    ...freshChains(),
    pending: {
      preKeyId: bundle.preKey === undefined ? undefined : bundle.preKeyId,
      signedPreKeyId: bundle.signedPreKeyId,
      baseKey: ephemeral.publicKey,
    },
    baseKey: ephemeral.publicKey,
  };
  return { state, remoteIdentityCurve: remoteCurve };
}

/**
 * The responder's first state (X3DH §3.4) from a received key exchange; the caller looks up the signed pre key and
 * one-time pre key it names. The message inside is not decrypted here.
 */
export function x3dhRespond(
  identity: IdentityKeyPair,
  kex: ParsedKeyExchange,
  signedPreKey: KeyPair,
  preKey: KeyPair | undefined,
): SessionState {
  const version = kex.version;
  const remoteCurve = remoteIdentityToCurve(version, kex.identityKey);
  const dh = [
    x25519SharedSecret(signedPreKey.privateKey, remoteCurve),
    x25519SharedSecret(identity.privateKey, kex.baseKey),
    x25519SharedSecret(signedPreKey.privateKey, kex.baseKey),
  ];
  if (preKey !== undefined) dh.push(x25519SharedSecret(preKey.privateKey, kex.baseKey));
  const remoteIdentityKey = kex.identityKey.slice();
  if (version === 'twomemo') rememberRemoteIdentityCurve(remoteIdentityKey, remoteCurve); // for the trust check
  return {
    version,
    localIdentityKey: identityWireKey(identity, version),
    remoteIdentityKey,
    initiator: false,
    rootKey: x3dhSharedSecret(version, dh),
    // The copy keeps the key object the DHs above made for the signed pre key (the first ratchet step uses it).
    sendingRatchet: {
      privateKey: x25519CopyPrivateKey(signedPreKey.privateKey),
      publicKey: signedPreKey.publicKey.slice(),
    },
    receivingRatchetKey: undefined,
    sendingChainKey: undefined,
    ...freshChains(),
    pending: undefined,
    baseKey: kex.baseKey.slice(),
  };
}
