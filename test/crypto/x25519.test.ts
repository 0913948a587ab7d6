// src/crypto/x25519.ts: RFC 7748 known answers on every back end, low-order rejection, key generation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../src/crypto/bytes';
import { seededRng } from '../../src/crypto/random';
import { cryptoReady } from '../../src/crypto/ready';
import * as x25519 from '../../src/crypto/x25519';
import {
  x25519CopyPrivateKey,
  x25519GenerateKeyPair,
  x25519PublicKey,
  x25519SharedSecret,
} from '../../src/crypto/x25519';
import { eqBytes, eqHex, h, isPlainU8, listOf, loadVectors, pseudo, seq, throwsArg, throwsCode } from './helpers';

interface X25519Vectors {
  rfc7748_5_2: { scalar: string; u: string; output: string }[];
  rfc7748_5_2_iterated: { start: string; after1: string; after1000: string };
  rfc7748_6_1: { alicePrivate: string; alicePublic: string; bobPrivate: string; bobPublic: string; shared: string };
  lowOrderPoints: string[];
}
const V = loadVectors<X25519Vectors>('x25519.json');

interface Engine {
  name: string;
  publicKey(priv: Uint8Array): Uint8Array;
  sharedSecret(priv: Uint8Array, pub: Uint8Array): Uint8Array;
}

type BackendList = Engine[] | (() => Engine[]);
function engines(): Engine[] {
  const backends = listOf((x25519 as unknown as { x25519Backends: BackendList }).x25519Backends);
  return [
    { name: 'x25519PublicKey/x25519SharedSecret', publicKey: x25519PublicKey, sharedSecret: x25519SharedSecret },
    ...backends,
  ];
}

test.before(async () => {
  await cryptoReady();
});

test('x25519Backends: libsodium always, node:crypto on Node', () => {
  const names = listOf((x25519 as unknown as { x25519Backends: BackendList }).x25519Backends).map((b) => b.name);
  assert.equal([...names].sort(), ['libsodium', 'node']);
});

test('vector files are complete', () => {
  assert.is(V.rfc7748_5_2.length, 2);
  assert.is(V.lowOrderPoints.length, 7);
});

test('RFC 7748 5.2: the two scalar/u test vectors, every back end', () => {
  for (const e of engines()) {
    for (const [i, v] of V.rfc7748_5_2.entries()) {
      const out = e.sharedSecret(h(v.scalar), h(v.u));
      eqHex(out, v.output, `${e.name} vector ${i + 1}`);
    }
  }
});

test('RFC 7748 5.2: iterated test after 1 and 1,000 iterations, every back end', () => {
  for (const e of engines()) {
    let k: Uint8Array = h(V.rfc7748_5_2_iterated.start);
    let u: Uint8Array = k.slice();
    for (let i = 1; i <= 1000; i++) {
      const next = e.sharedSecret(k, u);
      u = k;
      k = next;
      if (i === 1) eqHex(k, V.rfc7748_5_2_iterated.after1, `${e.name} after 1`);
    }
    eqHex(k, V.rfc7748_5_2_iterated.after1000, `${e.name} after 1000`);
  }
});

test('RFC 7748 6.1: Alice/Bob public keys and shared secret, every back end', () => {
  const v = V.rfc7748_6_1;
  for (const e of engines()) {
    eqHex(e.publicKey(h(v.alicePrivate)), v.alicePublic, `${e.name} Alice public`);
    eqHex(e.publicKey(h(v.bobPrivate)), v.bobPublic, `${e.name} Bob public`);
    eqHex(e.sharedSecret(h(v.alicePrivate), h(v.bobPublic)), v.shared, `${e.name} Alice side`);
    eqHex(e.sharedSecret(h(v.bobPrivate), h(v.alicePublic)), v.shared, `${e.name} Bob side`);
  }
});

test('low-order public keys throw OmemoError invalid-key (never an all-zero secret), every back end', () => {
  const priv = h(V.rfc7748_6_1.alicePrivate);
  for (const e of engines()) {
    for (const p of V.lowOrderPoints) {
      throwsCode(() => e.sharedSecret(priv, h(p)), 'invalid-key', `${e.name} u=${p.slice(0, 8)}…`);
      throwsCode(() => e.sharedSecret(seq(32), h(p)), 'invalid-key', `${e.name} u=${p.slice(0, 8)}… other scalar`);
    }
  }
});

