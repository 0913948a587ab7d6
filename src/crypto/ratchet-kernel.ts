// The symmetric Double Ratchet sending step (Signal Double Ratchet §5.2 KDF_CK; OMEMO's 80-byte message key
// expansion, AES-256-CBC with PKCS#7 and the truncated HMAC-SHA256) for many sessions in one call: a
// WebAssembly SIMD kernel of our own (wasm/src/ratchet-kernel.c) and a portable path on hmac.ts/aes.ts that
// produces identical bytes. Also the kernel's constant-time AES-256-CBC as a synchronous fallback for browsers.
import { assertBytes, assertInt, fromBase64 } from './bytes';
import { aes256CbcEncrypt, setSyncCbcFallback } from './aes';
import { OmemoError } from './errors';
import { HKDF_ZERO_SALT, hkdfSha256, hmacSha256 } from './hmac';
import { RATCHET_KERNEL_WASM_BASE64 } from './ratchet-kernel-wasm';
import { onCryptoReady } from './sodium';

/** Lanes handed to the kernel per call (its buffer capacity); longer batches are processed in chunks. */
export const KERNEL_MAX_LANES_PER_CALL = 256;
/** Largest shared plaintext of a batch (OMEMO carries 32- or 48-byte key material). */
export const RATCHET_MAX_PLAINTEXT_BYTES = 1024;
/** Largest associated data (MAC prefix) per lane. */
export const RATCHET_MAX_ASSOCIATED_DATA_BYTES = 128;
/** Largest header per lane. */
export const RATCHET_MAX_HEADER_BYTES = 128;
/** Largest HKDF info string. */
export const RATCHET_MAX_INFO_BYTES = 128;
/** Shortest MAC truncation accepted (OMEMO 0.3 uses 8 bytes, OMEMO 2 16). */
export const RATCHET_MIN_MAC_BYTES = 8;
/** Longest MAC: the full HMAC-SHA256 output. */
export const RATCHET_MAX_MAC_BYTES = 32;

/** Layout version and buffer sizes the kernel reports from rk_init(); a mismatch disables it. */
const KERNEL_LAYOUT_VERSION = 1;
/** AES-CBC bytes per kernel call; longer inputs are chained over several calls. */
const KERNEL_AES_CHUNK_BYTES = 16384;
/** Per-lane bytes after the AD ‖ header ‖ ciphertext that the kernel needs for SHA-256 padding. */
const KERNEL_SHA_PAD_BYTES = 72;
/** Size of the kernel's input buffer for the test hooks. */
const KERNEL_TEST_IO_BYTES = 4096;

/** One session's sending step. The caller has written `header` bytes into `message` at headerOffset. */
export interface RatchetSendLane {
  /** 32 bytes (read). */
  chainKey: Uint8Array;
  /** 32 bytes (written); may be `chainKey` itself. */
  nextChainKey: Uint8Array;
  /** At most 128 bytes: the MAC prefix (e.g. both identity keys). */
  associatedData: Uint8Array;
  /** The final wire message buffer, allocated by the caller. */
  message: Uint8Array;
  /** header = message[headerOffset, headerOffset + headerLength). */
  headerOffset: number;
  /** At most 128; the ciphertext is written at headerOffset + headerLength. */
  headerLength: number;
  /** The MAC (macBytes) is written at message[macOffset ...]; must not overlap the header or ciphertext. */
  macOffset: number;
}

/** What every lane of a batch shares. */
export interface RatchetSendParams {
  /** HKDF info, e.g. "OMEMO Message Key Material" or "WhisperMessageKeys" (at most 128 bytes). */
  info: Uint8Array;
  /** At most 1024 bytes; encrypted for every lane. */
  plaintext: Uint8Array;
  /** MAC truncation length, 8..32 (OMEMO 0.3: 8, OMEMO 2: 16). */
  macBytes: number;
}

// ------------------------------------------------------------------------------------------ validation

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

/** A non-negative integer below 2^32 (the fast test; the slow path explains what is wrong). */
function isIndex(value: unknown): value is number {
  return (value as number) >>> 0 === value;
}

function laneName(i: number, field: string): string {
  return `lanes[${i}].${field}`;
}

