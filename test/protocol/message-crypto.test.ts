// src/protocol/message-crypto.ts and src/crypto/kernel-open.ts: one message's symmetric crypto (KDF_CK, HKDF to
// 80 bytes, truncated HMAC, AES-256-CBC with PKCS#7), the kernel's single call (decrypting itself or handing the
// keys to node:crypto) byte for byte against the portable path and a node:crypto transcription of the spec, over
// random inputs (fast-check) and at the edges; errors, argument checks and wiping of the kernel's memory.
import { createCipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { utf8Encode } from '../../src/crypto/bytes';
import type { OmemoErrorCode } from '../../src/crypto/errors';
import { KERNEL_OPEN_MAX_DATA_BYTES, requireKernel } from '../../src/crypto/kernel-loader';
import {
  KERNEL_CBC_DECRYPT_MAX_BYTES,
  KERNEL_SEAL_MAX_PLAINTEXT_BYTES,
  kernelOpen,
  kernelOpenFits,
  kernelSeal,
  type MessageOpenRequest,
} from '../../src/crypto/kernel-open';
import { RATCHET_MAX_INFO_BYTES } from '../../src/crypto/ratchet-send-lanes';
import { cryptoReady } from '../../src/crypto/ready';
import { MAX_RATCHET_PLAINTEXT_BYTES, VERSIONS, type ProtocolVersion } from '../../src/protocol/constants';
import {
  openMessage,
  openMessagePortable,
  openRatchetMessage,
  sealMessage,
  sealMessagePortable,
} from '../../src/protocol/message-crypto';
import { eqBytes, flipBit, pseudo, rawCbc, throwsArg, throwsCode } from '../crypto/helpers';

const PAYLOAD_INFO = utf8Encode('OMEMO Payload');

test.before(async () => {
  await cryptoReady();
});

/** The keys of one message per the spec, with node:crypto only (independent of libsodium and of the kernel). */
function referenceKeys(key: Uint8Array, chain: boolean, info: Uint8Array) {
  const seed = chain ? createHmac('sha256', key).update(Uint8Array.of(1)).digest() : Buffer.from(key);
  const next = chain ? new Uint8Array(createHmac('sha256', key).update(Uint8Array.of(2)).digest()) : undefined;
  const okm = Buffer.from(hkdfSync('sha256', seed, new Uint8Array(32), info, 80));
  return { seed, next, enc: okm.subarray(0, 32), auth: okm.subarray(32, 64), iv: okm.subarray(64, 80) };
}

interface Shape {
  key: Uint8Array;
  chain: boolean;
  info: Uint8Array;
  prefix: Uint8Array;
  /** Bytes of the MAC body before and after the ciphertext (a protobuf around it), or undefined: body = ct. */
  around: [Uint8Array, Uint8Array] | undefined;
  plaintext: Uint8Array;
  macBytes: number;
}

/** A valid message of `shape` made with node:crypto, and the request that opens it. */
function makeMessage(shape: Shape): { req: MessageOpenRequest; next: Uint8Array | undefined } {
  const k = referenceKeys(shape.key, shape.chain, shape.info);
  const c = createCipheriv('aes-256-cbc', k.enc, k.iv);
  const ciphertext = new Uint8Array(Buffer.concat([c.update(shape.plaintext), c.final()]));
  const macBody =
    shape.around === undefined ? ciphertext : Buffer.concat([shape.around[0], ciphertext, shape.around[1]]);
  const body = new Uint8Array(macBody);
  const mac = createHmac('sha256', k.auth).update(shape.prefix).update(body).digest();
  const req: MessageOpenRequest = {
    key: shape.key,
    chain: shape.chain,
    info: shape.info,
    macPrefix: shape.prefix,
    macBody: shape.around === undefined ? ciphertext : body,
    ciphertext,
    mac: new Uint8Array(mac.subarray(0, shape.macBytes)),
    macBytes: shape.macBytes,
    badMacCode: 'bad-mac',
    badMacText: 'message MAC does not verify',
  };
  return { req, next: k.next };
}

type Opener = [string, (req: MessageOpenRequest) => ReturnType<typeof openMessage>];
const OPENERS: Opener[] = [
  ['openMessage', openMessage],
  ['portable', openMessagePortable],
  ['kernel, AES in the kernel', (req) => kernelOpen(req, true)],
  ['kernel, AES by node:crypto', (req) => kernelOpen(req, false)],
];

function bytes(max: number, min = 0) {
  return fc.uint8Array({ minLength: min, maxLength: max }).map((b) => new Uint8Array(b));
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  key: bytes(32, 32),
  chain: fc.boolean(),
  info: bytes(RATCHET_MAX_INFO_BYTES),
  prefix: bytes(200),
  around: fc.option(fc.tuple(bytes(80), bytes(20)), { nil: undefined }),
  plaintext: fc.oneof(bytes(80), bytes(1200)),
  macBytes: fc.integer({ min: 1, max: 32 }),
});

