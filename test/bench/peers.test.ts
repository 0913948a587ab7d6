// bench:peers adapters (bench/peers/*): with a few devices, every case's work is real — key exchanges and
// ratchet messages produced by each implementation decrypt at their recipients to the payload, built
// sessions are usable, the decrypt cases decrypt what they claim. No timings are asserted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadAdapter } from '../../bench/peers/registry';
import { measure, median } from '../../bench/peers/sampler';
import { ALL_IMPLS, makePayload, type FanoutWorld, type PeerAdapter } from '../../bench/peers/types';

const DEVICES = 3;

async function openAll(
  world: FanoutWorld,
  out: Awaited<ReturnType<FanoutWorld['fanout']>>,
  indices: number[],
  label: string,
): Promise<void> {
  const payload = makePayload();
  for (const i of indices)
    assert.equal(new Uint8Array(await world.open(out, i)), payload, `${label}: device ${i} decrypts the payload`);
}

async function flags(out: Awaited<ReturnType<FanoutWorld['fanout']>>): Promise<boolean[]> {
  return Array.from({ length: out.count }, (_, i) => out.isKeyExchange(i));
}

for (const impl of ALL_IMPLS) {
  let adapter: PeerAdapter;
  const load = async () => (adapter ??= await loadAdapter(impl));

  test(`${impl}: session-build makes a usable session with a fresh address`, async () => {
    const a = await load();
    const b = await a.createBuilder({ pool: 2 });
    for (let i = 0; i < 3; i++) {
      b.prepare();
      await b.build();
    }
    assert.ok(await b.lastBuildUsable(), 'the last built session encrypts a key exchange the recipient decrypts');
  });

  test(`${impl}: fan-out sends key exchanges after building, ratchet messages after the answers`, async () => {
    const a = await load();
    const world = await a.createWorld(DEVICES);
    const payload = makePayload();
    await world.buildAll();
    const first = await world.fanout(payload, DEVICES);
    assert.equal(await flags(first), [true, true, true], 'fanout-first: key exchanges');
    await openAll(world, first, [0, 1, 2], 'fanout-first');

    await world.answerAll(payload);
    await world.beforeFanout?.(DEVICES);
    const steady = await world.fanout(payload, DEVICES);
    assert.equal(await flags(steady), [false, false, false], 'fanout-steady: plain ratchet messages');
    await openAll(world, steady, [0, 1, 2], 'fanout-steady');

    await world.beforeFanout?.(2);
    const subset = await world.fanout(payload, 2);
    assert.is(subset.count, 2, 'a fan-out to the first 2 devices');
    await openAll(world, subset, [0, 1], 'fanout-steady subset');
  });

  test(`${impl}: decrypt-steady and decrypt-ratchet decrypt the prepared message`, async () => {
    const a = await load();
    const pair = await a.createPair();
    const payload = makePayload();
    for (let i = 0; i < 3; i++) {
      await pair.prepareSteady(payload);
      assert.equal(new Uint8Array(await pair.decrypt()), payload, `steady ${i}`);
      await pair.prepareRatchet(payload);
      assert.equal(new Uint8Array(await pair.decrypt()), payload, `ratchet ${i}`);
    }
    assert.ok((await pair.recordBytes()) > 0, 'a stored record has a size');
  });
}

test('privacyresearch: addresses served by copied records encrypt to their template recipient', async () => {
  const a = await loadAdapter('privacyresearch');
  const world = await a.createWorld(2, { templates: 1 });
  const payload = makePayload();
  await world.buildAll();
  const first = await world.fanout(payload, 2);
  assert.equal(await flags(first), [true, true]);
  await openAll(world, first, [1], 'copied address, key exchange');
  await world.answerAll(payload);
  const steady = await world.fanout(payload, 2);
  assert.equal(await flags(steady), [false, false]);
  await openAll(world, steady, [1], 'copied address, ratchet message');
});

test('sampler: honours min/max, runs prepare untimed before every run, reports per-item medians', async () => {
  let prepared = 0;
  let runs = 0;
  const m = await measure({
    policy: { warmup: 2, min: 5, max: 7, budgetMs: 60_000 },
    prepare: () => {
      prepared++;
    },
    run: () => ++runs,
    check: (r) => assert.ok(r > 0),
    per: 10,
  });
  assert.is(m.samples, 7, 'stops at max');
  assert.is(runs, 9, 'warm-up runs are not samples');
  assert.is(prepared, runs, 'prepare before every run');
  assert.ok(m.medianUs >= 0);
  assert.is(median([5, 1, 3]), 3);
  assert.is(median([4, 1, 3, 2]), 2.5);
});

test('sampler: warm-up runs the case also when it has no check', async () => {
  // session-build passes no `check`; its warm-up once called only `prepare` (`o.check?.(await o.run())` skips
  // the argument when check is undefined), so its samples started at the first, unoptimised build.
  let runs = 0;
  let prepared = 0;
  const m = await measure({
    policy: { warmup: 3, min: 2, max: 2, budgetMs: 0 },
    prepare: () => {
      prepared++;
    },
    run: () => {
      runs++;
    },
  });
  assert.is(m.samples, 2);
  assert.is(runs, 5, 'three warm-up runs and two samples');
  assert.is(prepared, 5);
});

test.run();
