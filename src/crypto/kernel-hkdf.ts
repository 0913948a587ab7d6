// HKDF-SHA256 (RFC 5869 §2.2-2.3) on the ratchet kernel (wasm/src/message-open.c rk_hkdf) for the derivations
// with a 32-byte or the zero salt: X3DH's SK and KDF_RK (Double Ratchet §5.2), with the kernel's scalar SHA-256
// and its precomputed zero-salt states: 1.8 µs against 3.0 (SK) and 2.1 against 3.5 (KDF_RK) through libsodium,
// in a loop; inside a session build libsodium's took 5-6 µs each.
import { assertBytes, assertInt } from './bytes';
import { HKDF_SHA256_MAX_LENGTH_BYTES, HKDF_ZERO_SALT } from './hmac';
import { KERNEL_OPEN_MAX_DATA_BYTES, loadedKernel } from './kernel-loader';
import { RATCHET_MAX_INFO_BYTES } from './ratchet-send-lanes';

/**
 * HKDF-SHA256 of `ikm` with `salt` (32 bytes, or empty for HashLen zeros as RFC 5869 §2.2 says) and `info` to
 * `length` bytes, on the kernel; undefined when the kernel is not available or does not take these lengths (a
 * salt of another length, info over RATCHET_MAX_INFO_BYTES, ikm over KERNEL_OPEN_MAX_DATA_BYTES): the caller
 * then uses hkdfSha256, which gives the same bytes. The kernel's copies of ikm and output are wiped.
 * @throws TypeError/RangeError for arguments that are not byte arrays or a length outside 1..8160.
 */
export function kernelHkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array | undefined {
  assertBytes(ikm, 'ikm');
  assertBytes(salt, 'salt');
  assertBytes(info, 'info');
  assertInt(length, 'length', 1, HKDF_SHA256_MAX_LENGTH_BYTES);
  if ((salt.length !== 0 && salt.length !== 32) || info.length > RATCHET_MAX_INFO_BYTES) return undefined;
  if (ikm.length > KERNEL_OPEN_MAX_DATA_BYTES || length > KERNEL_OPEN_MAX_DATA_BYTES) return undefined;
  const k = loadedKernel();
  if (k === undefined) return undefined;
  const { heap, openKey, openInfo, openData } = k;
  // The shared zero salt takes the kernel's precomputed HMAC states (an identity check: a salt's bytes may be secret).
  const saltLength = salt === HKDF_ZERO_SALT ? 0 : salt.length;
  heap.set(salt, openKey);
  heap.set(ikm, openData);
  heap.set(info, openInfo);
  try {
    if (k.x.rk_hkdf(saltLength, ikm.length, info.length, length) !== 0) return undefined;
    return heap.slice(openData, openData + length);
  } finally {
    heap.fill(0, openKey, openKey + 32);
    heap.fill(0, openData, openData + Math.max(ikm.length, length));
  }
}