const PROPERTY_TEST =
  'open: kernel (both AES paths), portable path and openMessage give the plaintext and next chain key of the spec';
test(PROPERTY_TEST, () => {
  fc.assert(
    fc.property(shapeArb, (shape) => {
      const { req, next } = makeMessage(shape);
      for (const [name, open] of OPENERS) {
        const out = open(req);
        eqBytes(out.plaintext, shape.plaintext, name);
        if (next === undefined) assert.is(out.nextChainKey, undefined, name);
        else eqBytes(out.nextChainKey!, next, `${name} next chain key`);
      }
    }),
    { numRuns: 150, seed: 16 },
  );
});

test('open/seal: every SHA-256 padding boundary (MAC data 16..176 bytes, info 0..128 bytes) matches the spec', () => {
  for (let p = 0; p <= 160; p++) {
    const shape = { ...shapeFor(pseudo(32, p), PAYLOAD_INFO), prefix: pseudo(p, p + 1), plaintext: pseudo(p % 16, p) };
    const { req } = makeMessage(shape);
    eqBytes(kernelOpen(req, true).plaintext, shape.plaintext, `MAC data ${p + 16} bytes`);
  }
  for (let n = 0; n <= RATCHET_MAX_INFO_BYTES; n++) {
    const shape = { ...shapeFor(pseudo(32, n), pseudo(n, n + 2)), chain: n % 2 === 0, plaintext: pseudo(20, n) };
    const { req, next } = makeMessage(shape);
    const out = kernelOpen(req, true);
    eqBytes(out.plaintext, shape.plaintext, `info ${n} bytes`);
    if (next !== undefined) eqBytes(out.nextChainKey!, next, `info ${n} bytes, next chain key`);
    const k = referenceKeys(shape.key, false, shape.info);
    const sealed = kernelSeal(shape.key, shape.info, shape.plaintext);
    eqBytes(sealed.mac, new Uint8Array(createHmac('sha256', k.auth).update(sealed.ciphertext).digest()), `seal ${n}`);
  }
});

test('seal: kernel, portable path and sealMessage give the bytes of the spec, over random inputs', () => {
  const arb = fc.record({ key: bytes(32, 32), info: bytes(RATCHET_MAX_INFO_BYTES), plaintext: bytes(1500) });
  fc.assert(
    fc.property(arb, ({ key, info, plaintext }) => {
      const k = referenceKeys(key, false, info);
      const c = createCipheriv('aes-256-cbc', k.enc, k.iv);
      const ct = new Uint8Array(Buffer.concat([c.update(plaintext), c.final()]));
      const mac = new Uint8Array(createHmac('sha256', k.auth).update(ct).digest());
      for (const [name, seal] of [
        ['sealMessage', sealMessage],
        ['portable', sealMessagePortable],
        ['kernel', kernelSeal],
      ] as const) {
        const out = seal(key, info, plaintext);
        eqBytes(out.ciphertext, ct, `${name} ciphertext`);
        eqBytes(out.mac, mac, `${name} mac`);
      }
    }),
    { numRuns: 100, seed: 17 },
  );
});

test('open: every version (0.3 WhisperMessageKeys / 8-byte MAC, OMEMO 2 / 16 bytes, OMEMO 2 payload)', () => {
  const cases: [string, Uint8Array, number, number][] = [
    ['oldmemo', VERSIONS.oldmemo.messageKeyInfo, VERSIONS.oldmemo.macBytes, 66],
    ['twomemo', VERSIONS.twomemo.messageKeyInfo, VERSIONS.twomemo.macBytes, 64],
    ['twomemo payload', PAYLOAD_INFO, 16, 0],
  ];
  for (const [i, [name, info, macBytes, prefix]] of cases.entries()) {
    const around: Shape['around'] = prefix === 0 ? undefined : [pseudo(40, i), pseudo(3, i + 9)];
    for (const chain of [true, false]) {
      const shape = {
        key: pseudo(32, i),
        chain,
        info,
        prefix: pseudo(prefix, i + 1),
        around,
        plaintext: pseudo(300, i),
        macBytes,
      };
      const { req, next } = makeMessage(shape);
      for (const [how, open] of OPENERS) {
        const out = open(req);
        eqBytes(out.plaintext, shape.plaintext, `${name} ${how}`);
        if (chain) eqBytes(out.nextChainKey!, next!, `${name} ${how} next`);
      }
      // The MAC has exactly macBytes bytes: a MAC one byte longer, or shorter (a prefix of the right one), or
      // empty does not verify.
      const longer = new Uint8Array(macBytes + 1);
      longer.set(req.mac);
      for (const mac of [req.mac.subarray(0, macBytes - 1), longer, new Uint8Array(0)]) {
        for (const [how, open] of OPENERS) throwsCode(() => open({ ...req, mac }), 'bad-mac', `${name} ${how}`);
      }
    }
  }
});

