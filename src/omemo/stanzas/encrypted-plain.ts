// XEP-0384 0.3.0 §4.5 / 0.9 §5.4 `<encrypted>` elements in the plain shape every client writes (the element itself
// as the root, unprefixed, the XEP's child order, no references, comments or CDATA), read straight from the text in
// one pass: no element tree, no attribute map, only the keys kept decoded (a room message has one per device). It
// never throws: anything else makes it step aside (undefined), and the tree path of readEncrypted decides with every
// check and its error. Whatever it reads, the tree path reads the same way (test/omemo/encrypted-plain.test.ts, fuzz
// property `encrypted.plain-path`).

import { canonicalBase64LengthAt, decodeBase64At } from '../../crypto/base64-at';
import { base64DecodedLength, fromBase64, fromBase64Transient } from '../../crypto/bytes';
import {
  MAX_KEY_ELEMENT_BYTES,
  MAX_KEYS_PER_MESSAGE,
  type EncryptedElementData,
  type EncryptedFormat,
  type EncryptedKey,
  type KeyFilter,
} from './encrypted-element';
import { MAX_ID } from './wire-values';
import { MAX_STANZA_CHARS } from './xml';
import { AMP, APOS, EQ, GT, LT, QUOT } from './xml-char-codes';

/** Local copies of the bounds (read per key; a module binding can cost a getter call where modules are emulated). */
const MAX_KEYS = MAX_KEYS_PER_MESSAGE;
const MAX_KEY_BYTES = MAX_KEY_ELEMENT_BYTES;
/** The longest id, in digits (MAX_ID has 10). */
const ID_DIGITS = 10;

// Each step reads `s` from position `i` and returns the position after what it read, or −1 (a step given −1 returns
// −1). charCodeAt past the end is NaN, which no comparison accepts.

/** Past white space between elements (which readEncrypted ignores); no `\r`: end-of-line handling is the parser's. */
function space(s: string, i: number): number {
  if (i < 0) return -1;
  for (let c = s.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x09; c = s.charCodeAt(++i));
  return i;
}
/** Past `tag` at `i` (compared a character at a time: ~3× faster than startsWith for these short tags). */
function literal(s: string, i: number, tag: string): number {
  if (i < 0) return -1;
  const n = tag.length;
  for (let k = 0; k < n; k++) if (s.charCodeAt(i + k) !== tag.charCodeAt(k)) return -1;
  return i + n;
}
/** The value read by the last quotedId or quotedFlag. */
let lastValue = 0;
/** Past `"digits"` or `'digits'` (1 to ID_DIGITS digits, parseId's rule) whose value is in 1..MAX_ID: lastValue. */
function quotedId(s: string, i: number): number {
  if (i < 0) return -1;
  const q = s.charCodeAt(i);
  if (q !== QUOT && q !== APOS) return -1;
  let value = 0;
  let j = i + 1;
  const last = j + ID_DIGITS;
  for (let c = s.charCodeAt(j); j < last && c >= 0x30 && c <= 0x39; c = s.charCodeAt(++j))
    value = value * 10 + c - 0x30;
  if (j === i + 1 || s.charCodeAt(j) !== q || value < 1 || value > MAX_ID) return -1;
  lastValue = value;
  return j + 1;
}
/** Past a quoted `true`, `1`, `false` or `0` (parseFlag's values, without the white space it trims): lastValue 1/0. */
function quotedFlag(s: string, i: number): number {
  if (i < 0) return -1;
  const q = s.charCodeAt(i);
  if (q !== QUOT && q !== APOS) return -1;
  let j = i + 1;
  const c = s.charCodeAt(j);
  if (c === 0x31 || c === 0x30) j++;
  else if (literal(s, j, 'true') >= 0) j += 4;
  else if (literal(s, j, 'false') >= 0) j += 5;
  else return -1;
  lastValue = c === 0x31 || c === 0x74 ? 1 : 0;
  return s.charCodeAt(j) === q ? j + 1 : -1;
}
/**
 * Past a quoted attribute value that the tree reads as it is written: no reference, no white space (normalised by
 * the parser, and the tree refuses a JID of white space only), no `<` or `>`, only XML characters (surrogates in
 * pairs).
 * At least one character.
 */
function quotedPlainValue(s: string, i: number): number {
  if (i < 0) return -1;
  const q = s.charCodeAt(i);
  if (q !== QUOT && q !== APOS) return -1;
  let j = i + 1;
  for (let c = s.charCodeAt(j); c !== q; c = s.charCodeAt(++j)) {
    if (!(c > 0x20) || c === LT || c === GT || c === AMP) return -1;
    if (c >= 0xd800 && (c <= 0xdfff || c >= 0xfffe)) {
      // A surrogate pair (a character beyond U+FFFF, such as an emoji) is an XML character; a lone one is not.
      const low = s.charCodeAt(j + 1);
      if (c > 0xdbff || c >= 0xfffe || !(low >= 0xdc00 && low <= 0xdfff)) return -1;
      j++;
    }
  }
  return j === i + 1 ? -1 : j + 1;
}
/** The end of the text from `i` (the next `<`), which must be followed by `close`; −1 otherwise. */
function textThen(s: string, i: number, close: string): number {
  if (i < 0) return -1;
  const end = s.indexOf('<', i);
  return literal(s, end, close) < 0 ? -1 : end;
}

