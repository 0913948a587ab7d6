// src/protocol/ratchet-send-batch.ts: the batched symmetric ratchet sending step, the WebAssembly kernel
// (crypto/kernel-send-batch.ts) byte for byte against the portable path composed from kdf.ts and against a
// node:crypto transcription of the spec, key material wiped from the kernel's memory, and the argument checks.
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { utf8Encode } from '../../src/crypto/bytes';
import { kernelAes256CbcDecrypt, kernelAes256CbcEncrypt } from '../../src/crypto/kernel-aes-cbc';
import { KERNEL_MAX_LANES_PER_CALL, requireKernel } from '../../src/crypto/kernel-loader';
import { ratchetSendBatchWasm } from '../../src/crypto/kernel-send-batch';
import type { RatchetSendLane, RatchetSendParams } from '../../src/crypto/ratchet-send-lanes';
import { cryptoReady } from '../../src/crypto/ready';
import { ratchetSendBatch, ratchetSendBatchPortable } from '../../src/protocol/ratchet-send-batch';
import { eqBytes, pseudo, throwsArg } from '../crypto/helpers';

const INFO_TWOMEMO = utf8Encode('OMEMO Message Key Material');
const INFO_OLDMEMO = utf8Encode('WhisperMessageKeys');
type Batch = (lanes: readonly RatchetSendLane[], params: RatchetSendParams) => void;

test.before(async () => {
  await cryptoReady();
});

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
  return lanes.map((l) => ({
    ...l,
    chainKey: l.chainKey.slice(),
    nextChainKey: l.nextChainKey.slice(),
    associatedData: l.associatedData.slice(),
    message: l.message.slice(),
  }));
}

function shapeFor(i: number, seed: number): LaneShape {
  const r = pseudo(4, seed * 1000 + i);
  const ads = [0, 33, 64, 66, 128];
  return { ad: ads[r[0]! % ads.length]!, header: r[1]! % 129, macFirst: (r[2]! & 1) === 1, slack: r[3]! % 5 };
}

/** Runs both paths on identical copies of `count` lanes and compares every byte; returns the kernel's lanes. */
function compareBatch(count: number, params: RatchetSendParams, seed: number): RatchetSendLane[] {
  const ctLen = (params.plaintext.length & ~15) + 16;
  const original = Array.from({ length: count }, (_, i) =>
    makeLane(seed * 100003 + i, shapeFor(i, seed), ctLen, params.macBytes),
  );
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
      if (!written && k.message[b] !== o.message[b]) {
        assert.unreachable(`${what}: byte ${b} outside ciphertext and MAC changed`);
      }
    }
    eqBytes(k.chainKey, o.chainKey, `${what}: chain key`);
    eqBytes(k.associatedData, o.associatedData, `${what}: associated data`);
  }
  return viaKernel;
}

// ---------------------------------------------------------------- the batched step

const REFERENCE_TEST =
  'ratchetSendBatch: kernel and node:crypto reference agree on seed-derived keys, ciphertext, MAC, next chain key';
test(REFERENCE_TEST, () => {
  for (const [info, macBytes] of [
    [INFO_TWOMEMO, 16],
    [INFO_OLDMEMO, 8],
  ] as const) {
    const params = { info, plaintext: pseudo(48, 3), macBytes };
    const lanes = Array.from({ length: 9 }, (_, i) => makeLane(40 + i, shapeFor(i, 4), 64, macBytes));
    const expected = lanes.map((l) => referenceStep(l, params));
    ratchetSendBatch(lanes, params);
    lanes.forEach((l, i) => {
      const e = expected[i]!;
      eqBytes(l.nextChainKey, new Uint8Array(e.next), `lane ${i} next`);
      const ctAt = l.headerOffset + l.headerLength;
      eqBytes(l.message.subarray(ctAt, ctAt + 64), e.ct, `lane ${i} ct`);
      eqBytes(l.message.subarray(l.macOffset, l.macOffset + macBytes), e.mac, `lane ${i} mac`);
    });
  }
});

const EQUAL_TEST =
  'ratchetSendBatch: kernel == portable byte for byte: both infos, MAC 8/16, plaintexts 0..1024, AD/header 0..128';
test(EQUAL_TEST, () => {
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

const OTHER_PARAMS_TEST =
  'ratchetSendBatch: other info strings and MAC lengths (info 0..128 bytes, MAC 32) agree with the portable path';
test(OTHER_PARAMS_TEST, () => {
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
  const searched = [...secrets, params.plaintext.subarray(0, 16), key, aesPt.subarray(0, 16), aesPt.subarray(80, 96)];
  for (const [i, s] of searched.entries()) {
    assert.is(memory.indexOf(Buffer.from(s)), -1, `secret ${i} found in the kernel memory`);
  }
});

// ---------------------------------------------------------------- argument checks

/** A wrongly typed value where bytes belong (for the argument checks). */
function notBytes(value: unknown): Uint8Array {
  return value as Uint8Array;
}

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
    ['nextChainKey missing', TypeError, 'lanes[3].nextChainKey', (l) => (l.nextChainKey = notBytes(undefined))],
    [
      'associatedData 129 bytes',
      RangeError,
      'lanes[3].associatedData',
      (l) => (l.associatedData = new Uint8Array(129)),
    ],
    ['associatedData a string', TypeError, 'lanes[3].associatedData', (l) => (l.associatedData = notBytes('ad'))],
    ['message a plain array', TypeError, 'lanes[3].message', (l) => (l.message = [0] as unknown as Uint8Array)],
    ['headerOffset negative', RangeError, 'lanes[3].headerOffset', (l) => (l.headerOffset = -1)],
    ['headerOffset fractional', TypeError, 'lanes[3].headerOffset', (l) => (l.headerOffset = 0.5)],
    [
      'headerOffset beyond the message',
      RangeError,
      'lanes[3].headerOffset',
      (l) => (l.headerOffset = l.message.length + 1),
    ],
    ['headerLength 129', RangeError, 'lanes[3].headerLength', (l) => (l.headerLength = 129)],
    ['headerLength a string', TypeError, 'lanes[3].headerLength', (l) => (l.headerLength = '40' as unknown as number)],
    ['message too short for the ciphertext', RangeError, 'lanes[3].message', (l) => (l.headerOffset = 20)],
    ['macOffset past the end', RangeError, 'lanes[3].macOffset', (l) => (l.macOffset = l.message.length - 15)],
    ['macOffset NaN', TypeError, 'lanes[3].macOffset', (l) => (l.macOffset = NaN)],
    ['MAC overlaps the ciphertext', RangeError, 'lanes[3].macOffset', (l) => (l.macOffset = 40 + 60)],
    [
      'MAC overlaps the header',
      RangeError,
      'lanes[3].macOffset',
      (l) => ((l.headerOffset = 16), (l.macOffset = 1), (l.message = new Uint8Array(200))),
    ],
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
    throwsArg(() => run([validLane()], { ...params, plaintext: notBytes(undefined) }), TypeError, 'params.plaintext');
    throwsArg(() => run([validLane()], { ...params, macBytes: 7 }), RangeError, 'params.macBytes');
    throwsArg(() => run([validLane()], { ...params, macBytes: 33 }), RangeError, 'params.macBytes');
    throwsArg(() => run([validLane()], { ...params, macBytes: 16.5 }), TypeError, 'params.macBytes');
  }
});

test.run();
