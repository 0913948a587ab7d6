// Tests for src/crypto/base64-at.ts (RFC 4648 §4 canonical base64, checked in place): each check holds exactly what
// the general decoder (fromBase64) accepts, on arbitrary strings near valid values.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  base64Chars,
  base64FirstByteAt,
  canonicalBase64LengthAt,
  decodeBase64At,
  decodeBase64Bytes,
  isCanonicalBase64At,
  isCanonicalBase64Bytes,
} from '../../src/crypto/base64-at';
import { fromBase64, toBase64 } from '../../src/crypto/bytes';
import { eqBytes } from './helpers';

/** The sizes checked in place: keys (32, 33 with a type byte), signatures (64), and every padding. */
const SIZES = [1, 2, 3, 4, 5, 32, 33, 64] as const;

/**
 * What the general decoder says: `s` is the canonical base64 of `bytes` bytes, without white space. Node's decoder,
 * under fromBase64, reads only the low byte of a character above U+00FF (`\u0141` as `A`): the in-place checks refuse
 * those, and their callers step aside to the general path, which keeps accepting what it accepted.
 */
function accepted(s: string, bytes: number): boolean {
  const plain = s.length === base64Chars(bytes) && !/[ \t\r\n]/.test(s) && !/[^\0-\xff]/.test(s);
  return plain && fromBase64(s)?.length === bytes;
}

// Characters a one-character change brings in: the alphabet, padding, base64url, white space, references, markup,
// non-ASCII ones whose low byte is a base64 character (U+0141 'Ł' is 0x41 'A' in its low byte), NUL.
const CHANGES = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
  '=',
  '-',
  '_',
  ' ',
  '\n',
  '\t',
  '\r',
  '&',
  ';',
  '#',
  '<',
  '"',
  'é',
  '\u0141',
  '\u2b41',
  '\uff41',
  '\0',
];

/** A value of `bytes` bytes in base64, then changed: a character replaced, inserted or removed, or re-padded. */
const nearValue = fc
  .tuple(
    fc.constantFrom(...SIZES),
    fc.uint8Array({ minLength: 64, maxLength: 64 }),
    fc.nat(200),
    fc.constantFrom(...CHANGES),
    fc.constantFrom('keep', 'replace', 'insert', 'remove', 'last', 'pad', 'unpad', 'entity', 'wrap'),
  )
  .map(([bytes, raw, at, c, how]) => {
    const s = toBase64(raw.subarray(0, bytes));
    const i = at % s.length;
    const dataEnd = s.replace(/=+$/, '').length;
    const text =
      how === 'replace'
        ? s.slice(0, i) + c + s.slice(i + 1)
        : how === 'insert'
          ? s.slice(0, i) + c + s.slice(i)
          : how === 'remove'
            ? s.slice(0, i) + s.slice(i + 1)
            : how === 'last' // the last character before the padding, whose unused bits must be zero
              ? s.slice(0, dataEnd - 1) + (c.length === 1 && /[A-Za-z0-9+/]/.test(c) ? c : 'B') + s.slice(dataEnd)
              : how === 'pad'
                ? `${s}=`
                : how === 'unpad'
                  ? s.slice(0, dataEnd)
                  : how === 'entity'
                    ? `${s.slice(0, i)}&#65;${s.slice(i + 1)}`
                    : how === 'wrap'
                      ? `${s.slice(0, i)}\n${s.slice(i)}`
                      : s;
    return { bytes, text };
  });

test('isCanonicalBase64At accepts exactly what fromBase64 accepts at that length, anywhere in a text', () => {
  fc.assert(
    fc.property(
      nearValue,
      fc.constantFrom('', 'A', '<pk id="1">', 'é'),
      fc.constantFrom('', '=', 'A', '</pk>'),
      (v, before, after) => {
        const window = v.text.slice(0, base64Chars(v.bytes)); // what the check reads
        assert.is(isCanonicalBase64At(v.text, 0, v.bytes), accepted(window, v.bytes), JSON.stringify(v));
        // In place: the base64Chars(bytes) characters from there count, whatever is around them.
        const around = before + v.text + after;
        const inPlace = accepted(around.slice(before.length, before.length + base64Chars(v.bytes)), v.bytes);
        assert.is(isCanonicalBase64At(around, before.length, v.bytes), inPlace, JSON.stringify({ ...v, around }));
      },
    ),
    { numRuns: 4000, seed: 20261206 },
  );
});

