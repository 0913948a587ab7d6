// Waiting in the store conformance suite and the latency wrapper without Node-only timers where they are missing
// (a store tested in a browser): one turn of the event loop, or a delay in milliseconds.

type Schedule = (callback: () => void) => void;

/** setImmediate where it exists (Node.js, Bun, Deno); elsewhere a zero-delay timer. */
const scheduleTurn: Schedule =
  typeof globalThis.setImmediate === 'function'
    ? (callback) => globalThis.setImmediate(callback)
    : (callback) => globalThis.setTimeout(callback, 0);

/** Resolves after the current turn of the event loop: pending I/O and timers get to run first. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => scheduleTurn(resolve));
}

/**
 * Resolves after `ms` milliseconds. Timers round anything below 1 ms up to 1 ms, so a shorter wait is one turn
 * of the event loop.
 */
export function wait(ms: number): Promise<void> {
  return ms < 1 ? nextTurn() : new Promise((resolve) => globalThis.setTimeout(resolve, ms));
}
