// Payload encryption of both versions (the backends in src/omemo/versions/), checked against independent node:crypto
// computations: OMEMO 0.3 AES-128-GCM with key16 ‖ tag16 in the ratchet and a tag-less <payload>; OMEMO 2
// HKDF-SHA256 "OMEMO Payload" → AES-256-CBC + truncated HMAC-SHA256 with key32 ‖ mac16 in the ratchet.

import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8Decode, utf8Encode } from '../../src/crypto/bytes';
import { OmemoError } from '../../src/crypto/errors';
import { seededRng } from '../../src/crypto/random';
import { cryptoReady } from '../../src/crypto/ready';
import { LEGACY_IV_BYTES } from '../../src/omemo/versions/oldmemo';
import { MAX_PAYLOAD_BYTES } from '../../src/omemo/stanzas/payload';
import { openPayload, sealPayload } from '../../src/omemo/versions/by-version';

test.before(async () => {
  await cryptoReady();
});

const rng = (label: string) => seededRng(utf8Encode(label));

async function rejectsCode(fn: () => Promise<unknown>, code: string, what: string): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `${what}: nothing was thrown`);
  assert.instance(caught, OmemoError, `${what}: ${String(caught)}`);
  assert.is((caught as OmemoError).code, code, `${what}: ${(caught as Error).message}`);
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

const TEXTS = ['', 'a', 'hello world', 'x'.repeat(15), 'y'.repeat(16), 'z'.repeat(17), 'Grüße 🎉 <&>'.repeat(40)];

test('round trip, both versions, several lengths (incl. 0, block boundaries)', async () => {
  for (const version of ['oldmemo', 'twomemo'] as const) {
    for (const text of TEXTS) {
      const sealed = await sealPayload(version, utf8Encode(text), rng(`rt ${version} ${text}`));
      assert.ok(sealed.payload !== undefined);
      const opened = await openPayload(version, sealed.keyMaterial, sealed.iv, sealed.payload);
      assert.ok(opened !== undefined);
      assert.is(utf8Decode(opened!), text, `${version} ${JSON.stringify(text.slice(0, 20))}`);
    }
  }
});

test('a seeded rng makes sealing deterministic; different seeds give different keys', async () => {
  for (const version of ['oldmemo', 'twomemo'] as const) {
    const a = await sealPayload(version, utf8Encode('same'), rng('seed-1'));
    const b = await sealPayload(version, utf8Encode('same'), rng('seed-1'));
    const c = await sealPayload(version, utf8Encode('same'), rng('seed-2'));
    assert.is(toHex(a.keyMaterial), toHex(b.keyMaterial));
    assert.is(toHex(a.payload!), toHex(b.payload!));
    assert.is.not(toHex(a.keyMaterial), toHex(c.keyMaterial));
    assert.is.not(toHex(a.payload!), toHex(c.payload!));
  }
});

test('OMEMO 0.3: key material is key16 ‖ tag16, IV 12 bytes, payload without tag (independent AES-128-GCM)', async () => {
  const plaintext = utf8Encode('legacy message with some length to it');
  const sealed = await sealPayload('oldmemo', plaintext, rng('legacy-shape'));
  assert.is(sealed.keyMaterial.length, 32);
  assert.is(LEGACY_IV_BYTES, 12);
  assert.is(sealed.iv!.length, 12);
  assert.is(sealed.payload!.length, plaintext.length, 'GCM ciphertext is as long as the plaintext: no tag appended');
  const key = sealed.keyMaterial.subarray(0, 16);
  const tag = sealed.keyMaterial.subarray(16, 32);
  // Independent decryption.
  const d = createDecipheriv('aes-128-gcm', key, sealed.iv!, { authTagLength: 16 });
  d.setAuthTag(tag);
  const out = Buffer.concat([d.update(sealed.payload!), d.final()]);
  assert.is(out.toString('utf8'), 'legacy message with some length to it');
  // Independent encryption with the same key and IV gives the same ciphertext and tag.
  const c = createCipheriv('aes-128-gcm', key, sealed.iv!, { authTagLength: 16 });
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  assert.is(toHex(ct), toHex(sealed.payload!));
  assert.is(toHex(c.getAuthTag()), toHex(tag));
});

