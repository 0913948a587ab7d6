// Test helpers for the XML stanza layer: fixture loading and typed-error assertions (no tests here).

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
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

/**
 * What a mutation of a plain-path test brings into a stanza: base64, digits, quotes, markup, references, comments,
 * white space, characters XML cannot carry or that Node reads by their low byte (`\u0141`), a BOM, NUL. Each test adds
 * the pieces of its own element.
 */
export const MUTATION_PIECES: readonly string[] = [
  'A',
  'Q',
  'w',
  '+',
  '/',
  '=',
  '==',
  '0',
  '1',
  '9',
  '00',
  '"',
  "'",
  '<',
  '>',
  '/>',
  '&',
  '&amp;',
  '&#65;',
  '&#x41;',
  ' ',
  '\n',
  '\t',
  '\r',
  'é',
  '\u0141',
  '\ufeff',
  '\0',
  '<!-- c -->',
  '<x/>',
  ' a="b"',
];

/** One mutation of a text: at a position (taken modulo its length + 1), a piece put over a character or before it, or
 * a character removed. */
export type TextMutation = [at: number, how: 'replace' | 'insert' | 'remove', piece: string];

/** Mutations bringing in `pieces`. */
export function textMutation(pieces: readonly string[]): fc.Arbitrary<TextMutation> {
  return fc.tuple(
    fc.nat(100000),
    fc.constantFrom('replace' as const, 'insert' as const, 'remove' as const),
    fc.constantFrom(...pieces),
  );
}

/** `text` with the mutation `m` made. */
export function mutate(text: string, [at, how, piece]: TextMutation): string {
  const i = at % (text.length + 1);
  if (how === 'insert') return text.slice(0, i) + piece + text.slice(i);
  if (how === 'remove') return text.slice(0, i) + text.slice(i + 1);
  return text.slice(0, i) + piece + text.slice(i + 1);
}
