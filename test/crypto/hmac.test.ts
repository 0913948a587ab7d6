// src/crypto/hmac.ts: HMAC-SHA256 (RFC 4231), HKDF-SHA256 (RFC 5869), SHA-512, plus differential tests
// against node:crypto for the key/data/length shapes the known answers do not reach (32-byte keys take a
// separate fast path; large inputs grow the WASM scratch buffer).
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8Encode } from '../../src/crypto/bytes';
import { hkdfSha256, hkdfSha256Expand, hkdfSha256Extract, hmacSha256, sha512 } from '../../src/crypto/hmac';
import { cryptoReady } from '../../src/crypto/ready';
import { eqBytes, eqHex, h, isPlainU8, loadVectors, pseudo, seq, throwsArg } from './helpers';

interface HmacVectors {
  rfc4231_4: { name: string; key: string; data: string; hmacSha256: string; truncatedToBytes?: number }[];
}
interface HkdfVectors {
  rfc5869_a: { name: string; ikm: string; salt: string; info: string; length: number; prk: string; okm: string }[];
}
const HMAC = loadVectors<HmacVectors>('hmac-sha256.json');
const HKDF = loadVectors<HkdfVectors>('hkdf-sha256.json');
const ED = loadVectors<{ rfc8032_7_1: { name: string; message: string }[] }>('ed25519.json');

const nodeHmac = (key: Uint8Array, data: Uint8Array) => toHex(createHmac('sha256', key).update(data).digest());
/** HKDF-SHA256 reference: node's hkdfSync (info up to 1024 bytes), else RFC 5869 section 2 over node's HMAC. */
function nodeHkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, len: number): string {
  if (info.length <= 1024) return toHex(new Uint8Array(hkdfSync('sha256', ikm, salt, info, len)));
  const prk = createHmac('sha256', salt.length ? salt : new Uint8Array(32))
    .update(ikm)
    .digest();
  let t: Uint8Array = new Uint8Array(0);
  let okm = '';
  for (let i = 1; okm.length < len * 2; i++) {
    t = createHmac('sha256', prk).update(t).update(info).update(Uint8Array.of(i)).digest();
    okm += toHex(t);
  }
  return okm.slice(0, len * 2);
}

test.before(async () => {
  await cryptoReady();
});

test('vector files are complete', () => {
  assert.is(HMAC.rfc4231_4.length, 7);
  assert.is(HKDF.rfc5869_a.length, 3);
});

test('RFC 4231 section 4: HMAC-SHA256 test cases 1-7 (case 5 truncated to 128 bits)', () => {
  for (const v of HMAC.rfc4231_4) {
    const mac = hmacSha256(h(v.key), h(v.data));
    isPlainU8(mac);
    assert.is(mac.length, 32, v.name);
    eqHex(mac.subarray(0, v.truncatedToBytes ?? 32), v.hmacSha256, v.name);
  }
});

test('RFC 5869 A.1-A.3: HKDF-SHA256 extract, expand and one-shot', () => {
  for (const v of HKDF.rfc5869_a) {
    const prk = hkdfSha256Extract(h(v.salt), h(v.ikm));
    eqHex(prk, v.prk, `${v.name} PRK`);
    eqHex(hkdfSha256Expand(h(v.prk), h(v.info), v.length), v.okm, `${v.name} expand`);
    const okm = hkdfSha256(h(v.ikm), h(v.salt), h(v.info), v.length);
    isPlainU8(okm);
    eqHex(okm, v.okm, `${v.name} one-shot`);
  }
});

test('HKDF: an empty salt equals 32 zero bytes (RFC 5869 section 2.2)', () => {
  const ikm = seq(22);
  eqBytes(hkdfSha256Extract(new Uint8Array(0), ikm), hkdfSha256Extract(new Uint8Array(32), ikm));
  eqBytes(hkdfSha256(ikm, new Uint8Array(0), seq(3), 64), hkdfSha256(ikm, new Uint8Array(32), seq(3), 64));
});

test('SHA-512: FIPS 180-2 "abc" (= RFC 8032 TEST SHA(abc) message), empty input, and node:crypto agreement', () => {
  const abc = ED.rfc8032_7_1.find((v) => v.name === 'TEST SHA(abc)')!;
  eqHex(sha512(utf8Encode('abc')), abc.message);
  eqHex(
    sha512(new Uint8Array(0)),
    'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
  );
  for (const n of [1, 111, 112, 127, 128, 129, 1000, 100000]) {
    const data = pseudo(n, n);
    eqHex(sha512(data), createHash('sha512').update(data).digest('hex'), `length ${n}`);
  }
});

const KEY_LENGTHS = [0, 1, 16, 31, 32, 33, 63, 64, 65, 131, 200];
const DATA_LENGTHS = [0, 1, 31, 32, 55, 56, 63, 64, 65, 1000, 4096, 5000, 70000];

test('HMAC-SHA256 agrees with node:crypto for every key length (incl. the 32-byte fast path) and data length', () => {
  for (const k of KEY_LENGTHS) {
    for (const d of DATA_LENGTHS) {
      const key = pseudo(k, k * 7 + 1);
      const data = pseudo(d, d * 3 + 2);
      assert.is(toHex(hmacSha256(key, data)), nodeHmac(key, data), `key ${k} bytes, data ${d} bytes`);
    }
  }
});