test('OMEMO 0.3: the rng supplies the IV first, then the key', async () => {
  const r = rng('legacy-order');
  const iv = r(12);
  const key = r(16);
  const sealed = await sealPayload('oldmemo', utf8Encode('x'), rng('legacy-order'));
  assert.is(toHex(sealed.iv!), toHex(iv));
  assert.is(toHex(sealed.keyMaterial.subarray(0, 16)), toHex(key));
});

test('OMEMO 0.3: a 16-byte IV (other clients) is accepted; other IV lengths are malformed', async () => {
  const key = new Uint8Array(16).fill(7);
  const iv16 = new Uint8Array(16).map((_, i) => i * 3);
  const c = createCipheriv('aes-128-gcm', key, iv16, { authTagLength: 16 });
  const ct = Buffer.concat([c.update('from a 16-byte-IV client'), c.final()]);
  const material = new Uint8Array(32);
  material.set(key);
  material.set(c.getAuthTag(), 16);
  const opened = await openPayload('oldmemo', material, iv16, new Uint8Array(ct));
  assert.is(utf8Decode(opened!), 'from a 16-byte-IV client');
  const sealed = await sealPayload('oldmemo', utf8Encode('x'), rng('iv-lengths'));
  for (const n of [0, 8, 11, 13, 15, 17, 32]) {
    await rejectsCode(
      () => openPayload('oldmemo', sealed.keyMaterial, new Uint8Array(n), sealed.payload),
      'malformed-stanza',
      `iv of ${n}`,
    );
  }
  await rejectsCode(
    () => openPayload('oldmemo', sealed.keyMaterial, undefined, sealed.payload),
    'malformed-stanza',
    'no iv',
  );
});

test('OMEMO 2: key material is key32 ‖ mac16; HKDF "OMEMO Payload" → AES-256-CBC + HMAC (independent)', async () => {
  const plaintext = utf8Encode(
    '<envelope xmlns="urn:xmpp:sce:1"><content><body xmlns="jabber:client">hi</body></content></envelope>',
  );
  const sealed = await sealPayload('twomemo', plaintext, rng('omemo2-shape'));
  assert.is(sealed.keyMaterial.length, 48);
  assert.is(sealed.iv, undefined, 'OMEMO 2 has no <iv>');
  const key = sealed.keyMaterial.subarray(0, 32);
  const okm = new Uint8Array(hkdfSync('sha256', key, new Uint8Array(32), Buffer.from('OMEMO Payload'), 80));
  const enc = okm.subarray(0, 32);
  const auth = okm.subarray(32, 64);
  const iv = okm.subarray(64, 80);
  // CBC with PKCS#7: the ciphertext is the next multiple of 16.
  assert.is(sealed.payload!.length, (Math.floor(plaintext.length / 16) + 1) * 16);
  const d = createDecipheriv('aes-256-cbc', enc, iv);
  assert.is(Buffer.concat([d.update(sealed.payload!), d.final()]).toString('utf8'), utf8Decode(plaintext));
  const mac = createHmac('sha256', auth).update(sealed.payload!).digest().subarray(0, 16);
  assert.is(toHex(mac), toHex(sealed.keyMaterial.subarray(32, 48)));
  // And the other way round: something built independently opens.
  const key2 = new Uint8Array(32).map((_, i) => 200 - i);
  const okm2 = new Uint8Array(hkdfSync('sha256', key2, new Uint8Array(32), Buffer.from('OMEMO Payload'), 80));
  const c = createCipheriv('aes-256-cbc', okm2.subarray(0, 32), okm2.subarray(64, 80));
  const ct = new Uint8Array(Buffer.concat([c.update('built by node:crypto'), c.final()]));
  const material = new Uint8Array(48);
  material.set(key2);
  material.set(createHmac('sha256', okm2.subarray(32, 64)).update(ct).digest().subarray(0, 16), 32);
  assert.is(utf8Decode((await openPayload('twomemo', material, undefined, ct))!), 'built by node:crypto');
});

