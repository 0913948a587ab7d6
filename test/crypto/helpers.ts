// Shared helpers of the crypto tests: vector loading, typed-error assertions (sync and async), back-end lists,
// raw AES-CBC for crafted paddings.
// No tests here.

import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { fromHex, toHex } from '../../src/crypto/bytes';
import { OmemoError, type OmemoErrorCode } from '../../src/crypto/errors';

/** Parsed JSON of test/vectors/<name>; asserts the mandatory `source` field. */
export function loadVectors<T>(name: string): T & { source: string } {
  const data = JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T & {
    source: string;
  };
  assert.type(data.source, 'string', `${name} has no "source" field`);
  return data;
}

/** Hex → bytes (short alias for vector fields). */
export const h = fromHex;

/** Compares bytes by their hex (readable diffs). */
export function eqHex(actual: Uint8Array, expectedHex: string, message?: string): void {
  assert.instance(actual, Uint8Array, message);
  assert.is(toHex(actual), expectedHex.toLowerCase(), message);
}

/** Compares two byte arrays by their hex. */
export function eqBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.instance(actual, Uint8Array, message);
  assert.is(toHex(actual), toHex(expected), message);
}

/** Asserts a plain Uint8Array (no Buffer or other subclass in the public API). */
export function isPlainU8(value: unknown, message?: string): void {
  assert.instance(value, Uint8Array, message);
  assert.is(
    Object.getPrototypeOf(value),
    Uint8Array.prototype,
    message ?? 'expected a plain Uint8Array, not a subclass (Buffer)',
  );
}

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

async function catchAsync(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function checkOmemo(caught: unknown, code: OmemoErrorCode, what: string): void {
  assert.ok(caught !== undefined, `${what}: expected OmemoError '${code}', nothing was thrown`);
  assert.instance(caught, OmemoError, `${what}: expected OmemoError '${code}', got ${String(caught)}`);
  assert.is((caught as OmemoError).code, code, `${what}: wrong OmemoError code`);
}

function checkProgrammer(
  caught: unknown,
  type: typeof TypeError | typeof RangeError,
  param: string,
  what: string,
): void {
  assert.ok(caught !== undefined, `${what}: expected ${type.name} naming '${param}', nothing was thrown`);
  assert.ok(!(caught instanceof OmemoError), `${what}: expected ${type.name}, got OmemoError: ${String(caught)}`);
  assert.is((caught as Error).constructor, type, `${what}: expected ${type.name}, got ${String(caught)}`);
  const re = new RegExp(`(^|[^A-Za-z0-9_])${param.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9_]|$)`);
  assert.match((caught as Error).message, re, `${what}: message should name the parameter '${param}'`);
}

/** `fn` must throw OmemoError with `code`. */
export function throwsCode(fn: () => unknown, code: OmemoErrorCode, what = 'call'): void {
  checkOmemo(catchSync(fn), code, what);
}

/** `fn` (sync or async) must throw / reject with OmemoError `code`. */
export async function rejectsCode(fn: () => unknown, code: OmemoErrorCode, what = 'call'): Promise<void> {
  checkOmemo(await catchAsync(fn), code, what);
}

/** `fn` must throw exactly `type` (TypeError/RangeError) whose message names `param` as a whole word. */
export function throwsArg(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError,
  param: string,
  what = 'call',
): void {
  checkProgrammer(catchSync(fn), type, param, what);
}

/** Async form of throwsArg: `fn` may throw synchronously or return a rejecting promise. */
export async function rejectsArg(
  fn: () => unknown,
  type: typeof TypeError | typeof RangeError,
  param: string,
  what = 'call',
): Promise<void> {
  checkProgrammer(await catchAsync(fn), type, param, what);
}

/** Back-end lists are specified as arrays; accept a function returning one as well. */
export function listOf<T>(backends: T[] | (() => T[])): T[] {
  return typeof backends === 'function' ? backends() : backends;
}

/** Bytes 0..n-1 plus `offset`. */
export function seq(n: number, offset = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i + offset) & 255);
}

/** Deterministic pseudo-random bytes (xorshift32; for test inputs, not keys). */
export function pseudo(n: number, seed: number): Uint8Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

/** A copy with bit `bit` (0 = LSB of byte 0) flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

/** One identity of test/vectors/xeddsa.json (generated by gen-xeddsa.py with python3-xeddsa). */
export interface XeddsaIdentity {
  name: string;
  seed: string;
  ed25519Public: string;
  signBit: 0 | 1;
  curve25519Private: string;
  curve25519Public: string;
  xeddsaEd25519Public: string;
}

/** Raw AES-256-CBC without padding (for crafting ciphertexts with chosen padding bytes). */
export function rawCbc(key: Uint8Array, iv: Uint8Array, blocks: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(blocks), c.final()]));
}