test("openRatchetMessage: each version's info and MAC length; a plaintext over MAX_RATCHET_PLAINTEXT_BYTES refused", () => {
  for (const version of ['oldmemo', 'twomemo'] as ProtocolVersion[]) {
    const { messageKeyInfo: info, macBytes } = VERSIONS[version];
    for (const n of [32, MAX_RATCHET_PLAINTEXT_BYTES, MAX_RATCHET_PLAINTEXT_BYTES + 1]) {
      const shape = { key: pseudo(32, n), chain: true, info, prefix: pseudo(66, 1), plaintext: pseudo(n, 2), macBytes };
      const { req, next } = makeMessage({ ...shape, around: [pseudo(40, 3), pseudo(2, 4)] });
      const message = {
        version,
        header: { ratchetKey: new Uint8Array(32), n: 0, pn: 0 },
        ciphertext: req.ciphertext,
        macInput: req.macBody,
        mac: req.mac,
      };
      const open = () => openRatchetMessage(version, req.key, true, req.macPrefix, message);
      if (n > MAX_RATCHET_PLAINTEXT_BYTES) {
        throwsCode(open, 'malformed-message', `${version} ${n}`);
      } else {
        const out = open();
        eqBytes(out.plaintext, shape.plaintext, `${version} ${n}`);
        eqBytes(out.nextChainKey!, next!, `${version} ${n} next`);
      }
      const other = version === 'oldmemo' ? 'twomemo' : 'oldmemo';
      throwsCode(() => openRatchetMessage(other, req.key, true, req.macPrefix, message), 'bad-mac', `as ${other}`);
    }
  }
});

function failsEverywhere(req: MessageOpenRequest, code: OmemoErrorCode, what: string): void {
  for (const [how, open] of OPENERS) throwsCode(() => open(req), code, `${what}: ${how}`);
}

test('open: a wrong MAC, a flipped bit of the MAC data or the ciphertext, a wrong key or info -> the MAC error', () => {
  const shape: Shape = {
    key: pseudo(32, 1),
    chain: true,
    info: VERSIONS.twomemo.messageKeyInfo,
    prefix: pseudo(64, 2),
    around: [pseudo(38, 3), pseudo(0, 4)],
    plaintext: pseudo(32, 5),
    macBytes: 16,
  };
  const { req } = makeMessage(shape);
  for (let bit = 0; bit < 128; bit += 9)
    failsEverywhere({ ...req, mac: flipBit(req.mac, bit) }, 'bad-mac', `mac ${bit}`);
  for (const bit of [0, 300, 511]) failsEverywhere({ ...req, macPrefix: flipBit(req.macPrefix, bit) }, 'bad-mac', 'ad');
  failsEverywhere({ ...req, macBody: flipBit(req.macBody, 5) }, 'bad-mac', 'body');
  // The ciphertext is inside the MAC body (as in a protobuf): a flipped ciphertext bit there fails the MAC.
  const body = req.macBody.slice();
  body[38 + 20]! ^= 4;
  failsEverywhere({ ...req, macBody: body, ciphertext: body.slice(38, 38 + 48) }, 'bad-mac', 'ciphertext bit');
  failsEverywhere({ ...req, key: flipBit(req.key, 77) }, 'bad-mac', 'key');
  failsEverywhere({ ...req, chain: false }, 'bad-mac', 'seed instead of chain key');
  failsEverywhere({ ...req, info: VERSIONS.oldmemo.messageKeyInfo }, 'bad-mac', 'info');
  // The payload form (MAC over the ciphertext only, the same array): a flipped ciphertext bit.
  const payload = makeMessage({
    ...shape,
    prefix: new Uint8Array(0),
    around: undefined,
    plaintext: pseudo(300, 6),
  }).req;
  const ct = flipBit(payload.ciphertext, 1000);
  const flipped = { ...payload, macBody: ct, ciphertext: ct, badMacCode: 'authentication-failed' as const };
  failsEverywhere(flipped, 'authentication-failed', 'payload ciphertext bit');
});