test('isCanonicalBase64Bytes and decodeBase64Bytes: the same answer and bytes as fromBase64 on ASCII', () => {
  const ascii = new TextEncoder();
  fc.assert(
    fc.property(nearValue, fc.nat(3), (v, lead) => {
      if (!/^[\0-\x7f]*$/.test(v.text)) return; // the bytes variant reads ASCII text only
      const b = new Uint8Array(lead + v.text.length + 8).fill(0x41); // 'A' after the end: never read
      ascii.encodeInto(v.text, b.subarray(lead));
      const end = lead + v.text.length;
      const window = v.text.slice(0, base64Chars(v.bytes)); // what the check reads
      const ok = accepted(window, v.bytes);
      assert.is(isCanonicalBase64Bytes(b, end, lead, v.bytes), ok, JSON.stringify(v));
      if (!ok) return;
      const exact = fromBase64(window)!;
      eqBytes(decodeBase64Bytes(b, lead, v.bytes), exact, 'decoded');
      eqBytes(decodeBase64Bytes(b, lead, v.bytes, 1), exact.slice(1), 'decoded without the first byte');
    }),
    { numRuns: 4000, seed: 20261206 },
  );
});

test('canonicalBase64LengthAt and decodeBase64At: the length and bytes fromBase64 gives, for a text in place', () => {
  fc.assert(
    fc.property(
      nearValue,
      fc.constantFrom('', 'A', '<key rid="1">', 'é', '\u0141'),
      fc.constantFrom('', '=', 'A', '</key>'),
      (v, before, after) => {
        const around = before + v.text + after;
        const end = before.length + v.text.length;
        // Any length: what fromBase64 accepts of the whole text without white space or characters above U+00FF.
        const plain = v.text.length > 0 && !/[ \t\r\n]/.test(v.text) && !/[^\0-\xff]/.test(v.text);
        const exact = plain ? fromBase64(v.text) : undefined;
        const length = canonicalBase64LengthAt(around, before.length, end);
        assert.is(length, exact?.length ?? -1, JSON.stringify({ ...v, around }));
        if (exact !== undefined) {
          const bytes = decodeBase64At(around, before.length, length);
          eqBytes(bytes, exact, 'decoded');
          assert.is(bytes.buffer.byteLength, bytes.length, 'an array of its own');
        }
      },
    ),
    { numRuns: 4000, seed: 20261206 },
  );
  assert.is(canonicalBase64LengthAt('AAAA', 0, 5), -1, 'past the end');
  assert.is(canonicalBase64LengthAt('AAAA', -1, 3), -1, 'before the start');
  assert.is(canonicalBase64LengthAt('AAAA', 2, 2), -1, 'empty');
});

test('isCanonicalBase64Bytes never reads past `end` or before 0', () => {
  const b = new TextEncoder().encode(toBase64(new Uint8Array(32).fill(7)));
  assert.ok(isCanonicalBase64Bytes(b, 44, 0, 32));
  assert.not.ok(isCanonicalBase64Bytes(b, 43, 0, 32), 'the padding is past end');
  assert.not.ok(isCanonicalBase64Bytes(b, 44, 1, 32));
  assert.not.ok(isCanonicalBase64Bytes(b, 44, -1, 32));
  assert.not.ok(isCanonicalBase64Bytes(b, 45, 0, 33), 'end past the array');
  assert.not.ok(isCanonicalBase64At('AAAA', -1, 3));
});

test('base64FirstByteAt: the first byte of any two alphabet characters, −1 otherwise', () => {
  fc.assert(
    fc.property(fc.constantFrom(...CHANGES), fc.constantFrom(...CHANGES), (a, b) => {
      const s = a + b;
      const decoded = s.length === 2 && !/[^\0-\xff]/.test(s) ? fromBase64(`${s}AA`) : undefined;
      assert.is(base64FirstByteAt(s, 0), decoded === undefined ? -1 : decoded[0]!, JSON.stringify(s));
    }),
    { numRuns: 3000, seed: 20261206 },
  );
  assert.is(base64FirstByteAt('B', 0), -1, 'one character: no byte');
  assert.is(base64FirstByteAt('', 0), -1);
  assert.is(base64FirstByteAt(toBase64(Uint8Array.of(5, 1, 2)), 0), 5);
});

test.run();
