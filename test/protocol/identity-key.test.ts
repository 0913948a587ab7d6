// Identity keys and signed pre key signatures (src/protocol/identity-key.ts), including python-omemo's bundles
// from vectors/session-*.json (its Alice has an Ed25519 key with sign bit 1, stuffed into sig[63] for 0.3).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concatBytes, toHex } from '../../src/crypto/bytes';
import { ed25519PublicToCurve25519, ed25519Verify } from '../../src/crypto/ed25519';
import { cryptoReady } from '../../src/crypto/ready';
import { x25519GenerateKeyPair, x25519PublicKey } from '../../src/crypto/x25519';
import { xeddsaVerify } from '../../src/crypto/xeddsa';
import {
  IDENTITY_CURVE_MEMO_ENTRIES,
  generateIdentityKeyPair,
  identityFromPrivate,
  identityWireKey,
  legacySerializeKey,
  remoteIdentityToCurve,
  signSignedPreKey,
  verifySignedPreKey,
} from '../../src/protocol/identity-key';
import { Session } from '../../src/protocol/session';
import { VERSIONS, bundleOf, caseSeed, makeDevice, rngFor, throwsOmemo, unhex } from './helpers';

interface PythonBundle {
  identityKey: string;
  signedPreKeyId: number;
  signedPreKey: string;
  signedPreKeySignature: string;
}
interface PythonVector {
  alice: { identityCurvePublic: string; identityEdPublic: string; identityEdSignBit: number; identityPrivate: string };
  bob: { identityCurvePublic: string; identityEdPublic: string; identityEdSignBit: number };
  aliceBundle: PythonBundle;
  bobBundle: PythonBundle;
}
const PY: Record<string, PythonVector> = {
  oldmemo: JSON.parse(readFileSync(new URL('./vectors/session-oldmemo.json', import.meta.url), 'utf8')),
  twomemo: JSON.parse(readFileSync(new URL('./vectors/session-twomemo.json', import.meta.url), 'utf8')),
};

test.before(async () => {
  await cryptoReady();
});

test('identityFromPrivate: Curve25519 public key, Ed25519 form with sign bit 0 that maps back to it', () => {
  const seed = caseSeed('identity forms');
  const rng = rngFor(seed);
  for (let i = 0; i < 16; i++) {
    const id = generateIdentityKeyPair(rng);
    assert.equal(id.publicKey, x25519PublicKey(id.privateKey), `seed ${seed} #${i}`);
    assert.is(id.edPublicKey[31]! & 0x80, 0, `sign bit 0 (seed ${seed} #${i})`);
    assert.equal(ed25519PublicToCurve25519(id.edPublicKey), id.publicKey, `Ed → Curve round trip (seed ${seed} #${i})`);
    const again = identityFromPrivate(id.privateKey);
    assert.equal(again, id);
    assert.ok(again.privateKey !== id.privateKey, 'identityFromPrivate copies the private key');
  }
});

test('generateIdentityKeyPair is deterministic under a seeded Rng and differs across seeds', () => {
  const a = generateIdentityKeyPair(rngFor('id-a'));
  assert.equal(generateIdentityKeyPair(rngFor('id-a')), a);
  assert.not.equal(generateIdentityKeyPair(rngFor('id-b')).publicKey, a.publicKey);
});

test('identityWireKey: 0.3 publishes the Curve25519 key, OMEMO 2 the Ed25519 key', () => {
  const id = generateIdentityKeyPair(rngFor(caseSeed('wire key')));
  assert.equal(identityWireKey(id, 'oldmemo'), id.publicKey);
  assert.equal(identityWireKey(id, 'twomemo'), id.edPublicKey);
  assert.equal(remoteIdentityToCurve('oldmemo', id.publicKey), id.publicKey);
  assert.equal(remoteIdentityToCurve('twomemo', id.edPublicKey), id.publicKey);
});

test('remoteIdentityToCurve handles python-omemo Ed25519 keys with sign bit 1', () => {
  const a = PY.twomemo!.alice;
  assert.is(a.identityEdSignBit, 1);
  assert.is(toHex(remoteIdentityToCurve('twomemo', unhex(a.identityEdPublic))), a.identityCurvePublic);
  assert.is(toHex(x25519PublicKey(unhex(a.identityPrivate))), a.identityCurvePublic);
});