test('back ends agree on random keys; bit 255 of u is ignored; scalars are clamped', () => {
  const list = engines();
  for (let i = 0; i < 64; i++) {
    const a = pseudo(32, 1000 + i);
    const b = pseudo(32, 2000 + i);
    const pubs = list.map((e) => toHex(e.publicKey(a)));
    assert.is(new Set(pubs).size, 1, `public keys differ for case ${i}: ${pubs.join(' ')}`);
    const bPub = list[0]!.publicKey(b);
    const secrets = list.map((e) => toHex(e.sharedSecret(a, bPub)));
    assert.is(new Set(secrets).size, 1, `shared secrets differ for case ${i}`);
    // The other side gets the same secret.
    assert.is(toHex(list[0]!.sharedSecret(b, list[0]!.publicKey(a))), secrets[0]);
    // RFC 7748 section 5: the top bit of u is masked.
    const high = bPub.slice();
    high[31]! |= 0x80;
    for (const e of list)
      assert.is(toHex(e.sharedSecret(a, high)), secrets[0], `${e.name}: bit 255 of u must be ignored`);
    // Clamping: the three low bits and bit 255 of the scalar do not matter, bit 254 is forced.
    const unclamped = a.slice();
    unclamped[0]! ^= 7;
    unclamped[31]! ^= 0x80;
    for (const e of list) assert.is(toHex(e.publicKey(unclamped)), pubs[0], `${e.name}: clamping`);
  }
});

test('results are fresh plain Uint8Arrays; inputs are not modified', () => {
  const priv = seq(32, 3);
  const pub = x25519PublicKey(seq(32, 77));
  const privCopy = priv.slice();
  const pubCopy = pub.slice();
  for (const e of engines()) {
    const s1 = e.sharedSecret(priv, pub);
    isPlainU8(s1, `${e.name} shared secret`);
    isPlainU8(e.publicKey(priv), `${e.name} public key`);
    const hex = toHex(s1);
    s1.fill(0);
    assert.is(toHex(e.sharedSecret(priv, pub)), hex, `${e.name}: mutating a result must not affect the next one`);
  }
  eqBytes(priv, privCopy);
  eqBytes(pub, pubCopy);
});

test('x25519GenerateKeyPair: clamped private key, matching public key, working DH', () => {
  for (let i = 0; i < 20; i++) {
    const alice = x25519GenerateKeyPair();
    const bob = x25519GenerateKeyPair();
    isPlainU8(alice.privateKey);
    assert.is(alice.privateKey.length, 32);
    assert.is(alice.publicKey.length, 32);
    assert.is(alice.privateKey[0]! & 7, 0, 'low 3 bits cleared');
    assert.is(alice.privateKey[31]! & 0xc0, 0x40, 'bit 255 cleared, bit 254 set');
    eqBytes(alice.publicKey, x25519PublicKey(alice.privateKey));
    eqBytes(x25519SharedSecret(alice.privateKey, bob.publicKey), x25519SharedSecret(bob.privateKey, alice.publicKey));
    assert.is.not(toHex(alice.privateKey), toHex(bob.privateKey));
  }
});

test('x25519GenerateKeyPair: deterministic with seededRng', () => {
  const a = x25519GenerateKeyPair(seededRng(seq(32)));
  const b = x25519GenerateKeyPair(seededRng(seq(32)));
  const c = x25519GenerateKeyPair(seededRng(seq(32, 1)));
  eqBytes(a.privateKey, b.privateKey);
  eqBytes(a.publicKey, b.publicKey);
  assert.is.not(toHex(a.publicKey), toHex(c.publicKey));
  // The private key is the clamped rng output.
  const raw = seededRng(seq(32))(32);
  raw[0]! &= 248;
  raw[31]! &= 127;
  raw[31]! |= 64;
  eqBytes(a.privateKey, raw);
});

