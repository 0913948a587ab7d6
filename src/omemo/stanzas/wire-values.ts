// XEP-0384 0.3.0 §4 / 0.9 §5 (xs:unsignedInt ids, xs:boolean flags, xs:base64Binary keys): typed values in stanzas.

import { assertInt, base64DecodedLength, fromBase64, fromBase64Transient } from '../../crypto/bytes';
import { malformed, type XmlElement } from './xml';

/** Largest device / pre key / signed pre key id (ids are 1..2^31-1; 0 is never valid). */
export const MAX_ID = 0x7fffffff;

/**
 * Parses a device / pre key id from an attribute value: decimal digits only (no sign, no spaces, no
 * exponent), value 1..MAX_ID. Throws OmemoError('malformed-stanza') naming `what`.
 */
export function parseId(value: string | undefined, what: Label): number {
  if (value === undefined) throw malformed(`${named(what)} is missing`);
  if (!/^[0-9]{1,10}$/.test(value))
    throw malformed(`${named(what)} must be a decimal integer, got ${JSON.stringify(value.slice(0, 20))}`);
  const n = Number(value);
  if (n < 1 || n > MAX_ID) throw malformed(`${named(what)} must be in 1..${MAX_ID}, got ${value}`);
  return n;
}

/** Throws TypeError/RangeError unless `value` is an id in 1..MAX_ID (for serialisers). */
export function assertId(value: unknown, name: string): asserts value is number {
  assertInt(value, name, 1, MAX_ID);
}

/**
 * Parses an xs:boolean attribute: "true"/"1" → true, "false"/"0"/absent → false, anything else malformed.
 * (python-omemo reads any non-empty value as true, so we never *write* "false"; see README L4/T2.)
 */
export function parseFlag(value: string | undefined, what: Label): boolean {
  if (value === undefined) return false;
  const v = value.trim();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw malformed(`${named(what)} must be "true", "false", "1" or "0", got ${JSON.stringify(value.slice(0, 20))}`);
}

/**
 * What a value is called in error messages: a string, or an object whose `toString()` names it, for names that
 * cost work to build (built only on failure; no closure per value either).
 */
export type Label = string | { toString(): string };

/** `<element attribute="id">`, for the elements of a list (keys, pre keys): written only when an error names it. */
export class ElementLabel {
  constructor(
    private readonly element: string,
    private readonly attribute: string,
    private readonly id: number,
  ) {}
  toString(): string {
    return `<${this.element} ${this.attribute}="${this.id}">`;
  }
}

function named(what: Label): string {
  return typeof what === 'string' ? what : what.toString();
}

/** Limits on base64 text: `lengths` the allowed decoded lengths, `maxBytes` a bound checked before decoding. */
export interface Base64Limits {
  lengths?: readonly number[];
  maxBytes?: number;
}

/** The base64 text of `el` after the checks that come before decoding. */
function base64TextOf(el: XmlElement, what: Label, opts: Base64Limits): string {
  if (el.children.length > 0) {
    throw malformed(`${named(what)} must contain only base64 text, found <${el.children[0]!.name}>`);
  }
  const text = el.text;
  // Before decoding, a bound on the size: white space does not count, but only text over the bound is compacted.
  if (opts.maxBytes !== undefined && Math.floor(text.length / 4) * 3 > opts.maxBytes + 2) {
    const compact = text.replace(/[ \t\r\n]+/g, '');
    if (Math.floor(compact.length / 4) * 3 > opts.maxBytes + 2) {
      throw malformed(`${named(what)} is longer than ${opts.maxBytes} bytes`);
    }
  }
  return text;
}

/** The checks on a decoded length (undefined: not base64). */
function checkDecodedLength(length: number | undefined, what: Label, opts: Base64Limits): number {
  if (length === undefined) throw malformed(`${named(what)} is not valid base64`);
  if (opts.maxBytes !== undefined && length > opts.maxBytes) {
    throw malformed(`${named(what)} is ${length} bytes, more than ${opts.maxBytes}`);
  }
  if (opts.lengths !== undefined && !opts.lengths.includes(length)) {
    throw malformed(`${named(what)} must be ${opts.lengths.join(' or ')} bytes, got ${length}`);
  }
  return length;
}

/**
 * Decodes the base64 text of `el` (whitespace ignored) within `opts`.
 * Throws OmemoError('malformed-stanza') naming `what`.
 */
export function parseBase64Text(el: XmlElement, what: Label, opts: Base64Limits = {}): Uint8Array {
  return decodeBase64Text(el, what, opts, fromBase64);
}

/**
 * parseBase64Text for bytes read once by the library and dropped (see fromBase64Transient): the result may be a view
 * into a buffer shared with other such results. Never for bytes that reach users or stores, or key material.
 * @throws as parseBase64Text.
 */
export function parseBase64TextTransient(el: XmlElement, what: Label, opts: Base64Limits = {}): Uint8Array {
  return decodeBase64Text(el, what, opts, fromBase64Transient);
}

/** The base64 text of `el` decoded by `decode` and checked within `opts` (parseBase64Text and its transient twin). */
function decodeBase64Text(
  el: XmlElement,
  what: Label,
  opts: Base64Limits,
  decode: (text: string) => Uint8Array | undefined,
): Uint8Array {
  const bytes = decode(base64TextOf(el, what, opts));
  checkDecodedLength(bytes?.length, what, opts);
  return bytes!;
}

/**
 * Checks the base64 text of `el` exactly as parseBase64Text does, without keeping the bytes (for values that are
 * validated but not used, such as other devices' keys); returns the decoded length.
 * @throws OmemoError `malformed-stanza` naming `what`.
 */
export function checkBase64Text(el: XmlElement, what: Label, opts: Base64Limits = {}): number {
  return checkDecodedLength(base64DecodedLength(base64TextOf(el, what, opts)), what, opts);
}

/** The only child of `parent` named `localName` in `ns`: malformed if missing or repeated. */
export function requireOneChild(parent: XmlElement, localName: string, ns: string): XmlElement {
  let found: XmlElement | undefined;
  for (const c of parent.children) {
    if (c.name !== localName || c.ns !== ns) continue;
    if (found) throw malformed(`<${parent.name}> has more than one <${localName}>`);
    found = c;
  }
  if (!found) throw malformed(`<${parent.name}> has no <${localName}>`);
  return found;
}

/** The only child of `parent` named `localName` in `ns`, or undefined; malformed if repeated. */
export function optionalChild(parent: XmlElement, localName: string, ns: string): XmlElement | undefined {
  let found: XmlElement | undefined;
  for (const c of parent.children) {
    if (c.name !== localName || c.ns !== ns) continue;
    if (found) throw malformed(`<${parent.name}> has more than one <${localName}>`);
    found = c;
  }
  return found;
}
