// The assertions of the store conformance suite (omemo-wasm/testing), with no test framework behind them: deep
// equality of plain data (objects, arrays, Uint8Array), identity, truth, a pattern, a rejection. A failed check
// throws ConformanceError with a message naming what was checked, where the values differ, and both values.
import { toHex } from '../crypto/bytes';

/** How much of a value a failure message shows (characters), so that 1000 session records stay readable. */
const MAX_SHOWN_CHARS = 200;
/** How many bytes of a Uint8Array a failure message shows as hex. */
const MAX_SHOWN_BYTES = 16;

/**
 * The error of a failed conformance check: `message` says what was checked and how it failed; `actual` and
 * `expected` hold the values when the check compared two (test runners that know these fields show a diff).
 */
export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
  /** The value the store produced, when the check compared two values. */
  readonly actual?: unknown;
  /** The value the check wanted, when the check compared two values. */
  readonly expected?: unknown;

  /**
   * @param message What was checked and how it failed.
   * @param values `actual` and `expected`, when the check compared two values.
   */
  constructor(message: string, values?: { actual: unknown; expected: unknown }) {
    super(message);
    if (values !== undefined) {
      this.actual = values.actual;
      this.expected = values.expected;
    }
  }
}

/** A short, readable rendering of a value for a failure message. */
export function show(value: unknown): string {
  let text: string;
  if (value instanceof Uint8Array) text = showBytes(value);
  else if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'function') text = `function ${value.name || '(anonymous)'}`;
  else if (typeof value !== 'object' || value === null) text = String(value);
  else {
    try {
      text = JSON.stringify(value, (_key, v: unknown) => {
        if (v instanceof Uint8Array) return showBytes(v);
        return v === undefined ? 'undefined' : v;
      });
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
}

function showBytes(bytes: Uint8Array): string {
  const name = bytes.constructor === Uint8Array ? 'Uint8Array' : (bytes.constructor?.name ?? 'Uint8Array');
  const hex = toHex(bytes.subarray(0, MAX_SHOWN_BYTES));
  return `${name}(${bytes.length}) ${hex}${bytes.length > MAX_SHOWN_BYTES ? '…' : ''}`;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return value.constructor === Uint8Array ? 'Uint8Array' : 'Uint8Array subclass';
  if (typeof value !== 'object') return typeof value;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null ? 'object' : 'class instance';
}

/** `an array`, `a Uint8Array`, …; `undefined` and `null` as they are. */
function article(kindName: string): string {
  if (kindName === 'undefined' || kindName === 'null') return kindName;
  return `${/^[aeio]/.test(kindName) ? 'an' : 'a'} ${kindName}`;
}

/**
 * Where `actual` first differs from `expected`, as a path (`[0].signatures.oldmemo[3]`) and a reason, or
 * undefined when they are equal. Plain objects must have the same own keys (a key holding `undefined` is not a
 * missing key), arrays the same length, Uint8Arrays the same constructor and bytes; anything else is compared
 * with Object.is.
 */
export function difference(actual: unknown, expected: unknown, path = ''): string | undefined {
  if (Object.is(actual, expected)) return undefined;
  const at = path === '' ? '' : ` at ${path}`;
  const [a, e] = [kind(actual), kind(expected)];
  if (a !== e) {
    const got = actual === undefined || actual === null ? a : `${a} ${show(actual)}`;
    return `${got} where ${article(e)} was expected${at}`;
  }
  if (a === 'Uint8Array' || a === 'Uint8Array subclass') {
    const x = actual as Uint8Array;
    const y = expected as Uint8Array;
    if (x.constructor !== y.constructor) return `${show(x)} where ${show(y)} was expected${at}`;
    if (x.length !== y.length) return `${x.length} bytes where ${y.length} were expected${at}: ${show(x)}`;
    const i = x.findIndex((b, j) => b !== y[j]);
    return i < 0 ? undefined : `byte ${i} is ${x[i]}, not ${y[i]}${at}`;
  }
  if (a === 'array') {
    const x = actual as unknown[];
    const y = expected as unknown[];
    if (x.length !== y.length) return `${x.length} elements where ${y.length} were expected${at}: ${show(x)}`;
    for (let i = 0; i < x.length; i++) {
      const d = difference(x[i], y[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (a === 'object') {
    const x = actual as Record<string, unknown>;
    const y = expected as Record<string, unknown>;
    const xKeys = Object.keys(x);
    const yKeys = Object.keys(y);
    const extra = xKeys.find((k) => !Object.hasOwn(y, k));
    if (extra !== undefined) return `unexpected key ${JSON.stringify(extra)}${at}`;
    const missing = yKeys.find((k) => !Object.hasOwn(x, k));
    if (missing !== undefined) return `missing key ${JSON.stringify(missing)}${at}`;
    for (const k of yKeys) {
      const d = difference(x[k], y[k], `${path}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return `${show(actual)} where ${show(expected)} was expected${at}`;
}

/**
 * Deep equality of plain data (see `difference`).
 * @throws ConformanceError `${message}: …` naming the first difference, when they differ.
 */
export function equal(actual: unknown, expected: unknown, message: string): void {
  const d = difference(actual, expected);
  if (d !== undefined) throw new ConformanceError(`${message}: ${d}`, { actual, expected });
}

/**
 * Identity (Object.is): for primitives, and for strings such as snapshots.
 * @throws ConformanceError `${message}: got …, expected …`, when they are not the same.
 */
export function is(actual: unknown, expected: unknown, message: string): void {
  if (!Object.is(actual, expected)) {
    throw new ConformanceError(`${message}: got ${show(actual)}, expected ${show(expected)}`, { actual, expected });
  }
}

/**
 * The opposite of `is`.
 * @throws ConformanceError `${message}: both are …`, when they are the same.
 */
export function isNot(actual: unknown, unexpected: unknown, message: string): void {
  if (Object.is(actual, unexpected)) throw new ConformanceError(`${message}: both are ${show(actual)}`);
}

/**
 * Truth.
 * @throws ConformanceError with `message`, when `condition` is false.
 */
export function ok(condition: boolean, message: string): void {
  if (!condition) throw new ConformanceError(message);
}

/**
 * A value that a store had to return (not undefined), for the code that goes on with it.
 * @returns `value`.
 * @throws ConformanceError `${message}: got undefined`, when it is undefined.
 */
export function present<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new ConformanceError(`${message}: got undefined`);
  return value;
}

/**
 * A string that matches a pattern.
 * @throws ConformanceError `${message}: … does not match /…/`, when it does not.
 */
export function match(text: string, pattern: RegExp, message: string): void {
  if (!pattern.test(text)) {
    throw new ConformanceError(`${message}: ${show(text)} does not match ${String(pattern)}`, {
      actual: text,
      expected: pattern,
    });
  }
}

/**
 * Runs `fn` and returns what it rejected with (or threw), checking its message against `pattern` when given.
 * @throws ConformanceError when `fn` resolves, or when the message of its error does not match `pattern`.
 */
export async function rejects(fn: () => Promise<unknown>, message: string, pattern?: RegExp): Promise<unknown> {
  let caught: unknown;
  let rejected = false;
  try {
    await fn();
  } catch (e) {
    caught = e;
    rejected = true;
  }
  if (!rejected) throw new ConformanceError(`${message}: expected a rejection, but it resolved`);
  if (pattern !== undefined) match(String((caught as Error | undefined)?.message), pattern, message);
  return caught;
}
