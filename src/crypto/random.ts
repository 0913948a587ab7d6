// Randomness for keys, IVs and nonces: crypto.getRandomValues (libsodium's randombytes_buf is ~30× slower
// through the wrappers), with an injectable RNG so tests can replay a failing case.
import { assertBytes, assertInt } from './bytes';
import { hmacSha256, sha512 } from './hmac';

/** A source of random bytes. Production code uses `randomBytes`; tests inject `seededRng`. */
export type Rng = (length: number) => Uint8Array;

/** getRandomValues fills at most 65 536 bytes per call. */
const MAX_GET_RANDOM_BYTES = 65536;

/**
 * Bytes taken from getRandomValues at once for small draws. One call costs 1.4-4 µs (three draws in a session build:
 * two private keys and the pre key choice; the random padding of every SCE envelope), slicing the pool ~0.1 µs.
 * 4 KiB serves 128 private keys or ~40 paddings.
 */
export const RANDOM_POOL_BYTES = 4096;

/**
 * Draws up to this size come from the pool (keys, IVs, nonces, file key material: 2 to 48 bytes; an SCE padding: up
 * to MAX_RANDOM_RPAD_CHARS = 200); larger go direct.
 */
export const RANDOM_POOL_MAX_DRAW_BYTES = 256;

// Unused random bytes; pool[poolOffset..] is what is left. A drawn range is zeroed at once, so the pool never
// holds a copy of a key already handed out (only bytes no one has seen yet).
const pool = new Uint8Array(RANDOM_POOL_BYTES);
let poolOffset = RANDOM_POOL_BYTES;

/** Cryptographically secure random bytes. */
export function randomBytes(length: number): Uint8Array {
  assertInt(length, 'length', 0, 2 ** 30);
  if (length <= RANDOM_POOL_MAX_DRAW_BYTES) {
    if (poolOffset + length > RANDOM_POOL_BYTES) {
      globalThis.crypto.getRandomValues(pool);
      poolOffset = 0;
    }
    const end = poolOffset + length;
    const out = pool.slice(poolOffset, end);
    pool.fill(0, poolOffset, end);
    poolOffset = end;
    return out;
  }
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_GET_RANDOM_BYTES) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_GET_RANDOM_BYTES)));
  }
  return out;
}

/**
 * A deterministic RNG for tests (HMAC-SHA256 in counter mode over the seed). Never use it for real keys.
 */
export function seededRng(seed: Uint8Array): Rng {
  assertBytes(seed, 'seed');
  // Hash the seed: as a raw HMAC key, seeds differing only in trailing zero bytes would collide.
  const key = sha512(seed).slice(0, 32);
  let counter = 0;
  return (length: number) => {
    assertInt(length, 'length', 0, 2 ** 30);
    const out = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += 32) {
      const block = new Uint8Array(4);
      new DataView(block.buffer).setUint32(0, counter++);
      out.set(hmacSha256(key, block).subarray(0, Math.min(32, length - offset)), offset);
    }
    return out;
  };
}