/**
 * The decoded length of the base64 text `s[start, end)` as checkBase64Text reads it (a key that is not kept): canonical
 * text checked in place, anything else (white space in it, or not base64) by the same function the tree path uses.
 * −1 when it is not base64. The text has no `<` or `&`, so it is what the tree's element holds (a `\r` in it becomes
 * `\n` there; both are white space that base64 drops).
 */
function keyTextLength(s: string, start: number, end: number): number {
  const length = canonicalBase64LengthAt(s, start, end);
  // Else white space in it, or not base64; longer than any key can be, the tree path's bound decides (and names it).
  if (length >= 0 || end - start > MAX_KEY_TEXT_CHARS) return length;
  return base64DecodedLength(s.slice(start, end)) ?? -1;
}
/** Key text up to this length may hold white space around the base64 of a MAX_KEY_ELEMENT_BYTES key; longer goes. */
const MAX_KEY_TEXT_CHARS = 2 * MAX_KEY_BYTES;

/** What one version's element looks like in the plain shape. */
interface Shape {
  /** The start tag, in either quote style. */
  open: readonly [string, string];
  flag: string;
  /** OMEMO 2: `<keys jid>` groups; 0.3: keys directly, then one `<iv>` of these lengths. */
  ivLengths: readonly number[] | undefined;
}
/** The shape of the format read last (a client reads one version at a time: no lookup per element). */
let lastFormat: EncryptedFormat | undefined;
let lastShape: Shape | undefined;
function shapeOf(f: EncryptedFormat): Shape {
  if (f !== lastFormat || lastShape === undefined) {
    const open = [`<encrypted xmlns="${f.ns}">`, `<encrypted xmlns='${f.ns}'>`] as const;
    lastShape = { open, flag: f.keyExchangeFlag, ivLengths: f.ivLengths };
    lastFormat = f;
  }
  return lastShape;
}

