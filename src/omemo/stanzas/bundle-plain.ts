// XEP-0384 0.3.0 §4.3 / 0.9 §5.3.2 bundles in the plain shape every client publishes (the XEP's child order, each
// key canonical base64 on one line, ASCII only, nothing else), read straight from the text in one pass, so that a
// bundle of 100 pre keys makes no element per pre key and only the keys used are decoded. It never throws: anything
// else (another order, a wrapper, unknown children or attributes, wrapped base64, references, comments, a bad id)
// makes it step aside, and the tree path of readBundle (parseXml, then every check with its error) decides. Whatever
// it reads, the tree path reads the same way (test/omemo/bundle-plain.test.ts, fuzz property `bundle.plain-path`).

import { base64Chars, decodeBase64Bytes, isCanonicalBase64Bytes } from '../../crypto/base64-at';
import type { BundleFormat } from './bundle';
import { MAX_ID } from './wire-values';
import { MAX_STANZA_CHARS } from './xml';
import { APOS, GT, QUOT } from './xml-char-codes';

/**
 * Longest text the plain path reads, in characters (a 200-pre-key 0.3 bundle has ~18 000); longer ones take the tree
 * path. Bounds the buffer the text is read through.
 */
export const PLAIN_BUNDLE_MAX_CHARS = 32768;

/** A plain bundle, checked: its ids, and its keys decoded on demand (a bundle uses one pre key of 100). */
export interface PlainBundle {
  signedPreKeyId: number;
  /** The pre key ids in document order (each in 1..MAX_ID, not checked for duplicates). */
  preKeyIds: number[];
  /** The raw 32 bytes of the signed pre key, the identity key and pre key `i`; the 64-byte signature. */
  signedPreKey(): Uint8Array;
  identityKey(): Uint8Array;
  signedPreKeySignature(): Uint8Array;
  preKey(i: number): Uint8Array;
}

/** The text being read, as ASCII bytes (shared by every scan: see `holder`). */
const text = new Uint8Array(PLAIN_BUNDLE_MAX_CHARS);
const ascii = new TextEncoder();
/**
 * Scans so far, and the one whose text `text` holds: a bundle whose text was overwritten since its scan (by a
 * choosePreKey that reads another bundle) writes it again before decoding.
 */
let scans = 0;
let holder = 0;

/** `text` read 4 bytes at a time (tags are compared a word at a time: ~4× fewer steps than byte by byte). */
const words = new DataView(text.buffer);

/**
 * A fixed piece of markup, as the little-endian 32-bit words at the offsets that cover it: every 4 bytes, and the
 * last 4 (overlapping) when its length is no multiple of 4. At least 4 bytes long.
 */
interface Literal {
  length: number;
  at: Int32Array;
  words: Uint32Array;
}
function literalOf(s: string): Literal {
  const bytes = ascii.encode(s);
  if (bytes.length < 4 || bytes.length !== s.length) throw new RangeError(`${s} is not 4 or more ASCII characters`);
  const at: number[] = [];
  for (let k = 0; k + 4 <= bytes.length; k += 4) at.push(k);
  if (bytes.length % 4 !== 0) at.push(bytes.length - 4);
  const view = new DataView(bytes.buffer);
  return { length: bytes.length, at: Int32Array.from(at), words: Uint32Array.from(at, (k) => view.getUint32(k, true)) };
}

/** The tags of one format, made once. */
interface Tags {
  bundle: Literal;
  spk: [open: Literal, close: Literal];
  spks: [open: Literal, close: Literal];
  ik: [open: Literal, close: Literal];
  prekeys: [open: Literal, close: Literal];
  pk: [open: Literal, close: Literal];
  ns: Literal;
  bundleClose: Literal;
}
const tagsOf = new WeakMap<BundleFormat, Tags>();
function tags(n: BundleFormat): Tags {
  let t = tagsOf.get(n);
  if (t === undefined) {
    const a = literalOf;
    t = {
      bundle: a('<bundle xmlns='),
      spk: [a(`<${n.spk} ${n.spkId}=`), a(`</${n.spk}>`)],
      spks: [a(`<${n.spks}>`), a(`</${n.spks}>`)],
      ik: [a(`<${n.ik}>`), a(`</${n.ik}>`)],
      prekeys: [a('<prekeys>'), a('</prekeys>')],
      pk: [a(`<${n.pk} ${n.pkId}=`), a(`</${n.pk}>`)],
      ns: a(n.ns),
      bundleClose: a('</bundle>'),
    };
    tagsOf.set(n, t);
  }
  return t;
}

/** A signature is 64 bytes. */
const SIGNATURE_BYTES = 64;
/** The longest id, in digits (MAX_ID has 10). */
const ID_DIGITS = 10;

// Each step reads `text` up to `end` from position `i` and returns the position after what it read, or −1 (and a
// step given −1 returns −1, so a sequence of steps is checked once at its end).

