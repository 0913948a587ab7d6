// Key derivation of X3DH (§2.2 "KDF", 32×0xFF prefix) and the Double Ratchet (§5.2: KDF_RK with HKDF,
// KDF_CK with HMAC constants 0x01/0x02) plus OMEMO's message key expansion (80 bytes: enc ‖ auth ‖ IV).
// The ratchet kernel (crypto/kernel-send-batch.ts) computes KDF_CK and the expansion for many sessions at once;
// ratchet-send-batch.ts composes these definitions for the path without it, and the tests hold both equal.
import { HKDF_ZERO_SALT, hkdfSha256, hmacSha256 } from '../crypto/hmac';
import { kernelHkdfSha256 } from '../crypto/kernel-hkdf';
import type { ProtocolVersion } from './constants';
import { VERSIONS } from './constants';

const X3DH_PREFIX = new Uint8Array(32).fill(0xff);
/** KDF_CK's HMAC input for the message key seed (Double Ratchet §5.2, "0x01"). */
const MESSAGE_KEY_CONSTANT = Uint8Array.of(0x01);
/** KDF_CK's HMAC input for the next chain key (Double Ratchet §5.2, "0x02"). */
const CHAIN_KEY_CONSTANT = Uint8Array.of(0x02);
/** Length of the expanded message keys in bytes: encryption key 32 ‖ authentication key 32 ‖ IV 16. */
const MESSAGE_KEY_MATERIAL_BYTES = 80;

/** The 32-byte X3DH shared secret SK = HKDF(0xFF×32 ‖ DH1 ‖ … ‖ DHn), which seeds the root chain. */
export function x3dhSharedSecret(version: ProtocolVersion, dhOutputs: Uint8Array[]): Uint8Array {
  const ikm = new Uint8Array(32 + 32 * dhOutputs.length);
  ikm.set(X3DH_PREFIX);
  dhOutputs.forEach((dh, i) => {
    ikm.set(dh, 32 + 32 * i);
  });
  // libsignal derives 64 bytes (RK ‖ CK) and python-omemo 32 (RK); the first 32 bytes are the same.
  const info = VERSIONS[version].x3dhInfo;
  return kernelHkdfSha256(ikm, HKDF_ZERO_SALT, info, 32) ?? hkdfSha256(ikm, HKDF_ZERO_SALT, info, 32);
}

/** KDF_RK: (new root key, new chain key) from the root key and a DH output. */
export function kdfRootKey(
  version: ProtocolVersion,
  rootKey: Uint8Array,
  dhOutput: Uint8Array,
): { rootKey: Uint8Array; chainKey: Uint8Array } {
  const info = VERSIONS[version].rootInfo;
  const out = kernelHkdfSha256(dhOutput, rootKey, info, 64) ?? hkdfSha256(dhOutput, rootKey, info, 64);
  return { rootKey: out.slice(0, 32), chainKey: out.slice(32, 64) };
}

/**
 * KDF_CK: the message key seed of this step and the next chain key (the step the ratchet kernel batches).
 * @throws TypeError when `chainKey` is not a Uint8Array; OmemoError `not-initialised` before `cryptoReady()`.
 */
export function kdfChainKey(chainKey: Uint8Array): { seed: Uint8Array; next: Uint8Array } {
  return { seed: hmacSha256(chainKey, MESSAGE_KEY_CONSTANT), next: hmacSha256(chainKey, CHAIN_KEY_CONSTANT) };
}

/**
 * OMEMO's message key expansion: HKDF(seed, 32 zero bytes, info) to 80 bytes = encKey 32 ‖ authKey 32 ‖ IV 16.
 * @throws TypeError on a non-Uint8Array argument; OmemoError `not-initialised` before `cryptoReady()`.
 */
export function expandMessageKeys(seed: Uint8Array, info: Uint8Array): Uint8Array {
  return hkdfSha256(seed, HKDF_ZERO_SALT, info, MESSAGE_KEY_MATERIAL_BYTES);
}

/** The keys of one message, expanded from its seed. */
export interface MessageKeys {
  encryptionKey: Uint8Array; // AES-256-CBC key
  authenticationKey: Uint8Array; // HMAC-SHA256 key
  iv: Uint8Array; // AES-CBC IV
}

/** Expands a message key seed to 80 bytes: encryption key 32 ‖ authentication key 32 ‖ IV 16. */
export function deriveMessageKeys(version: ProtocolVersion, seed: Uint8Array): MessageKeys {
  const out = expandMessageKeys(seed, VERSIONS[version].messageKeyInfo);
  return { encryptionKey: out.subarray(0, 32), authenticationKey: out.subarray(32, 64), iv: out.subarray(64, 80) };
}
