// A latency-injecting OmemoStore wrapper (store.ts) for tests: every read and commit of the wrapped store
// takes a random 0…maxDelayMs, as with a networked store, so callers that race a read with a commit show it.
// Used by the conformance suites (memory-store.test.ts, sqlite-store.test.ts) and the manager's concurrency
// tests. No tests here.

import type { Rng } from '../../src/crypto/random';
import type { OmemoStore } from '../../src/omemo/store/store';

/**
 * The methods that are delayed: every read (`load…`) and `commit`, by name, so that a read added to
 * OmemoStore later is delayed too.
 */
export const DELAYED_METHOD = /^(?:load[A-Z]\w*|commit)$/;

/** Resolution of the random delay: 2^16 steps between 0 and maxDelayMs. */
const DELAY_STEPS = 0x10000;

export interface LatencyOptions {
  /** Longest total delay of one call (ms); each call waits a uniform random 0…maxDelayMs. */
  maxDelayMs: number;
  /** Source of the delays (a seeded RNG makes the sequence of delays repeatable). */
  rng: Rng;
}

/** What a latency-wrapped store adds: how many calls were delayed, and by how much in total. */
export interface LatencyStats {
  calls: number;
  totalDelayMs: number;
}

const statsOf = new WeakMap<object, LatencyStats>();

/** The delay statistics of a store made by `withLatency`. */
export function latencyStats(store: object): LatencyStats {
  const s = statsOf.get(store);
  if (s === undefined) throw new TypeError('not a store made by withLatency');
  return s;
}

function wait(ms: number): Promise<void> {
  // setTimeout rounds anything below 1 ms up to 1 ms: shorter waits are one turn of the event loop.
  return new Promise((resolve) => (ms < 1 ? setImmediate(resolve) : setTimeout(resolve, ms)));
}

/**
 * Wraps `store` so that each read and commit waits a random 0…maxDelayMs in total, split at random between
 * before the call reaches the store (request latency: a commit applies late) and after it returned
 * (response latency: a read's result is already old when it arrives). Everything else (close, counters,
 * hooks) passes through to `store`, so the result has the wrapped store's type.
 */
export function withLatency<T extends OmemoStore>(store: T, options: LatencyOptions): T {
  const { maxDelayMs, rng } = options;
  if (typeof maxDelayMs !== 'number' || !(maxDelayMs >= 0) || !Number.isFinite(maxDelayMs)) {
    throw new RangeError(`maxDelayMs must be a finite number ≥ 0, got ${String(maxDelayMs)}`);
  }
  if (typeof rng !== 'function') throw new TypeError('rng must be a function');
  const stats: LatencyStats = { calls: 0, totalDelayMs: 0 };
  const fraction = (): number => {
    const b = rng(2);
    return (b[0]! * 256 + b[1]!) / (DELAY_STEPS - 1);
  };
  const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const delayed = (name: string) => {
    return async (...args: unknown[]): Promise<unknown> => {
      const total = fraction() * maxDelayMs;
      const before = total * fraction();
      stats.calls += 1;
      stats.totalDelayMs += total;
      await wait(before);
      // Looked up now, not when wrapped: a test may still replace a method of the wrapped store.
      const result = await methods[name]!.apply(store, args);
      await wait(total - before);
      return result;
    };
  };
  const wrappers = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const proxy = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof property !== 'string' || !DELAYED_METHOD.test(property)) {
        return (value as (...a: unknown[]) => unknown).bind(target);
      }
      let wrapper = wrappers.get(property);
      if (wrapper === undefined) wrappers.set(property, (wrapper = delayed(property)));
      return wrapper;
    },
  });
  statsOf.set(proxy, stats);
  return proxy;
}
