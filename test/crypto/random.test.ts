// src/crypto/random.ts: randomBytes (CSPRNG) and seededRng (deterministic, for tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { constantTimeEqual, toHex } from '../../src/crypto/bytes';
import {
  RANDOM_POOL_BYTES,
  RANDOM_POOL_MAX_DRAW_BYTES,
  randomBytes,
  seededRng,
  type Rng,
} from '../../src/crypto/random';
import { cryptoReady } from '../../src/crypto/ready';
import { isPlainU8, seq, throwsArg } from './helpers';

test.before(async () => {
  await cryptoReady();
});

function allZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

test('randomBytes: exact lengths, plain Uint8Array, including across the 65536-byte getRandomValues limit', () => {
  for (const n of [0, 1, 16, 32, 64, 65535, 65536, 65537, 131072, 200001]) {
    const out = randomBytes(n);
    isPlainU8(out);
    assert.is(out.length, n, `length ${n}`);
  }
  const big = randomBytes(200001);
  // Each 65536-byte chunk (and the 3393-byte tail) must be filled, not left zero.
  for (let off = 0; off < big.length; off += 65536) {
    assert.not.ok(allZero(big.subarray(off, Math.min(big.length, off + 65536))), `chunk at ${off} is all zero`);
  }
  assert.not.ok(allZero(big.subarray(big.length - 64)), 'tail is all zero');
});

test('randomBytes: successive outputs differ and look uniform', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(toHex(randomBytes(16)));
  assert.is(seen.size, 200, '200 random 16-byte strings must be distinct');
  // 1 MiB: every byte value must occur (expected ~4096 times each) and the bit balance must be near 1/2.
  const data = randomBytes(1 << 20);
  const counts = new Uint32Array(256);
  let ones = 0;
  for (const b of data) {
    counts[b]!++;
    let x = b;
    while (x) {
      ones += x & 1;
      x >>= 1;
    }
  }
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  assert.ok(min > 3500 && max < 4700, `byte counts out of range: min ${min}, max ${max}`);
  const fraction = ones / (8 << 20);
  assert.ok(Math.abs(fraction - 0.5) < 0.002, `bit balance ${fraction}`);
});

test('randomBytes: small draws come from a pool: one getRandomValues call per RANDOM_POOL_BYTES, not one per draw', () => {
  // One call cost 2-4 µs inside a session build (three draws a build); slicing a pooled buffer costs ~0.1 µs.
  const crypto = globalThis.crypto;
  const original = crypto.getRandomValues;
  let calls = 0;
  const counting = <T extends ArrayBufferView | null>(array: T): T => {
    calls++;
    return original.call(crypto, array as never) as T;
  };
  const seen = new Set<string>();
  let drawn = 0;
  crypto.getRandomValues = counting as typeof crypto.getRandomValues;
  try {
    // Sizes that do not divide the pool, so draws straddle refills; every draw must still be fresh bytes.
    for (let i = 0; i < 600; i++) {
      const n = [32, 17, 2, RANDOM_POOL_MAX_DRAW_BYTES][i % 4]!;
      const out = randomBytes(n);
      isPlainU8(out);
      assert.is(out.length, n);
      if (n >= 17) seen.add(toHex(out));
      drawn += n;
    }
  } finally {
    crypto.getRandomValues = original;
  }
  assert.is(seen.size, 450, 'every draw of 17 bytes or more must differ from every other');
  assert.ok(calls <= Math.ceil(drawn / RANDOM_POOL_BYTES) + 1, `${calls} getRandomValues calls for ${drawn} bytes`);
});

test('randomBytes: draws above RANDOM_POOL_MAX_DRAW_BYTES bypass the pool and leave no pooled bytes behind', () => {
  const a = randomBytes(RANDOM_POOL_MAX_DRAW_BYTES + 1);
  const b = randomBytes(RANDOM_POOL_MAX_DRAW_BYTES + 1);
  assert.is(a.length, RANDOM_POOL_MAX_DRAW_BYTES + 1);
  assert.is.not(toHex(a), toHex(b));
  // A large draw's array is its own (not a view of the pool): changing it changes no later draw.
  a.fill(0);
  assert.not.ok(allZero(randomBytes(32)));
});

