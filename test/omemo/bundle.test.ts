// Tests for src/omemo/stanzas/bundle.ts (XEP-0384 0.3.0 §4.3 / 0.9 §5.3.2 bundles).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromBase64, toBase64, toHex } from '../../src/crypto/bytes';
import { MAX_PREKEYS_PER_BUNDLE, type BundleData } from '../../src/omemo/stanzas/bundle';
import { parseBundle, parseBundleChoosing, serializeBundle } from '../../src/omemo/versions/by-version';
import { NS_LEGACY } from '../../src/omemo/versions/oldmemo';
import { NS_OMEMO2 } from '../../src/omemo/versions/twomemo';
import { fixture, seq, throwsMalformed, throwsProgrammer } from './helpers';

const L = NS_LEGACY;
const O = NS_OMEMO2;

function sample(nPreKeys = 3): BundleData {
  return {
    signedPreKeyId: 1,
    signedPreKey: seq(32, 1),
    signedPreKeySignature: seq(64, 100),
    identityKey: seq(32, 200),
    preKeys: Array.from({ length: nPreKeys }, (_, i) => ({ id: i + 1, publicKey: seq(32, i) })),
  };
}

/** Base64 of 33 bytes 0x05‖(32 bytes from `offset`). */
function legacyKey(offset: number): string {
  const b = new Uint8Array(33);
  b[0] = 5;
  b.set(seq(32, offset), 1);
  return toBase64(b);
}

