// Test helpers for the XML stanza layer: fixture loading and typed-error assertions (no tests here).

import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { OmemoError } from '../../src/crypto/errors';

/** Text of test/omemo/fixtures/<name> (real python-omemo output, see fixtures/README.md). */
export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

/** Asserts that `fn` throws OmemoError('malformed-stanza') whose message matches `pattern`. */
export function throwsMalformed(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected OmemoError matching ${pattern}, nothing was thrown`);
  assert.instance(caught, OmemoError, `expected OmemoError, got ${String(caught)}`);
  const err = caught as OmemoError;
  assert.is(err.code, 'malformed-stanza');
  assert.match(err.message, pattern);
}

/** Asserts that `fn` throws exactly `type` (TypeError/RangeError) with a message matching `pattern`. */
export function throwsProgrammer(fn: () => unknown, type: typeof TypeError | typeof RangeError, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${type.name} matching ${pattern}, nothing was thrown`);
  assert.ok(!(caught instanceof OmemoError), `expected ${type.name}, got OmemoError: ${String(caught)}`);
  assert.is((caught as Error).constructor, type, `expected ${type.name}, got ${String(caught)}`);
  assert.match((caught as Error).message, pattern);
}

/** Bytes 0..n-1 plus `offset` (deterministic test keys). */
export function seq(n: number, offset = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i + offset) & 255);
}
