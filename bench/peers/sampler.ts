// The sampling loop of bench:peers: untimed preparation, one timed call, an untimed self-check, until a
// minimum sample count and a time budget are both reached (or a hard maximum). Medians, not means: a GC
// pause or a stray heartbeat lands in a few samples and does not move the median.

/** How many samples a case takes. */
export interface SamplePolicy {
  /** Untimed runs first (JIT warm-up). */
  warmup: number;
  /**
   * After `warmup`, keep warming up until this much wall time (ms) has passed, at most `warmupMax` runs in all: V8
   * optimises a function only after a few thousand calls, and a case that samples before that measures the tiers
   * below (a decrypt measured 35.6 µs as the median of its first 3000 runs, 27 µs once warm). Same for every library.
   */
  warmupMs?: number;
  warmupMax?: number;
  /** At least this many timed samples. */
  min: number;
  /** At most this many (bounds the runtime of slow libraries and protects state limits). */
  max: number;
  /** Keep sampling until this much wall time (ms, preparation included) has passed, once `min` is reached. */
  budgetMs: number;
}

export interface MeasureOptions<T> {
  policy: SamplePolicy;
  /** Untimed, before each run. */
  prepare?: () => void | Promise<void>;
  /** The timed work. */
  run: () => T | Promise<T>;
  /** Untimed, after each run: throw when the result is wrong. */
  check?: (result: T) => void;
  /** Divide each sample by this (devices of a fan-out). */
  per?: number;
}

export interface Measured {
  /** Median µs per `per`. */
  medianUs: number;
  samples: number;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs the loop described by the policy and returns the median time per `per` in µs. */
export async function measure<T>(o: MeasureOptions<T>): Promise<Measured> {
  const per = o.per ?? 1;
  const warmStart = performance.now();
  const { warmup, warmupMs = 0, warmupMax = warmup } = o.policy;
  for (let i = 0; i < warmup || (i < warmupMax && performance.now() - warmStart < warmupMs); i++) {
    await o.prepare?.();
    const result = await o.run(); // not inside `o.check?.(…)`: without a check, that would skip the run
    o.check?.(result);
  }
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < o.policy.max &&
    (times.length < o.policy.min || performance.now() - start < o.policy.budgetMs)
  ) {
    await o.prepare?.();
    const t0 = performance.now();
    const result = await o.run();
    const dt = performance.now() - t0;
    o.check?.(result);
    times.push(dt);
  }
  return { medianUs: (median(times) * 1000) / per, samples: times.length };
}
