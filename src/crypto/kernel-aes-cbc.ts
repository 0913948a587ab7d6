// AES-256-CBC with PKCS#7 padding (NIST SP 800-38A §6.2, RFC 5652 §6.3) on the ratchet kernel: constant-time
// (wasm/README.md "Constant time") and synchronous. aes.ts uses it where node:crypto is absent (browsers).
import { assertBytes } from './bytes';
import { OmemoError } from './errors';
import { KERNEL_AES_CHUNK_BYTES, requireKernel, type Kernel } from './kernel-loader';

/** One kernel AES-CBC call on the AES buffer: (length, final) → output length, or negative on failure. */
type CbcStep = (length: number, final: number) => number;

function authFailed(what: string): OmemoError {
  return new OmemoError('authentication-failed', what);
}

function checkCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, name: string): void {
  assertBytes(key, 'key', 32);
  assertBytes(iv, 'iv', 16);
  assertBytes(data, name);
}

/**
 * Runs `step` (rk_aes256_cbc_encrypt or _decrypt) on the whole chunks of `input` that precede its last part,
 * which the kernel chains through its IV, writing each result to `out` at the same offset.
 * @returns the offset of the last part (at most KERNEL_AES_CHUNK_BYTES bytes, which the caller finishes).
 */
function leadingChunks(k: Kernel, step: CbcStep, input: Uint8Array, out: Uint8Array): number {
  const { heap, aesData } = k;
  let off = 0;
  for (; input.length - off > KERNEL_AES_CHUNK_BYTES; off += KERNEL_AES_CHUNK_BYTES) {
    heap.set(input.subarray(off, off + KERNEL_AES_CHUNK_BYTES), aesData);
    step(KERNEL_AES_CHUNK_BYTES, 0);
    out.set(heap.subarray(aesData, aesData + KERNEL_AES_CHUNK_BYTES), off);
  }
  return off;
}

/**
 * AES-256-CBC encryption with PKCS#7 padding in the kernel (constant-time, synchronous; same bytes as
 * `aes256CbcEncrypt`).
 * @throws TypeError/RangeError on bad arguments; OmemoError `crypto-unavailable` when the kernel is not loaded.
 */
export function kernelAes256CbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkCbc(key, iv, plaintext, 'plaintext');
  const k = requireKernel();
  const { heap, aesKey, aesIv, aesData } = k;
  const total = Math.floor(plaintext.length / 16) * 16 + 16;
  heap.set(key, aesKey);
  heap.set(iv, aesIv);
  try {
    if (plaintext.length <= KERNEL_AES_CHUNK_BYTES) {
      heap.set(plaintext, aesData);
      k.x.rk_aes256_cbc_encrypt(plaintext.length, 1);
      return heap.slice(aesData, aesData + total);
    }
    const out = new Uint8Array(total);
    const off = leadingChunks(k, k.x.rk_aes256_cbc_encrypt, plaintext, out);
    heap.set(plaintext.subarray(off), aesData);
    const n = k.x.rk_aes256_cbc_encrypt(plaintext.length - off, 1);
    out.set(heap.subarray(aesData, aesData + n), off);
    return out;
  } finally {
    heap.fill(0, aesKey, aesData + Math.min(total, KERNEL_AES_CHUNK_BYTES + 16));
  }
}

/**
 * AES-256-CBC decryption and PKCS#7 unpadding in the kernel (constant-time padding check, synchronous; same
 * results as `aes256CbcDecrypt`).
 * @throws OmemoError `authentication-failed` on a bad length or padding (no plaintext is released);
 *   `crypto-unavailable` when the kernel is not loaded. TypeError/RangeError on bad arguments.
 */
export function kernelAes256CbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  checkCbc(key, iv, ciphertext, 'ciphertext');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw authFailed('AES-CBC ciphertext length is not a positive multiple of 16');
  }
  const k = requireKernel();
  const { heap, aesKey, aesIv, aesData } = k;
  heap.set(key, aesKey);
  heap.set(iv, aesIv);
  let out: Uint8Array | undefined;
  try {
    let off = 0;
    if (ciphertext.length > KERNEL_AES_CHUNK_BYTES) {
      out = new Uint8Array(ciphertext.length);
      off = leadingChunks(k, k.x.rk_aes256_cbc_decrypt, ciphertext, out);
    }
    heap.set(ciphertext.subarray(off), aesData);
    const n = k.x.rk_aes256_cbc_decrypt(ciphertext.length - off, 1);
    if (n < 0) {
      out?.fill(0);
      throw authFailed('AES-CBC padding is invalid');
    }
    if (out === undefined) return heap.slice(aesData, aesData + n);
    out.set(heap.subarray(aesData, aesData + n), off);
    const result = out.slice(0, off + n);
    out.fill(0);
    return result;
  } finally {
    heap.fill(0, aesKey, aesData + Math.min(ciphertext.length, KERNEL_AES_CHUNK_BYTES));
  }
}
