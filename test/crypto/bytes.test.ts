// src/crypto/bytes.ts: input checks, concatenation, constant-time comparison, hex/base64/UTF-8 codecs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  base64DecodedLength,
  fromBase64Transient,
  assertBytes,
  concatBytes,
  constantTimeEqual,
  fromBase64,
  fromBase64Portable,
  fromHex,
  toBase64,
  createByteArena,
  toBase64Portable,
  toHex,
  lessThanLittleEndian,
  utf8Decode,
  utf8DecodeOrUndefined,
  utf8Encode,
} from '../../src/crypto/bytes';
import fc from 'fast-check';
import { eqBytes, pseudo, seq, throwsArg } from './helpers';

// ---------------------------------------------------------------- constantTimeEqual

test('constantTimeEqual: equal contents are equal, also for distinct arrays and views', () => {
  assert.is(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
  assert.is(constantTimeEqual(seq(32), seq(32)), true);
  const big = seq(64);
  assert.is(constantTimeEqual(big.subarray(16, 48), seq(32, 16)), true, 'views with a byteOffset');
  assert.is(constantTimeEqual(Buffer.from(seq(5)), seq(5)), true, 'a Buffer is a Uint8Array');
});

test('constantTimeEqual: a difference in any single byte or bit is detected', () => {
  const a = pseudo(33, 1);
  for (let i = 0; i < a.length; i++) {
    for (const mask of [1, 0x80, 0xff]) {
      const b = a.slice();
      b[i]! ^= mask;
      assert.is(constantTimeEqual(a, b), false, `byte ${i} ^ ${mask}`);
      assert.is(constantTimeEqual(b, a), false, `byte ${i} ^ ${mask} (swapped)`);
    }
  }
});

test('constantTimeEqual: different lengths are unequal, including a prefix and the empty array', () => {
  assert.is(constantTimeEqual(seq(16), seq(17)), false);
  assert.is(constantTimeEqual(seq(17), seq(16)), false);
  assert.is(constantTimeEqual(new Uint8Array(0), new Uint8Array(1)), false);
  assert.is(constantTimeEqual(new Uint8Array(32), new Uint8Array(31)), false, 'zero arrays of different lengths');
});

test('constantTimeEqual: non-Uint8Array arguments throw TypeError naming a/b', () => {
  throwsArg(() => constantTimeEqual([1, 2] as unknown as Uint8Array, seq(2)), TypeError, 'a');
  throwsArg(() => constantTimeEqual(seq(2), 'ab' as unknown as Uint8Array), TypeError, 'b');
  throwsArg(() => constantTimeEqual(new Uint16Array(2) as unknown as Uint8Array, seq(2)), TypeError, 'a');
  throwsArg(() => constantTimeEqual(seq(2), undefined as unknown as Uint8Array), TypeError, 'b');
});

// ---------------------------------------------------------------- assertBytes

test('assertBytes: accepts Uint8Array of the allowed length(s), rejects others with the name', () => {
  assertBytes(seq(3), 'x');
  assertBytes(seq(3), 'x', 3);
  assertBytes(seq(16), 'x', [12, 16]);
  throwsArg(() => assertBytes(seq(4), 'myParam', 3), RangeError, 'myParam');
  throwsArg(() => assertBytes(seq(13), 'iv', [12, 16]), RangeError, 'iv');
  for (const bad of [
    null,
    undefined,
    'abc',
    3,
    [1, 2, 3],
    new ArrayBuffer(3),
    new DataView(new ArrayBuffer(3)),
    new Int8Array(3),
    {},
  ]) {
    throwsArg(() => assertBytes(bad, 'thing', 3), TypeError, 'thing', `value ${String(bad)}`);
  }
});

// ---------------------------------------------------------------- concatBytes

test('concatBytes: concatenates into a fresh array', () => {
  const a = seq(3);
  const b = seq(0);
  const c = seq(4, 100);
  const out = concatBytes(a, b, c);
  eqBytes(out, Uint8Array.from([0, 1, 2, 100, 101, 102, 103]));
  out[0] = 99;
  assert.is(a[0], 0, 'result must not alias an input');
  assert.is(concatBytes().length, 0);
  const single = concatBytes(a);
  eqBytes(single, a);
  single[1] = 77;
  assert.is(a[1], 1, 'single-input result must be a copy');
  eqBytes(concatBytes(seq(8).subarray(2, 5), seq(8).subarray(6)), Uint8Array.from([2, 3, 4, 6, 7]));
});

// ---------------------------------------------------------------- hex

test('toHex/fromHex: every byte value round-trips; lowercase out, either case in', () => {
  const all = seq(256);
  const hex = toHex(all);
  assert.is(hex.length, 512);
  assert.is(hex.slice(0, 8), '00010203');
  assert.is(hex.slice(-4), 'feff');
  assert.is(hex, hex.toLowerCase());
  eqBytes(fromHex(hex), all);
  eqBytes(fromHex(hex.toUpperCase()), all);
  eqBytes(fromHex('aBcD'), Uint8Array.from([0xab, 0xcd]));
  assert.is(fromHex('').length, 0);
  assert.is(toHex(seq(10).subarray(8)), '0809', 'views are encoded from their offset');
});

test('fromHex: odd length, non-hex characters and non-strings throw TypeError', () => {
  for (const bad of ['a', 'abc', '0g', 'zz', ' 00', '00 ', '0x00', '+1', '\u0660\u0661']) {
    let caught: unknown;
    try {
      fromHex(bad);
    } catch (e) {
      caught = e;
    }
    assert.instance(caught, TypeError, `fromHex(${JSON.stringify(bad)})`);
  }
  let caught: unknown;
  try {
    fromHex(1234 as unknown as string);
  } catch (e) {
    caught = e;
  }
  assert.instance(caught, TypeError);
});

// ---------------------------------------------------------------- base64

const RFC4648_10: [string, string][] = [
  ['', ''],
  ['f', 'Zg=='],
  ['fo', 'Zm8='],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg=='],
  ['fooba', 'Zm9vYmE='],
  ['foobar', 'Zm9vYmFy'],
];

test('base64: RFC 4648 section 10 test vectors', () => {
  for (const [plain, b64] of RFC4648_10) {
    assert.is(toBase64(utf8Encode(plain)), b64, `encode ${plain}`);
    eqBytes(fromBase64(b64)!, utf8Encode(plain), `decode ${b64}`);
  }
});

test('base64: agrees with Buffer for all lengths 0..300 and every byte value (native and portable encoders)', () => {
  for (let n = 0; n <= 300; n++) {
    const data = pseudo(n, n + 7);
    const expected = Buffer.from(data).toString('base64');
    assert.is(toBase64(data), expected, `length ${n}`);
    assert.is(toBase64Portable(data), expected, `portable, length ${n}`);
    assert.is(
      toBase64Portable(data.subarray(n >> 2)),
      Buffer.from(data.subarray(n >> 2)).toString('base64'),
      `portable view, length ${n}`,
    );
    eqBytes(fromBase64(expected)!, data, `decode length ${n}`);
  }
  const all = seq(256);
  assert.is(toBase64(all), Buffer.from(all).toString('base64'));
  assert.is(toBase64(seq(10).subarray(4, 7)), Buffer.from([4, 5, 6]).toString('base64'), 'views');
});

test('base64: ASCII whitespace (space, tab, CR, LF) anywhere is ignored', () => {
  const data = pseudo(200, 3);
  const b64 = toBase64(data);
  const wrapped76 = b64.replace(/.{76}/g, '$&\n');
  const wrappedCrlf = b64.replace(/.{64}/g, '$&\r\n');
  const spaced = b64.split('').join(' ');
  const tabbed = `\t ${b64.slice(0, 10)}\t\t${b64.slice(10)} \r\n`;
  for (const variant of [wrapped76, wrappedCrlf, spaced, tabbed, `\n${b64}\n`]) {
    eqBytes(fromBase64(variant)!, data, JSON.stringify(variant.slice(0, 30)));
  }
  eqBytes(fromBase64('Zm9v\nYg\r\n==')!, utf8Encode('foob'), 'whitespace inside the padding');
  eqBytes(fromBase64('  ')!, new Uint8Array(0), 'whitespace only = empty');
});

test('base64: strict, non-canonical or invalid input returns undefined', () => {
  const bad = [
    'Zg', // missing padding
    'Zg=', // short padding
    'Zm8', // missing padding
    'Zg===', // too much padding
    '=',
    '==',
    '====',
    'A===', // padding only / too much
    'Zg==Zm8=', // padding in the middle
    'Zm=9', // = inside a group
    'Zh==', // non-zero trailing bits (would alias 'Zg==')
    'Zm9=', // non-zero trailing bits (would alias 'Zm8=')
    'Zm9v-_==', // URL-safe alphabet
    'Zm9v*A==', // not in the alphabet
    'Zm9v\u00e9A==', // non-ASCII
    'Zm9v\u00a0', // NBSP is not ASCII whitespace
    'Zm9v\v', // vertical tab is not accepted
    'Zm9v\f', // form feed is not accepted
    'Zm9vYmFy\u0000', // NUL
    'Zm9vY', // length 5
  ];
  for (const s of bad) assert.is(fromBase64(s), undefined, `fromBase64(${JSON.stringify(s)}) must be undefined`);
});

test('base64: the Node fast path decides exactly as the portable decoder (random near-base64 strings)', () => {
  const alphabet = [
    ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
    '=',
    '==',
    ' ',
    '\n',
    '-',
    '_',
    'é',
    '\0',
    // Above U+00FF with a base64 character as the low byte: Node's decoder reads the low byte of a UTF-16 string.
    '\u0141',
    '\u2b2b',
    '\uff2f',
  ];
  const near = fc.oneof(
    fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }).map((a) => a.join('')),
    fc.uint8Array({ maxLength: 120, size: 'max' }).map((b) => toBase64(b)),
    fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 120, size: 'max' }), fc.nat(200), fc.constantFrom(...alphabet))
      .map(([b, i, c]) => {
        const s = toBase64(b);
        const at = i % s.length;
        return s.slice(0, at) + c + s.slice(at + 1);
      }),
  );
  fc.assert(
    fc.property(near, (s) => {
      const fast = fromBase64(s);
      const portable = fromBase64Portable(s);
      assert.is(fast === undefined, portable === undefined, JSON.stringify(s));
      if (fast !== undefined) eqBytes(fast, portable!, JSON.stringify(s));
      if (fast !== undefined) assert.is(fast.constructor, Uint8Array, 'a plain Uint8Array, not a Buffer');
      assert.is(base64DecodedLength(s), portable?.length, `base64DecodedLength(${JSON.stringify(s)})`);
    }),
    { numRuns: 5000, seed: 20261206 },
  );
});

