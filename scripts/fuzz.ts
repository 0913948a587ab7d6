// The long fuzz run (`npm run fuzz -- --minutes N [--seed S] [--only NAME[,NAME]] [--batch K]`): the properties
// of test/fuzz/properties.ts in batches for N minutes, time shared by weight, with a seed printed for replay.
//
// Batch K of property P in a run with seed S uses fast-check seed seedFor(S, P, K) and P's batchRuns, whatever
// else runs: `--seed S` replays a run, `--seed S --only P --batch K` replays exactly one failing batch.
// Exit status 1 on a failure.

import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PROPERTIES, propertyNamed, seedFor, type FuzzOutcome, type FuzzProperty } from '../test/fuzz/properties';

const PROGRESS_EVERY_MS = 30_000;

interface Tally {
  property: FuzzProperty;
  batches: number;
  runs: number;
  ms: number;
}

function usage(message: string): never {
  console.error(message);
  console.error('usage: npm run fuzz -- --minutes N [--seed S] [--only NAME[,NAME…]] [--batch K]');
  console.error(`properties: ${PROPERTIES.map((p) => p.name).join(', ')}`);
  process.exit(2);
}

function parseCli() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        minutes: { type: 'string' },
        seed: { type: 'string' },
        only: { type: 'string' },
        batch: { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const int = (v: string | undefined, what: string, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) usage(`--${what} must be an integer in ${min}..${max}, got ${v}`);
    return n;
  };
  const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
  if (minutes !== undefined && !(minutes > 0)) usage(`--minutes must be a positive number, got ${values.minutes}`);
  const batch = int(values.batch, 'batch', 0, 2 ** 31 - 1);
  let only: FuzzProperty[];
  try {
    only = values.only === undefined ? [...PROPERTIES] : values.only.split(',').map((n) => propertyNamed(n.trim()));
  } catch (e) {
    usage((e as Error).message);
  }
  if (batch !== undefined && only.length !== 1) usage('--batch needs exactly one property (--only NAME)');
  if (batch === undefined && minutes === undefined) usage('--minutes is required (or --only NAME --batch K)');
  const seed = int(values.seed, 'seed', 0, 2 ** 32 - 1) ?? randomInt(2 ** 32);
  return { minutes: minutes ?? 0, seed, only, batch };
}

function table(tallies: readonly Tally[]): string {
  const rows = tallies.map((t) => {
    const rate = t.ms > 0 ? Math.round((t.runs / t.ms) * 1000) : 0;
    return (
      `  ${t.property.name.padEnd(26)} ${String(t.runs).padStart(10)} inputs  ` +
      `${String(t.batches).padStart(6)} batches  ` +
      `${(t.ms / 1000).toFixed(1).padStart(8)} s  ${String(rate).padStart(7)}/s`
    );
  });
  const total = tallies.reduce((n, t) => n + t.runs, 0);
  return `${rows.join('\n')}\n  ${'total'.padEnd(26)} ${String(total).padStart(10)} inputs`;
}

function reportFailure(seed: number, out: FuzzOutcome, batch: number, tallies: readonly Tally[]): never {
  console.log(`\nFAILED: ${out.name}, batch ${batch} (fast-check seed ${out.seed})\n${out.report}`);
  console.log(`\nreplay this batch: npm run fuzz -- --seed ${seed} --only ${out.name} --batch ${batch}`);
  console.log(`replay the run:    npm run fuzz -- --seed ${seed} --minutes …\n\n${table(tallies)}`);
  process.exit(1);
}

async function main(): Promise<void> {
  const { minutes, seed, only, batch } = parseCli();
  const tallies: Tally[] = only.map((property) => ({ property, batches: 0, runs: 0, ms: 0 }));
  if (batch !== undefined) {
    const p = only[0]!;
    console.log(`fuzz seed ${seed}: ${p.name}, batch ${batch} only (${p.batchRuns} inputs)`);
    const out = await p.run(seedFor(seed, p.name, batch), p.batchRuns);
    Object.assign(tallies[0]!, { batches: 1, runs: out.runs, ms: out.ms });
    if (out.failed) reportFailure(seed, out, batch, tallies);
    console.log(`passed\n${table(tallies)}`);
    return;
  }
  const replay = `npm run fuzz -- --seed ${seed} --minutes ${minutes}`;
  console.log(`fuzz seed ${seed} for ${minutes} min, ${only.length} properties (replay: ${replay})`);
  const started = Date.now();
  const deadline = started + minutes * 60_000;
  let nextProgress = started + PROGRESS_EVERY_MS;
  while (Date.now() < deadline) {
    // The property furthest behind its share of the time goes next.
    const t = tallies.reduce((a, b) => (b.ms / b.property.weight < a.ms / a.property.weight ? b : a));
    const out = await t.property.run(seedFor(seed, t.property.name, t.batches), t.property.batchRuns);
    t.runs += out.runs;
    t.ms += out.ms;
    if (out.failed) reportFailure(seed, out, t.batches, tallies);
    t.batches += 1;
    if (Date.now() >= nextProgress) {
      nextProgress += PROGRESS_EVERY_MS;
      const total = tallies.reduce((n, x) => n + x.runs, 0);
      console.log(`  ${((Date.now() - started) / 60_000).toFixed(1)} min: ${total} inputs`);
    }
  }
  const elapsed = ((Date.now() - started) / 60_000).toFixed(1);
  console.log(`\nall properties passed; seed ${seed}, ${elapsed} min\n${table(tallies)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
