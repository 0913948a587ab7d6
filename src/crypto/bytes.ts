// Byte helpers shared by every layer: input checks with precise messages, concatenation, constant-time
// comparison, hex/base64/UTF-8 codecs over Uint8Array (no Buffer in the public API).
import { canonicalBase64LengthAt } from './base64-at';

/** Throws TypeError unless `value` is a Uint8Array; RangeError unless its length is `length` (when given). */
export function assertBytes(
  value: unknown,
  name: string,
  length?: number | readonly number[],
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  }
  if (length === undefined) return;
  const ok = typeof length === 'number' ? value.length === length : length.includes(value.length);
  if (!ok) {
    const want = typeof length === 'number' ? `${length}` : length.join(' or ');
    throw new RangeError(`${name} must be ${want} bytes, got ${value.length}`);
  }
}

/** Throws TypeError/RangeError unless `value` is an integer in [min, max]. */
export function assertInt(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new RangeError(`${name} must be in ${min}..${max}, got ${value}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

/** Hands out fresh zeroed byte arrays of the requested length. */
export type ByteAllocator = (length: number) => Uint8Array;

/** `new Uint8Array(length)`: every array has its own buffer. */
export const allocateBytes: ByteAllocator = (length) => new Uint8Array(length);

/** Arrays of at most this many bytes come from the arena; larger ones get their own buffer. */
const ARENA_MAX_ITEM_BYTES = 4096;

/**
 * An allocator that cuts arrays out of shared `chunkBytes` buffers. Arrays over 64 bytes each get an off-heap
 * buffer in V8, which costs an allocation and a finalizer per array; a fan-out makes two per device. The
 * arrays are disjoint views, so writing one never touches another; a kept view keeps its chunk alive.
 */
export function createByteArena(chunkBytes = 65536): ByteAllocator {
  let chunk = new Uint8Array(0);
  let used = 0;
  return (length) => {
    if (length > ARENA_MAX_ITEM_BYTES) return new Uint8Array(length);
    if (used + length > chunk.length) {
      chunk = new Uint8Array(Math.max(chunkBytes, length));
      used = 0;
    }
    const out = chunk.subarray(used, used + length);
    used += length;
    return out;
  };
}

/** Concatenates byte arrays into a new one. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their lengths (for MACs and tags).
 * Arrays of different lengths are unequal.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Plain (non-constant-time) equality for public data. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether the little-endian number `a` is below `bound` (`a` has at least `bound.length` bytes; the top one is ANDed
 * with `topMask` first: 0x7f ignores bit 255, as the X25519 and Ed25519 encodings do). Variable time: public values.
 */
export function lessThanLittleEndian(a: Uint8Array, bound: Uint8Array, topMask = 0xff): boolean {
  const top = bound.length - 1;
  for (let i = top; i >= 0; i--) {
    const x = i === top ? a[i]! & topMask : a[i]!;
    if (x !== bound[i]) return x < bound[i]!;
  }
  return false;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/** Parses hex (either case); throws TypeError on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`hex must be a string, got ${typeof hex}`);
  if (hex.length % 2 !== 0) throw new TypeError(`hex must have an even length, got ${hex.length}`);
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('hex contains a non-hex character');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

interface NodeBufferLike {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferView;
  allocUnsafeSlow(size: number): NodeBufferView;
  byteLength(text: string, encoding: 'utf8'): number;
}
interface NodeBufferView {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  toString(encoding: 'base64'): string;
  write(text: string, encoding: 'base64'): number;
  write(text: string, offset: number, length: number, encoding: 'base64'): number;
  fill(value: number, start: number, end: number): unknown;
}
// Node's native encoder is ~6× faster than the loop below and makes no intermediate strings: a 1000-device
// fan-out encodes 1000 keys. It only ever returns a string, so no Buffer reaches the public API.
const NodeBuffer = (globalThis as { Buffer?: NodeBufferLike }).Buffer;

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  if (NodeBuffer !== undefined && bytes instanceof Uint8Array)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return toBase64Portable(bytes);
}

/** The encoder used where Node's Buffer is absent (browsers); exported for tests. */
export function toBase64Portable(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += `${B64[n >> 18]! + B64[(n >> 12) & 63]!}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]!}=`;
  }
  return out;
}

/**
 * Strict standard base64 decoder that ignores ASCII whitespace (line-wrapped base64 is common in XMPP).
 * Returns undefined for anything else that is not canonical base64 (bad characters, bad padding, bad length).
 */
export function fromBase64(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') throw new TypeError(`base64 input must be a string, got ${typeof text}`);
  if (NodeBuffer === undefined) return decodeBase64(WHITESPACE.test(text) ? text.replace(WHITESPACES, '') : text);
  const decoded = decodeCanonicalNode(text, NodeBuffer);
  if (decoded !== undefined || !WHITESPACE.test(text)) return decoded;
  return decodeCanonicalNode(text.replace(WHITESPACES, ''), NodeBuffer);
}

/**
 * The number of bytes `text` decodes to when fromBase64 accepts it (same rules), else undefined; where Node's
 * Buffer exists, without allocating the bytes (for checking base64 that is not kept).
 */
export function base64DecodedLength(text: string): number | undefined {
  if (typeof text !== 'string') throw new TypeError(`base64 input must be a string, got ${typeof text}`);
  if (text.length <= BASE64_CHECK_IN_JS_MAX_CHARS) {
    const length = canonicalBase64LengthAt(text, 0, text.length);
    if (length >= 0) return length; // else empty, white space to drop, or not base64: the paths below decide
  }
  if (NodeBuffer === undefined || WHITESPACE.test(text)) return fromBase64(text)?.length;
  const length = impliedLength(text);
  if (length < 0) return undefined;
  const target = decodeTarget(length, NodeBuffer);
  const ok = writeCanonical(text, target, length);
  target.fill(0, 0, length);
  return ok ? length : undefined;
}

/** Size of the slabs fromBase64Transient cuts its results from, in bytes; longer results get a buffer of their own. */
const TRANSIENT_SLAB_BYTES = 65536;
/** Longest result fromBase64Transient cuts from a slab, in bytes (a slab holds at least 16 of them). */
const TRANSIENT_MAX_BYTES = 4096;
let transientSlab: Uint8Array | undefined;
/** Node's view of the whole slab, written at an offset: a view per result cost ~0.1 µs. */
let transientWriter: NodeBufferView | undefined;
let transientUsed = 0;

/**
 * fromBase64 for network bytes that the library reads once and drops (an incoming message's payload ciphertext,
 * read by the decryption that follows): the result may be a view into a slab shared with earlier such results.
 * A slab is never written again once a result is cut from it (a full one is left to the garbage collector), so a
 * result stays valid across awaits; it holds public bytes only, never key material. Saves the ~0.7 µs V8 spends
 * on every typed array over 64 bytes. Results never reach users or stores.
 */
export function fromBase64Transient(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') throw new TypeError(`base64 input must be a string, got ${typeof text}`);
  const length = impliedLength(text);
  if (NodeBuffer === undefined || length <= 64 || length > TRANSIENT_MAX_BYTES) return fromBase64(text);
  if (transientSlab === undefined || transientWriter === undefined || transientUsed + length > TRANSIENT_SLAB_BYTES) {
    transientSlab = new Uint8Array(TRANSIENT_SLAB_BYTES);
    transientWriter = NodeBuffer.from(transientSlab.buffer, 0, TRANSIENT_SLAB_BYTES);
    transientUsed = 0;
  }
  const at = transientUsed;
  // Canonical when Node writes exactly `length` bytes (at most `length` from `at`) of the standard alphabet (see
  // writeCanonical); otherwise the bytes it wrote stay in the unused part of the slab (public input, overwritten by
  // the next result).
  const canonical =
    transientWriter.write(text, at, length, 'base64') === length && onlyStandardAlphabet(text, NodeBuffer);
  if (!canonical) return fromBase64(text); // white space, or not base64 at all
  transientUsed = (at + length + 7) & ~7;
  return transientSlab.subarray(at, at + length);
}

/**
 * Up to this many characters, base64DecodedLength checks canonical text in place (canonicalBase64LengthAt) instead of
 * having Node decode it into the scratch buffer (and wiping that): 0.09 against 0.19 µs for a 44-character key, of
 * which a bundle checks 100; even at ~200 characters. White space or a bad character falls through to Node.
 */
const BASE64_CHECK_IN_JS_MAX_CHARS = 128;

/**
 * Decoded bytes up to this size go through one scratch buffer (copied out, then wiped: it never keeps what it held);
 * longer input gets a buffer of its own.
 */
const BASE64_SCRATCH_BYTES = 65536;
let base64Scratch: NodeBufferView | undefined;

/** Where `length` decoded bytes go: the scratch buffer, or for longer input a buffer of its own (no shared pool). */
function decodeTarget(length: number, node: NodeBufferLike): NodeBufferView {
  return length > BASE64_SCRATCH_BYTES
    ? node.allocUnsafeSlow(length)
    : (base64Scratch ??= node.allocUnsafeSlow(BASE64_SCRATCH_BYTES));
}

/**
 * Canonical base64 without white space, decoded by Node (~3× faster than checking with a regular expression
 * first): the bytes, or undefined. See writeCanonical.
 */
function decodeCanonicalNode(s: string, node: NodeBufferLike): Uint8Array | undefined {
  const length = impliedLength(s);
  if (length < 0) return undefined;
  const target = decodeTarget(length, node);
  const ok = writeCanonical(s, target, length);
  if (ok && length > BASE64_SCRATCH_BYTES) return new Uint8Array(target.buffer, target.byteOffset, length);
  // A copy of the bytes only: the scratch buffer is reused by the next call, and keeps nothing decoded.
  const out = ok ? new Uint8Array(target.buffer, target.byteOffset, length).slice() : undefined;
  target.fill(0, 0, length);
  return out;
}

/**
 * The byte count canonical base64 text of this length and padding decodes to, or −1 when its length or the unused
 * bits of its padding already make it non-canonical.
 */
function impliedLength(s: string): number {
  const n = s.length;
  if ((n & 3) !== 0) return -1;
  let pad = 0;
  if (n > 0 && s.charCodeAt(n - 1) === EQUALS) {
    pad = s.charCodeAt(n - 2) === EQUALS ? 2 : 1;
    if (pad === 2 ? (code(s, n - 3) & 15) !== 0 : (code(s, n - 2) & 3) !== 0) return -1;
  }
  return (n >>> 2) * 3 - pad;
}

/**
 * Decodes `s` with Node into `target`; true when it is canonical. Node's decoder is lenient: it skips characters
 * outside the alphabet and stops at an inner `=`, so the byte count it writes equals `length` (impliedLength) only
 * when every character before the padding is in its alphabet — which also has `-` and `_` (base64url), and which it
 * applies to the low byte of each character of a string holding one above U+00FF (`Ł`, 0x0141, reads as `A`): both
 * refused here.
 */
function writeCanonical(s: string, target: NodeBufferView, length: number): boolean {
  return target.write(s, 'base64') === length && onlyStandardAlphabet(s, NodeBuffer!);
}

/**
 * ASCII only (as many UTF-8 bytes as characters: Node counts them natively, ~0.03 µs for 600 characters where a
 * regular expression over the range takes ~0.3) and no base64url characters (`-`, `_`).
 */
function onlyStandardAlphabet(s: string, node: NodeBufferLike): boolean {
  return node.byteLength(s, 'utf8') === s.length && s.indexOf('-') === -1 && s.indexOf('_') === -1;
}

/** The decoder used where Node's Buffer is absent (browsers), on text without white space; exported for tests. */
export function fromBase64Portable(text: string): Uint8Array | undefined {
  if (typeof text !== 'string') throw new TypeError(`base64 input must be a string, got ${typeof text}`);
  return decodeBase64(text.replace(WHITESPACES, ''));
}

const WHITESPACE = /[ \t\r\n]/;
const WHITESPACES = /[ \t\r\n]+/g;
const EQUALS = 0x3d;

function decodeBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0) return undefined;
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    const c0 = code(s, i);
    const c1 = code(s, i + 1);
    const c2 = last && pad === 2 ? 0 : code(s, i + 2);
    const c3 = last && pad >= 1 ? 0 : code(s, i + 3);
    if (c0 < 0 || c1 < 0 || c2 < 0 || c3 < 0) return undefined;
    const n = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3;
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
    // Non-canonical trailing bits would let two strings decode to the same bytes.
    if (last && pad === 2 && (c1 & 15) !== 0) return undefined;
    if (last && pad === 1 && (c2 & 3) !== 0) return undefined;
  }
  return out;
}

function code(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? B64_INDEX[c]! : -1;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 encoding of a string. */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decoding; throws TypeError on invalid UTF-8. */
export function utf8Decode(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new TypeError('bytes are not valid UTF-8');
  }
}

const lenientDecoder = new TextDecoder('utf-8');
const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * utf8Decode, or undefined where it throws, without the cost of an exception on the way (~10 µs): a binary payload
 * is no text, and bots receive many. The lenient decoder gives the same string for valid UTF-8 and a U+FFFD for
 * every error, so a string without one is the answer; with one, the input is invalid unless it holds U+FFFD
 * itself (EF BF BD), which only the strict decoder can then tell apart.
 */
export function utf8DecodeOrUndefined(bytes: Uint8Array): string | undefined {
  const text = lenientDecoder.decode(bytes);
  if (text.indexOf(REPLACEMENT_CHARACTER) < 0) return text;
  if (!holdsReplacementCharacter(bytes)) return undefined;
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Whether `bytes` holds the UTF-8 form of U+FFFD (EF BF BD). */
function holdsReplacementCharacter(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(0xef); i >= 0 && i + 2 < bytes.length; i = bytes.indexOf(0xef, i + 1)) {
    if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) return true;
  }
  return false;
}
