// src/crypto/ratchet-kernel.ts: the WebAssembly kernel's primitives against published known answers (FIPS 180-2
// SHA-256, RFC 4231 HMAC, RFC 5869 HKDF, FIPS-197 AES-256, SP 800-38A CBC), its AES-CBC against aes.ts, the
// batched ratchet step byte for byte against the portable path and against node:crypto, key material wiped
// from the kernel's memory, and the argument checks.
import { createCipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aes256CbcDecrypt, aes256CbcEncrypt } from '../../src/crypto/aes';
import { fromBase64, toHex, utf8Encode } from '../../src/crypto/bytes';
import {
  KERNEL_MAX_LANES_PER_CALL,
  kernelAes256CbcDecrypt,
  kernelAes256CbcEncrypt,
  ratchetKernelAvailable,
  ratchetSendBatch,
  requireKernel,
  ratchetSendBatchPortable,
  ratchetSendBatchWasm,
  type RatchetSendLane,
  type RatchetSendParams,
} from '../../src/crypto/ratchet-kernel';
import { RATCHET_KERNEL_WASM_BASE64, RATCHET_KERNEL_WASM_BYTES } from '../../src/crypto/generated/ratchet-kernel-wasm';
import { cryptoReady } from '../../src/crypto/ready';
import { eqBytes, eqHex, h, isPlainU8, loadVectors, pseudo, seq, throwsArg, throwsCode } from './helpers';
import { kernelTestHooks as hooks, kernelTestModuleBytes } from './kernel-test-hooks';

const SHA = loadVectors<{ fips180_2_appendix_b: { name: string; message: string; repeat: number; sha256: string }[] }>('sha256.json');
const HMAC = loadVectors<{ rfc4231_4: { name: string; key: string; data: string; hmacSha256: string; truncatedToBytes?: number }[] }>(
  'hmac-sha256.json',
);
const HKDF = loadVectors<{ rfc5869_a: { name: string; ikm: string; salt: string; info: string; length: number; prk: string; okm: string }[] }>(
  'hkdf-sha256.json',
);
const AES = loadVectors<{ fips197_c3: { key: string; plaintext: string; ciphertext: string } }>('aes256-block.json').fips197_c3;
const CBC = loadVectors<{ sp800_38a_f_2_5: { key: string; iv: string; plaintext: string; ciphertext: string } }>('aes-cbc.json').sp800_38a_f_2_5;

const INFO_TWOMEMO = utf8Encode('OMEMO Message Key Material');
const INFO_OLDMEMO = utf8Encode('WhisperMessageKeys');
type Batch = (lanes: readonly RatchetSendLane[], params: RatchetSendParams) => void;

test.before(async () => {
  await cryptoReady();
});

/** Raw AES-256-CBC without padding (to craft ciphertexts with chosen padding bytes). */
function rawCbc(key: Uint8Array, iv: Uint8Array, blocks: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(blocks), c.final()]));
}

/** The step per the spec with node:crypto only (independent of libsodium and of the kernel). */
function referenceStep(lane: RatchetSendLane, params: RatchetSendParams) {
  const seed = createHmac('sha256', lane.chainKey).update(Uint8Array.of(1)).digest();
  const next = createHmac('sha256', lane.chainKey).update(Uint8Array.of(2)).digest();
  const okm = Buffer.from(hkdfSync('sha256', seed, new Uint8Array(32), params.info, 80));
  const c = createCipheriv('aes-256-cbc', okm.subarray(0, 32), okm.subarray(64, 80));
  const ct = Buffer.concat([c.update(params.plaintext), c.final()]);
  const header = lane.message.subarray(lane.headerOffset, lane.headerOffset + lane.headerLength);
  const mac = createHmac('sha256', okm.subarray(32, 64)).update(lane.associatedData).update(header).update(ct).digest();
  return { seed, next, okm, ct: new Uint8Array(ct), mac: new Uint8Array(mac.subarray(0, params.macBytes)) };
}

interface LaneShape {
  ad: number;
  header: number;
  /** MAC in front of the header (OMEMO 2 layout) instead of after the ciphertext (OMEMO 0.3). */
  macFirst: boolean;
  /** Random bytes before and after the used part of the message (must stay untouched). */
  slack: number;
}

/** A lane with pseudo-random contents derived from `seed`. */
function makeLane(seed: number, shape: LaneShape, ctLen: number, macBytes: number): RatchetSendLane {
  const { ad, header, macFirst, slack } = shape;
  const size = slack + header + ctLen + macBytes + slack;
  const message = pseudo(size, seed * 7 + 1);
  const headerOffset = macFirst ? slack + macBytes : slack;
  const macOffset = macFirst ? slack : slack + header + ctLen;
  return {
    chainKey: pseudo(32, seed * 7 + 2),
    nextChainKey: pseudo(32, seed * 7 + 3),
    associatedData: pseudo(ad, seed * 7 + 4),
    message,
    headerOffset,
    headerLength: header,
    macOffset,
  };
}