/** A kept key whose bytes are decoded once the whole element has been checked. */
interface Pending {
  key: EncryptedKey;
  start: number;
  end: number;
  /** Index of the first `<keys>` group with this key's JID (OMEMO 2; keys come out grouped by it). */
  group: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The index in `namespaces` of the root namespace of `xml` when it starts (after white space) with
 * `<encrypted xmlns="ns"` (so that if it parses, that element is its root and the first `<encrypted>` findEncrypted
 * finds), else −1.
 * @throws nothing.
 */
export function plainEncryptedNamespace(xml: string, namespaces: readonly string[]): number {
  const i = literal(xml, space(xml, 0), '<encrypted xmlns=');
  if (i < 0) return -1;
  const q = xml.charCodeAt(i);
  if (q !== QUOT && q !== APOS) return -1;
  for (let k = 0; k < namespaces.length; k++) {
    const ns = namespaces[k]!;
    if (literal(xml, i + 1, ns) >= 0 && xml.charCodeAt(i + 1 + ns.length) === q) return k;
  }
  return -1;
}

/**
 * readEncrypted(xml, f, keep, transient) for `xml` in the plain shape, with `version` first (what a backend's
 * parseEncrypted returns, built once): the same result (keys, bytes, buffers), or undefined when `xml` has another
 * shape or anything readEncrypted would refuse: then readEncrypted decides.
 * @throws nothing (what the tree path would refuse makes it step aside).
 */
export function scanPlainEncrypted<V extends string>(
  xml: string,
  f: EncryptedFormat,
  keep: KeyFilter | undefined,
  transient: boolean,
  version: V,
): (EncryptedElementData & { version: V }) | undefined {
  if (xml.length > MAX_STANZA_CHARS) return undefined;
  const shape = shapeOf(f);
  const s = xml;
  const start = space(s, 0);
  let i = literal(s, start, shape.open[s.charCodeAt(start + 17) === QUOT ? 0 : 1]);
  i = quotedId(s, literal(s, space(s, i), '<header sid='));
  const sid = lastValue;
  i = literal(s, space(s, i), '>');
  if (i < 0) return undefined;

  const pending: Pending[] = [];
  let count = 0;
  let iv: Uint8Array | undefined;
  if (shape.ivLengths === undefined) {
    const jids: string[] = [];
    let mixed = false; // kept keys of more than one JID: grouped by it at the end
    for (;;) {
      const at = literal(s, space(s, i), '<keys jid=');
      if (at < 0) break;
      const valueEnd = quotedPlainValue(s, at);
      i = literal(s, space(s, valueEnd), '>');
      if (i < 0) return undefined;
      const jid = s.slice(at + 1, valueEnd - 1);
      jids.push(jid);
      const before = pending.length;
      i = readKeys(s, i, shape, keep, jid, pending);
      i = literal(s, space(s, i), '</keys>');
      if (i < 0) return undefined;
      count += readKeysCount;
      if (pending.length > before) {
        const group = jids.indexOf(jid);
        for (let k = before; k < pending.length; k++) pending[k]!.group = group;
        if (pending[0]!.group !== group) mixed = true;
      }
      if (count > MAX_KEYS) return undefined;
    }
    if (mixed) pending.sort((a, b) => a.group - b.group); // stable: document order within a JID
  } else {
    i = readKeys(s, i, shape, keep, undefined, pending);
    count = readKeysCount;
    const ivAt = literal(s, space(s, i), '<iv>');
    i = textThen(s, ivAt, '</iv>');
    if (i < 0) return undefined;
    // An IV is 16 characters: decoded here in a fraction of a decoder call (white space in it: the decoder).
    const ivBytes = canonicalBase64LengthAt(s, ivAt, i);
    iv = ivBytes >= 0 ? decodeBase64At(s, ivAt, ivBytes) : fromBase64(s.slice(ivAt, i));
    if (iv === undefined || !shape.ivLengths.includes(iv.length)) return undefined;
    i += 5;
  }
  if (count === 0 || count > MAX_KEYS) return undefined;
  i = literal(s, space(s, i), '</header>');
  const payloadAt = literal(s, space(s, i), '<payload>');
  let payloadEnd = -1;
  if (payloadAt >= 0) {
    payloadEnd = textThen(s, payloadAt, '</payload>');
    i = payloadEnd < 0 ? -1 : payloadEnd + 10;
  }
  i = literal(s, space(s, i), '</encrypted>');
  if (i < 0 || space(s, i) !== s.length) return undefined;

  // All checked: decode what is kept, as readEncrypted would (a key exchange's bytes are an array of their own).
  const keys = new Array<EncryptedKey>(pending.length);
  for (let k = 0; k < pending.length; k++) {
    const { key, start, end } = pending[k]!;
    const text = s.slice(start, end);
    const data = transient && !key.keyExchange ? fromBase64Transient(text) : fromBase64(text);
    if (data === undefined || data.length === 0 || data.length > MAX_KEY_BYTES) return undefined;
    key.data = data;
    keys[k] = key;
  }
  const out: EncryptedElementData & { version: V } = { version, sid, keys };
  if (iv !== undefined) out.iv = iv;
  if (payloadAt >= 0) {
    const text = s.slice(payloadAt, payloadEnd);
    const payload = transient ? fromBase64Transient(text) : fromBase64(text);
    if (payload === undefined) return undefined;
    out.payload = payload;
  }
  return out;
}

/** The number of `<key>`s the last readKeys read. */
let readKeysCount = 0;

/**
 * Past the `<key>` elements from `i` (white space around them), each checked as parseKey checks it; the kept ones
 * (by `keep`) added to `pending`, not decoded yet. Their number in readKeysCount.
 */
function readKeys(
  s: string,
  from: number,
  shape: Shape,
  keep: KeyFilter | undefined,
  jid: string | undefined,
  pending: Pending[],
): number {
  let count = 0;
  let i = from;
  for (;;) {
    const at = literal(s, space(s, i), '<key');
    if (at < 0) break;
    let rid = 0;
    let flag = -1;
    let j = at;
    for (;;) {
      const k = space(s, j);
      if (s.charCodeAt(k) === GT) {
        j = k + 1;
        break;
      }
      if (k === j) return -1; // attributes need white space before them
      if (rid === 0 && literal(s, k, 'rid=') >= 0) {
        j = quotedId(s, k + 4);
        rid = lastValue;
      } else if (flag < 0 && s.charCodeAt(k + shape.flag.length) === EQ && literal(s, k, shape.flag) >= 0) {
        j = quotedFlag(s, k + shape.flag.length + 1);
        flag = lastValue;
      } else return -1;
      if (j < 0) return -1;
    }
    if (rid === 0) return -1;
    const end = textThen(s, j, '</key>');
    if (end < 0) return -1;
    count++;
    const keyExchange = flag === 1;
    if (keep !== undefined && !keep(rid, jid)) {
      const length = keyTextLength(s, j, end);
      if (length < 1 || length > MAX_KEY_BYTES) return -1;
    } else {
      const key: EncryptedKey = { rid, keyExchange, data: EMPTY };
      if (jid !== undefined) key.jid = jid;
      pending.push({ key, start: j, end, group: 0 });
    }
    i = end + 6;
  }
  readKeysCount = count;
  return i;
}
