// Key derivation (src/protocol/kdf.ts) against vectors/kdf.json, which python-oldmemo/twomemo's own KDF classes
// and an hmac/hashlib transcription agree on (vectors/gen-kdf.py), plus the X25519 inputs of X3DH.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8Encode } from '../../src/crypto/bytes';
import { hkdfSha256 } from '../../src/crypto/hmac';
import { cryptoReady } from '../../src/crypto/ready';
import { x25519PublicKey, x25519SharedSecret } from '../../src/crypto/x25519';
import { deriveMessageKeys, kdfChainKey, kdfRootKey, x3dhSharedSecret } from '../../src/protocol/kdf';
import { VERSIONS, unhex } from './helpers';

interface KdfVectors {
  source: string;
  chain: { chainKey: string; messageKeySeed: string; nextChainKey: string }[];
  chainWalk: { chainKey: string; seeds: string[]; chainKeyAfter: string };
  oldmemo: VersionVectors;
  twomemo: VersionVectors;
}
interface VersionVectors {
  root: { rootKey: string; dhOutput: string; newRootKey: string; chainKey: string }[];
  messageKeys: { seed: string; encryptionKey: string; authenticationKey: string; iv: string }[];
  x3dh: {
    alice: Record<string, string>;
    bob: Record<string, string>;
    dhOutputs: string[];
    sharedSecret: string;
    sharedSecret64: string;
  }[];
}

const V = JSON.parse(readFileSync(new URL('./vectors/kdf.json', import.meta.url), 'utf8')) as KdfVectors;

test.before(async () => {
  await cryptoReady();
});

test('vector file names its source and has the expected cases', () => {
  assert.ok(V.source.includes('python3-oldmemo') && V.source.includes('hmac/hashlib'));
  assert.is(V.chain.length, 3);
  for (const version of VERSIONS) {
    assert.is(V[version].root.length, 3);
    assert.is(V[version].messageKeys.length, 3);
    assert.is(V[version].x3dh.length, 2);
  }
});

test('KDF_CK: HMAC(ck, 0x01) is the message key seed, HMAC(ck, 0x02) the next chain key', () => {
  for (const c of V.chain) {
    const { seed, next } = kdfChainKey(unhex(c.chainKey));
    assert.is(toHex(seed), c.messageKeySeed);
    assert.is(toHex(next), c.nextChainKey);
  }
});

test('KDF_CK: a walk of five steps', () => {
  let ck = unhex(V.chainWalk.chainKey);
  V.chainWalk.seeds.forEach((expected, i) => {
    const step = kdfChainKey(ck);
    assert.is(toHex(step.seed), expected, `step ${i}`);
    ck = step.next;
  });
  assert.is(toHex(ck), V.chainWalk.chainKeyAfter);
});

for (const version of VERSIONS) {
  test(`${version}: KDF_RK = HKDF(salt = RK, IKM = DH output) → RK' ‖ CK`, () => {
    for (const c of V[version].root) {
      const out = kdfRootKey(version, unhex(c.rootKey), unhex(c.dhOutput));
      assert.is(toHex(out.rootKey), c.newRootKey);
      assert.is(toHex(out.chainKey), c.chainKey);
    }
  });

  test(`${version}: message keys = HKDF(zero salt, seed) → enc 32 ‖ auth 32 ‖ IV 16`, () => {
    for (const c of V[version].messageKeys) {
      const k = deriveMessageKeys(version, unhex(c.seed));
      assert.is(toHex(k.encryptionKey), c.encryptionKey);
      assert.is(toHex(k.authenticationKey), c.authenticationKey);
      assert.is(toHex(k.iv), c.iv);
    }
  });

  test(`${version}: X3DH DH outputs and SK (with and without a one-time pre key)`, () => {
    for (const c of V[version].x3dh) {
      const a = c.alice;
      const b = c.bob;
      assert.is(toHex(x25519PublicKey(unhex(a.identityPrivate!))), a.identityPublic);
      assert.is(toHex(x25519PublicKey(unhex(b.signedPreKeyPrivate!))), b.signedPreKeyPublic);
      const dh = [
        x25519SharedSecret(unhex(a.identityPrivate!), unhex(b.signedPreKeyPublic!)),
        x25519SharedSecret(unhex(a.ephemeralPrivate!), unhex(b.identityPublic!)),
        x25519SharedSecret(unhex(a.ephemeralPrivate!), unhex(b.signedPreKeyPublic!)),
      ];
      if (b.preKeyPublic !== undefined) dh.push(x25519SharedSecret(unhex(a.ephemeralPrivate!), unhex(b.preKeyPublic)));
      assert.equal(dh.map(toHex), c.dhOutputs);
      const sk = x3dhSharedSecret(version, dh);
      assert.is(sk.length, 32);
      assert.is(toHex(sk), c.sharedSecret);
      // libsignal derives 64 bytes (RK ‖ CK) where python-omemo derives 32: the first 32 bytes agree
      const ikm = new Uint8Array(32 + 32 * dh.length).fill(0xff);
      dh.forEach((d, i) => {
        ikm.set(d, 32 + 32 * i);
      });
      const info = utf8Encode(version === 'oldmemo' ? 'WhisperText' : 'OMEMO X3DH');
      assert.is(toHex(hkdfSha256(ikm, new Uint8Array(32), info, 64)), c.sharedSecret64);
      assert.is(c.sharedSecret64.slice(0, 64), c.sharedSecret);
    }
  });
}

test('the versions differ in every info string (a swapped info fails the vectors)', () => {
  const rk = unhex(V.oldmemo.root[0]!.rootKey);
  const dh = unhex(V.oldmemo.root[0]!.dhOutput);
  assert.is.not(toHex(kdfRootKey('twomemo', rk, dh).rootKey), V.oldmemo.root[0]!.newRootKey);
  const seed = unhex(V.oldmemo.messageKeys[0]!.seed);
  assert.is.not(toHex(deriveMessageKeys('twomemo', seed).encryptionKey), V.oldmemo.messageKeys[0]!.encryptionKey);
  const x = V.oldmemo.x3dh[0]!;
  assert.is.not(toHex(x3dhSharedSecret('twomemo', x.dhOutputs.map(unhex))), x.sharedSecret);
});

test('deriveMessageKeys: the three parts are disjoint slices of one 80-byte output', () => {
  const c = V.twomemo.messageKeys[1]!;
  const k = deriveMessageKeys('twomemo', unhex(c.seed));
  assert.is(k.encryptionKey.length + k.authenticationKey.length + k.iv.length, 80);
  assert.is(
    toHex(k.encryptionKey) + toHex(k.authenticationKey) + toHex(k.iv),
    c.encryptionKey + c.authenticationKey + c.iv,
  );
});

test.run();