test('base64: fromBase64Transient decodes as fromBase64, and a result is never written again', () => {
  const texts = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 5000, size: 'max' }).map((b) => toBase64(b)),
    fc
      .tuple(
        fc.uint8Array({ minLength: 65, maxLength: 600, size: 'max' }),
        fc.nat(900),
        fc.constantFrom('-', '_', '=', ' ', '!', 'é'),
      )
      .map(([b, i, c]) => {
        const s = toBase64(b);
        const at = i % s.length;
        return s.slice(0, at) + c + s.slice(at + 1);
      }),
    fc.uint8Array({ minLength: 65, maxLength: 300, size: 'max' }).map((b) => toBase64(b).replace(/.{20}/g, '$&\n')),
  );
  const kept: [Uint8Array, Uint8Array][] = [];
  fc.assert(
    fc.property(texts, (s) => {
      const transient = fromBase64Transient(s);
      const exact = fromBase64(s);
      assert.is(transient === undefined, exact === undefined, JSON.stringify(s.slice(0, 40)));
      if (transient === undefined) return;
      eqBytes(transient, exact!, 'same bytes');
      kept.push([transient, exact!]);
    }),
    { numRuns: 600, seed: 20261206 },
  );
  // Over a megabyte of results in all: many slabs filled, none of them written again.
  assert.ok(kept.filter(([t]) => t.byteLength !== t.buffer.byteLength).length > 100, 'most results share slabs');
  for (const [t, e] of kept) eqBytes(t, e, 'an earlier result is unchanged by every later decode');
  const small = fromBase64Transient(toBase64(pseudo(64, 3)))!;
  assert.is(small.byteLength, small.buffer.byteLength, 'up to 64 bytes: an array of its own (as cheap)');
});

