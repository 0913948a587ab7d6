// Identity keys and signed pre key signatures (src/protocol/identity-key.ts), including python-omemo's bundles
// from vectors/session-*.json (its Alice has an Ed25519 key with sign bit 1, stuffed into sig[63] for 0.3).
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concatBytes, toHex } from '../../src/crypto/bytes';
import { ed25519PublicToCurve25519, ed25519Verify } from '../../src/crypto/ed25519';
import { cryptoReady } from '../../src/crypto/ready';
import { sodium } from '../../src/crypto/sodium';
import { x25519GenerateKeyPair, x25519PublicKey } from '../../src/crypto/x25519';
import { xeddsaVerify } from '../../src/crypto/xeddsa';
import {
  generateIdentityKeyPair,
  identityFromPrivate,
  identityWireKey,
  legacySerializeKey,
  rememberRemoteIdentityCurve,
  remoteIdentityToCurve,
  signSignedPreKey,
  verifyBundleIdentity,
  verifySignedPreKey,
} from '../../src/protocol/identity-key';
import { x3dhInitiate, x3dhInitiateVerified } from '../../src/protocol/x3dh';
import { Session } from '../../src/protocol/session';
import { VERSIONS, bundleOf, caseSeed, makeDevice, rngFor, throwsOmemo, unhex } from './helpers';
import { serializeSession } from '../../src/protocol/session-record';

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

test('remoteIdentityToCurve: a new array each time, right for many keys and for a reused array, invalid keys refused', () => {
  const ids = Array.from({ length: 200 }, (_, i) => generateIdentityKeyPair(rngFor(caseSeed(`memo ${i}`))));
  for (const round of [0, 1])
    for (const id of ids)
      assert.equal(remoteIdentityToCurve('twomemo', id.edPublicKey), id.publicKey, `round ${round}`);
  const first = remoteIdentityToCurve('twomemo', ids[0]!.edPublicKey);
  first.fill(0xee);
  assert.equal(remoteIdentityToCurve('twomemo', ids[0]!.edPublicKey), ids[0]!.publicKey, 'a change to one result');
  const wire = ids[1]!.edPublicKey.slice();
  assert.equal(remoteIdentityToCurve('twomemo', wire), ids[1]!.publicKey);
  wire.set(ids[2]!.edPublicKey); // another key in the same array
  assert.equal(remoteIdentityToCurve('twomemo', wire), ids[2]!.publicKey);
  const invalid = new Uint8Array(32);
  invalid[0] = 2; // y = 2: no x, no point
  for (const _ of [0, 1]) throwsOmemo(() => remoteIdentityToCurve('twomemo', invalid), 'invalid-key');
});

