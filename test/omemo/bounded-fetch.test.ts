// The bounded, timed fetching of a big first send (src/omemo/manager/bounded-fetch.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isOmemoError } from '../../src/crypto/errors';
import { forEachBounded, withTimeout } from '../../src/omemo/manager/bounded-fetch';

test('forEachBounded: every item once, in order of start, never more than the bound in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const started: number[] = [];
  await forEachBounded(
    Array.from({ length: 50 }, (_, i) => i),
    7,
    async (i) => {
      started.push(i);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, i % 3));
      inFlight--;
    },
  );
  assert.equal(
    started,
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.is(most, 7);
  await forEachBounded([], 3, async () => assert.unreachable());
  let bad: unknown;
  await forEachBounded([1], 0, async () => undefined).catch((e: unknown) => (bad = e));
  assert.instance(bad, RangeError);
});

test('withTimeout: the value in time, peer-timeout after the deadline, the rejection as it is', async () => {
  assert.is(await withTimeout(Promise.resolve(5), 50, 'x'), 5);
  const never = new Promise<number>(() => undefined);
  const t = Date.now();
  let error: unknown;
  await withTimeout(never, 30, 'fetching a list').catch((e: unknown) => (error = e));
  assert.ok(isOmemoError(error, 'peer-timeout'), String(error));
  assert.match((error as Error).message, 'fetching a list: no answer within 30 ms');
  assert.ok(Date.now() - t < 1000);
  const boom = new Error('boom');
  await withTimeout(Promise.reject(boom), 50, 'x').catch((e: unknown) => (error = e));
  assert.is(error, boom);
  // A late rejection after the deadline is not an unhandled rejection.
  await withTimeout(new Promise((_, reject) => setTimeout(() => reject(boom), 40)), 10, 'x').catch(() => 0);
  await new Promise((r) => setTimeout(r, 60));
  assert.is(await withTimeout(Promise.resolve('inf'), Infinity, 'x'), 'inf');
});

test.run();
