// src/crypto/kernel-aes-cbc.ts: the kernel's AES-256-CBC with PKCS#7 against NIST SP 800-38A F.2.5/F.2.6 and
// byte for byte against aes.ts (node:crypto), across its 16 KiB chunks; padding checks and argument checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aes256CbcDecrypt, aes256CbcEncrypt } from '../../src/crypto/aes';
import { kernelAes256CbcDecrypt, kernelAes256CbcEncrypt } from '../../src/crypto/kernel-aes-cbc';
import { cryptoReady } from '../../src/crypto/ready';
import { eqBytes, eqHex, h, isPlainU8, loadVectors, pseudo, rawCbc, seq, throwsArg, throwsCode } from './helpers';

type CbcVector = { key: string; iv: string; plaintext: string; ciphertext: string };
const CBC = loadVectors<{ sp800_38a_f_2_5: CbcVector }>('aes-cbc.json').sp800_38a_f_2_5;

test.before(async () => {
  await cryptoReady();
});

test('kernelAes256CbcEncrypt: SP 800-38A F.2.5 blocks plus one full padding block; F.2.6 ciphertext decrypts', () => {
  const key = h(CBC.key);
  const iv = h(CBC.iv);
  const ct = kernelAes256CbcEncrypt(key, iv, h(CBC.plaintext));
  isPlainU8(ct);
  assert.is(ct.length, 80);
  eqHex(ct.subarray(0, 64), CBC.ciphertext, 'F.2.5 blocks');
  eqBytes(ct.subarray(64), rawCbc(key, ct.subarray(48, 64), new Uint8Array(16).fill(16)), 'padding block');
  const pt = kernelAes256CbcDecrypt(key, iv, ct);
  isPlainU8(pt);
  eqHex(pt, CBC.plaintext, 'F.2.6');
});

test('kernel AES-CBC: identical to aes.ts for 0..64, 100, 1024 bytes and across the 16 KiB chunks; round trips', () => {
  const lengths = [...Array.from({ length: 65 }, (_, i) => i), 100, 1024, 16383, 16384, 16385, 16400, 40000];
  for (const n of lengths) {
    const key = pseudo(32, n * 3 + 1);
    const iv = pseudo(16, n * 3 + 2);
    const pt = pseudo(n, n * 3 + 3);
    const ct = kernelAes256CbcEncrypt(key, iv, pt);
    eqBytes(ct, aes256CbcEncrypt(key, iv, pt), `encrypt ${n}`);
    const back = kernelAes256CbcDecrypt(key, iv, ct);
    isPlainU8(back);
    assert.is(back.length, n, `decrypt length ${n}`);
    eqBytes(back, pt, `decrypt ${n}`);
  }
});

const DECRYPT_PADDING_TEST =
  'kernelAes256CbcDecrypt: every valid padding 1..16 like aes.ts; bad padding and bad lengths -> authentication-failed';
test(DECRYPT_PADDING_TEST, () => {
  const key = seq(32);
  const iv = seq(16, 100);
  for (let p = 1; p <= 16; p++) {
    const block = pseudo(32, p);
    block.fill(p, 32 - p);
    const ct = rawCbc(key, iv, block);
    eqBytes(kernelAes256CbcDecrypt(key, iv, ct), aes256CbcDecrypt(key, iv, ct), `padding ${p}`);
    assert.is(kernelAes256CbcDecrypt(key, iv, ct).length, 32 - p);
  }
  const bad: [string, (b: Uint8Array) => void][] = [
    ['last byte 0', (b) => (b[31] = 0)],
    ['last byte 17', (b) => b.fill(17, 15)],
    ['last byte 255', (b) => b.fill(255, 16)],
    ['pad 2, other byte differs', (b) => ((b[31] = 2), (b[30] = 3))],
    ['pad 16, first byte differs', (b) => (b.fill(16, 16), (b[16] = 15))],
    ['pad 5, middle byte differs', (b) => (b.fill(5, 27), (b[29] = 4))],
  ];
  for (const [name, corrupt] of bad) {
    const block = pseudo(32, 77);
    corrupt(block);
    const ct = rawCbc(key, iv, block);
    throwsCode(() => aes256CbcDecrypt(key, iv, ct), 'authentication-failed', `aes.ts: ${name}`);
    throwsCode(() => kernelAes256CbcDecrypt(key, iv, ct), 'authentication-failed', `kernel: ${name}`);
  }
  // A long input whose padding is bad in the last chunk: nothing is released.
  const long = pseudo(40000, 5);
  long[39999] = 0;
  throwsCode(() => kernelAes256CbcDecrypt(key, iv, rawCbc(key, iv, long)), 'authentication-failed', 'long input');
  for (const n of [0, 1, 15, 17, 31, 33]) {
    throwsCode(() => kernelAes256CbcDecrypt(key, iv, new Uint8Array(n)), 'authentication-failed', `length ${n}`);
    throwsCode(() => aes256CbcDecrypt(key, iv, new Uint8Array(n)), 'authentication-failed', `aes.ts length ${n}`);
  }
});

test('kernel AES-CBC: argument checks', () => {
  const k = new Uint8Array(32);
  const iv = new Uint8Array(16);
  for (const f of [kernelAes256CbcEncrypt, kernelAes256CbcDecrypt]) {
    throwsArg(() => f(new Uint8Array(16), iv, new Uint8Array(16)), RangeError, 'key');
    throwsArg(() => f(k, new Uint8Array(12), new Uint8Array(16)), RangeError, 'iv');
    throwsArg(() => f('k' as unknown as Uint8Array, iv, new Uint8Array(16)), TypeError, 'key');
  }
  throwsArg(() => kernelAes256CbcEncrypt(k, iv, [1, 2] as unknown as Uint8Array), TypeError, 'plaintext');
  throwsArg(() => kernelAes256CbcDecrypt(k, iv, null as unknown as Uint8Array), TypeError, 'ciphertext');
});

test.run();