test('rememberRemoteIdentityCurve: the remembered form is served for that array only while its bytes are unchanged', () => {
  const ids = [0, 1].map((i) => generateIdentityKeyPair(rngFor(caseSeed(`remembered ${i}`))));
  const wire = ids[0]!.edPublicKey.slice();
  rememberRemoteIdentityCurve(wire, ids[0]!.publicKey);
  assert.equal(remoteIdentityToCurve('twomemo', wire), ids[0]!.publicKey);
  const served = remoteIdentityToCurve('twomemo', wire);
  served.fill(0xee); // results are copies
  assert.equal(remoteIdentityToCurve('twomemo', wire), ids[0]!.publicKey);
  wire.set(ids[1]!.edPublicKey); // new bytes in the same array: converted again
  assert.equal(remoteIdentityToCurve('twomemo', wire), ids[1]!.publicKey);
  assert.equal(remoteIdentityToCurve('twomemo', ids[1]!.edPublicKey.slice()), ids[1]!.publicKey, 'another array');
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

test('verifyBundleIdentity: the Curve25519 identity of a verified bundle (as remoteIdentityToCurve), else undefined', () => {
  for (const version of VERSIONS) {
    const seed = caseSeed(`verifyBundleIdentity ${version}`);
    const rng = rngFor(seed);
    for (let i = 0; i < 12; i++) {
      const d = makeDevice(version, rng);
      const b = bundleOf(d, undefined);
      const curve = verifyBundleIdentity(version, b.identityKey, b.signedPreKey, b.signedPreKeySignature);
      assert.is(toHex(curve!), toHex(remoteIdentityToCurve(version, b.identityKey)), `${seed} #${i}`);
      assert.is(toHex(curve!), toHex(d.identity.publicKey), `${seed} #${i}`);
      const bad = b.signedPreKeySignature.slice();
      bad[i]! ^= 1;
      assert.is(verifyBundleIdentity(version, b.identityKey, b.signedPreKey, bad), undefined, `${seed} #${i} bad sig`);
    }
    // Small-order identity keys (both wire forms) never verify: undefined, not a throw.
    const zero = new Uint8Array(32);
    const one = new Uint8Array(32);
    one[0] = 1;
    for (const key of [zero, one])
      assert.is(verifyBundleIdentity(version, key, zero, new Uint8Array(64)), undefined, `${version} small order`);
  }
});

test('a mixed-order OMEMO 2 identity key (A + T) with a valid signature: accepted, with the key agreement of A', () => {
  // Only the holder of A's private key can sign under A + T (cofactorless verification accepts when h = 0 mod 8),
  // and X25519's clamped scalars ignore T: the state equals the one built from A's own bundle, down to the root key.
  // libsodium's checked map (subgroup check) refused this key with invalid-key; see ed25519VerifiedPublicToCurve25519.
  const s = sodium();
  const seed = caseSeed('mixed-order identity');
  const holder = s.crypto_sign_seed_keypair(rngFor(`${seed}/holder`)(32));
  const a = s.crypto_core_ed25519_scalar_reduce(
    concatBytes(s.crypto_sign_ed25519_sk_to_curve25519(holder.privateKey), new Uint8Array(32)),
  );
  const order8 = unhex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05');
  const mixed = s.crypto_core_ed25519_add(holder.publicKey, order8);
  const spk = x25519GenerateKeyPair(rngFor(`${seed}/spk`)).publicKey;
  const nonces = rngFor(`${seed}/r`);
  let mixedSignature: Uint8Array | undefined;
  for (let i = 0; i < 200 && mixedSignature === undefined; i++) {
    const r = s.crypto_core_ed25519_scalar_reduce(nonces(64));
    const R = s.crypto_scalarmult_ed25519_base_noclamp(r);
    const h = s.crypto_core_ed25519_scalar_reduce(s.crypto_hash_sha512(concatBytes(R, mixed, spk)));
    if ((h[0]! & 7) !== 0) continue;
    mixedSignature = concatBytes(R, s.crypto_core_ed25519_scalar_add(r, s.crypto_core_ed25519_scalar_mul(h, a)));
  }
  assert.ok(
    mixedSignature !== undefined && ed25519Verify(mixed, spk, mixedSignature),
    `${seed}: signature under A + T`,
  );
  assert.not.ok(ed25519Verify(holder.publicKey, spk, mixedSignature), 'it is not a signature under A');
  throwsOmemo(() => ed25519PublicToCurve25519(mixed), 'invalid-key');

  const alice = generateIdentityKeyPair(rngFor(`${seed}/alice`));
  const base = { signedPreKeyId: 1, signedPreKey: spk, preKeyId: 2, preKey: spk };
  const plain = x3dhInitiateVerified(
    'twomemo',
    alice,
    { ...base, identityKey: holder.publicKey, signedPreKeySignature: s.crypto_sign_detached(spk, holder.privateKey) },
    rngFor(`${seed}/x3dh`),
  );
  const viaMixed = x3dhInitiateVerified(
    'twomemo',
    alice,
    { ...base, identityKey: mixed, signedPreKeySignature: mixedSignature },
    rngFor(`${seed}/x3dh`),
  );
  assert.is(toHex(viaMixed.state.rootKey), toHex(plain.state.rootKey), 'same X3DH secret and root key');
  assert.is(toHex(viaMixed.state.sendingChainKey!), toHex(plain.state.sendingChainKey!));
  assert.is(toHex(plain.remoteIdentityCurve), toHex(ed25519PublicToCurve25519(holder.publicKey)));
  assert.is.not(toHex(viaMixed.remoteIdentityCurve), toHex(plain.remoteIdentityCurve), 'recorded under its own key');
});

test('remoteIdentityToCurve / x3dhRespond (OMEMO 2): invalid-key for a key that is no point or of small order', () => {
  const seed = caseSeed('respond with bad identity keys');
  const bob = makeDevice('twomemo', rngFor(`${seed}/bob`));
  const spk = bob.signedPreKeys.get(bob.signedPreKeyId)!;
  const noPoint = unhex('0200000000000000000000000000000000000000000000000000000000000000'); // y = 2: no x
  const smallOrder = [
    '0000000000000000000000000000000000000000000000000000000000000080', // y = 0 (order 4), sign bit set
    '0100000000000000000000000000000000000000000000000000000000000000', // the identity
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1, the identity non-canonically
  ].map(unhex);
  for (const identityKey of [noPoint, ...smallOrder]) {
    throwsOmemo(() => remoteIdentityToCurve('twomemo', identityKey), 'invalid-key', toHex(identityKey));
    const kex = {
      version: 'twomemo' as const,
      preKeyId: undefined,
      signedPreKeyId: bob.signedPreKeyId,
      identityKey,
      baseKey: x25519GenerateKeyPair(rngFor(`${seed}/base`)).publicKey,
      message: undefined as never,
    };
    throwsOmemo(() => Session.respond(bob.identity, kex, spk, undefined), 'invalid-key', toHex(identityKey));
  }
});

test('x3dhInitiateVerified: the same state as x3dhInitiate, and the identity it verified in Curve25519 form', () => {
  for (const version of VERSIONS) {
    const seed = caseSeed(`x3dhInitiateVerified ${version}`);
    const bob = makeDevice(version, rngFor(`${seed}/bob`));
    const alice = generateIdentityKeyPair(rngFor(`${seed}/alice`));
    const a = x3dhInitiate(version, alice, bundleOf(bob, 1), rngFor(`${seed}/x3dh`));
    const b = x3dhInitiateVerified(version, alice, bundleOf(bob, 1), rngFor(`${seed}/x3dh`));
    assert.is(toHex(serializeSession(new Session(b.state))), toHex(serializeSession(new Session(a))), seed);
    assert.is(toHex(b.remoteIdentityCurve), toHex(bob.identity.publicKey), seed);
    const broken = { ...bundleOf(bob, 1), signedPreKeySignature: new Uint8Array(64) };
    throwsOmemo(() => x3dhInitiateVerified(version, alice, broken), 'invalid-signature');
  }
});

test.run();