/** Checks every lane before anything is written; returns the ciphertext length. Throws TypeError/RangeError. */
function validate(lanes: readonly RatchetSendLane[], params: RatchetSendParams): number {
  if (!Array.isArray(lanes)) throw new TypeError(`lanes must be an array, got ${kind(lanes)}`);
  if (typeof params !== 'object' || params === null) throw new TypeError(`params must be an object, got ${kind(params)}`);
  const { info, plaintext, macBytes } = params;
  assertBytes(info, 'params.info');
  if (info.length > RATCHET_MAX_INFO_BYTES) throw new RangeError(`params.info must be at most ${RATCHET_MAX_INFO_BYTES} bytes, got ${info.length}`);
  assertBytes(plaintext, 'params.plaintext');
  if (plaintext.length > RATCHET_MAX_PLAINTEXT_BYTES) {
    throw new RangeError(`params.plaintext must be at most ${RATCHET_MAX_PLAINTEXT_BYTES} bytes, got ${plaintext.length}`);
  }
  assertInt(macBytes, 'params.macBytes', RATCHET_MIN_MAC_BYTES, RATCHET_MAX_MAC_BYTES);
  const ctLen = (plaintext.length & ~15) + 16;
  for (let i = 0; i < lanes.length; i++) {
    const lane = lanes[i];
    if (typeof lane !== 'object' || lane === null) throw new TypeError(`lanes[${i}] must be an object, got ${kind(lane)}`);
    const ck = lane.chainKey;
    if (!(ck instanceof Uint8Array) || ck.length !== 32) assertBytes(ck, laneName(i, 'chainKey'), 32);
    const nk = lane.nextChainKey;
    if (!(nk instanceof Uint8Array) || nk.length !== 32) assertBytes(nk, laneName(i, 'nextChainKey'), 32);
    const ad = lane.associatedData;
    if (!(ad instanceof Uint8Array) || ad.length > RATCHET_MAX_ASSOCIATED_DATA_BYTES) {
      assertBytes(ad, laneName(i, 'associatedData'));
      throw new RangeError(`${laneName(i, 'associatedData')} must be at most ${RATCHET_MAX_ASSOCIATED_DATA_BYTES} bytes, got ${ad.length}`);
    }
    const m = lane.message;
    if (!(m instanceof Uint8Array)) assertBytes(m, laneName(i, 'message'));
    const ho = lane.headerOffset;
    const hl = lane.headerLength;
    const mo = lane.macOffset;
    if (!isIndex(ho) || ho > m.length) assertInt(ho, laneName(i, 'headerOffset'), 0, m.length);
    if (!isIndex(hl) || hl > RATCHET_MAX_HEADER_BYTES) assertInt(hl, laneName(i, 'headerLength'), 0, RATCHET_MAX_HEADER_BYTES);
    const ctEnd = ho + hl + ctLen;
    if (ctEnd > m.length) {
      throw new RangeError(
        `${laneName(i, 'message')} is too short: header ${ho}+${hl} and ${ctLen} ciphertext bytes end at ${ctEnd}, it has ${m.length} bytes`,
      );
    }
    if (!isIndex(mo) || mo + macBytes > m.length) assertInt(mo, laneName(i, 'macOffset'), 0, m.length - macBytes);
    if (mo < ctEnd && mo + macBytes > ho) {
      throw new RangeError(`${laneName(i, 'macOffset')} ${mo}: the ${macBytes}-byte MAC would overlap the header and ciphertext at ${ho}..${ctEnd}`);
    }
  }
  return ctLen;
}

// ------------------------------------------------------------------------------------------ portable path

const MESSAGE_KEY_CONSTANT = Uint8Array.of(0x01);
const CHAIN_KEY_CONSTANT = Uint8Array.of(0x02);

/** KDF_CK (Double Ratchet §5.2): the message key seed of this step and the next chain key. */
export function chainKeyStep(chainKey: Uint8Array): { seed: Uint8Array; next: Uint8Array } {
  return { seed: hmacSha256(chainKey, MESSAGE_KEY_CONSTANT), next: hmacSha256(chainKey, CHAIN_KEY_CONSTANT) };
}