test('OMEMO 2: the 32-byte key comes from the rng', async () => {
  const expected = rng('omemo2-key')(32);
  const sealed = await sealPayload('twomemo', utf8Encode('x'), rng('omemo2-key'));
  assert.is(toHex(sealed.keyMaterial.subarray(0, 32)), toHex(expected));
});

test('empty messages: 0.3 carries 16 random bytes (with an IV), OMEMO 2 carries 32 zero bytes', async () => {
  const a = await sealPayload('oldmemo', undefined, rng('empty-1'));
  const b = await sealPayload('oldmemo', undefined, rng('empty-2'));
  assert.is(a.keyMaterial.length, 16);
  assert.is(a.iv!.length, 12, '0.3 empty messages still carry an <iv>');
  assert.is(a.payload, undefined);
  assert.is.not(toHex(a.keyMaterial), toHex(b.keyMaterial), 'the 16 bytes are random');
  assert.ok(a.keyMaterial.some((x) => x !== 0));
  const expected = rng('empty-1');
  expected(12);
  assert.is(toHex(a.keyMaterial), toHex(expected(16)));
  const z = await sealPayload('twomemo', undefined, rng('empty-3'));
  assert.is(toHex(z.keyMaterial), '00'.repeat(32));
  assert.is(z.iv, undefined);
  assert.is(z.payload, undefined);
  // Opening an empty message returns undefined for the accepted key material sizes.
  assert.is(await openPayload('oldmemo', a.keyMaterial, a.iv, undefined), undefined);
  assert.is(
    await openPayload('oldmemo', new Uint8Array(32), a.iv, undefined),
    undefined,
    'key ‖ tag from other clients',
  );
  assert.is(await openPayload('twomemo', z.keyMaterial, undefined, undefined), undefined);
  assert.is(await openPayload('twomemo', new Uint8Array(48), undefined, undefined), undefined);
  for (const n of [0, 15, 17, 31, 33, 48])
    await rejectsCode(
      () => openPayload('oldmemo', new Uint8Array(n), a.iv, undefined),
      'authentication-failed',
      `0.3 empty ${n}`,
    );
  for (const n of [0, 16, 31, 33, 47, 49])
    await rejectsCode(
      () => openPayload('twomemo', new Uint8Array(n), undefined, undefined),
      'authentication-failed',
      `2 empty ${n}`,
    );
});

test('OMEMO 0.3: every flipped bit of payload, key, tag or IV → authentication-failed', async () => {
  const sealed = await sealPayload('oldmemo', utf8Encode('tamper me!'), rng('flip-legacy'));
  for (let bit = 0; bit < sealed.payload!.length * 8; bit++) {
    await rejectsCode(
      () => openPayload('oldmemo', sealed.keyMaterial, sealed.iv, flip(sealed.payload!, bit)),
      'authentication-failed',
      `payload bit ${bit}`,
    );
  }
  for (let bit = 0; bit < 256; bit++) {
    await rejectsCode(
      () => openPayload('oldmemo', flip(sealed.keyMaterial, bit), sealed.iv, sealed.payload),
      'authentication-failed',
      `key material bit ${bit}`,
    );
  }
  for (let bit = 0; bit < 96; bit++) {
    await rejectsCode(
      () => openPayload('oldmemo', sealed.keyMaterial, flip(sealed.iv!, bit), sealed.payload),
      'authentication-failed',
      `iv bit ${bit}`,
    );
  }
});

