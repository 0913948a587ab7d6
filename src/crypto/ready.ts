// Start-up of the crypto layer (README.md "Layout"; wasm/README.md "Building" on asynchronous compilation): one
// explicit call chain instead of work done at import, so that the package's `"sideEffects": false` holds.
// `cryptoReady()` loads libsodium and node:crypto (sodium.ts), then compiles the ratchet kernel asynchronously
// (kernel-loader.ts) and the Curve25519 field module (field25519.ts), as browsers require for modules of their
// size on the main thread. Nothing is registered: aes.ts calls the kernel's AES-CBC itself where node:crypto is
// absent, ed25519.ts the field module.
import { loadField25519 } from './field25519';
import { loadRatchetKernel } from './kernel-loader';
import { loadSodium } from './sodium';

let readyPromise: Promise<void> | undefined;
let ready = false;

/**
 * Initialises libsodium's WASM, node:crypto on Node, the WebAssembly ratchet kernel where the engine
 * supports WebAssembly SIMD, and the WebAssembly Curve25519 field module. Memoised: call it as often as you
 * like. Every synchronous crypto function requires it to have resolved once.
 * @throws never synchronously; the promise rejects if libsodium's WASM cannot be instantiated (a missing
 *   kernel is not an error: the portable paths are used).
 */
export function cryptoReady(): Promise<void> {
  readyPromise ??= (async () => {
    await loadSodium();
    await loadRatchetKernel();
    await loadField25519();
    ready = true;
  })();
  return readyPromise;
}

/** True once `cryptoReady()` has resolved. */
export function isCryptoReady(): boolean {
  return ready;
}