/** OMEMO's message key expansion: HKDF(seed, 32 zero bytes, info) to 80 bytes = encKey 32 ‖ authKey 32 ‖ IV 16. */
export function expandMessageKeys(seed: Uint8Array, info: Uint8Array): Uint8Array {
  return hkdfSha256(seed, HKDF_ZERO_SALT, info, 80);
}
const MAC_INPUT_MAX_BYTES = RATCHET_MAX_ASSOCIATED_DATA_BYTES + RATCHET_MAX_HEADER_BYTES + RATCHET_MAX_PLAINTEXT_BYTES + 16;
let macInput: Uint8Array | undefined;

/**
 * The sending step for every lane with libsodium's HMAC/HKDF (hmac.ts) and node:crypto's AES (aes.ts).
 * Validates every lane before writing anything.
 * @throws TypeError/RangeError on a malformed lane or parameter (naming it, e.g. `lanes[3].macOffset`).
 * @throws OmemoError `crypto-unavailable` without node:crypto (browsers: use the kernel), Error before `cryptoReady()`.
 */
export function ratchetSendBatchPortable(lanes: readonly RatchetSendLane[], params: RatchetSendParams): void {
  const ctLen = validate(lanes, params);
  const { info, plaintext, macBytes } = params;
  macInput ??= new Uint8Array(MAC_INPUT_MAX_BYTES);
  const buf = macInput;
  for (let i = 0; i < lanes.length; i++) {
    const lane = lanes[i]!;
    const { seed, next } = chainKeyStep(lane.chainKey);
    const okm = expandMessageKeys(seed, info);
    const ct = aes256CbcEncrypt(okm.subarray(0, 32), okm.subarray(64, 80), plaintext);
    const m = lane.message;
    const ho = lane.headerOffset;
    const hl = lane.headerLength;
    m.set(ct, ho + hl);
    const ad = lane.associatedData;
    buf.set(ad);
    buf.set(m.subarray(ho, ho + hl + ctLen), ad.length);
    const mac = hmacSha256(okm.subarray(32, 64), buf.subarray(0, ad.length + hl + ctLen));
    m.set(mac.subarray(0, macBytes), lane.macOffset);
    lane.nextChainKey.set(next);
    seed.fill(0);
    next.fill(0);
    okm.fill(0);
  }
}

// ------------------------------------------------------------------------------------------ the kernel

interface KernelExports {
  memory: WebAssembly.Memory;
  rk_init(): number;
  rk_send_batch(count: number, stride: number, infoLength: number, plaintextLength: number): number;
  rk_aes256_cbc_encrypt(length: number, final: number): number;
  rk_aes256_cbc_decrypt(length: number, final: number): number;
  rk_test_sha256_init(): void;
  rk_test_sha256_update(length: number): number;
  rk_test_sha256_final(): void;
  rk_test_hmac_sha256(keyLength: number, dataLength: number): number;
  rk_test_hkdf_sha256(ikmLength: number, saltLength: number, infoLength: number, outLength: number): number;
  rk_test_aes256_block(decrypt: number): void;
  rk_test_out(): number;
}

/** The instantiated kernel and the addresses of its buffers (from rk_init's layout table). */
interface Kernel {
  x: KernelExports;
  heap: Uint8Array;
  u32: Uint32Array;
  keys: number;
  lengths32: number;
  macs: number;
  data: number;
  maxStride: number;
  info: number;
  plaintext: number;
  aesKey: number;
  aesIv: number;
  aesData: number;
  testIn: number;
  testOut: number;
}

let kernel: Kernel | undefined;
let syncLoadFailed = false;
let asyncLoad: Promise<void> | undefined;

function kernelBytes(): Uint8Array<ArrayBuffer> {
  const bytes = fromBase64(RATCHET_KERNEL_WASM_BASE64);
  if (bytes === undefined) throw new Error('the embedded ratchet kernel is not valid base64');
  return bytes as Uint8Array<ArrayBuffer>;
}

