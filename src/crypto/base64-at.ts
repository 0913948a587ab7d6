// RFC 4648 §4 (standard base64 with padding, canonical: unused bits zero): checking fixed-size base64 values in
// place inside a longer text, without slicing or decoding them (the 100 pre keys of a bundle, issue #16).

/** Each Latin-1 code unit's base64 value (0..63), or 64 for one outside the standard alphabet. */
const VALUE = new Uint8Array(256).fill(64);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
const EQUALS = 0x3d;

/** The number of base64 characters, padding included, that encode `bytes` bytes. */
export function base64Chars(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * True when the base64Chars(bytes) characters of `s` from `start` are the canonical standard base64 of `bytes`
 * bytes, padding included and no white space: exactly the texts of that length fromBase64 (bytes.ts) accepts without
 * white space. canonicalBase64LengthAt's check over that window (no bytes: the empty text, when `start` is in `s`).
 */
export function isCanonicalBase64At(s: string, start: number, bytes: number): boolean {
  if (bytes === 0) return start >= 0 && start <= s.length;
  return canonicalBase64LengthAt(s, start, start + base64Chars(bytes)) === bytes;
}

/**
 * The first byte encoded by the base64 at `start` of `s` (its first two characters), or −1 when either is outside
 * the standard alphabet.
 */
export function base64FirstByteAt(s: string, start: number): number {
  const a = s.charCodeAt(start);
  const b = s.charCodeAt(start + 1);
  if (!(a <= 0xff && b <= 0xff) || (VALUE[a]! | VALUE[b]!) > 63) return -1; // NaN past the end fails the first test
  return (VALUE[a]! << 2) | (VALUE[b]! >> 4);
}

/**
 * isCanonicalBase64At over ASCII bytes (`b` up to `end`): true when the base64Chars(bytes) bytes from `start` are the
 * canonical standard base64 of `bytes` bytes, padding included and no white space.
 */
export function isCanonicalBase64Bytes(b: Uint8Array, end: number, start: number, bytes: number): boolean {
  const chars = base64Chars(bytes);
  if (start < 0 || start + chars > end || end > b.length) return false;
  const pad = (chars / 4) * 3 - bytes;
  const last = start + chars - pad;
  let bits = 0;
  for (let i = start; i < last; i++) bits |= VALUE[b[i]!]!;
  if (bits > 63) return false;
  if (pad === 0) return true;
  const unused = pad === 1 ? 3 : 15;
  return (VALUE[b[last - 1]!]! & unused) === 0 && b[last] === EQUALS && (pad === 1 || b[last + 1] === EQUALS);
}

/**
 * The `bytes` bytes encoded by the base64 at `start` of `b`, which isCanonicalBase64Bytes has accepted; `skip` leading
 * bytes left out (a key's type byte).
 */
export function decodeBase64Bytes(b: Uint8Array, start: number, bytes: number, skip = 0): Uint8Array {
  const out = new Uint8Array(bytes - skip);
  let o = -skip;
  for (let i = start; o < out.length; i += 4) {
    const n =
      (VALUE[b[i]!]! << 18) | (VALUE[b[i + 1]!]! << 12) | ((VALUE[b[i + 2]!]! & 63) << 6) | (VALUE[b[i + 3]!]! & 63);
    if (o >= 0) out[o] = n >>> 16;
    if (++o >= out.length) break;
    if (o >= 0) out[o] = (n >>> 8) & 255;
    if (++o >= out.length) break;
    if (o >= 0) out[o] = n & 255;
    o++;
  }
  return out;
}

/** A run of the standard alphabet, matched from `lastIndex` (native code: ~1.5× faster than a loop over the text). */
const ALPHABET_RUN = /[A-Za-z0-9+/]*/y;

/**
 * The number of bytes the text `s[start, end)` decodes to when it is canonical standard base64 without white space
 * (padding included, unused bits zero; exactly the texts of that length fromBase64 accepts without white space),
 * else −1. For a value of any length found in place, such as the key of another device in a message.
 * @throws nothing.
 */
export function canonicalBase64LengthAt(s: string, start: number, end: number): number {
  const chars = end - start;
  if (start < 0 || end > s.length || chars <= 0 || (chars & 3) !== 0) return -1;
  const pad = s.charCodeAt(end - 1) !== EQUALS ? 0 : s.charCodeAt(end - 2) !== EQUALS ? 1 : 2;
  const last = end - pad;
  ALPHABET_RUN.lastIndex = start;
  ALPHABET_RUN.test(s);
  if (ALPHABET_RUN.lastIndex < last) return -1; // (the run may go on past `end`, never past padding)
  if (pad !== 0 && (VALUE[s.charCodeAt(last - 1)]! & (pad === 1 ? 3 : 15)) !== 0) return -1;
  return (chars >>> 2) * 3 - pad;
}

/**
 * The `bytes` bytes encoded by the base64 at `start` of `s`, which canonicalBase64LengthAt has accepted as `bytes`
 * bytes: an array of their own. For short values (an IV), where a decoder call costs more than the decoding.
 * @throws nothing.
 */
export function decodeBase64At(s: string, start: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let o = 0;
  for (let i = start; o < bytes; i += 4) {
    const n =
      (VALUE[s.charCodeAt(i)]! << 18) |
      (VALUE[s.charCodeAt(i + 1)]! << 12) |
      ((VALUE[s.charCodeAt(i + 2) & 0xff]! & 63) << 6) |
      (VALUE[s.charCodeAt(i + 3) & 0xff]! & 63);
    out[o++] = n >>> 16;
    if (o < bytes) out[o++] = (n >>> 8) & 255;
    if (o < bytes) out[o++] = n & 255;
  }
  return out;
}