function cloneLanes(lanes: readonly RatchetSendLane[]): RatchetSendLane[] {
  return lanes.map((l) => ({ ...l, chainKey: l.chainKey.slice(), nextChainKey: l.nextChainKey.slice(), associatedData: l.associatedData.slice(), message: l.message.slice() }));
}

function shapeFor(i: number, seed: number): LaneShape {
  const r = pseudo(4, seed * 1000 + i);
  const ads = [0, 33, 64, 66, 128];
  return { ad: ads[r[0]! % ads.length]!, header: r[1]! % 129, macFirst: (r[2]! & 1) === 1, slack: r[3]! % 5 };
}

/** Runs both paths on identical copies of `count` lanes and compares every byte; returns the kernel's lanes. */
function compareBatch(count: number, params: RatchetSendParams, seed: number): RatchetSendLane[] {
  const ctLen = (params.plaintext.length & ~15) + 16;
  const original = Array.from({ length: count }, (_, i) => makeLane(seed * 100003 + i, shapeFor(i, seed), ctLen, params.macBytes));
  const viaKernel = cloneLanes(original);
  const viaPortable = cloneLanes(original);
  ratchetSendBatchWasm(viaKernel, params);
  ratchetSendBatchPortable(viaPortable, params);
  for (let i = 0; i < count; i++) {
    const what = `lane ${i} of ${count} (pt ${params.plaintext.length}, mac ${params.macBytes}, seed ${seed})`;
    const o = original[i]!;
    const k = viaKernel[i]!;
    eqBytes(k.message, viaPortable[i]!.message, `${what}: message`);
    eqBytes(k.nextChainKey, viaPortable[i]!.nextChainKey, `${what}: next chain key`);
    // Everything outside the ciphertext and MAC is untouched, inputs included.
    const ctAt = o.headerOffset + o.headerLength;
    for (let b = 0; b < o.message.length; b++) {
      const written = (b >= ctAt && b < ctAt + ctLen) || (b >= o.macOffset && b < o.macOffset + params.macBytes);
      if (!written && k.message[b] !== o.message[b]) assert.unreachable(`${what}: byte ${b} outside ciphertext and MAC changed`);
    }
    eqBytes(k.chainKey, o.chainKey, `${what}: chain key`);
    eqBytes(k.associatedData, o.associatedData, `${what}: associated data`);
  }
  return viaKernel;
}

// ---------------------------------------------------------------- loading

test('kernel: loads on Node (WebAssembly SIMD); the embedded module is wasm/ratchet-kernel.wasm', () => {
  assert.ok(ratchetKernelAvailable());
  const embedded = fromBase64(RATCHET_KERNEL_WASM_BASE64)! as Uint8Array<ArrayBuffer>;
  const file = new Uint8Array(readFileSync(new URL('../../wasm/ratchet-kernel.wasm', import.meta.url)));
  assert.is(embedded.length, RATCHET_KERNEL_WASM_BYTES);
  assert.is(toHex(createHash('sha256').update(embedded).digest()), toHex(createHash('sha256').update(file).digest()));
  assert.ok(WebAssembly.validate(embedded));
  const mod = new WebAssembly.Module(embedded);
  assert.equal(WebAssembly.Module.imports(mod), [], 'no imports');
  assert.ok(WebAssembly.Module.exports(mod).some((e) => e.name === 'memory' && e.kind === 'memory'));
});

test('kernel: the shipped module has no rk_test_* exports; the test module adds exactly those', () => {
  const names = (bytes: Uint8Array<ArrayBuffer>) => WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
  const shipped = names(fromBase64(RATCHET_KERNEL_WASM_BASE64)! as Uint8Array<ArrayBuffer>);
  const test = names(kernelTestModuleBytes());
  assert.equal(shipped.filter((n) => n.startsWith('rk_test_')), []);
  assert.equal(test.filter((n) => !n.startsWith('rk_test_')).sort(), [...shipped].sort());
  assert.ok(test.includes('rk_test_sha256_init') && test.includes('rk_test_out'));
});

// ---------------------------------------------------------------- primitives: known answers

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

// ---------------------------------------------------------------- AES-256-CBC

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