/** Past white space between elements (which readBundle ignores); no `\r`: end-of-line handling is the parser's. */
function space(end: number, i: number): number {
  if (i < 0) return -1;
  for (let c = text[i]; i < end && (c === 0x20 || c === 0x0a || c === 0x09); c = text[++i]);
  return i;
}
function literal(end: number, i: number, tag: Literal): number {
  if (i < 0 || i + tag.length > end) return -1;
  const { at, words: w } = tag;
  for (let k = 0; k < at.length; k++) if (words.getUint32(i + at[k]!, true) !== w[k]) return -1;
  return i + tag.length;
}
/** Past `"value">` or `'value'>` (the value exactly, so no reference in it). */
function quotedThenGt(end: number, i: number, value: Literal): number {
  if (i < 0 || i >= end) return -1;
  const q = text[i];
  if (q !== QUOT && q !== APOS) return -1;
  const after = literal(end, i + 1, value);
  return after >= 0 && after + 2 <= end && text[after] === q && text[after + 1] === GT ? after + 2 : -1;
}
/** The id read by the last idThenGt. */
let lastId = 0;
/** Past `"digits">` or `'digits'>` with 1 to ID_DIGITS digits whose value is in 1..MAX_ID (kept in lastId). */
function idThenGt(end: number, i: number): number {
  if (i < 0 || i >= end) return -1;
  const q = text[i];
  if (q !== QUOT && q !== APOS) return -1;
  let value = 0;
  let j = i + 1;
  const last = Math.min(end, j + ID_DIGITS);
  for (let c = text[j]!; j < last && c >= 0x30 && c <= 0x39; c = text[++j]!) value = value * 10 + (c - 0x30);
  if (j === i + 1 || j + 2 > end || text[j] !== q || text[j + 1] !== GT || value < 1 || value > MAX_ID) return -1;
  lastId = value;
  return j + 2;
}
/** Past a key as readKey accepts it without white space: canonical base64 of keyBytes bytes, the type byte first. */
function key(end: number, i: number, n: BundleFormat, chars: number): number {
  if (i < 0 || !isCanonicalBase64Bytes(text, end, i, n.keyBytes)) return -1;
  if (n.keyTypeByte !== undefined && decodeBase64Bytes(text, i, 1)[0] !== n.keyTypeByte) return -1;
  return i + chars;
}

/**
 * `xml` checked as a bundle of format `n` in the plain shape (the `<bundle>` itself as the root, ASCII, at most
 * PLAIN_BUNDLE_MAX_CHARS characters, ids in 1..MAX_ID, at least one pre key), or undefined: the tree path decides.
 */
export function scanPlainBundle(xml: string, n: BundleFormat): PlainBundle | undefined {
  if (xml.length > PLAIN_BUNDLE_MAX_CHARS || xml.length > MAX_STANZA_CHARS) return undefined;
  const { read, written } = ascii.encodeInto(xml, text);
  if (read !== xml.length || written !== xml.length) return undefined; // not ASCII: not the plain shape
  const end = written;
  const scan = ++scans;
  holder = scan;
  const t = tags(n);
  const chars = base64Chars(n.keyBytes);
  let i = quotedThenGt(end, literal(end, space(end, 0), t.bundle), t.ns);
  i = idThenGt(end, literal(end, space(end, i), t.spk[0]));
  const signedPreKeyId = lastId;
  const spkAt = i;
  i = literal(end, key(end, i, n, chars), t.spk[1]);
  const spksAt = literal(end, space(end, i), t.spks[0]);
  const signatureOk = spksAt >= 0 && isCanonicalBase64Bytes(text, end, spksAt, SIGNATURE_BYTES);
  i = literal(end, signatureOk ? spksAt + base64Chars(SIGNATURE_BYTES) : -1, t.spks[1]);
  const ikAt = literal(end, space(end, i), t.ik[0]);
  i = literal(end, key(end, ikAt, n, chars), t.ik[1]);
  i = literal(end, space(end, i), t.prekeys[0]);
  if (i < 0) return undefined;
  const preKeyIds: number[] = [];
  const preKeyAt: number[] = [];
  for (;;) {
    const at = literal(end, space(end, i), t.pk[0]);
    if (at < 0) break;
    i = idThenGt(end, at);
    if (i < 0) return undefined;
    preKeyIds.push(lastId);
    preKeyAt.push(i);
    i = literal(end, key(end, i, n, chars), t.pk[1]);
    if (i < 0) return undefined;
  }
  i = literal(end, space(end, literal(end, space(end, i), t.prekeys[1])), t.bundleClose);
  if (preKeyIds.length === 0 || space(end, i) !== end) return undefined;
  const skip = n.keyTypeByte === undefined ? 0 : 1;
  const decode = (at: number, bytes: number, skipped: number) => {
    if (holder !== scan) {
      ascii.encodeInto(xml, text); // the same ASCII text, checked above
      holder = scan;
    }
    return decodeBase64Bytes(text, at, bytes, skipped);
  };
  return {
    signedPreKeyId,
    preKeyIds,
    signedPreKey: () => decode(spkAt, n.keyBytes, skip),
    identityKey: () => decode(ikAt, n.keyBytes, skip),
    signedPreKeySignature: () => decode(spksAt, SIGNATURE_BYTES, 0),
    preKey: (k) => decode(preKeyAt[k]!, n.keyBytes, skip),
  };
}