/** Reads the layout table; undefined (kernel unusable) if it does not match what this file expects. */
function setUp(instance: WebAssembly.Instance): Kernel | undefined {
  const x = instance.exports as unknown as KernelExports;
  // The module's memory has a fixed size (no memory.grow), so these views stay valid.
  const heap = new Uint8Array(x.memory.buffer);
  const u32 = new Uint32Array(x.memory.buffer);
  const t = x.rk_init() >>> 2;
  const expected: [number, number][] = [
    [0, KERNEL_LAYOUT_VERSION],
    [1, KERNEL_MAX_LANES_PER_CALL],
    [8, RATCHET_MAX_INFO_BYTES],
    [10, RATCHET_MAX_PLAINTEXT_BYTES],
    [11, RATCHET_MAX_ASSOCIATED_DATA_BYTES],
    [12, RATCHET_MAX_HEADER_BYTES],
    [14, KERNEL_AES_CHUNK_BYTES],
  ];
  if (expected.some(([i, v]) => u32[t + i] !== v)) return undefined;
  const maxStride = u32[t + 6]!;
  if (maxStride < RATCHET_MAX_ASSOCIATED_DATA_BYTES + RATCHET_MAX_HEADER_BYTES + RATCHET_MAX_PLAINTEXT_BYTES + 16 + KERNEL_SHA_PAD_BYTES) {
    return undefined;
  }
  const aes = u32[t + 13]!;
  return {
    x,
    heap,
    u32,
    keys: u32[t + 2]!,
    lengths32: u32[t + 3]! >>> 2,
    macs: u32[t + 4]!,
    data: u32[t + 5]!,
    maxStride,
    info: u32[t + 7]!,
    plaintext: u32[t + 9]!,
    aesKey: aes,
    aesIv: aes + 32,
    aesData: aes + 48,
    testIn: u32[t + 15]!,
    testOut: x.rk_test_out(),
  };
}

/**
 * The kernel, compiled synchronously on first use. Browsers refuse synchronous compilation of modules this
 * size on the main thread; there the asynchronous compilation in `cryptoReady()` provides it. Without
 * WebAssembly or SIMD support the module does not compile and the portable path is used.
 */
function loadedKernel(): Kernel | undefined {
  if (kernel !== undefined || syncLoadFailed) return kernel;
  try {
    if (typeof WebAssembly !== 'object') throw new Error('no WebAssembly');
    kernel = setUp(new WebAssembly.Instance(new WebAssembly.Module(kernelBytes()), {}));
  } catch {
    kernel = undefined;
  }
  if (kernel === undefined) syncLoadFailed = true;
  return kernel;
}

function loadKernelAsync(): Promise<void> {
  asyncLoad ??= (async () => {
    if (kernel !== undefined || typeof WebAssembly !== 'object') return;
    try {
      const { instance } = await WebAssembly.instantiate(kernelBytes(), {});
      kernel ??= setUp(instance);
    } catch {
      // No SIMD (or no WebAssembly): the portable path stays in use.
    }
  })();
  return asyncLoad;
}

onCryptoReady(loadKernelAsync);

/** True when the WebAssembly kernel is loaded, or could be compiled synchronously now. */
export function ratchetKernelAvailable(): boolean {
  return loadedKernel() !== undefined;
}

function requireKernel(): Kernel {
  const k = loadedKernel();
  if (k === undefined) {
    throw new OmemoError('crypto-unavailable', 'the WebAssembly ratchet kernel is not available (no WebAssembly SIMD, or not loaded yet: await cryptoReady())');
  }
  return k;
}

/**
 * The sending step for every lane in the WebAssembly kernel, KERNEL_MAX_LANES_PER_CALL lanes per kernel call.
 * Validates every lane before writing anything.
 * @throws TypeError/RangeError on a malformed lane or parameter (naming it, e.g. `lanes[3].macOffset`).
 * @throws OmemoError `crypto-unavailable` when the kernel is not loaded.
 */
export function ratchetSendBatchWasm(lanes: readonly RatchetSendLane[], params: RatchetSendParams): void {
  const ctLen = validate(lanes, params);
  runKernel(requireKernel(), lanes, params, ctLen);
}

