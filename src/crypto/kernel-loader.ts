// Loading of the ratchet kernel (wasm/README.md "ratchet-kernel"; WebAssembly JS API: WebAssembly.Module,
// WebAssembly.instantiate): compiles the embedded module, checks its layout table against the limits of
// ratchet-send-lanes.ts, and hands the instance and the addresses of its buffers to the files that use it.
// Nothing happens at import: `cryptoReady()` (ready.ts) calls `loadRatchetKernel()`, and the first
// synchronous use compiles the module where the engine allows it.
import { fromBase64 } from './bytes';
import { OmemoError } from './errors';
import { RATCHET_KERNEL_WASM_BASE64 } from './generated/ratchet-kernel-wasm';
import {
  RATCHET_MAX_ASSOCIATED_DATA_BYTES,
  RATCHET_MAX_HEADER_BYTES,
  RATCHET_MAX_INFO_BYTES,
  RATCHET_MAX_PLAINTEXT_BYTES,
} from './ratchet-send-lanes';

/** Lanes handed to the kernel per call (its buffer capacity); longer batches are processed in chunks. */
export const KERNEL_MAX_LANES_PER_CALL = 256;
/** AES-CBC bytes per kernel call; longer inputs are chained over several calls. */
export const KERNEL_AES_CHUNK_BYTES = 16384;
/** Per-lane bytes after the AD ‖ header ‖ ciphertext that the kernel needs for SHA-256 padding. */
export const KERNEL_SHA_PAD_BYTES = 72;
/** Bytes of MAC data (rk_open) or prefix ‖ plaintext (rk_seal) one single-message kernel call takes. */
export const KERNEL_OPEN_MAX_DATA_BYTES = 32768;
/** Layout version the kernel reports from rk_init(); a mismatch disables it. */
const KERNEL_LAYOUT_VERSION = 2;

/** The release module's exports (wasm/README.md "Exports"). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  rk_init(): number;
  rk_send_batch(count: number, stride: number, infoLength: number, plaintextLength: number): number;
  rk_aes256_cbc_encrypt(length: number, final: number): number;
  rk_aes256_cbc_decrypt(length: number, final: number): number;
  rk_open(
    flags: number,
    infoLength: number,
    macDataLength: number,
    ctOffset: number,
    ctLength: number,
    macLength: number,
  ): number;
  rk_seal(infoLength: number, prefixLength: number, plaintextLength: number): number;
  rk_hkdf(saltLength: number, ikmLength: number, infoLength: number, outLength: number): number;
}

/** The instantiated kernel and the addresses of its buffers (from rk_init's layout table). */
export interface Kernel {
  x: KernelExports;
  /** The whole linear memory; its size is fixed (no memory.grow), so this view stays valid. */
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
  /** rk_open/rk_seal buffers: key 32 ‖ MAC 32 ‖ keys out 48 ‖ info ‖ data. */
  openKey: number;
  openMac: number;
  openKeysOut: number;
  openInfo: number;
  openData: number;
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
    [17, KERNEL_OPEN_MAX_DATA_BYTES],
  ];
  if (expected.some(([i, v]) => u32[t + i] !== v)) return undefined;
  const maxStride = u32[t + 6]!;
  const laneBytes = RATCHET_MAX_ASSOCIATED_DATA_BYTES + RATCHET_MAX_HEADER_BYTES + RATCHET_MAX_PLAINTEXT_BYTES + 16;
  if (maxStride < laneBytes + KERNEL_SHA_PAD_BYTES) return undefined;
  const aes = u32[t + 13]!;
  const open = u32[t + 16]!;
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
    openKey: open,
    openMac: open + 32,
    openKeysOut: open + 64,
    openInfo: open + 112,
    openData: open + 112 + RATCHET_MAX_INFO_BYTES,
  };
}

/**
 * The kernel, compiled synchronously on first use. Browsers refuse synchronous compilation of modules this
 * size on the main thread; there the asynchronous compilation in `cryptoReady()` provides it. Without
 * WebAssembly or SIMD support the module does not compile and this stays undefined.
 */
export function loadedKernel(): Kernel | undefined {
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

/**
 * Compiles and instantiates the kernel asynchronously (as browsers require on the main thread). Memoised;
 * never rejects: without WebAssembly SIMD the kernel stays unavailable and the portable paths are used.
 */
export function loadRatchetKernel(): Promise<void> {
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

/** True when the WebAssembly kernel is loaded, or could be compiled synchronously now. */
export function ratchetKernelAvailable(): boolean {
  return loadedKernel() !== undefined;
}

/**
 * The loaded kernel (compiled synchronously if need be).
 * @throws OmemoError `crypto-unavailable` when there is no kernel (no WebAssembly SIMD, or not loaded yet).
 */
export function requireKernel(): Kernel {
  const k = loadedKernel();
  if (k === undefined) {
    const why = 'no WebAssembly SIMD, or not loaded yet: await cryptoReady()';
    throw new OmemoError('crypto-unavailable', `the WebAssembly ratchet kernel is not available (${why})`);
  }
  return k;
}
