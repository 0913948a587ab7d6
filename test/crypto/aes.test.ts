// src/crypto/aes.ts: AES-256-CBC/PKCS#7 and AES-GCM on every engine (the synchronous node:crypto functions
// and each async back end): NIST SP 800-38A and GCM-spec known answers, identical bytes across engines,
// authentication failures as OmemoError('authentication-failed') and argument checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concatBytes, toHex } from '../../src/crypto/bytes';
import * as aes from '../../src/crypto/aes';
import { aes256CbcDecrypt, aes256CbcEncrypt, aesGcmDecrypt, aesGcmEncrypt } from '../../src/crypto/aes';
import { OmemoError } from '../../src/crypto/errors';
import { cryptoReady } from '../../src/crypto/ready';
import {
  eqBytes,
  eqHex,
  flipBit,
  h,
  isPlainU8,
  listOf,
  loadVectors,
  pseudo,
  rawCbc,
  rejectsArg,
  rejectsCode,
  seq,
} from './helpers';

interface Sealed {
  ciphertext: Uint8Array;
  tag: Uint8Array;
}
interface Engine {
  name: string;
  cbcEncrypt(key: Uint8Array, iv: Uint8Array, pt: Uint8Array): Promise<Uint8Array>;
  cbcDecrypt(key: Uint8Array, iv: Uint8Array, ct: Uint8Array): Promise<Uint8Array>;
  gcmEncrypt(key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad?: Uint8Array): Promise<Sealed>;
  gcmDecrypt(key: Uint8Array, iv: Uint8Array, ct: Uint8Array, tag: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
}

const syncEngine: Engine = {
  name: 'sync',
  cbcEncrypt: async (k, iv, pt) => aes256CbcEncrypt(k, iv, pt),
  cbcDecrypt: async (k, iv, ct) => aes256CbcDecrypt(k, iv, ct),
  gcmEncrypt: async (k, iv, pt, aad) => aesGcmEncrypt(k, iv, pt, aad),
  gcmDecrypt: async (k, iv, ct, tag, aad) => aesGcmDecrypt(k, iv, ct, tag, aad),
};

function backends(): Engine[] {
  return listOf((aes as unknown as { aesBackends: Engine[] | (() => Engine[]) }).aesBackends);
}
function engines(): Engine[] {
  return [syncEngine, ...backends()];
}

interface GcmCase {
  name: string;
  key: string;
  iv: string;
  plaintext: string;
  aad: string;
  ciphertext: string;
  tag: string;
  unsupportedIvLength?: boolean;
}
const CBC = loadVectors<{ sp800_38a_f_2_5: { key: string; iv: string; plaintext: string; ciphertext: string } }>(
  'aes-cbc.json',
).sp800_38a_f_2_5;
const GCM = loadVectors<{ mcgrew_viega_appendix_b: GcmCase[] }>('aes-gcm.json').mcgrew_viega_appendix_b;
const GCM16 = loadVectors<{ generated_iv16: GcmCase[] }>('aes-gcm-iv16.json').generated_iv16;

/** `aad` field as the optional argument: absent when empty (also tested with an explicit empty array). */
const aadOf = (c: GcmCase) => (c.aad === '' ? undefined : h(c.aad));

test.before(async () => {
  await cryptoReady();
});

test('aesBackends: node and webcrypto on Node; vector files complete', () => {
  assert.equal(
    backends()
      .map((b) => b.name)
      .sort(),
    ['node', 'webcrypto'],
  );
  assert.is(GCM.length, 12);
  assert.is(GCM.filter((c) => c.unsupportedIvLength).length, 4);
  assert.ok(GCM16.length >= 4);
});

// ---------------------------------------------------------------- CBC

test('SP 800-38A F.2.5: CBC-AES256 encryption; PKCS#7 output = the 4 NIST blocks + one full padding block', async () => {
  const key = h(CBC.key);
  const iv = h(CBC.iv);
  const pt = h(CBC.plaintext);
  const paddingBlock = rawCbc(key, h(CBC.ciphertext).subarray(48, 64), new Uint8Array(16).fill(16));
  for (const e of engines()) {
    const ct = await e.cbcEncrypt(key, iv, pt);
    isPlainU8(ct, e.name);
    assert.is(ct.length, 80, `${e.name}: 64 bytes + 16 bytes padding`);
    eqHex(ct.subarray(0, 64), CBC.ciphertext, `${e.name} F.2.5`);
    eqBytes(ct.subarray(64), paddingBlock, `${e.name}: padding block = E(C4 xor 10..10)`);
    // CBC prefix property: encrypting the first k blocks gives the first k NIST ciphertext blocks.
    for (let k = 1; k <= 3; k++) {
      const part = await e.cbcEncrypt(key, iv, pt.subarray(0, 16 * k));
      eqHex(part.subarray(0, 16 * k), CBC.ciphertext.slice(0, 32 * k), `${e.name}: first ${k} block(s)`);
    }
  }
});

test('SP 800-38A F.2.6: CBC-AES256 decryption of the NIST blocks followed by a PKCS#7 padding block', async () => {
  const key = h(CBC.key);
  const nistCt = h(CBC.ciphertext);
  const ct = concatBytes(nistCt, rawCbc(key, nistCt.subarray(48, 64), new Uint8Array(16).fill(16)));
  for (const e of engines()) {
    eqHex(await e.cbcDecrypt(key, h(CBC.iv), ct), CBC.plaintext, `${e.name} F.2.6`);
  }
});

test('the bare NIST ciphertext is no valid PKCS#7 message (its last plaintext byte 0x10 claims a full pad block)', async () => {
  for (const e of engines()) {
    await rejectsCode(() => e.cbcDecrypt(h(CBC.key), h(CBC.iv), h(CBC.ciphertext)), 'authentication-failed', e.name);
  }
});

test('CBC round trip for lengths 0..64 and larger; ciphertext length = 16 * (floor(n/16) + 1)', async () => {
  const key = pseudo(32, 1);
  const iv = pseudo(16, 2);
  for (const e of engines()) {
    for (const n of [...Array.from({ length: 65 }, (_, i) => i), 1000, 65536, 100003]) {
      const pt = pseudo(n, n + 10);
      const ct = await e.cbcEncrypt(key, iv, pt);
      assert.is(ct.length, 16 * (Math.floor(n / 16) + 1), `${e.name} length ${n}`);
      eqBytes(await e.cbcDecrypt(key, iv, ct), pt, `${e.name} round trip ${n}`);
    }
  }
});

test('CBC: all engines produce identical bytes and decrypt each other', async () => {
  const list = engines();
  for (const n of [0, 1, 15, 16, 17, 100, 4096]) {
    const key = pseudo(32, n + 1);
    const iv = pseudo(16, n + 2);
    const pt = pseudo(n, n + 3);
    const outs = await Promise.all(list.map((e) => e.cbcEncrypt(key, iv, pt)));
    assert.is(new Set(outs.map(toHex)).size, 1, `length ${n}: engines disagree`);
    for (const e of list) eqBytes(await e.cbcDecrypt(key, iv, outs[0]!), pt, `${e.name} decrypts length ${n}`);
  }
});

test('CBC: every kind of bad PKCS#7 padding gives OmemoError authentication-failed', async () => {
  const key = pseudo(32, 7);
  const iv = pseudo(16, 8);
  const body = pseudo(16, 9);
  const lastBlocks: [string, number[]][] = [
    ['pad byte 0x00', [...Array(15).fill(0x41), 0x00]],
    ['pad byte 0x11 (> 16)', [...Array(15).fill(0x41), 0x11]],
    ['pad byte 0xff', [...Array(15).fill(0x41), 0xff]],
    ['0x02 preceded by 0x01', [...Array(14).fill(0x41), 0x01, 0x02]],
    ['0x03 with one wrong pad byte', [...Array(13).fill(0x41), 0x03, 0x02, 0x03]],
    ['0x10 block with one 0x0f', [0x0f, ...Array(15).fill(0x10)]],
    ['0x08 with wrong byte far left', [...Array(8).fill(0x41), 0x07, ...Array(7).fill(0x08)]],
  ];
  for (const e of engines()) {
    for (const [name, block] of lastBlocks) {
      const ct = rawCbc(key, iv, concatBytes(body, Uint8Array.from(block)));
      await rejectsCode(() => e.cbcDecrypt(key, iv, ct), 'authentication-failed', `${e.name}: ${name}`);
    }
  }
});

test('CBC: bad ciphertext lengths, tampering and a wrong key/IV never yield output', async () => {
  const key = pseudo(32, 3);
  const iv = pseudo(16, 4);
  const pt = pseudo(32, 5); // two full blocks -> third block is pure padding (0x10 x 16)
  for (const e of engines()) {
    const ct = await e.cbcEncrypt(key, iv, pt);
    assert.is(ct.length, 48);
    for (const n of [0, 1, 15, 17, 47, 49]) {
      const bad = n <= 48 ? ct.subarray(0, n) : concatBytes(ct, Uint8Array.of(0));
      await rejectsCode(() => e.cbcDecrypt(key, iv, bad), 'authentication-failed', `${e.name}: ciphertext length ${n}`);
    }
    // Flipping a bit in the last byte of the penultimate block turns the pad byte 0x10 into 0x11, 0x12, ...
    for (let b = 0; b < 8; b++) {
      await rejectsCode(
        () => e.cbcDecrypt(key, iv, flipBit(ct, 31 * 8 + b)),
        'authentication-failed',
        `${e.name}: pad bit ${b}`,
      );
    }
    // Under a wrong key the padding block decrypts to noise: nearly always refused; the rare accidental
    // valid padding (about 1 in 256) may pass CBC alone, but never as the full-length original.
    let failures = 0;
    for (let i = 0; i < 64; i++) {
      const wrongKey = flipBit(key, i * 4);
      try {
        const out = await e.cbcDecrypt(wrongKey, iv, ct);
        assert.ok(out.length < 48, `${e.name}: decrypt with a wrong key returned ${out.length} bytes`);
      } catch (err) {
        assert.instance(err, OmemoError, `${e.name}: wrong key ${i}: ${String(err)}`);
        assert.is((err as OmemoError).code, 'authentication-failed');
        failures++;
      }
    }
    assert.ok(failures >= 56, `${e.name}: only ${failures}/64 wrong keys were refused`);
  }
});

// ---------------------------------------------------------------- GCM

test('GCM spec test cases 1-4 and 13-16 (12-byte IV): encrypt and decrypt on every engine', async () => {
  const supported = GCM.filter((c) => !c.unsupportedIvLength);
  assert.is(supported.length, 8);
  for (const e of engines()) {
    for (const c of supported) {
      const sealed = await e.gcmEncrypt(h(c.key), h(c.iv), h(c.plaintext), aadOf(c));
      isPlainU8(sealed.ciphertext, `${e.name} ${c.name} ciphertext`);
      isPlainU8(sealed.tag, `${e.name} ${c.name} tag`);
      eqHex(sealed.ciphertext, c.ciphertext, `${e.name} ${c.name} ciphertext`);
      eqHex(sealed.tag, c.tag, `${e.name} ${c.name} tag`);
      eqHex(
        await e.gcmDecrypt(h(c.key), h(c.iv), h(c.ciphertext), h(c.tag), aadOf(c)),
        c.plaintext,
        `${e.name} ${c.name} decrypt`,
      );
    }
  }
});

test('GCM spec test cases 5, 6, 17, 18 (8- and 60-byte IVs) are refused with RangeError naming iv', async () => {
  const unsupported = GCM.filter((c) => c.unsupportedIvLength);
  for (const e of engines()) {
    for (const c of unsupported) {
      await rejectsArg(
        () => e.gcmEncrypt(h(c.key), h(c.iv), h(c.plaintext), aadOf(c)),
        RangeError,
        'iv',
        `${e.name} ${c.name} encrypt`,
      );
      await rejectsArg(
        () => e.gcmDecrypt(h(c.key), h(c.iv), h(c.ciphertext), h(c.tag), aadOf(c)),
        RangeError,
        'iv',
        `${e.name} ${c.name} decrypt`,
      );
    }
  }
});

test('GCM with 16-byte IVs (python3-cryptography vectors): encrypt and decrypt on every engine', async () => {
  for (const e of engines()) {
    for (const c of GCM16) {
      assert.is(c.iv.length, 32);
      const sealed = await e.gcmEncrypt(h(c.key), h(c.iv), h(c.plaintext), aadOf(c));
      eqHex(sealed.ciphertext, c.ciphertext, `${e.name} ${c.name}`);
      eqHex(sealed.tag, c.tag, `${e.name} ${c.name}`);
      eqHex(
        await e.gcmDecrypt(h(c.key), h(c.iv), h(c.ciphertext), h(c.tag), aadOf(c)),
        c.plaintext,
        `${e.name} ${c.name} decrypt`,
      );
    }
  }
});

test('GCM: an explicit empty AAD is the same as no AAD', async () => {
  const c = GCM.find((x) => x.name === 'Test Case 3')!;
  for (const e of engines()) {
    const sealed = await e.gcmEncrypt(h(c.key), h(c.iv), h(c.plaintext), new Uint8Array(0));
    eqHex(sealed.tag, c.tag, e.name);
    eqHex(await e.gcmDecrypt(h(c.key), h(c.iv), h(c.ciphertext), h(c.tag), new Uint8Array(0)), c.plaintext, e.name);
  }
});

test('GCM: all engines produce identical bytes (12/16-byte IV, 128/256-bit key, with/without AAD)', async () => {
  const list = engines();
  for (const keyLen of [16, 32]) {
    for (const ivLen of [12, 16]) {
      for (const n of [0, 1, 16, 17, 1000, 70000]) {
        for (const aadLen of [0, 5, 100]) {
          const key = pseudo(keyLen, n + keyLen);
          const iv = pseudo(ivLen, n + ivLen + 1);
          const pt = pseudo(n, n + 2);
          const aad = aadLen ? pseudo(aadLen, aadLen) : undefined;
          const outs = await Promise.all(list.map((e) => e.gcmEncrypt(key, iv, pt, aad)));
          const what = `key ${keyLen}, iv ${ivLen}, pt ${n}, aad ${aadLen}`;
          assert.is(
            new Set(outs.map((o) => `${toHex(o.ciphertext)}/${toHex(o.tag)}`)).size,
            1,
            `${what}: engines disagree`,
          );
          assert.is(outs[0]!.ciphertext.length, n);
          assert.is(outs[0]!.tag.length, 16);
          for (const e of list)
            eqBytes(await e.gcmDecrypt(key, iv, outs[0]!.ciphertext, outs[0]!.tag, aad), pt, `${e.name} ${what}`);
        }
      }
    }
  }
});

test('GCM: every flipped tag bit, ciphertext bit, AAD change, wrong key or IV gives authentication-failed', async () => {
  const c = GCM.find((x) => x.name === 'Test Case 16')!;
  const key = h(c.key);
  const iv = h(c.iv);
  const ct = h(c.ciphertext);
  const tag = h(c.tag);
  const aad = h(c.aad);
  for (const e of engines()) {
    const dec = (k: Uint8Array, i: Uint8Array, x: Uint8Array, t: Uint8Array, a?: Uint8Array) => () =>
      e.gcmDecrypt(k, i, x, t, a);
    for (let bit = 0; bit < 128; bit++) {
      await rejectsCode(dec(key, iv, ct, flipBit(tag, bit), aad), 'authentication-failed', `${e.name}: tag bit ${bit}`);
    }
    for (let bit = 0; bit < ct.length * 8; bit += 7) {
      await rejectsCode(
        dec(key, iv, flipBit(ct, bit), tag, aad),
        'authentication-failed',
        `${e.name}: ciphertext bit ${bit}`,
      );
    }
    for (let bit = 0; bit < aad.length * 8; bit += 11) {
      await rejectsCode(dec(key, iv, ct, tag, flipBit(aad, bit)), 'authentication-failed', `${e.name}: aad bit ${bit}`);
    }
    await rejectsCode(dec(key, iv, ct, tag), 'authentication-failed', `${e.name}: AAD omitted`);
    await rejectsCode(dec(key, iv, ct, tag, aad.subarray(1)), 'authentication-failed', `${e.name}: AAD truncated`);
    await rejectsCode(
      dec(key, iv, ct.subarray(0, ct.length - 1), tag, aad),
      'authentication-failed',
      `${e.name}: ciphertext truncated`,
    );
    await rejectsCode(
      dec(key, iv, concatBytes(ct, Uint8Array.of(0)), tag, aad),
      'authentication-failed',
      `${e.name}: ciphertext extended`,
    );
    await rejectsCode(dec(flipBit(key, 0), iv, ct, tag, aad), 'authentication-failed', `${e.name}: wrong key`);
    await rejectsCode(dec(key, flipBit(iv, 95), ct, tag, aad), 'authentication-failed', `${e.name}: wrong IV`);
    await rejectsCode(
      dec(key, new Uint8Array(16), ct, tag, aad),
      'authentication-failed',
      `${e.name}: 16-byte IV instead of 12`,
    );
    await rejectsCode(dec(key, iv, ct, new Uint8Array(16), aad), 'authentication-failed', `${e.name}: zero tag`);
    // Empty plaintext: only the tag protects it.
    const empty = GCM.find((x) => x.name === 'Test Case 1')!;
    await rejectsCode(
      dec(h(empty.key), h(empty.iv), new Uint8Array(0), flipBit(h(empty.tag), 127)),
      'authentication-failed',
      `${e.name}: empty`,
    );
    // A key of the other size with the same prefix must fail too.
    await rejectsCode(
      dec(concatBytes(key.subarray(0, 16)), iv, ct, tag, aad),
      'authentication-failed',
      `${e.name}: 128-bit key prefix`,
    );
  }
});

test('inputs are not modified by encryption or decryption', async () => {
  for (const e of engines()) {
    const key = pseudo(32, 1);
    const iv = pseudo(12, 2);
    const iv16 = pseudo(16, 3);
    const pt = pseudo(40, 4);
    const aad = pseudo(9, 5);
    const snapshot = () => [key, iv, iv16, pt, aad].map(toHex).join();
    const before = snapshot();
    const sealed = await e.gcmEncrypt(key, iv, pt, aad);
    await e.gcmDecrypt(key, iv, sealed.ciphertext, sealed.tag, aad);
    const cbc = await e.cbcEncrypt(key, iv16, pt);
    await e.cbcDecrypt(key, iv16, cbc);
    assert.is(snapshot(), before, e.name);
  }
});

// ---------------------------------------------------------------- argument checks

test('bad inputs: TypeError/RangeError naming the parameter, on every engine', async () => {
  const k32 = seq(32);
  const k16 = seq(16);
  const iv16 = seq(16);
  const iv12 = seq(12);
  const pt = seq(5);
  const tag = seq(16);
  const str = 'x' as unknown as Uint8Array;
  for (const e of engines()) {
    const n = e.name;
    // CBC: AES-256 only, 16-byte IV.
    await rejectsArg(() => e.cbcEncrypt(k16, iv16, pt), RangeError, 'key', `${n} cbc 16-byte key`);
    await rejectsArg(() => e.cbcEncrypt(seq(24), iv16, pt), RangeError, 'key', `${n} cbc 24-byte key`);
    await rejectsArg(() => e.cbcEncrypt(str, iv16, pt), TypeError, 'key', n);
    await rejectsArg(() => e.cbcEncrypt(k32, iv12, pt), RangeError, 'iv', n);
    await rejectsArg(() => e.cbcEncrypt(k32, [...iv16] as unknown as Uint8Array, pt), TypeError, 'iv', n);
    await rejectsArg(() => e.cbcEncrypt(k32, iv16, str), TypeError, 'plaintext', n);
    await rejectsArg(() => e.cbcDecrypt(k32, seq(17), seq(16)), RangeError, 'iv', n);
    await rejectsArg(() => e.cbcDecrypt(seq(31), iv16, seq(16)), RangeError, 'key', n);
    await rejectsArg(() => e.cbcDecrypt(k32, iv16, null as unknown as Uint8Array), TypeError, 'ciphertext', n);
    // GCM: 16- or 32-byte key, 12- or 16-byte IV, 16-byte tag.
    await rejectsArg(() => e.gcmEncrypt(seq(24), iv12, pt), RangeError, 'key', `${n} gcm AES-192 key`);
    await rejectsArg(() => e.gcmEncrypt(seq(0), iv12, pt), RangeError, 'key', n);
    await rejectsArg(() => e.gcmEncrypt(str, iv12, pt), TypeError, 'key', n);
    for (const len of [0, 8, 11, 13, 15, 17, 60]) {
      await rejectsArg(() => e.gcmEncrypt(k16, seq(len), pt), RangeError, 'iv', `${n} iv ${len}`);
      await rejectsArg(() => e.gcmDecrypt(k16, seq(len), pt, tag), RangeError, 'iv', `${n} iv ${len}`);
    }
    await rejectsArg(() => e.gcmEncrypt(k16, iv12, str), TypeError, 'plaintext', n);
    await rejectsArg(() => e.gcmEncrypt(k16, iv12, pt, str), TypeError, 'aad', n);
    await rejectsArg(() => e.gcmDecrypt(k16, iv12, pt, seq(15)), RangeError, 'tag', `${n} 15-byte tag`);
    await rejectsArg(() => e.gcmDecrypt(k16, iv12, pt, seq(12)), RangeError, 'tag', `${n} 12-byte tag`);
    await rejectsArg(() => e.gcmDecrypt(k16, iv12, pt, seq(17)), RangeError, 'tag', `${n} 17-byte tag`);
    await rejectsArg(() => e.gcmDecrypt(k16, iv12, pt, str), TypeError, 'tag', n);
    await rejectsArg(() => e.gcmDecrypt(k16, iv12, str, tag), TypeError, 'ciphertext', n);
    await rejectsArg(() => e.gcmDecrypt(k16, iv12, pt, tag, 7 as unknown as Uint8Array), TypeError, 'aad', n);
    await rejectsArg(() => e.gcmDecrypt(seq(20), iv12, pt, tag), RangeError, 'key', n);
  }
});

test.run();