test('remoteIdentityToCurve remembers conversions: a new array each time, right for many keys, invalid keys refused', () => {
  const ids = Array.from({ length: IDENTITY_CURVE_MEMO_ENTRIES + 50 }, (_, i) =>
    generateIdentityKeyPair(rngFor(caseSeed(`memo ${i}`))),
  );
  for (const round of [0, 1])
    for (const id of ids)
      assert.equal(remoteIdentityToCurve('twomemo', id.edPublicKey), id.publicKey, `round ${round}`);
  const first = remoteIdentityToCurve('twomemo', ids[0]!.edPublicKey);
  first.fill(0xee);
  assert.equal(remoteIdentityToCurve('twomemo', ids[0]!.edPublicKey), ids[0]!.publicKey, 'a change to one result');
  const wire = ids[1]!.edPublicKey.slice();
  assert.equal(remoteIdentityToCurve('twomemo', wire), ids[1]!.publicKey);
  wire.set(ids[2]!.edPublicKey); // another key in the same array: remembered by content
  assert.equal(remoteIdentityToCurve('twomemo', wire), ids[2]!.publicKey);
  const invalid = new Uint8Array(32).fill(0xff); // y ≥ p: no point
  for (const _ of [0, 1]) throwsOmemo(() => remoteIdentityToCurve('twomemo', invalid), 'invalid-key');
});

test('legacySerializeKey prefixes 0x05', () => {
  const k = new Uint8Array(32).fill(9);
  const s = legacySerializeKey(k);
  assert.is(s.length, 33);
  assert.is(s[0], 0x05);
  assert.equal(s.subarray(1), k);
});

for (const version of VERSIONS) {
  test(`${version}: signSignedPreKey / verifySignedPreKey round trip`, () => {
    const seed = caseSeed(`${version} sign`);
    const rng = rngFor(seed);
    for (let i = 0; i < 8; i++) {
      const id = generateIdentityKeyPair(rng);
      const spk = x25519GenerateKeyPair(rng).publicKey;
      const sig = signSignedPreKey(id, version, spk, rng);
      assert.is(sig.length, 64);
      assert.ok(verifySignedPreKey(version, identityWireKey(id, version), spk, sig), `seed ${seed} #${i}`);
    }
  });

  test(`${version}: tampered signature, key or signed pre key is rejected`, () => {
    const seed = caseSeed(`${version} tamper`);
    const rng = rngFor(seed);
    const id = generateIdentityKeyPair(rng);
    const other = generateIdentityKeyPair(rng);
    const spk = x25519GenerateKeyPair(rng).publicKey;
    const sig = signSignedPreKey(id, version, spk, rng);
    const ik = identityWireKey(id, version);
    for (let i = 0; i < 64; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = sig.slice();
        bad[i]! ^= mask;
        assert.not.ok(
          verifySignedPreKey(version, ik, spk, bad),
          `signature byte ${i} ^ ${mask} accepted (seed ${seed})`,
        );
      }
    }
    for (let i = 0; i < 32; i++) {
      const badSpk = spk.slice();
      badSpk[i]! ^= 0x01;
      assert.not.ok(verifySignedPreKey(version, ik, badSpk, sig), `spk byte ${i} (seed ${seed})`);
    }
    assert.not.ok(
      verifySignedPreKey(version, identityWireKey(other, version), spk, sig),
      `other identity (seed ${seed})`,
    );
    assert.not.ok(verifySignedPreKey(version, ik, spk, new Uint8Array(64)), 'all-zero signature');
  });

  test(`${version}: python-omemo bundles verify (both sign bits)`, () => {
    const v = PY[version]!;
    for (const [who, b] of [
      ['alice', v.aliceBundle],
      ['bob', v.bobBundle],
    ] as const) {
      assert.ok(
        verifySignedPreKey(version, unhex(b.identityKey), unhex(b.signedPreKey), unhex(b.signedPreKeySignature)),
        `${who}'s bundle`,
      );
      const bad = unhex(b.signedPreKeySignature);
      bad[0]! ^= 1;
      assert.not.ok(
        verifySignedPreKey(version, unhex(b.identityKey), unhex(b.signedPreKey), bad),
        `${who}'s tampered bundle`,
      );
    }
    assert.is(v.alice.identityEdSignBit, 1, 'the vector covers a sign-bit-1 identity');
    assert.is(v.bob.identityEdSignBit, 0, 'the vector covers a sign-bit-0 identity');
    if (version === 'oldmemo')
      assert.is(unhex(v.aliceBundle.signedPreKeySignature)[63]! >> 7, 1, 'sign bit stuffed into sig[63]');
  });

  test(`${version}: Session.initiate with a bad signature → invalid-signature`, () => {
    const seed = caseSeed(`${version} initiate bad sig`);
    const rng = rngFor(seed);
    const alice = makeDevice(version, rng);
    const bob = makeDevice(version, rng, 50);
    const good = bundleOf(bob, 50);
    Session.initiate(version, alice.identity, good, rng); // sanity: the good bundle works
    const badSig = { ...good, signedPreKeySignature: good.signedPreKeySignature.slice() };
    badSig.signedPreKeySignature[10]! ^= 0x40;
    throwsOmemo(() => Session.initiate(version, alice.identity, badSig, rng), 'invalid-signature', `(seed ${seed})`);
    const otherSpk = { ...good, signedPreKey: x25519GenerateKeyPair(rng).publicKey };
    throwsOmemo(() => Session.initiate(version, alice.identity, otherSpk, rng), 'invalid-signature', `(seed ${seed})`);
    const wrongVersion = {
      ...good,
      signedPreKeySignature: signSignedPreKey(
        bob.identity,
        version === 'oldmemo' ? 'twomemo' : 'oldmemo',
        good.signedPreKey,
        rng,
      ),
    };
    throwsOmemo(
      () => Session.initiate(version, alice.identity, wrongVersion, rng),
      'invalid-signature',
      `other version's signature (seed ${seed})`,
    );
  });
}