test('OMEMO 2: every flipped bit of payload, key or MAC → authentication-failed', async () => {
  const sealed = await sealPayload('twomemo', utf8Encode('tamper me, twice as long!'), rng('flip-2'));
  for (let bit = 0; bit < sealed.payload!.length * 8; bit++) {
    await rejectsCode(
      () => openPayload('twomemo', sealed.keyMaterial, undefined, flip(sealed.payload!, bit)),
      'authentication-failed',
      `payload bit ${bit}`,
    );
  }
  for (let bit = 0; bit < 384; bit++) {
    await rejectsCode(
      () => openPayload('twomemo', flip(sealed.keyMaterial, bit), undefined, sealed.payload),
      'authentication-failed',
      `key material bit ${bit}`,
    );
  }
});

test('wrong key material sizes, truncated payloads and oversized inputs are rejected', async () => {
  const legacy = await sealPayload('oldmemo', utf8Encode('size checks'), rng('sizes-1'));
  const two = await sealPayload('twomemo', utf8Encode('size checks'), rng('sizes-2'));
  for (const n of [16, 31, 33, 48]) {
    await rejectsCode(
      () => openPayload('oldmemo', new Uint8Array(n), legacy.iv, legacy.payload),
      'authentication-failed',
      `0.3 key material of ${n}`,
    );
  }
  for (const n of [32, 47, 49, 64]) {
    await rejectsCode(
      () => openPayload('twomemo', new Uint8Array(n), undefined, two.payload),
      'authentication-failed',
      `2 key material of ${n}`,
    );
  }
  await rejectsCode(
    () => openPayload('oldmemo', legacy.keyMaterial, legacy.iv, legacy.payload!.subarray(1)),
    'authentication-failed',
    '0.3 truncated',
  );
  await rejectsCode(
    () => openPayload('twomemo', two.keyMaterial, undefined, two.payload!.subarray(16)),
    'authentication-failed',
    '2 truncated',
  );
  await rejectsCode(
    () => openPayload('twomemo', two.keyMaterial, undefined, new Uint8Array(0)),
    'authentication-failed',
    '2 empty payload',
  );
  // The two versions' key material is not interchangeable.
  await rejectsCode(
    () => openPayload('twomemo', legacy.keyMaterial, undefined, legacy.payload),
    'authentication-failed',
    '0.3 material as 2',
  );
  await rejectsCode(
    () => openPayload('oldmemo', two.keyMaterial, legacy.iv, two.payload),
    'authentication-failed',
    '2 material as 0.3',
  );
  // Size limits.
  const big = new Uint8Array(MAX_PAYLOAD_BYTES + 1);
  for (const version of ['oldmemo', 'twomemo'] as const) {
    const refused = await sealPayload(version, big, rng('big')).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(refused, RangeError);
    // The largest plaintext sealPayload accepts must open again (OMEMO 2: MAX + 16 bytes of CBC ciphertext).
    const max = await sealPayload(version, new Uint8Array(MAX_PAYLOAD_BYTES), rng('max'));
    assert.is((await openPayload(version, max.keyMaterial, max.iv, max.payload))!.length, MAX_PAYLOAD_BYTES);
  }
  // A ciphertext may exceed the plaintext limit by one CBC padding block, not more.
  const tooBig = new Uint8Array(MAX_PAYLOAD_BYTES + 17);
  await rejectsCode(
    () => openPayload('oldmemo', legacy.keyMaterial, legacy.iv, tooBig),
    'malformed-stanza',
    'oversized 0.3 payload',
  );
  await rejectsCode(
    () => openPayload('twomemo', two.keyMaterial, undefined, tooBig),
    'malformed-stanza',
    'oversized 2 payload',
  );
});

test('tampering never releases plaintext: the error is an OmemoError, not a partial result', async () => {
  const sealed = await sealPayload('oldmemo', utf8Encode('secret'), rng('no-release'));
  const bad = flip(sealed.keyMaterial, 200); // a tag bit
  let result: unknown = 'unset';
  try {
    result = await openPayload('oldmemo', bad, sealed.iv, sealed.payload);
  } catch (e) {
    assert.instance(e, OmemoError);
  }
  assert.is(result, 'unset');
});

test.run();