test('base64: characters above U+00FF are refused, not read by their low byte (Ł is 0x0141, A is 0x41)', () => {
  const key = toBase64(new Uint8Array(32));
  for (const s of [`\u0141${key.slice(1)}`, '\u0141\u0141\u0141\u0141', `${key.slice(0, 20)}\u2b2b${key.slice(21)}`]) {
    assert.is(fromBase64(s), undefined, JSON.stringify(s));
    assert.is(base64DecodedLength(s), undefined, JSON.stringify(s));
  }
  const payload = toBase64(pseudo(300, 4)); // long enough for fromBase64Transient's own path
  assert.is(fromBase64Transient(`\u0141${payload.slice(1)}`), undefined, 'transient');
  assert.is(fromBase64(`\u0141${toBase64(pseudo(200_000, 9)).slice(1)}`), undefined, 'above the scratch size');
});

test('base64: results own their bytes (the decoder reuses a scratch buffer); large input decodes too', () => {
  const a = fromBase64(toBase64(pseudo(100, 1)))!;
  const keep = a.slice();
  const b = fromBase64(toBase64(pseudo(100, 2)))!;
  eqBytes(a, keep, 'an earlier result is unchanged by a later decode');
  assert.is.not(a.buffer, b.buffer);
  assert.is(a.byteLength, a.buffer.byteLength, 'no view into a larger shared buffer');
  const big = pseudo(200_000, 9); // above the scratch size
  eqBytes(fromBase64(toBase64(big))!, big, '200 000 bytes');
  assert.is(fromBase64(`${toBase64(big).slice(0, -4)}-_-_`), undefined, 'base64url characters in a large input');
  const wrapped = toBase64(big).replace(/.{76}/g, '$&\n');
  eqBytes(fromBase64(wrapped)!, big, 'large line-wrapped input');
});