test('OMEMO 2 signature = plain Ed25519 under edPublicKey over the raw spk', () => {
  const seed = caseSeed('ed25519 form');
  const rng = rngFor(seed);
  for (let i = 0; i < 8; i++) {
    const id = generateIdentityKeyPair(rng);
    const spk = x25519GenerateKeyPair(rng).publicKey;
    const sig = signSignedPreKey(id, 'twomemo', spk, rng);
    assert.ok(ed25519Verify(id.edPublicKey, spk, sig), `seed ${seed} #${i}`);
    assert.not.ok(ed25519Verify(id.edPublicKey, legacySerializeKey(spk), sig), 'OMEMO 2 does not sign the 0x05 form');
  }
});

test('0.3 signature = XEdDSA over 0x05 ‖ spk under the Curve25519 identity', () => {
  const seed = caseSeed('xeddsa form');
  const rng = rngFor(seed);
  for (let i = 0; i < 8; i++) {
    const id = generateIdentityKeyPair(rng);
    const spk = x25519GenerateKeyPair(rng).publicKey;
    const sig = signSignedPreKey(id, 'oldmemo', spk, rng);
    assert.ok(xeddsaVerify(id.publicKey, concatBytes(Uint8Array.of(5), spk), sig), `seed ${seed} #${i}`);
    assert.not.ok(xeddsaVerify(id.publicKey, spk, sig), '0.3 does not sign the raw spk');
    // XEdDSA proper: also a plain Ed25519 signature under the sign-bit-0 Ed25519 key
    assert.ok(ed25519Verify(id.edPublicKey, legacySerializeKey(spk), sig), `seed ${seed} #${i}`);
  }
});

test('verifySignedPreKey: wrong lengths are programmer errors (RangeError), not false', () => {
  const id = generateIdentityKeyPair(rngFor('lengths'));
  const spk = new Uint8Array(32);
  assert.throws(() => verifySignedPreKey('twomemo', id.edPublicKey, spk, new Uint8Array(63)), RangeError);
  assert.throws(
    () => verifySignedPreKey('oldmemo', legacySerializeKey(id.publicKey), spk, new Uint8Array(64)),
    RangeError,
  );
  assert.throws(() => verifySignedPreKey('oldmemo', id.publicKey, new Uint8Array(33), new Uint8Array(64)), RangeError);
});

test.run();