test('open: a valid MAC over bad padding or a bad ciphertext length -> authentication-failed, nothing released', () => {
  const key = pseudo(32, 8);
  const info = PAYLOAD_INFO;
  const k = referenceKeys(key, false, info);
  const make = (blocks: Uint8Array): MessageOpenRequest => {
    const ct = blocks.length % 16 === 0 && blocks.length > 0 ? rawCbc(k.enc, k.iv, blocks) : blocks;
    const mac = new Uint8Array(createHmac('sha256', k.auth).update(ct).digest().subarray(0, 16));
    return { ...makeMessage(shapeFor(key, info)).req, macBody: ct, ciphertext: ct, mac };
  };
  const badPads: [string, (b: Uint8Array) => void][] = [
    ['last byte 0', (b) => (b[b.length - 1] = 0)],
    ['last byte 17', (b) => b.fill(17, b.length - 17)],
    ['pad 3, one byte differs', (b) => (b.fill(3, b.length - 3), (b[b.length - 2] = 4))],
    ['pad 16, first byte differs', (b) => (b.fill(16, b.length - 16), (b[b.length - 16] = 1))],
  ];
  for (const length of [16, 48, 304, KERNEL_CBC_DECRYPT_MAX_BYTES + 16]) {
    for (const [name, corrupt] of badPads) {
      const blocks = pseudo(length, length);
      corrupt(blocks);
      failsEverywhere(make(blocks), 'authentication-failed', `${length} ${name}`);
    }
  }
  // Lengths that are no whole number of blocks never reach the kernel (kernelOpenFits): reported after the MAC.
  for (const n of [0, 1, 15, 17, 100]) {
    const r = make(pseudo(n, n));
    assert.not.ok(kernelOpenFits(r), `fits ${n}`);
    throwsCode(() => openMessage(r), 'authentication-failed', `length ${n}`);
    throwsCode(() => openMessagePortable(r), 'authentication-failed', `portable length ${n}`);
    throwsArg(() => kernelOpen(r), RangeError, 'ciphertext', `kernel length ${n}`);
    throwsCode(() => openMessage({ ...r, mac: new Uint8Array(16) }), 'bad-mac', `bad MAC first, length ${n}`);
  }
});

function shapeFor(key: Uint8Array, info: Uint8Array): Shape {
  return {
    key,
    chain: false,
    info,
    prefix: new Uint8Array(0),
    around: undefined,
    plaintext: new Uint8Array(0),
    macBytes: 16,
  };
}

test('open/seal: empty plaintext and the largest inputs the kernel takes; larger ones take the portable path', () => {
  const info = pseudo(RATCHET_MAX_INFO_BYTES, 9);
  // Empty plaintext: one padding block.
  const empty = makeMessage({ ...shapeFor(pseudo(32, 10), info), plaintext: new Uint8Array(0) });
  assert.is(empty.req.ciphertext.length, 16);
  for (const [how, open] of OPENERS) assert.is(open(empty.req).plaintext.length, 0, how);
  // MAC data and ciphertext together exactly at the kernel's limit, and one block beyond it.
  for (const extra of [0, 16]) {
    const ctLength = 2048;
    const prefix = pseudo(KERNEL_OPEN_MAX_DATA_BYTES - ctLength * 2 + extra, 11);
    const shape = {
      ...shapeFor(pseudo(32, 12), info),
      prefix,
      around: [pseudo(0, 0), pseudo(0, 0)] as Shape['around'],
    };
    const { req } = makeMessage({ ...shape, plaintext: pseudo(ctLength - 1, 13) });
    assert.is(kernelOpenFits(req), extra === 0, `fits with ${extra} bytes over`);
    eqBytes(openMessage(req).plaintext, pseudo(ctLength - 1, 13), `openMessage ${extra}`);
    if (extra === 0) eqBytes(kernelOpen(req, true).plaintext, pseudo(ctLength - 1, 13), 'kernel at the limit');
    else throwsArg(() => kernelOpen(req), RangeError, 'macBody', 'kernel beyond its limit');
  }
  // The longest plaintext the kernel seals, and one byte more (the portable path): same bytes as the spec.
  for (const n of [KERNEL_SEAL_MAX_PLAINTEXT_BYTES, KERNEL_SEAL_MAX_PLAINTEXT_BYTES + 1]) {
    const key = pseudo(32, n);
    const plaintext = pseudo(n, 14);
    const sealed = sealMessage(key, info, plaintext);
    eqBytes(sealed.ciphertext, sealMessagePortable(key, info, plaintext).ciphertext, `seal ${n}`);
    if (n === KERNEL_SEAL_MAX_PLAINTEXT_BYTES) eqBytes(kernelSeal(key, info, plaintext).mac, sealed.mac, 'kernel');
    else throwsArg(() => kernelSeal(key, info, plaintext), RangeError, 'plaintext');
    const req = { ...makeMessage(shapeFor(key, info)).req, macBody: sealed.ciphertext, ciphertext: sealed.ciphertext };
    eqBytes(openMessage({ ...req, mac: sealed.mac.subarray(0, 16) }).plaintext, plaintext, `open ${n}`);
  }
  // Info over the kernel's 128 bytes: the portable path, same result.
  const longInfo = makeMessage({ ...shapeFor(pseudo(32, 15), pseudo(200, 16)), plaintext: pseudo(10, 17) });
  assert.not.ok(kernelOpenFits(longInfo.req));
  eqBytes(openMessage(longInfo.req).plaintext, pseudo(10, 17));
  eqBytes(
    sealMessage(pseudo(32, 1), pseudo(200, 1), pseudo(5, 1)).mac,
    sealMessagePortable(pseudo(32, 1), pseudo(200, 1), pseudo(5, 1)).mac,
  );
});