test('node:crypto key objects follow the bytes: a rewritten key array is re-imported, never reused stale', () => {
  const node = (x25519 as unknown as { x25519Backends(): Engine[] }).x25519Backends().find((b) => b.name === 'node');
  if (node === undefined) return; // not on Node
  const libsodium = (x25519 as unknown as { x25519Backends(): Engine[] })
    .x25519Backends()
    .find((b) => b.name === 'libsodium')!;
  const rng = seededRng(seq(32, 7));
  const priv = rng(32);
  const pub = x25519PublicKey(rng(32));
  const first = node.sharedSecret(priv, pub);
  eqBytes(first, libsodium.sharedSecret(priv, pub));
  eqBytes(node.sharedSecret(priv, pub), first, 'cached key objects give the same secret');
  priv.set(rng(32)); // the same arrays, new contents
  pub.set(x25519PublicKey(rng(32)));
  const second = node.sharedSecret(priv, pub);
  eqBytes(second, libsodium.sharedSecret(priv, pub));
  assert.is.not(toHex(second), toHex(first));
  // Generated pairs carry their key objects; their bytes agree with libsodium's view of them.
  const a = x25519GenerateKeyPair();
  const b = x25519GenerateKeyPair();
  eqBytes(libsodium.publicKey(a.privateKey), a.publicKey);
  eqBytes(node.sharedSecret(a.privateKey, b.publicKey), libsodium.sharedSecret(b.privateKey, a.publicKey));
  // Stored-for-later pairs (usedSoon: false) are made by libsodium and work the same.
  const c = x25519GenerateKeyPair(undefined, { usedSoon: false });
  eqBytes(libsodium.publicKey(c.privateKey), c.publicKey);
  eqBytes(node.sharedSecret(c.privateKey, a.publicKey), libsodium.sharedSecret(a.privateKey, c.publicKey));
});

test('x25519CopyPrivateKey: an equal, independent array whose DHs stay right, also after either is rewritten', () => {
  const libsodium = (x25519 as unknown as { x25519Backends(): Engine[] })
    .x25519Backends()
    .find((b) => b.name === 'libsodium')!;
  const a = x25519GenerateKeyPair();
  const peer = x25519GenerateKeyPair().publicKey;
  const copy = x25519CopyPrivateKey(a.privateKey);
  assert.is.not(copy, a.privateKey);
  eqBytes(copy, a.privateKey);
  eqBytes(x25519SharedSecret(copy, peer), libsodium.sharedSecret(a.privateKey, peer));
  const before = x25519SharedSecret(a.privateKey, peer);
  copy.set(x25519GenerateKeyPair().privateKey); // the copy changes: it must not use the original's key object
  eqBytes(x25519SharedSecret(copy, peer), libsodium.sharedSecret(copy, peer));
  eqBytes(x25519SharedSecret(a.privateKey, peer), before, 'the original is unaffected');
  const fresh = x25519CopyPrivateKey(x25519GenerateKeyPair(undefined, { usedSoon: false }).privateKey);
  eqBytes(x25519SharedSecret(fresh, peer), libsodium.sharedSecret(fresh, peer), 'a key without a key object');
  throwsArg(() => x25519CopyPrivateKey(new Uint8Array(31)), RangeError, 'privateKey');
});

test('bad inputs: TypeError/RangeError naming the parameter', () => {
  const k = seq(32);
  for (const e of [{ name: 'top-level', publicKey: x25519PublicKey, sharedSecret: x25519SharedSecret }]) {
    throwsArg(() => e.publicKey(seq(31)), RangeError, 'privateKey', e.name);
    throwsArg(() => e.publicKey(seq(33)), RangeError, 'privateKey', e.name);
    throwsArg(() => e.publicKey('k' as unknown as Uint8Array), TypeError, 'privateKey', e.name);
    throwsArg(() => e.sharedSecret(seq(31), k), RangeError, 'privateKey', e.name);
    throwsArg(() => e.sharedSecret(k, seq(31)), RangeError, 'publicKey', e.name);
    throwsArg(() => e.sharedSecret(k, new Uint8Array(0)), RangeError, 'publicKey', e.name);
    throwsArg(() => e.sharedSecret([...k] as unknown as Uint8Array, k), TypeError, 'privateKey', e.name);
    throwsArg(() => e.sharedSecret(k, null as unknown as Uint8Array), TypeError, 'publicKey', e.name);
  }
  let caught: unknown;
  try {
    x25519GenerateKeyPair(() => new Uint8Array(31));
  } catch (err) {
    caught = err;
  }
  assert.instance(caught, RangeError, 'an rng returning 31 bytes must be refused');
});

test.run();
