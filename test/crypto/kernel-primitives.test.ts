// The ratchet kernel's own primitives against published known answers: FIPS 180-2 SHA-256, RFC 4231 HMAC,
// RFC 5869 HKDF and FIPS-197 AES-256, through the rk_test_* exports of the test module (kernel-test-hooks.ts),
// which wasm/build.sh builds from the same C source as the shipped one.
import { createCipheriv, createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eqBytes, eqHex, h, loadVectors, pseudo } from './helpers';
import { kernelTestHooks as hooks } from './kernel-test-hooks';

type ShaVector = { name: string; message: string; repeat: number; sha256: string };
type HmacVector = { name: string; key: string; data: string; hmacSha256: string; truncatedToBytes?: number };
type HkdfVector = { name: string; ikm: string; salt: string; info: string; length: number; prk: string; okm: string };
const SHA = loadVectors<{ fips180_2_appendix_b: ShaVector[] }>('sha256.json');
const HMAC = loadVectors<{ rfc4231_4: HmacVector[] }>('hmac-sha256.json');
const HKDF = loadVectors<{ rfc5869_a: HkdfVector[] }>('hkdf-sha256.json');
const AES = loadVectors<{ fips197_c3: { key: string; plaintext: string; ciphertext: string } }>(
  'aes256-block.json',
).fips197_c3;

test('kernel SHA-256: FIPS 180-2 B.1-B.3 (abc, 448-bit message, one million a)', () => {
  assert.is(SHA.fips180_2_appendix_b.length, 3);
  for (const v of SHA.fips180_2_appendix_b) {
    const one = h(v.message);
    const message = new Uint8Array(one.length * v.repeat);
    for (let i = 0; i < v.repeat; i++) message.set(one, i * one.length);
    eqHex(hooks.sha256(message), v.sha256, v.name);
  }
});

test('kernel SHA-256: same as node:crypto at every padding boundary (0..130 bytes) and across buffer chunks', () => {
  const lengths = [...Array.from({ length: 131 }, (_, i) => i), 4095, 4096, 4097, 8192 + 55, 10000];
  for (const n of lengths) {
    const data = pseudo(n, n + 1);
    eqHex(hooks.sha256(data), createHash('sha256').update(data).digest('hex'), `length ${n}`);
  }
});

test('kernel HMAC-SHA256: RFC 4231 test cases 1-7 (keys of 4 to 131 bytes, truncated case 5)', () => {
  assert.is(HMAC.rfc4231_4.length, 7);
  for (const v of HMAC.rfc4231_4) {
    const mac = hooks.hmacSha256(h(v.key), h(v.data));
    eqHex(mac.subarray(0, v.truncatedToBytes ?? 32), v.hmacSha256, v.name);
  }
});

test('kernel HKDF-SHA256: RFC 5869 A.1-A.3 (PRK through the kernel HMAC, OKM through HKDF)', () => {
  assert.is(HKDF.rfc5869_a.length, 3);
  for (const v of HKDF.rfc5869_a) {
    const salt = v.salt === '' ? new Uint8Array(32) : h(v.salt);
    eqHex(hooks.hmacSha256(salt, h(v.ikm)), v.prk, `${v.name} PRK`);
    eqHex(hooks.hkdfSha256(h(v.ikm), h(v.salt), h(v.info), v.length), v.okm, `${v.name} OKM`);
  }
});

test('kernel AES-256: FIPS-197 C.3 cipher and inverse cipher; random blocks agree with node:crypto', () => {
  eqHex(hooks.aes256Block(h(AES.key), h(AES.plaintext), false), AES.ciphertext, 'C.3 cipher');
  eqHex(hooks.aes256Block(h(AES.key), h(AES.ciphertext), true), AES.plaintext, 'C.3 inverse cipher');
  for (let i = 0; i < 64; i++) {
    const key = pseudo(32, 500 + i);
    const block = pseudo(16, 900 + i);
    const ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false).update(block);
    eqBytes(hooks.aes256Block(key, block, false), new Uint8Array(ecb), `block ${i}`);
    eqBytes(hooks.aes256Block(key, new Uint8Array(ecb), true), block, `inverse ${i}`);
  }
});

test.run();