test('HMAC-SHA256 interleaved sizes: results stay correct after the scratch buffer grows and shrinks', () => {
  const key = pseudo(32, 11);
  const expected: string[] = [];
  const got: Uint8Array[] = [];
  for (const d of [10, 100000, 10, 300000, 5, 0, 4097, 1]) {
    const data = pseudo(d, d);
    expected.push(nodeHmac(key, data));
    got.push(hmacSha256(key, data));
  }
  // Results must be copies: later calls must not have overwritten earlier ones.
  assert.equal(got.map(toHex), expected);
});

test('HMAC/HKDF accept subarray views with a byteOffset and do not modify inputs', () => {
  const backing = pseudo(200, 5);
  const key = backing.subarray(3, 35);
  const data = backing.subarray(40, 140);
  const before = toHex(backing);
  assert.is(toHex(hmacSha256(key, data)), nodeHmac(key.slice(), data.slice()));
  assert.is(toHex(hmacSha256(backing.subarray(1, 20), data)), nodeHmac(backing.slice(1, 20), data.slice()));
  const ikm = backing.subarray(7, 29);
  const salt = backing.subarray(50, 63);
  const info = backing.subarray(100, 110);
  assert.is(toHex(hkdfSha256(ikm, salt, info, 42)), nodeHkdf(ikm.slice(), salt.slice(), info.slice(), 42));
  const prk = hkdfSha256Extract(salt, ikm);
  assert.is(toHex(hkdfSha256Expand(prk, info, 42)), nodeHkdf(ikm.slice(), salt.slice(), info.slice(), 42));
  assert.is(toHex(backing), before, 'inputs modified');
});

test('HKDF-SHA256 agrees with node:crypto for many input shapes and lengths 1..8160', () => {
  const shapes = [
    [0, 0, 0],
    [32, 32, 0],
    [32, 0, 32],
    [1, 65, 100],
    [100, 13, 10],
    [5000, 5000, 5000],
  ];
  for (const [i, [ni, ns, nf]] of shapes.entries()) {
    for (const len of [1, 31, 32, 33, 64, 80, 255, 256, 1000, 8160]) {
      const ikm = pseudo(ni!, i * 3 + 1);
      const salt = pseudo(ns!, i * 3 + 2);
      const info = pseudo(nf!, i * 3 + 3);
      const want = nodeHkdf(ikm, salt, info, len);
      assert.is(toHex(hkdfSha256(ikm, salt, info, len)), want, `shape ${i}, length ${len}`);
      assert.is(
        toHex(hkdfSha256Expand(hkdfSha256Extract(salt, ikm), info, len)),
        want,
        `shape ${i}, length ${len} (two-step)`,
      );
    }
  }
});

test('HKDF: a longer output extends a shorter one (same prefix)', () => {
  const long = hkdfSha256(seq(10), seq(5), seq(3), 200);
  for (const len of [1, 32, 33, 199]) eqBytes(hkdfSha256(seq(10), seq(5), seq(3), len), long.subarray(0, len));
});

test('results are fresh arrays: mutating one does not change the next', () => {
  const key = seq(32);
  const a = hmacSha256(key, seq(4));
  const hex = toHex(a);
  a.fill(0);
  assert.is(toHex(hmacSha256(key, seq(4))), hex);
  const b = hkdfSha256(seq(4), seq(4), seq(4), 32);
  const bh = toHex(b);
  b.fill(1);
  assert.is(toHex(hkdfSha256(seq(4), seq(4), seq(4), 32)), bh);
});

test('bad inputs: TypeError/RangeError naming the parameter', () => {
  const prk = seq(32);
  throwsArg(() => hmacSha256('key' as unknown as Uint8Array, seq(1)), TypeError, 'key');
  throwsArg(() => hmacSha256(seq(32), 5 as unknown as Uint8Array), TypeError, 'data');
  throwsArg(() => hkdfSha256Extract([0] as unknown as Uint8Array, seq(1)), TypeError, 'salt');
  throwsArg(() => hkdfSha256Extract(seq(1), undefined as unknown as Uint8Array), TypeError, 'ikm');
  throwsArg(() => hkdfSha256Expand(seq(31), seq(1), 32), RangeError, 'prk');
  throwsArg(() => hkdfSha256Expand(seq(33), seq(1), 32), RangeError, 'prk');
  throwsArg(() => hkdfSha256Expand(prk, 'info' as unknown as Uint8Array, 32), TypeError, 'info');
  throwsArg(() => hkdfSha256Expand(prk, seq(1), 0), RangeError, 'length');
  throwsArg(() => hkdfSha256Expand(prk, seq(1), 8161), RangeError, 'length');
  throwsArg(() => hkdfSha256Expand(prk, seq(1), -1), RangeError, 'length');
  throwsArg(() => hkdfSha256Expand(prk, seq(1), 1.5), TypeError, 'length');
  throwsArg(() => hkdfSha256Expand(prk, seq(1), '32' as unknown as number), TypeError, 'length');
  throwsArg(() => hkdfSha256(null as unknown as Uint8Array, seq(1), seq(1), 32), TypeError, 'ikm');
  throwsArg(() => hkdfSha256(seq(1), {} as unknown as Uint8Array, seq(1), 32), TypeError, 'salt');
  throwsArg(() => hkdfSha256(seq(1), seq(1), 'x' as unknown as Uint8Array, 32), TypeError, 'info');
  throwsArg(() => hkdfSha256(seq(1), seq(1), seq(1), 0), RangeError, 'length');
  throwsArg(() => hkdfSha256(seq(1), seq(1), seq(1), 8161), RangeError, 'length');
  throwsArg(() => hkdfSha256(seq(1), seq(1), seq(1), Number.NaN), TypeError, 'length');
  throwsArg(() => sha512('abc' as unknown as Uint8Array), TypeError, 'data');
});

test.run();