test('base64: non-string input throws TypeError', () => {
  let caught: unknown;
  try {
    fromBase64(seq(4) as unknown as string);
  } catch (e) {
    caught = e;
  }
  assert.instance(caught, TypeError);
});

// ---------------------------------------------------------------- UTF-8

test('utf8: round-trips ASCII, BMP and astral characters', () => {
  for (const s of ['', 'hello', 'über', '\u20ac', '日本語', '\u{1F510} OMEMO', '\u0000nul']) {
    assert.is(utf8Decode(utf8Encode(s)), s);
    eqBytes(utf8Encode(s), new Uint8Array(Buffer.from(s, 'utf8')), s);
  }
  eqBytes(utf8Encode('\u20ac'), Uint8Array.from([0xe2, 0x82, 0xac]));
});

test('utf8DecodeOrUndefined decides as utf8Decode (valid, invalid, U+FFFD itself, a BOM), without throwing', () => {
  const strict = (b: Uint8Array) => {
    try {
      return utf8Decode(b);
    } catch {
      return undefined;
    }
  };
  const pieces = [
    [0x61],
    [0xef, 0xbf, 0xbd],
    [0xef, 0xbb, 0xbf],
    [0xff],
    [0xc3, 0xa9],
    [0xc3],
    [0xbf],
    [0xed, 0xa0, 0x80],
    [0xf0, 0x9f, 0x94, 0x90],
    [0xef, 0xbf],
    [0x00],
  ];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.array(fc.constantFrom(...pieces), { maxLength: 8 }).map((p) => Uint8Array.from(p.flat())),
        fc.uint8Array({ maxLength: 40 }),
      ),
      (b) => assert.is(utf8DecodeOrUndefined(b), strict(b), Array.from(b).join(',')),
    ),
    { numRuns: 5000, seed: 20261206 },
  );
  assert.is(utf8DecodeOrUndefined(Uint8Array.of(0x61, 0xef, 0xbf, 0xbd)), 'a\uFFFD', 'U+FFFD itself is text');
  assert.is(utf8DecodeOrUndefined(Uint8Array.of(0x61, 0xff)), undefined);
});

test('utf8Decode: invalid UTF-8 throws TypeError (no U+FFFD replacement)', () => {
  const bad = [
    [0xff],
    [0xc0, 0x80], // overlong NUL
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // UTF-16 surrogate
    [0xe2, 0x82], // truncated
    [0x80], // lone continuation
    [0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
    [0x61, 0xfe, 0x62],
  ];
  for (const b of bad) {
    let caught: unknown;
    try {
      utf8Decode(Uint8Array.from(b));
    } catch (e) {
      caught = e;
    }
    assert.instance(caught, TypeError, `bytes ${b.join(',')}`);
  }
});

test('createByteArena: zeroed, disjoint arrays across chunk boundaries; large ones get their own buffer', () => {
  const alloc = createByteArena(100);
  const parts = [40, 40, 40, 1, 99, 100, 0, 7].map((n, i) => {
    const a = alloc(n);
    assert.is(a.length, n);
    assert.ok(
      a.every((b) => b === 0),
      `array ${i} is zeroed`,
    );
    a.fill(i + 1);
    return a;
  });
  parts.forEach((a, i) => {
    assert.ok(
      a.every((b) => b === i + 1),
      `array ${i} was not overwritten by a later one`,
    );
  });
  assert.is(parts[0]!.buffer, parts[1]!.buffer, 'small arrays share a chunk');
  assert.is.not(parts[1]!.buffer, parts[2]!.buffer, 'a full chunk is replaced');
  const big = alloc(5000);
  assert.is(big.byteOffset, 0);
  assert.is(big.buffer.byteLength, 5000);
});

test('lessThanLittleEndian: the order of the little-endian numbers, the top byte masked by topMask', () => {
  const big = (b: Uint8Array, topMask = 0xff) =>
    [...b].reverse().reduce((n, x, i) => (n << 8n) | BigInt(i === 0 ? x & topMask : x), 0n);
  const p = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
  const values = [new Uint8Array(32), p, fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')];
  for (let k = 0; k < 19; k++) {
    const v = p.slice();
    v[0] = 0xed + k;
    values.push(
      v,
      Uint8Array.from(v, (x, i) => (i === 31 ? x | 0x80 : x)),
    );
  }
  for (let k = 0; k < 40; k++) values.push(seq(32, k * 7));
  for (const a of values) {
    for (const mask of [0xff, 0x7f]) {
      assert.is(lessThanLittleEndian(a, p, mask), big(a, mask) < big(p), `${toHex(a)} mask ${mask}`);
    }
  }
});

test.run();