test('open/seal: argument checks name the field in every path; the raw kernel exports refuse (-1), never trap', () => {
  const { req } = makeMessage(shapeFor(pseudo(32, 20), PAYLOAD_INFO));
  const cases: [string, typeof TypeError | typeof RangeError, string, Partial<MessageOpenRequest>][] = [
    ['key 31 bytes', RangeError, 'key', { key: new Uint8Array(31) }],
    ['key not bytes', TypeError, 'key', { key: [1, 2] as unknown as Uint8Array }],
    ['mac not bytes', TypeError, 'mac', { mac: 'mac' as unknown as Uint8Array }],
    ['macBytes 0', RangeError, 'macBytes', { macBytes: 0 }],
    ['macBytes 33', RangeError, 'macBytes', { macBytes: 33 }],
    ['macBytes 1.5', TypeError, 'macBytes', { macBytes: 1.5 }],
    ['info a string', TypeError, 'info', { info: 'x' as unknown as Uint8Array }],
    ['macPrefix undefined', TypeError, 'macPrefix', { macPrefix: undefined as unknown as Uint8Array }],
    ['ciphertext null', TypeError, 'ciphertext', { ciphertext: null as unknown as Uint8Array }],
  ];
  for (const [name, type, field, change] of cases) {
    for (const [how, open] of OPENERS) throwsArg(() => open({ ...req, ...change }), type, field, `${name}: ${how}`);
  }
  for (const seal of [sealMessage, sealMessagePortable, kernelSeal]) {
    throwsArg(() => seal(new Uint8Array(33), PAYLOAD_INFO, new Uint8Array(1)), RangeError, 'key');
    throwsArg(() => seal(new Uint8Array(32), PAYLOAD_INFO, 'text' as unknown as Uint8Array), TypeError, 'plaintext');
  }
  throwsArg(() => kernelSeal(new Uint8Array(32), new Uint8Array(129), new Uint8Array(1)), RangeError, 'info');
  throwsArg(() => kernelOpen({ ...req, ciphertext: new Uint8Array(17) }), RangeError, 'ciphertext');
  const x = requireKernel().x;
  const max = KERNEL_OPEN_MAX_DATA_BYTES;
  const badOpen: [number, number, number, number, number, number][] = [
    [4, 0, 0, 0, 16, 16], // unknown flag
    [3, 129, 0, 0, 16, 16], // info too long
    [3, 0, max + 1, 0, 16, 16], // MAC data too long
    [3, 0, 0, max - 15, 16, 16], // ciphertext past the buffer
    [3, 0, 0, 0xffffffff, 16, 16], // offset overflow
    [3, 0, 0, 16, 0xfffffff0, 16], // length overflow
    [3, 0, 0, 0, 0, 16], // empty ciphertext
    [3, 0, 0, 0, 24, 16], // not whole blocks
    [3, 0, 0, 0, 16, 0], // no MAC
    [3, 0, 0, 0, 16, 33], // MAC too long
  ];
  for (const args of badOpen) assert.is(x.rk_open(...args), -1, `rk_open(${args.join(', ')})`);
  for (const args of [
    [129, 0, 0],
    [0, max + 1, 0],
    [0, 0, max + 1],
    [0, 1, max],
    [0, 0xffffffff, 2],
  ] as [number, number, number][]) {
    assert.is(x.rk_seal(...args), -1, `rk_seal(${args.join(', ')})`);
  }
});

