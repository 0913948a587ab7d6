// Fuzzing (hardening #8): the one list of named properties, each runnable with a seed and a number of runs.
// test/fuzz/*.test.ts run them in CI with a fixed seed; scripts/fuzz.ts runs them for minutes (`npm run fuzz`).

import fc from 'fast-check';
import { cryptoReady } from '../../src/crypto/ready';
import { cryptoProperties } from './crypto-properties';
import { decryptProperties } from './decrypt-properties';
import {
  bundleProperties,
  deviceListProperties,
  encryptedProperties,
  sceProperties,
  sessionRecordProperties,
  wireProperties,
  xmlProperties,
  type PropertySpec,
} from './parser-properties';

/** The seed of the CI runs (any fixed value; change it only on purpose). */
export const CI_SEED = 0x0e7e70;

/** What one run of a property found. */
export interface FuzzOutcome {
  name: string;
  seed: number;
  /** Inputs generated and checked (shrinking a failure is not counted). */
  runs: number;
  failed: boolean;
  /** fast-check's report: seed, path, the shrunk counterexample and the error. */
  report: string;
  ms: number;
}

/** A property of the list. */
export interface FuzzProperty {
  readonly name: string;
  readonly description: string;
  readonly kind: 'parser' | 'decrypt';
  readonly ciRuns: number;
  readonly batchRuns: number;
  readonly weight: number;
  run(seed: number, numRuns: number): Promise<FuzzOutcome>;
}

function wrap<T, W>(kind: FuzzProperty['kind'], spec: PropertySpec<T, W>): FuzzProperty {
  return {
    name: spec.name,
    description: spec.description,
    kind,
    ciRuns: spec.ciRuns,
    batchRuns: spec.batchRuns,
    weight: spec.weight,
    async run(seed: number, numRuns: number): Promise<FuzzOutcome> {
      await cryptoReady();
      const started = performance.now();
      let details: fc.RunDetails<[T]>;
      if (spec.prepare === undefined && kind === 'parser') {
        const check = spec.check as (input: T, world: W) => void;
        details = fc.check(
          fc.property(spec.arbitrary, (input) => {
            check(input, undefined as W);
          }),
          { seed, numRuns },
        ) as fc.RunDetails<[T]>;
      } else {
        const world = spec.prepare ? await spec.prepare() : (undefined as W);
        details = await fc.check(
          fc.asyncProperty(spec.arbitrary, async (input) => {
            await spec.check(input, world);
          }),
          { seed, numRuns },
        );
      }
      const report = details.failed
        ? clipLines(`${fc.defaultReportMessage(details) ?? 'failed'}\n${errorText(details.errorInstance)}`)
        : '';
      return {
        name: spec.name,
        seed,
        runs: details.numRuns,
        failed: details.failed,
        report,
        ms: performance.now() - started,
      };
    },
  };
}

/** Long lines (paths of shrunk byte arrays, huge counterexamples) cut to a readable length. */
function clipLines(text: string, max = 3000): string {
  return text
    .split('\n')
    .map((l) => (l.length <= max ? l : `${l.slice(0, max)}… (${l.length} chars)`))
    .join('\n');
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return `Error: ${String(e)}`;
  const cause = e.cause instanceof Error ? `\nCaused by: ${e.cause.stack ?? e.cause.message}` : '';
  return `${e.stack ?? `${e.name}: ${e.message}`}${cause}`;
}

/** Every property, parsers first. Names are stable: `npm run fuzz -- --only NAME` takes them. */
export const PROPERTIES: readonly FuzzProperty[] = [
  ...xmlProperties.map((p) => wrap('parser', p as PropertySpec<unknown>)),
  ...encryptedProperties.map((p) => wrap('parser', p as PropertySpec<unknown>)),
  ...bundleProperties.map((p) => wrap('parser', p as PropertySpec<unknown>)),
  ...deviceListProperties.map((p) => wrap('parser', p as PropertySpec<unknown>)),
  ...sceProperties.map((p) => wrap('parser', p as PropertySpec<unknown>)),
  ...wireProperties.map((p) => wrap('parser', p as PropertySpec<unknown>)),
  ...sessionRecordProperties.map((p) => wrap('parser', p as PropertySpec<unknown>)),
  ...cryptoProperties.map((p) => wrap('parser', p as PropertySpec<unknown>)),
  ...decryptProperties.map((p) => wrap('decrypt', p as PropertySpec<unknown, unknown>)),
];

/**
 * The fast-check seed of batch `batch` of property `name` in a fuzz run with seed `master` (FNV-1a): every
 * property gets its own stream, and a batch is replayed by its master seed, name and number alone.
 */
export function seedFor(master: number, name: string, batch: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${master >>> 0}:${name}:${batch}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** The property called `name` (throws RangeError naming the known ones otherwise). */
export function propertyNamed(name: string): FuzzProperty {
  const p = PROPERTIES.find((x) => x.name === name);
  if (p === undefined) {
    throw new RangeError(`no property ${JSON.stringify(name)}; known: ${PROPERTIES.map((x) => x.name).join(', ')}`);
  }
  return p;
}
