// A latency-injecting OmemoStore wrapper (omemo-wasm/testing): every read and commit of the wrapped store takes a
// random 0…maxDelayMs, as with a networked store, so callers that race a read with a commit show it. The store
// conformance suite runs under it as well as without it, and so do the session manager's concurrency tests.
import { randomBytes, type Rng } from '../crypto/random';
import type { OmemoStore } from '../omemo/store/store';
import { wait } from './turns';

/**
 * The methods that are delayed: every read (`load…`) and `commit`, by name, so that a read added to
 * OmemoStore later is delayed too.
 */
export const DELAYED_METHOD = /^(?:load[A-Z]\w*|commit)$/;

/** Resolution of the random delay: 2^16 steps between 0 and maxDelayMs. */
const DELAY_STEPS = 0x10000;

/** The options of `withLatency`. */
export interface LatencyOptions {
  /** Longest total delay of one call (ms); each call waits a uniform random 0…maxDelayMs. */
  maxDelayMs: number;
  /**
   * Source of the delays; a seeded RNG makes the sequence of delays repeatable. Default: random bytes from
   * `crypto.getRandomValues`.
   */
  rng?: Rng;
}

/** What a latency-wrapped store adds: how many calls were delayed, and by how much in total. */
export interface LatencyStats {
  /** Calls delayed so far. */
  calls: number;
  /** Their delays added up (ms). */
  totalDelayMs: number;
}

const statsOf = new WeakMap<object, LatencyStats>();

/**
 * The delay statistics of a store made by `withLatency` (live: they grow with every call).
 * @throws TypeError when `store` was not made by `withLatency`.
 */
export function latencyStats(store: object): LatencyStats {
  const s = statsOf.get(store);
  if (s === undefined) throw new TypeError('not a store made by withLatency');
  return s;
}

/**
 * Wraps `store` so that each read and commit waits a random 0…maxDelayMs in total, split at random between
 * before the call reaches the store (request latency: a commit applies late) and after it returned (response
 * latency: a read's result is already old when it arrives). Everything else (close, counters, hooks) passes
 * through to `store`, so the result has the wrapped store's type. Methods are looked up at each call, so a test
 * may still replace a method of the wrapped store.
 * @param store Any OmemoStore.
 * @param options `maxDelayMs`, and `rng` for repeatable delays.
 * @throws RangeError when maxDelayMs is not a finite number ≥ 0; TypeError when rng is given and not a function.
 */
export function withLatency<T extends OmemoStore>(store: T, options: LatencyOptions): T {
  const { maxDelayMs, rng = randomBytes } = options;
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
