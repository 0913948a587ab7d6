// XEP-0384 0.9 §5.3 / 0.3.0 §4.3 fetching many device lists and bundles (XEP-0163 PEP) for a first send to a
// big group: a bounded number of fetches in flight, each with a deadline, so one silent server neither floods
// the connection nor holds the send forever.
import { OmemoError } from '../../crypto/errors';

/**
 * PEP fetches (device lists, bundles) in flight at once during one send. A first send to a room of 300 members
 * needs 300+ device lists and ~900 bundles: unbounded, that is a burst of ~1200 iqs that servers throttle
 * (Prosody's per-session stanza limits) and that holds as many pending promises.
 */
export const PEP_FETCH_CONCURRENCY = 32;

/**
 * Longest wait for one PEP fetch, in ms. A member whose server does not answer is reported (`peer-timeout`) and
 * left out of this send instead of holding it: the next send fetches again.
 */
export const PEP_FETCH_TIMEOUT_MS = 10_000;

/**
 * `promise`, or OmemoError `peer-timeout` after `ms` (the promise itself is left to settle unobserved).
 * @throws OmemoError `peer-timeout` (rejects); what `promise` rejects with.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OmemoError('peer-timeout', `${what}: no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined); // a late rejection after the deadline is nobody's business
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls pending, in order of `items`; resolves when all have
 * settled. `fn` must not reject (callers record failures themselves): a rejection is rethrown at the end.
 * @throws RangeError for a concurrency below 1.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be at least 1, got ${concurrency}`);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
