// src/crypto/kernel-hkdf.ts: HKDF-SHA256 on the ratchet kernel (rk_hkdf) against RFC 5869 and libsodium's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../src/crypto/bytes';
import { HKDF_ZERO_SALT, hkdfSha256 } from '../../src/crypto/hmac';
import { kernelHkdfSha256 } from '../../src/crypto/kernel-hkdf';
import { loadedKernel } from '../../src/crypto/kernel-loader';
import { cryptoReady } from '../../src/crypto/ready';
import { h, loadVectors, pseudo, throwsArg } from './helpers';

const HKDF = loadVectors<{
  rfc5869_a: { name: string; ikm: string; salt: string; info: string; length: number; okm: string }[];
}>('hkdf-sha256.json');

test.before(async () => {
  await cryptoReady();
});

test('RFC 5869 A.3 (empty salt: 32 zero bytes) on the kernel; A.1 and A.2 (other salt lengths) are left to libsodium', () => {
  for (const v of HKDF.rfc5869_a) {
    const out = kernelHkdfSha256(h(v.ikm), h(v.salt), h(v.info), v.length);
    const saltBytes = v.salt.length / 2;
    if (saltBytes === 0 || saltBytes === 32) {
      assert.ok(out !== undefined, `${v.name}: the kernel takes it`);
      assert.is(toHex(out!), v.okm, v.name);
    } else {
      assert.is(out, undefined, `${v.name}: a ${saltBytes}-byte salt`);
    }
  }
});

test('the same bytes as hkdfSha256 (libsodium) at every block boundary of ikm, info and output', () => {
  const ikmLengths = [0, 1, 31, 32, 55, 56, 63, 64, 65, 119, 120, 160, 300];
  const infoLengths = [0, 1, 13, 26, 30, 31, 32, 95, 128];
  const outLengths = [1, 31, 32, 33, 64, 80, 96, 255, 1000];
  const salts = [new Uint8Array(0), HKDF_ZERO_SALT, new Uint8Array(32), pseudo(32, 9)];
  let n = 0;
  for (const [i, ikmLength] of ikmLengths.entries()) {
    for (const [j, infoLength] of infoLengths.entries()) {
      const salt = salts[(i + j) % salts.length]!;
      const length = outLengths[(i * 3 + j) % outLengths.length]!;
      const ikm = pseudo(ikmLength, 100 + i);
      const info = pseudo(infoLength, 200 + j);
      const ours = kernelHkdfSha256(ikm, salt, info, length);
      assert.ok(ours !== undefined, `ikm ${ikmLength}, info ${infoLength}, salt ${salt.length}, out ${length}`);
      assert.is(toHex(ours!), toHex(hkdfSha256(ikm, salt, info, length)), `ikm ${ikmLength} info ${infoLength}`);
      n++;
    }
  }
  assert.is(n, ikmLengths.length * infoLengths.length);
});

test('lengths the kernel does not take answer undefined (the caller falls back), not a wrong result', () => {
  assert.is(kernelHkdfSha256(pseudo(32, 1), pseudo(16, 2), pseudo(8, 3), 32), undefined, '16-byte salt');
  assert.is(kernelHkdfSha256(pseudo(32, 1), pseudo(33, 2), pseudo(8, 3), 32), undefined, '33-byte salt');
  assert.is(kernelHkdfSha256(pseudo(32, 1), HKDF_ZERO_SALT, pseudo(129, 3), 32), undefined, '129-byte info');
  assert.is(kernelHkdfSha256(pseudo(32769, 1), HKDF_ZERO_SALT, pseudo(8, 3), 32), undefined, 'ikm over 32 KiB');
});

test('the kernel keeps no copy of the salt, the input key material or the output', () => {
  const k = loadedKernel()!;
  const ikm = pseudo(160, 77);
  const salt = pseudo(32, 78);
  const out = kernelHkdfSha256(ikm, salt, pseudo(10, 79), 64)!;
  const heap = k.heap;
  const hex = toHex(heap);
  for (const secret of [ikm.subarray(0, 32), ikm.subarray(128), salt, out.subarray(0, 32), out.subarray(32)]) {
    assert.not.ok(hex.includes(toHex(secret)), `${toHex(secret)} is still in the kernel's memory`);
  }
});

test('bad arguments: TypeError/RangeError naming the parameter', () => {
  throwsArg(() => kernelHkdfSha256([1] as unknown as Uint8Array, HKDF_ZERO_SALT, pseudo(1, 1), 32), TypeError, 'ikm');
  throwsArg(() => kernelHkdfSha256(pseudo(1, 1), 'x' as unknown as Uint8Array, pseudo(1, 1), 32), TypeError, 'salt');
  throwsArg(() => kernelHkdfSha256(pseudo(1, 1), HKDF_ZERO_SALT, null as unknown as Uint8Array, 32), TypeError, 'info');
  throwsArg(() => kernelHkdfSha256(pseudo(1, 1), HKDF_ZERO_SALT, pseudo(1, 1), 0), RangeError, 'length');
  throwsArg(() => kernelHkdfSha256(pseudo(1, 1), HKDF_ZERO_SALT, pseudo(1, 1), 8161), RangeError, 'length');
});

test.run();