test('open/seal: no key, seed, message key, next chain key or plaintext is left in the kernel memory', () => {
  const secrets: Uint8Array[] = [];
  for (const chain of [true, false]) {
    for (const decryptHere of [true, false]) {
      const shape = { ...shapeFor(pseudo(32, chain ? 30 : 31), VERSIONS.twomemo.messageKeyInfo), chain };
      const plaintext = pseudo(100, decryptHere ? 32 : 33);
      const { req } = makeMessage({ ...shape, plaintext, prefix: pseudo(64, 34) });
      const k = referenceKeys(req.key, chain, req.info);
      secrets.push(req.key.slice(), k.seed, k.enc, k.auth, k.iv, plaintext.subarray(0, 16), plaintext.subarray(80, 96));
      if (k.next !== undefined) secrets.push(k.next);
      kernelOpen(req, decryptHere);
      // Failures too: bad MAC, bad padding.
      throwsCode(() => kernelOpen({ ...req, mac: flipBit(req.mac, 3) }, decryptHere), 'bad-mac');
    }
  }
  const key = pseudo(32, 40);
  const plaintext = pseudo(200, 41);
  kernelSeal(key, PAYLOAD_INFO, plaintext);
  const k = referenceKeys(key, false, PAYLOAD_INFO);
  secrets.push(key, k.enc, k.auth, k.iv, plaintext.subarray(0, 16), plaintext.subarray(184, 200));
  const badPad = pseudo(32, 42);
  badPad[31] = 0;
  const padCt = rawCbc(k.enc, k.iv, badPad);
  const padMac = new Uint8Array(createHmac('sha256', k.auth).update(padCt).digest().subarray(0, 16));
  const padReq = { ...makeMessage(shapeFor(key, PAYLOAD_INFO)).req, macBody: padCt, ciphertext: padCt, mac: padMac };
  throwsCode(() => kernelOpen(padReq, true), 'authentication-failed');
  secrets.push(badPad.subarray(0, 16));
  const memory = Buffer.from(requireKernel().heap);
  for (const [i, s] of secrets.entries()) {
    assert.is(memory.indexOf(Buffer.from(s)), -1, `secret ${i} found in the kernel memory`);
  }
});

test('open: the SHA-256 message schedule of a MAC is not left in the kernel memory', () => {
  // The last block a successful open hashes is the MAC's outer one, whose first eight words are the inner digest
  // (HMAC = H(K ^ opad ‖ H(K ^ ipad ‖ data))): not public. Its schedule W_t + K_t, as it would lie in memory had the
  // compression kept it there (it is computed in locals: a copy on the kernel's stack would outlive the call).
  const { req } = makeMessage({ ...shapeFor(pseudo(32, 50), PAYLOAD_INFO), plaintext: pseudo(40, 51) });
  const { auth } = referenceKeys(req.key, false, PAYLOAD_INFO);
  kernelOpen(req, true);
  const block = new Uint8Array(64).fill(0x36);
  for (let i = 0; i < 32; i++) block[i] = auth[i]! ^ 0x36;
  const inner = createHash('sha256').update(block).update(req.macPrefix).update(req.macBody).digest();
  const memory = Buffer.from(requireKernel().heap);
  assert.is(memory.indexOf(Buffer.from(inner)), -1, 'the inner digest is in the kernel memory');
  assert.is(memory.indexOf(Buffer.from(scheduleInMemory(inner))), -1, 'its message schedule is in the kernel memory');
});

/** SHA-256's K_0 .. K_7 (FIPS 180-4 §4.2.2). */
const SHA256_K_FIRST = [0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5];

/** W_t + K_t for t < 8 of a block that starts with these 32 bytes, as little-endian words (the kernel's memory). */
function scheduleInMemory(first32: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  const words = new DataView(first32.buffer, first32.byteOffset, 32);
  for (let t = 0; t < 8; t++) view.setUint32(4 * t, (words.getUint32(4 * t) + SHA256_K_FIRST[t]!) >>> 0, true);
  return out;
}

test.run();