function runKernel(k: Kernel, lanes: readonly RatchetSendLane[], params: RatchetSendParams, ctLen: number): void {
  const { heap, u32, keys, lengths32, macs, data } = k;
  const { info, plaintext, macBytes } = params;
  // Room for any lane: AD and header at their maxima, the ciphertext, SHA-256 padding; 16-byte aligned.
  const stride = (RATCHET_MAX_ASSOCIATED_DATA_BYTES + RATCHET_MAX_HEADER_BYTES + ctLen + KERNEL_SHA_PAD_BYTES + 15) & ~15;
  heap.set(info, k.info);
  heap.set(plaintext, k.plaintext);
  try {
    for (let start = 0; start < lanes.length; start += KERNEL_MAX_LANES_PER_CALL) {
      const count = Math.min(KERNEL_MAX_LANES_PER_CALL, lanes.length - start);
      try {
        for (let i = 0; i < count; i++) {
          const lane = lanes[start + i]!;
          const ad = lane.associatedData;
          const ho = lane.headerOffset;
          const hl = lane.headerLength;
          const d = data + stride * i;
          heap.set(lane.chainKey, keys + 32 * i);
          u32[lengths32 + 2 * i] = ad.length;
          u32[lengths32 + 2 * i + 1] = hl;
          heap.set(ad, d);
          heap.set(lane.message.subarray(ho, ho + hl), d + ad.length);
        }
        if (k.x.rk_send_batch(count, stride, info.length, plaintext.length) !== 0) {
          throw new Error('the ratchet kernel rejected a checked batch (bug)');
        }
        for (let i = 0; i < count; i++) {
          const lane = lanes[start + i]!;
          const m = lane.message;
          const hl = lane.headerLength;
          const ct = data + stride * i + lane.associatedData.length + hl;
          const key = keys + 32 * i;
          const mac = macs + 32 * i;
          lane.nextChainKey.set(heap.subarray(key, key + 32));
          m.set(heap.subarray(ct, ct + ctLen), lane.headerOffset + hl);
          m.set(heap.subarray(mac, mac + macBytes), lane.macOffset);
        }
      } finally {
        heap.fill(0, keys, keys + 32 * count);
      }
    }
  } finally {
    heap.fill(0, k.plaintext, k.plaintext + plaintext.length);
  }
}

/**
 * The symmetric Double Ratchet sending step for every lane (session), in one synchronous call:
 *   seed = HMAC-SHA256(chainKey, 0x01), nextChainKey = HMAC-SHA256(chainKey, 0x02);
 *   encKey ‖ authKey ‖ iv = HKDF-SHA256(seed, 32 zero bytes, info, 80);
 *   message[headerOffset + headerLength ...] = AES-256-CBC(encKey, iv, PKCS#7(plaintext));
 *   message[macOffset ...] = HMAC-SHA256(authKey, associatedData ‖ header ‖ ciphertext)[0, macBytes).
 * Uses the WebAssembly kernel when it is available and the portable path otherwise; both produce the same
 * bytes. Every lane is validated before anything is written. Lanes must not share output regions, and no
 * output may overlap another lane's inputs or the lane's own associated data or header.
 * @throws TypeError/RangeError on a malformed lane or parameter (naming it, e.g. `lanes[3].macOffset`).
 * @throws OmemoError `crypto-unavailable` when neither the kernel nor node:crypto is available.
 */
export function ratchetSendBatch(lanes: readonly RatchetSendLane[], params: RatchetSendParams): void {
  const k = loadedKernel();
  if (k === undefined) {
    ratchetSendBatchPortable(lanes, params);
    return;
  }
  runKernel(k, lanes, params, validate(lanes, params));
}

// ------------------------------------------------------------------------------------------ AES-256-CBC

function authFailed(what: string): OmemoError {
  return new OmemoError('authentication-failed', what);
}

function checkCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, name: string): void {
  assertBytes(key, 'key', 32);
  assertBytes(iv, 'iv', 16);
  assertBytes(data, name);
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
    let off = 0;
    if (plaintext.length <= KERNEL_AES_CHUNK_BYTES) {
      heap.set(plaintext, aesData);
      k.x.rk_aes256_cbc_encrypt(plaintext.length, 1);
      return heap.slice(aesData, aesData + total);
    }
    const out = new Uint8Array(total);
    for (; plaintext.length - off > KERNEL_AES_CHUNK_BYTES; off += KERNEL_AES_CHUNK_BYTES) {
      heap.set(plaintext.subarray(off, off + KERNEL_AES_CHUNK_BYTES), aesData);
      k.x.rk_aes256_cbc_encrypt(KERNEL_AES_CHUNK_BYTES, 0);
      out.set(heap.subarray(aesData, aesData + KERNEL_AES_CHUNK_BYTES), off);
    }
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
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) throw authFailed('AES-CBC ciphertext length is not a positive multiple of 16');
  const k = requireKernel();
  const { heap, aesKey, aesIv, aesData } = k;
  heap.set(key, aesKey);
  heap.set(iv, aesIv);
  let out: Uint8Array | undefined;
  try {
    let off = 0;
    if (ciphertext.length > KERNEL_AES_CHUNK_BYTES) {
      out = new Uint8Array(ciphertext.length);
      for (; ciphertext.length - off > KERNEL_AES_CHUNK_BYTES; off += KERNEL_AES_CHUNK_BYTES) {
        heap.set(ciphertext.subarray(off, off + KERNEL_AES_CHUNK_BYTES), aesData);
        k.x.rk_aes256_cbc_decrypt(KERNEL_AES_CHUNK_BYTES, 0);
        out.set(heap.subarray(aesData, aesData + KERNEL_AES_CHUNK_BYTES), off);
      }
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

// ------------------------------------------------------------------------------------------ test hooks

function testCall(rc: number): void {
  if (rc !== 0) throw new RangeError('input too large for the kernel test buffer');
}

/**
 * @internal The kernel's own SHA-256, HMAC-SHA256, HKDF-SHA256 and AES-256 block functions, for the
 * known-answer tests of its primitives. Not part of the public API. Each throws like `requireKernel()`.
 */
export const ratchetKernelTestHooks = {
  /** The kernel's whole linear memory (to check that no key material is left in it). */
  memory(): Uint8Array {
    return requireKernel().heap;
  },
  sha256(data: Uint8Array): Uint8Array {
    const k = requireKernel();
    k.x.rk_test_sha256_init();
    for (let off = 0; off < data.length; off += KERNEL_TEST_IO_BYTES) {
      const part = data.subarray(off, off + KERNEL_TEST_IO_BYTES);
      k.heap.set(part, k.testIn);
      testCall(k.x.rk_test_sha256_update(part.length));
    }
    k.x.rk_test_sha256_final();
    return k.heap.slice(k.testOut, k.testOut + 32);
  },
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
    const k = requireKernel();
    if (key.length + data.length > KERNEL_TEST_IO_BYTES) throw new RangeError('input too large for the kernel test buffer');
    k.heap.set(key, k.testIn);
    k.heap.set(data, k.testIn + key.length);
    testCall(k.x.rk_test_hmac_sha256(key.length, data.length));
    return k.heap.slice(k.testOut, k.testOut + 32);
  },
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    const k = requireKernel();
    if (ikm.length + salt.length + info.length > KERNEL_TEST_IO_BYTES) throw new RangeError('input too large for the kernel test buffer');
    k.heap.set(ikm, k.testIn);
    k.heap.set(salt, k.testIn + ikm.length);
    k.heap.set(info, k.testIn + ikm.length + salt.length);
    testCall(k.x.rk_test_hkdf_sha256(ikm.length, salt.length, info.length, length));
    return k.heap.slice(k.testOut, k.testOut + length);
  },
  aes256Block(key: Uint8Array, block: Uint8Array, decrypt: boolean): Uint8Array {
    assertBytes(key, 'key', 32);
    assertBytes(block, 'block', 16);
    const k = requireKernel();
    k.heap.set(key, k.testIn);
    k.heap.set(block, k.testIn + 32);
    k.x.rk_test_aes256_block(decrypt ? 1 : 0);
    k.heap.fill(0, k.testIn, k.testIn + 48);
    return k.heap.slice(k.testOut, k.testOut + 16);
  },
};

// Where node:crypto is absent (browsers), aes.ts's synchronous AES-256-CBC runs here.
setSyncCbcFallback({ encrypt: kernelAes256CbcEncrypt, decrypt: kernelAes256CbcDecrypt, available: ratchetKernelAvailable });