test('randomBytes: bad lengths throw TypeError/RangeError naming length', () => {
  throwsArg(() => randomBytes(-1), RangeError, 'length');
  throwsArg(() => randomBytes(1.5), TypeError, 'length');
  throwsArg(() => randomBytes(Number.NaN), TypeError, 'length');
  throwsArg(() => randomBytes('32' as unknown as number), TypeError, 'length');
  throwsArg(() => randomBytes(undefined as unknown as number), TypeError, 'length');
});

function draw(rng: Rng, lengths: number[]): string[] {
  return lengths.map((n) => toHex(rng(n)));
}

const LENGTHS = [1, 31, 32, 33, 64, 100, 0, 7, 1000];

test('seededRng: the same seed gives the same sequence; lengths are exact', () => {
  const seed = seq(32, 5);
  const a = draw(seededRng(seed), LENGTHS);
  const b = draw(seededRng(seq(32, 5)), LENGTHS);
  assert.equal(a, b);
  a.forEach((hex, i) => {
    assert.is(hex.length, LENGTHS[i]! * 2, `length ${LENGTHS[i]}`);
  });
  const out = seededRng(seed)(48);
  isPlainU8(out);
});

test('seededRng: different seeds (also seeds of other lengths) give different streams', () => {
  const streams = [seq(32), seq(32, 1), seq(31), seq(33), new Uint8Array(0), seq(1, 1), seq(64, 3)].map((s) =>
    draw(seededRng(s), [32, 32]).join(''),
  );
  assert.is(new Set(streams).size, streams.length, 'each seed must give its own stream');
});

test('seededRng: seeds that differ only by trailing zero bytes give different streams', () => {
  // HMAC zero-pads its key to the block size, so a seed used directly as an HMAC key makes
  // [], [0], [0,0] ... (up to 64 bytes) and [1], [1,0] ... the same seed.
  const seeds = [
    new Uint8Array(0),
    new Uint8Array(1),
    new Uint8Array(32),
    new Uint8Array(64),
    Uint8Array.of(1),
    Uint8Array.of(1, 0),
  ];
  const streams = seeds.map((s) => draw(seededRng(s), [32]).join(''));
  assert.is(new Set(streams).size, seeds.length, `colliding streams: ${streams.join(' ')}`);
});

test('seededRng: successive calls continue the stream instead of repeating', () => {
  const rng = seededRng(seq(16));
  const outs = Array.from({ length: 50 }, () => toHex(rng(32)));
  assert.is(new Set(outs).size, 50);
  const long = seededRng(seq(16))(96);
  assert.not.ok(constantTimeEqual(long.subarray(0, 32), long.subarray(32, 64)), 'blocks inside one call must differ');
  assert.not.ok(constantTimeEqual(long.subarray(32, 64), long.subarray(64, 96)));
});

test('seededRng: later changes to the seed array do not change the stream', () => {
  const seed = seq(32, 9);
  const rng = seededRng(seed);
  seed.fill(0);
  assert.equal(draw(rng, [32, 17]), draw(seededRng(seq(32, 9)), [32, 17]));
});

test('seededRng: returned arrays are independent (mutating one does not affect later output)', () => {
  const r1 = seededRng(seq(8));
  const r2 = seededRng(seq(8));
  const x = r1(32);
  x.fill(0);
  assert.is(toHex(r1(32)), toHex((r2(32), r2(32))));
});

test('seededRng: bad seed or length throw TypeError/RangeError naming the parameter', () => {
  throwsArg(() => seededRng('seed' as unknown as Uint8Array), TypeError, 'seed');
  throwsArg(() => seededRng([1, 2, 3] as unknown as Uint8Array), TypeError, 'seed');
  const rng = seededRng(seq(4));
  throwsArg(() => rng(-1), RangeError, 'length');
  throwsArg(() => rng(2.5), TypeError, 'length');
});

test.run();