test('parses the real 100-pre-key legacy bundle (0x05 stripped)', () => {
  const b = parseBundle(fixture('oldmemo-bundle.xml'), 'oldmemo');
  assert.is(b.signedPreKeyId, 1);
  assert.is(b.preKeys.length, 100);
  assert.is(b.signedPreKey.length, 32);
  assert.is(b.signedPreKeySignature.length, 64);
  // identityKey BaV4yOVt… = 05 a578c8e5…
  assert.is(b.identityKey.length, 32);
  assert.is(toHex(b.identityKey).slice(0, 8), 'a578c8e5');
  assert.is(b.preKeys[0]!.id, 3, 'document order is kept (python writes pre keys in no particular order)');
  assert.equal(
    b.preKeys.map((p) => p.id).sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
});

test('parses the real 100-pre-key OMEMO 2 bundle (raw keys)', () => {
  const b = parseBundle(fixture('twomemo-bundle.xml'), 'twomemo');
  assert.is(b.signedPreKeyId, 1);
  assert.is(b.preKeys.length, 100);
  assert.is(toBase64(b.identityKey), 'aJ5QQU+RTLQiVJ8RQzzyTmkiIZE06oo4TSzp0ZiyGyg=');
  assert.is(toBase64(b.preKeys[0]!.publicKey), '910bIKzkebHW4nwCrbql9RPGp89m9MvLuPD1SPxzkzw=');
});

test('parses the README bundles (shortened, with an XML comment among the pre keys)', () => {
  const l = parseBundle(fixture('readme-oldmemo-bundle.xml'), 'oldmemo');
  assert.equal(
    l.preKeys.map((p) => p.id),
    [1, 2, 3],
  );
  const o = parseBundle(fixture('readme-twomemo-bundle.xml'), 'twomemo');
  assert.equal(
    o.preKeys.map((p) => p.id),
    [2, 4, 6],
  );
});

test('serialises the real bundles byte-identically to python-omemo', () => {
  for (const [file, version] of [
    ['oldmemo-bundle.xml', 'oldmemo'],
    ['twomemo-bundle.xml', 'twomemo'],
  ] as const) {
    const xml = fixture(file).trim();
    assert.is(serializeBundle(parseBundle(xml, version), version), xml, file);
  }
});

test('round trips for both versions: serialize → parse and parse → serialize → parse', () => {
  for (const version of ['oldmemo', 'twomemo'] as const) {
    const b = sample(5);
    const xml = serializeBundle(b, version);
    assert.equal(parseBundle(xml, version), b, version);
    assert.equal(parseBundle(serializeBundle(parseBundle(xml, version), version), version), b, version);
  }
});

test('legacy wire form: 0x05-prefixed keys, XEP child order, attribute names', () => {
  const xml = serializeBundle(sample(1), 'oldmemo');
  assert.is(
    xml,
    `<bundle xmlns="${L}"><signedPreKeyPublic signedPreKeyId="1">${legacyKey(1)}</signedPreKeyPublic>` +
      `<signedPreKeySignature>${toBase64(seq(64, 100))}</signedPreKeySignature>` +
      `<identityKey>${legacyKey(200)}</identityKey>` +
      `<prekeys><preKeyPublic preKeyId="1">${legacyKey(0)}</preKeyPublic></prekeys></bundle>`,
  );
  assert.is(
    serializeBundle(sample(1), 'twomemo'),
    `<bundle xmlns="${O}"><spk id="1">${toBase64(seq(32, 1))}</spk><spks>${toBase64(seq(64, 100))}</spks>` +
      `<ik>${toBase64(seq(32, 200))}</ik><prekeys><pk id="1">${toBase64(seq(32, 0))}</pk></prekeys></bundle>`,
  );
});

test('OMEMO 2: children in any order, prefixes, single quotes, wrapped base64, inside a PEP <item>', () => {
  const b = sample(2);
  const wrap = (s: string) => s.replace(/(.{20})/g, '$1\n      ');
  const xml =
    `<iq xmlns='jabber:client' type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:omemo:2:bundles'><item id='1001'>` +
    `<x:bundle xmlns:x='${O}'>\n  <x:prekeys><x:pk id='2'>${wrap(toBase64(b.preKeys[1]!.publicKey))}</x:pk><x:pk id="1">${toBase64(b.preKeys[0]!.publicKey)}</x:pk></x:prekeys>\n` +
    `  <x:ik>${wrap(toBase64(b.identityKey))}</x:ik><x:spks>${wrap(toBase64(b.signedPreKeySignature))}</x:spks><x:spk id='1'>${toBase64(b.signedPreKey)}</x:spk>\n</x:bundle>` +
    `</item></items></pubsub></iq>`;
  const parsed = parseBundle(xml, 'twomemo');
  assert.equal(
    parsed.preKeys.map((p) => p.id),
    [2, 1],
  );
  assert.equal({ ...parsed, preKeys: [...parsed.preKeys].reverse() }, b);
});

test('legacy: a 32-byte key (no 0x05) and a wrong type byte are rejected', () => {
  const good = serializeBundle(sample(1), 'oldmemo');
  const raw32 = toBase64(seq(32, 200));
  throwsMalformed(
    () => parseBundle(good.replace(legacyKey(200), raw32), 'oldmemo'),
    /<identityKey> must be 33 bytes 0x05‖key .*got 32 bytes/,
  );
  throwsMalformed(
    () => parseBundle(good.replace(legacyKey(1), toBase64(seq(32, 1))), 'oldmemo'),
    /<signedPreKeyPublic> must be 33 bytes/,
  );
  const wrongType = toBase64(Uint8Array.from([6, ...seq(32, 0)]));
  throwsMalformed(() => parseBundle(good.replace(legacyKey(0), wrongType), 'oldmemo'), /preKeyPublic.*starting 0x06/);
});

test('parseBundleChoosing: only the chosen pre key comes back; the others are checked all the same', () => {
  const data: BundleData = {
    ...sample(0),
    preKeys: [1, 2, 3].map((id) => ({ id, publicKey: seq(32, 50 + id) })),
  };
  for (const version of ['oldmemo', 'twomemo'] as const) {
    let count = 0;
    const one = parseBundleChoosing(serializeBundle(data, version), version, (n) => {
      count = n;
      return 2;
    });
    assert.is(count, 3, version);
    assert.equal(one, { ...data, preKeys: [data.preKeys[2]!] }, version);
  }
  const first = () => 0;
  // The bad pre key (id 2) is not the chosen one (id 1): refused all the same, with parseBundle's message.
  const legacy = serializeBundle(data, 'oldmemo');
  const wrongType = legacy.replace(legacyKey(52), toBase64(Uint8Array.from([6, ...seq(32, 52)])));
  throwsMalformed(() => parseBundleChoosing(wrongType, 'oldmemo', first), /preKeyId="2".*starting 0x06/);
  const short = legacy.replace(legacyKey(52), toBase64(seq(32, 52)));
  throwsMalformed(() => parseBundleChoosing(short, 'oldmemo', first), /preKeyId="2".*got 32 bytes/);
  const two = serializeBundle(data, 'twomemo');
  const long = two.replace(toBase64(seq(32, 52)), legacyKey(52));
  throwsMalformed(() => parseBundleChoosing(long, 'twomemo', first), /<pk id="2"> must be 32 bytes, got 33/);
  throwsMalformed(() => parseBundleChoosing(two.replace(toBase64(seq(32, 52)), '@@@@'), 'twomemo', first), /not valid/);
});

test('OMEMO 2: a 33-byte key is rejected', () => {
  const good = serializeBundle(sample(1), 'twomemo');
  throwsMalformed(
    () => parseBundle(good.replace(toBase64(seq(32, 200)), legacyKey(200)), 'twomemo'),
    /<ik> must be 32 bytes, got 33/,
  );
});

test('signature must be exactly 64 bytes', () => {
  const good = serializeBundle(sample(1), 'twomemo');
  const sig = toBase64(seq(64, 100));
  throwsMalformed(
    () => parseBundle(good.replace(sig, toBase64(seq(63, 100))), 'twomemo'),
    /<spks> must be 64 bytes, got 63/,
  );
  throwsMalformed(
    () => parseBundle(good.replace(sig, toBase64(seq(65, 100))), 'twomemo'),
    /<spks> must be 64 bytes, got 65/,
  );
  throwsMalformed(() => parseBundle(good.replace(sig, ''), 'twomemo'), /<spks> must be 64 bytes, got 0/);
});

test('bad base64 is rejected', () => {
  const good = serializeBundle(sample(1), 'oldmemo');
  throwsMalformed(
    () => parseBundle(good.replace(legacyKey(200), 'BaV4yOVt!!'), 'oldmemo'),
    /<identityKey> is not valid base64/,
  );
  throwsMalformed(
    () => parseBundle(good.replace(legacyKey(0), legacyKey(0).slice(0, -1)), 'oldmemo'),
    /not valid base64/,
  );
});

test('missing, repeated and unexpected-content elements', () => {
  const good = serializeBundle(sample(2), 'oldmemo');
  throwsMalformed(
    () => parseBundle(good.replace(/<identityKey>.*<\/identityKey>/, ''), 'oldmemo'),
    /has no <identityKey>/,
  );
  throwsMalformed(
    () => parseBundle(good.replace(/<signedPreKeySignature>.*<\/signedPreKeySignature>/, ''), 'oldmemo'),
    /has no <signedPreKeySignature>/,
  );
  throwsMalformed(() => parseBundle(good.replace(/<prekeys>.*<\/prekeys>/, ''), 'oldmemo'), /has no <prekeys>/);
  throwsMalformed(() => parseBundle(good.replace(/<prekeys>.*<\/prekeys>/, '<prekeys/>'), 'oldmemo'), /no pre key/);
  throwsMalformed(
    () =>
      parseBundle(good.replace('<identityKey>', `<identityKey>${legacyKey(9)}</identityKey><identityKey>`), 'oldmemo'),
    /more than one <identityKey>/,
  );
  throwsMalformed(() => parseBundle(`<bundle xmlns='${O}'/>`, 'twomemo'), /has no <spk>/);
  throwsMalformed(
    () => parseBundle(good.replace('</identityKey>', '<b/></identityKey>'), 'oldmemo'),
    /only base64 text/,
  );
  // pre keys of the other version's element name are not pre keys
  throwsMalformed(
    () =>
      parseBundle(
        serializeBundle(sample(1), 'twomemo')
          .replace(/<pk id="1">/, '<preKeyPublic id="1">')
          .replace('</pk>', '</preKeyPublic>'),
        'twomemo',
      ),
    /no pre key/,
  );
});

test('bad and duplicate ids', () => {
  const good = serializeBundle(sample(2), 'twomemo');
  for (const [id, re] of [
    ['0', /got 0/],
    ['-1', /decimal integer/],
    ['2147483648', /got 2147483648/],
    ['12a', /decimal integer/],
  ] as const) {
    throwsMalformed(() => parseBundle(good.replace('<pk id="2">', `<pk id="${id}">`), 'twomemo'), re);
    throwsMalformed(() => parseBundle(good.replace('<spk id="1">', `<spk id="${id}">`), 'twomemo'), re);
  }
  throwsMalformed(
    () => parseBundle(good.replace('<pk id="2">', '<pk id="1">'), 'twomemo'),
    /pre key id 1 appears twice/,
  );
  throwsMalformed(() => parseBundle(good.replace('<spk id="1">', '<spk>'), 'twomemo'), /<spk> id is missing/);
  const legacy = serializeBundle(sample(1), 'oldmemo');
  throwsMalformed(
    () => parseBundle(legacy.replace(' signedPreKeyId="1"', ''), 'oldmemo'),
    /<signedPreKeyPublic> signedPreKeyId is missing/,
  );
  throwsMalformed(
    () => parseBundle(legacy.replace(' preKeyId="1"', ''), 'oldmemo'),
    /<preKeyPublic> preKeyId is missing/,
  );
});

test('MAX_PREKEYS_PER_BUNDLE bounds parse and serialise', () => {
  assert.is(
    parseBundle(serializeBundle(sample(MAX_PREKEYS_PER_BUNDLE), 'oldmemo'), 'oldmemo').preKeys.length,
    MAX_PREKEYS_PER_BUNDLE,
  );
  const one = serializeBundle(sample(1), 'twomemo');
  const many = Array.from(
    { length: MAX_PREKEYS_PER_BUNDLE + 1 },
    (_, i) => `<pk id="${i + 1}">${toBase64(seq(32, i))}</pk>`,
  ).join('');
  throwsMalformed(
    () => parseBundle(one.replace(/<prekeys>.*<\/prekeys>/, `<prekeys>${many}</prekeys>`), 'twomemo'),
    /MAX_PREKEYS_PER_BUNDLE/,
  );
  throwsProgrammer(
    () => serializeBundle(sample(MAX_PREKEYS_PER_BUNDLE + 1), 'twomemo'),
    RangeError,
    /MAX_PREKEYS_PER_BUNDLE/,
  );
});

test('wrong namespace / version', () => {
  throwsMalformed(
    () => parseBundle(fixture('twomemo-bundle.xml'), 'oldmemo'),
    /no <bundle xmlns='eu.siacs.conversations.axolotl'>/,
  );
  throwsMalformed(() => parseBundle(fixture('oldmemo-bundle.xml'), 'twomemo'), /no <bundle xmlns='urn:xmpp:omemo:2'>/);
});

test('serialise validates its input precisely', () => {
  const bad = (patch: Partial<BundleData>) => ({ ...sample(2), ...patch });
  throwsProgrammer(
    () => serializeBundle(bad({ signedPreKey: seq(33) }), 'oldmemo'),
    RangeError,
    /signedPreKey must be 32 bytes, got 33/,
  );
  throwsProgrammer(
    () => serializeBundle(bad({ identityKey: seq(31) }), 'twomemo'),
    RangeError,
    /identityKey must be 32 bytes, got 31/,
  );
  throwsProgrammer(
    () => serializeBundle(bad({ signedPreKeySignature: seq(63) }), 'twomemo'),
    RangeError,
    /signedPreKeySignature must be 64 bytes/,
  );
  throwsProgrammer(
    () => serializeBundle(bad({ signedPreKeyId: 0 }), 'twomemo'),
    RangeError,
    /signedPreKeyId must be in 1\.\.2147483647/,
  );
  throwsProgrammer(() => serializeBundle(bad({ preKeys: [] }), 'twomemo'), RangeError, /at least one pre key/);
  throwsProgrammer(
    () =>
      serializeBundle(
        bad({
          preKeys: [
            { id: 1, publicKey: seq(32) },
            { id: 1, publicKey: seq(32) },
          ],
        }),
        'oldmemo',
      ),
    RangeError,
    /preKeys\[1\]\.id 1 is a duplicate/,
  );
  throwsProgrammer(
    () => serializeBundle(bad({ preKeys: [{ id: 1, publicKey: [1, 2] as unknown as Uint8Array }] }), 'oldmemo'),
    TypeError,
    /preKeys\[0\]\.publicKey must be a Uint8Array/,
  );
  throwsProgrammer(
    () => serializeBundle(bad({ preKeys: [{ id: 2 ** 31, publicKey: seq(32) }] }), 'oldmemo'),
    RangeError,
    /preKeys\[0\]\.id/,
  );
});

test('the stripped legacy identity key is the real Curve25519 key (matches the published 0x05 form)', () => {
  const xml = fixture('oldmemo-bundle.xml');
  const published = fromBase64(/<identityKey>([^<]+)<\/identityKey>/.exec(xml)![1]!)!;
  assert.is(published[0], 5);
  assert.equal(parseBundle(xml, 'oldmemo').identityKey, published.slice(1));
});

test.run();