test('kernelAes256CbcDecrypt: every valid padding 1..16 like aes.ts; bad padding and bad lengths -> authentication-failed', () => {
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

// ---------------------------------------------------------------- the batched step

test('ratchetSendBatch: kernel and node:crypto reference agree on seed-derived keys, ciphertext, MAC, next chain key', () => {
  for (const [info, macBytes] of [[INFO_TWOMEMO, 16], [INFO_OLDMEMO, 8]] as const) {
    const params = { info, plaintext: pseudo(48, 3), macBytes };
    const lanes = Array.from({ length: 9 }, (_, i) => makeLane(40 + i, shapeFor(i, 4), 64, macBytes));
    const expected = lanes.map((l) => referenceStep(l, params));
    ratchetSendBatch(lanes, params);
    lanes.forEach((l, i) => {
      const e = expected[i]!;
      eqBytes(l.nextChainKey, new Uint8Array(e.next), `lane ${i} next`);
      eqBytes(l.message.subarray(l.headerOffset + l.headerLength, l.headerOffset + l.headerLength + 64), e.ct, `lane ${i} ct`);
      eqBytes(l.message.subarray(l.macOffset, l.macOffset + macBytes), e.mac, `lane ${i} mac`);
    });
  }
});

test('ratchetSendBatch: kernel == portable byte for byte: both infos, MAC 8/16, plaintexts 0..1024, AD/header 0..128', () => {
  let seed = 1;
  for (const info of [INFO_TWOMEMO, INFO_OLDMEMO]) {
    for (const macBytes of [8, 16]) {
      for (const ptLen of [0, 1, 15, 16, 32, 48, 100, 1024]) {
        for (const count of [1, 7]) compareBatch(count, { info, plaintext: pseudo(ptLen, seed), macBytes }, seed++);
      }
    }
  }
});

test('ratchetSendBatch: mixed batches of 300 and 1500 lanes cross the kernel chunk size', () => {
  assert.ok(KERNEL_MAX_LANES_PER_CALL < 300);
  compareBatch(300, { info: INFO_TWOMEMO, plaintext: pseudo(48, 11), macBytes: 16 }, 300);
  compareBatch(300, { info: INFO_OLDMEMO, plaintext: pseudo(32, 12), macBytes: 8 }, 301);
  compareBatch(1500, { info: INFO_TWOMEMO, plaintext: pseudo(32, 13), macBytes: 16 }, 1500);
  compareBatch(2 * KERNEL_MAX_LANES_PER_CALL, { info: INFO_OLDMEMO, plaintext: pseudo(48, 14), macBytes: 8 }, 512);
});

test('ratchetSendBatch: other info strings and MAC lengths (info 0..128 bytes, MAC 32) agree with the portable path', () => {
  for (const infoLen of [0, 1, 22, 23, 54, 55, 86, 87, 128]) {
    compareBatch(5, { info: pseudo(infoLen, infoLen), plaintext: pseudo(33, 1), macBytes: 32 }, 2000 + infoLen);
  }
});

test('ratchetSendBatch: nextChainKey may be chainKey itself (in-place update), in both paths', () => {
  for (const run of [ratchetSendBatchWasm, ratchetSendBatchPortable] as Batch[]) {
    const lane = makeLane(9, { ad: 64, header: 45, macFirst: true, slack: 0 }, 64, 16);
    const params = { info: INFO_TWOMEMO, plaintext: pseudo(48, 9), macBytes: 16 };
    const e = referenceStep(lane, params);
    lane.nextChainKey = lane.chainKey;
    run([lane], params);
    eqBytes(lane.chainKey, new Uint8Array(e.next));
    eqBytes(lane.message.subarray(0, 16), e.mac);
  }
});

test('ratchetSendBatch: an empty batch does nothing', () => {
  for (const run of [ratchetSendBatch, ratchetSendBatchWasm, ratchetSendBatchPortable]) {
    run([], { info: INFO_TWOMEMO, plaintext: new Uint8Array(32), macBytes: 16 });
  }
});

test('ratchetSendBatch: no chain key, message key or plaintext is left in the kernel memory', () => {
  const params = { info: INFO_TWOMEMO, plaintext: pseudo(48, 123), macBytes: 16 };
  const lanes = Array.from({ length: 10 }, (_, i) => makeLane(700 + i, shapeFor(i, 7), 64, 16));
  const secrets = lanes.flatMap((l) => {
    const e = referenceStep(l, params);
    return [l.chainKey.slice(), e.seed, e.next, e.okm.subarray(0, 32), e.okm.subarray(32, 64), e.okm.subarray(64, 80)];
  });
  ratchetSendBatchWasm(lanes, params);
  const key = pseudo(32, 321);
  const aesIv = pseudo(16, 322);
  const aesPt = pseudo(100, 323);
  kernelAes256CbcDecrypt(key, aesIv, kernelAes256CbcEncrypt(key, aesIv, aesPt));
  const memory = Buffer.from(requireKernel().heap);
  for (const [i, s] of [...secrets, params.plaintext.subarray(0, 16), key, aesPt.subarray(0, 16), aesPt.subarray(80, 96)].entries()) {
    assert.is(memory.indexOf(Buffer.from(s)), -1, `secret ${i} found in the kernel memory`);
  }
});

// ---------------------------------------------------------------- argument checks

function validLane(): RatchetSendLane {
  return makeLane(1, { ad: 64, header: 40, macFirst: false, slack: 0 }, 64, 16);
}

test('ratchetSendBatch: argument checks name the field, in every path, and nothing is written', () => {
  const params: RatchetSendParams = { info: INFO_TWOMEMO, plaintext: new Uint8Array(48), macBytes: 16 };
  type Case = [string, typeof TypeError | typeof RangeError, string, (l: RatchetSendLane) => void];
  const cases: Case[] = [
    ['chainKey not bytes', TypeError, 'lanes[3].chainKey', (l) => (l.chainKey = [] as unknown as Uint8Array)],
    ['chainKey 31 bytes', RangeError, 'lanes[3].chainKey', (l) => (l.chainKey = new Uint8Array(31))],
    ['nextChainKey 33 bytes', RangeError, 'lanes[3].nextChainKey', (l) => (l.nextChainKey = new Uint8Array(33))],
    ['nextChainKey missing', TypeError, 'lanes[3].nextChainKey', (l) => (l.nextChainKey = undefined as unknown as Uint8Array)],
    ['associatedData 129 bytes', RangeError, 'lanes[3].associatedData', (l) => (l.associatedData = new Uint8Array(129))],
    ['associatedData a string', TypeError, 'lanes[3].associatedData', (l) => (l.associatedData = 'ad' as unknown as Uint8Array)],
    ['message a plain array', TypeError, 'lanes[3].message', (l) => (l.message = [0] as unknown as Uint8Array)],
    ['headerOffset negative', RangeError, 'lanes[3].headerOffset', (l) => (l.headerOffset = -1)],
    ['headerOffset fractional', TypeError, 'lanes[3].headerOffset', (l) => (l.headerOffset = 0.5)],
    ['headerOffset beyond the message', RangeError, 'lanes[3].headerOffset', (l) => (l.headerOffset = l.message.length + 1)],
    ['headerLength 129', RangeError, 'lanes[3].headerLength', (l) => (l.headerLength = 129)],
    ['headerLength a string', TypeError, 'lanes[3].headerLength', (l) => (l.headerLength = '40' as unknown as number)],
    ['message too short for the ciphertext', RangeError, 'lanes[3].message', (l) => (l.headerOffset = 20)],
    ['macOffset past the end', RangeError, 'lanes[3].macOffset', (l) => (l.macOffset = l.message.length - 15)],
    ['macOffset NaN', TypeError, 'lanes[3].macOffset', (l) => (l.macOffset = NaN)],
    ['MAC overlaps the ciphertext', RangeError, 'lanes[3].macOffset', (l) => (l.macOffset = 40 + 60)],
    ['MAC overlaps the header', RangeError, 'lanes[3].macOffset', (l) => ((l.headerOffset = 16), (l.macOffset = 1), (l.message = new Uint8Array(200)))],
  ];
  for (const run of [ratchetSendBatch, ratchetSendBatchWasm, ratchetSendBatchPortable]) {
    for (const [what, type, name, corrupt] of cases) {
      const lanes = Array.from({ length: 5 }, validLane);
      corrupt(lanes[3]!);
      const before = cloneLanes(lanes.filter((_, i) => i !== 3));
      throwsArg(() => run(lanes, params), type, name, what);
      lanes
        .filter((_, i) => i !== 3)
        .forEach((l, i) => {
          eqBytes(l.message, before[i]!.message, `${what}: lane message written`);
          eqBytes(l.nextChainKey, before[i]!.nextChainKey, `${what}: next chain key written`);
        });
    }
    throwsArg(() => run('lanes' as unknown as RatchetSendLane[], params), TypeError, 'lanes');
    throwsArg(() => run([validLane(), null as unknown as RatchetSendLane], params), TypeError, 'lanes[1]');
    throwsArg(() => run([validLane()], null as unknown as RatchetSendParams), TypeError, 'params');
    throwsArg(() => run([validLane()], { ...params, info: new Uint8Array(129) }), RangeError, 'params.info');
    throwsArg(() => run([validLane()], { ...params, info: 'x' as unknown as Uint8Array }), TypeError, 'params.info');
    throwsArg(() => run([validLane()], { ...params, plaintext: new Uint8Array(1025) }), RangeError, 'params.plaintext');
    throwsArg(() => run([validLane()], { ...params, plaintext: undefined as unknown as Uint8Array }), TypeError, 'params.plaintext');
    throwsArg(() => run([validLane()], { ...params, macBytes: 7 }), RangeError, 'params.macBytes');
    throwsArg(() => run([validLane()], { ...params, macBytes: 33 }), RangeError, 'params.macBytes');
    throwsArg(() => run([validLane()], { ...params, macBytes: 16.5 }), TypeError, 'params.macBytes');
  }
});

test.run();
