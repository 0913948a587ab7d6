// HMAC-SHA256 (RFC 2104), HKDF-SHA256 (RFC 5869) and SHA-512 (FIPS 180-4) through libsodium.
// The hot HMAC/HKDF calls go straight to libsodium's WASM exports with one scratch buffer: the wrappers
// allocate and copy several times per call, which dominated the ratchet step.
import { assertBytes, assertInt } from './bytes';
import { sodium, sodiumRaw, wasmScratch } from './sodium';

/** HKDF-SHA256 can produce at most 255 hash lengths. */
export const HKDF_SHA256_MAX_LENGTH_BYTES = 255 * 32;

/**
 * The HKDF salt of Signal and OMEMO (X3DH, message keys, OMEMO 2 payloads): 32 zero bytes, RFC 5869 §2.2's
 * default salt of HashLen zeros spelled out. Shared: read only, never write to it.
 */
export const HKDF_ZERO_SALT = new Uint8Array(32);

/** HMAC-SHA256 of `data` under `key` (any key length). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  assertBytes(key, 'key');
  assertBytes(data, 'data');
  if (key.length !== 32) {
    const s = sodium();
    const state = s.crypto_auth_hmacsha256_init(key);
    s.crypto_auth_hmacsha256_update(state, data);
    return s.crypto_auth_hmacsha256_final(state);
  }
  const raw = sodiumRaw();
  const base = wasmScratch(64 + data.length);
  const heap = raw.HEAPU8;
  heap.set(key, base + 32);
  heap.set(data, base + 64);
  raw._crypto_auth_hmacsha256(base, base + 64, data.length, 0, base + 32);
  return heap.slice(base, base + 32);
}

/** HKDF-Extract (RFC 5869 §2.2): PRK = HMAC-SHA256(salt, IKM); an empty salt means 32 zero bytes. */
export function hkdfSha256Extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  assertBytes(salt, 'salt');
  assertBytes(ikm, 'ikm');
  const raw = sodiumRaw();
  const base = wasmScratch(32 + salt.length + ikm.length);
  const heap = raw.HEAPU8;
  heap.set(salt, base + 32);
  heap.set(ikm, base + 32 + salt.length);
  raw._crypto_kdf_hkdf_sha256_extract(base, base + 32, salt.length, base + 32 + salt.length, ikm.length);
  return heap.slice(base, base + 32);
}

/** HKDF-Expand (RFC 5869 §2.3) to `length` bytes (1..8160). */
export function hkdfSha256Expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  assertBytes(prk, 'prk', 32);
  assertBytes(info, 'info');
  assertInt(length, 'length', 1, HKDF_SHA256_MAX_LENGTH_BYTES);
  const raw = sodiumRaw();
  const base = wasmScratch(32 + info.length + length);
  const heap = raw.HEAPU8;
  heap.set(prk, base);
  heap.set(info, base + 32);
  const out = base + 32 + info.length;
  if (raw._crypto_kdf_hkdf_sha256_expand(out, length, base + 32, info.length, base) !== 0) {
    throw new RangeError(`HKDF-SHA256 cannot expand to ${length} bytes`);
  }
  return heap.slice(out, out + length);
}

/** HKDF-SHA256 extract-then-expand (RFC 5869 §2). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  assertBytes(ikm, 'ikm');
  assertBytes(salt, 'salt');
  assertBytes(info, 'info');
  assertInt(length, 'length', 1, HKDF_SHA256_MAX_LENGTH_BYTES);
  const raw = sodiumRaw();
  const base = wasmScratch(32 + salt.length + ikm.length + info.length + length);
  const heap = raw.HEAPU8;
  const saltPtr = base + 32;
  const ikmPtr = saltPtr + salt.length;
  const infoPtr = ikmPtr + ikm.length;
  const outPtr = infoPtr + info.length;
  heap.set(salt, saltPtr);
  heap.set(ikm, ikmPtr);
  heap.set(info, infoPtr);
  raw._crypto_kdf_hkdf_sha256_extract(base, saltPtr, salt.length, ikmPtr, ikm.length);
  raw._crypto_kdf_hkdf_sha256_expand(outPtr, length, infoPtr, info.length, base);
  return heap.slice(outPtr, outPtr + length);
}

/** SHA-512 digest. */
export function sha512(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  return sodium().crypto_hash_sha512(data);
}
