// Loading of the crypto back ends (the fixed choices of the project): libsodium-wrappers-sumo for curve work,
// HMAC and SHA-512, and node:crypto when present (AES, fast X25519). `loadSodium()` awaits both once;
// `cryptoReady()` (ready.ts) calls it.
import { OmemoError } from './errors';
import sodiumModule from 'libsodium-wrappers-sumo';

export type Sodium = typeof sodiumModule;
export type NodeCrypto = typeof import('node:crypto');

let sodiumInstance: Sodium | undefined;
let nodeCryptoInstance: NodeCrypto | undefined;
let loadPromise: Promise<void> | undefined;

/**
 * Initialises libsodium's WASM and, on Node, node:crypto. Memoised. Applications call `cryptoReady()`
 * (ready.ts), which also loads the ratchet kernel.
 * @throws never synchronously; the promise rejects if libsodium's WASM cannot be instantiated.
 */
export function loadSodium(): Promise<void> {
  loadPromise ??= (async () => {
    // Under ESM the wrappers' named exports are not usable before `ready`; use the default export.
    const mod = sodiumModule as unknown as { ready?: Promise<void>; default?: Sodium };
    const s = (mod.ready !== undefined ? mod : mod.default) as Sodium;
    await s.ready;
    sodiumInstance = s;
    if (typeof process !== 'undefined' && process.versions?.node) {
      try {
        // Only reached on Node; the comments keep webpack and Vite from trying to bundle it for browsers.
        nodeCryptoInstance = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:crypto');
      } catch {
        nodeCryptoInstance = undefined;
      }
    }
  })();
  return loadPromise;
}

/** The initialised libsodium; throws if `cryptoReady()` has not resolved. */
export function sodium(): Sodium {
  if (sodiumInstance === undefined)
    throw new OmemoError('not-initialised', 'crypto is not initialised: await cryptoReady() first');
  return sodiumInstance;
}

/** node:crypto when running on Node (after `cryptoReady()`), otherwise undefined. */
export function nodeCrypto(): NodeCrypto | undefined {
  return nodeCryptoInstance;
}

/** The raw WASM exports of libsodium (used where the wrappers allocate too much or lack a function). */
export interface SodiumRaw {
  _malloc(size: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  _crypto_auth_hmacsha256(out: number, input: number, lengthLow: number, lengthHigh: number, key: number): number;
  _crypto_kdf_hkdf_sha256_extract(
    prk: number,
    salt: number,
    saltLength: number,
    ikm: number,
    ikmLength: number,
  ): number;
  _crypto_kdf_hkdf_sha256_expand(out: number, outLength: number, info: number, infoLength: number, prk: number): number;
  _crypto_hash_sha512(out: number, input: number, lengthLow: number, lengthHigh: number): number;
  _crypto_core_ed25519_scalar_reduce(out: number, input: number): void;
}

let scratchPtr = 0;
let scratchSize = 0;

/** libsodium's raw module (after `cryptoReady()`). */
export function sodiumRaw(): SodiumRaw {
  return (sodium() as unknown as { libsodium: SodiumRaw }).libsodium;
}

/**
 * A reusable region of WASM memory of at least `size` bytes, for copying call arguments in and results out.
 * Callers must finish with it before the next call (everything here is synchronous, so that holds).
 */
export function wasmScratch(size: number): number {
  if (size > scratchSize) {
    const raw = sodiumRaw();
    if (scratchPtr !== 0) raw._free(scratchPtr);
    scratchSize = Math.max(size, 4096);
    scratchPtr = raw._malloc(scratchSize);
    if (scratchPtr === 0) throw new RangeError(`cannot allocate ${scratchSize} bytes of WASM memory`);
  }
  return scratchPtr;
}
