// XEP-0384 0.3.0 §4 / 0.9 §5 (xs:unsignedInt ids, xs:boolean flags, xs:base64Binary keys): typed values in stanzas.

import { assertInt, fromBase64 } from '../../crypto/bytes';
import { malformed, type XmlElement } from './xml';

/** Largest device / pre key / signed pre key id (ids are 1..2^31-1; 0 is never valid). */
export const MAX_ID = 0x7fffffff;

/**
 * Parses a device / pre key id from an attribute value: decimal digits only (no sign, no spaces, no
 * exponent), value 1..MAX_ID. Throws OmemoError('malformed-stanza') naming `what`.
 */
export function parseId(value: string | undefined, what: string): number {
  if (value === undefined) throw malformed(`${what} is missing`);
  if (!/^[0-9]{1,10}$/.test(value))
    throw malformed(`${what} must be a decimal integer, got ${JSON.stringify(value.slice(0, 20))}`);
  const n = Number(value);
  if (n < 1 || n > MAX_ID) throw malformed(`${what} must be in 1..${MAX_ID}, got ${value}`);
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
export function parseFlag(value: string | undefined, what: string): boolean {
  if (value === undefined) return false;
  const v = value.trim();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw malformed(`${what} must be "true", "false", "1" or "0", got ${JSON.stringify(value.slice(0, 20))}`);
}

/**
 * Decodes the base64 text of `el` (whitespace ignored). `lengths`: allowed decoded lengths; `maxBytes`:
 * upper bound checked before decoding. Throws OmemoError('malformed-stanza') naming `what`.
 */
export function parseBase64Text(
  el: XmlElement,
  what: string,
  opts: { lengths?: readonly number[]; maxBytes?: number } = {},
): Uint8Array {
  if (el.children.length > 0) throw malformed(`${what} must contain only base64 text, found <${el.children[0]!.name}>`);
  const text = el.text;
  if (opts.maxBytes !== undefined) {
    const compact = text.replace(/[ \t\r\n]+/g, '');
    if (Math.floor(compact.length / 4) * 3 > opts.maxBytes + 2) {
      throw malformed(`${what} is longer than ${opts.maxBytes} bytes`);
    }
  }
  const bytes = fromBase64(text);
  if (bytes === undefined) throw malformed(`${what} is not valid base64`);
  if (opts.maxBytes !== undefined && bytes.length > opts.maxBytes) {
    throw malformed(`${what} is ${bytes.length} bytes, more than ${opts.maxBytes}`);
  }
  if (opts.lengths !== undefined && !opts.lengths.includes(bytes.length)) {
    throw malformed(`${what} must be ${opts.lengths.join(' or ')} bytes, got ${bytes.length}`);
  }
  return bytes;
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
