// Tests for the fast paths of the bundle reader: src/omemo/stanzas/bundle-plain.ts (plain bundle text, no tree) and
// plainPreKeys in src/omemo/stanzas/bundle.ts (pre key elements without a label or Set each). Both must decide
// exactly as the thorough reader (readBundleThoroughly: every check in document order): the same data, the same
// error code and message, choosePreKey asked the same.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OmemoError } from '../../src/crypto/errors';
import { readBundle, readBundleThoroughly, type BundleData, type BundleFormat } from '../../src/omemo/stanzas/bundle';
import { PLAIN_BUNDLE_MAX_CHARS, scanPlainBundle } from '../../src/omemo/stanzas/bundle-plain';
import { parseXml, type XmlElement } from '../../src/omemo/stanzas/xml';
import { parseBundleChoosing, serializeBundle } from '../../src/omemo/versions/by-version';
import { OLDMEMO_BUNDLE_FORMAT } from '../../src/omemo/versions/oldmemo';
import { TWOMEMO_BUNDLE_FORMAT } from '../../src/omemo/versions/twomemo';
import { MUTATION_PIECES, fixture, mutate, seq, textMutation } from './helpers';

const FORMATS = { oldmemo: OLDMEMO_BUNDLE_FORMAT, twomemo: TWOMEMO_BUNDLE_FORMAT } as const;
type Version = keyof typeof FORMATS;

/** The result or the error (code and message) of `fn`, and the counts choosePreKey was asked with. */
function decide(fn: (choose: (count: number) => number) => BundleData, pick: number | undefined): string {
  const asked: number[] = [];
  const choose = (count: number) => {
    asked.push(count);
    return pick === undefined ? -1 : pick % count;
  };
  try {
    const b = fn(choose);
    const keys = b.preKeys.map((k) => `${k.id}:${Buffer.from(k.publicKey).toString('hex')}`);
    const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
    return JSON.stringify({
      ...b,
      signedPreKey: hex(b.signedPreKey),
      signedPreKeySignature: hex(b.signedPreKeySignature),
      identityKey: hex(b.identityKey),
      preKeys: keys,
      asked,
    });
  } catch (e) {
    if (!(e instanceof OmemoError)) throw e;
    return `${e.code}: ${e.message} (asked ${asked.join(',')})`;
  }
}

/** The text, or the element parseXml makes of it (its error when it has none, as readBundle would throw it). */
function tree(text: string): XmlElement | string {
  try {
    return parseXml(text);
  } catch {
    return text; // readBundleThoroughly then throws parseXml's error itself
  }
}

/** Holds every reader to the thorough one on `text`, with and without choosePreKey. */
function agree(text: string, version: Version, pick: number | undefined): void {
  const n = FORMATS[version];
  const expected = decide((c) => readBundleThoroughly(text, n, pick === undefined ? undefined : c), pick);
  const what = `${version} ${JSON.stringify(text.slice(0, 300))}`;
  assert.is(
    decide((c) => readBundle(text, n, pick === undefined ? undefined : c), pick),
    expected,
    `text: ${what}`,
  );
  const el = tree(text);
  if (typeof el !== 'string') {
    const fromTree = decide((c) => readBundle(el, n, pick === undefined ? undefined : c), pick);
    assert.is(fromTree, expected, `element: ${what}`);
  }
  // What the scan accepts, the thorough reader reads, unless it refuses for what readBundle checks after the scan.
  if (scanPlainBundle(text, n) !== undefined && expected.startsWith('malformed-stanza')) {
    assert.match(expected, /appears twice|MAX_PREKEYS_PER_BUNDLE/, `plain: ${what}`);
  }
}

/** Bytes from a seed (keys and signatures of the generated bundles). */
function bytesFrom(seed: number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 131 + i * 29 + ((seed >> 3) ^ i)) & 255);
}

const IDS = [1, 2, 3, 9, 10, 99, 100, 2147483647, 1234567890];

/** A serialized bundle of a few pre keys, re-spelled (quotes, white space, id spellings) before it is mutated. */
const bundleText = fc
  .record({
    version: fc.constantFrom<Version>('oldmemo', 'twomemo'),
    seed: fc.nat(1000),
    ids: fc.uniqueArray(fc.constantFrom(...IDS), { minLength: 1, maxLength: 4 }),
    apostrophes: fc.boolean(),
    spaced: fc.constantFrom('', ' ', '\n  ', '\t', '\r\n'),
  })
  .map(({ version, seed, ids, apostrophes, spaced }) => {
    let xml = serializeBundle(
      {
        signedPreKeyId: ids[0]!,
        signedPreKey: bytesFrom(seed, 32),
        signedPreKeySignature: bytesFrom(seed + 1, 64),
        identityKey: bytesFrom(seed + 2, 32),
        preKeys: ids.map((id, i) => ({ id, publicKey: bytesFrom(seed + 3 + i, 32) })),
      },
      version,
    );
    if (apostrophes) xml = xml.replaceAll('"', "'");
    if (spaced !== '') xml = `${spaced}${xml.replaceAll('><', `>${spaced}<`)}${spaced}`;
    return { version, xml };
  });

// What a mutation brings in: the shared pieces (helpers.ts) and this element's own.
const PIECES = [
  ...MUTATION_PIECES,
  'B',
  'g',
  ' id="5"',
  'x:',
  '<pk id="7">AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</pk>',
  '</prekeys>',
  '<item id="1">',
];

const mutation = textMutation(PIECES);

test('plain bundles of both versions (fixtures, our own, re-spelled) take the plain path, read as the tree reads', () => {
  for (const version of ['oldmemo', 'twomemo'] as const) {
    const n = FORMATS[version];
    const python = fixture(`${version}-bundle.xml`);
    const ours = serializeBundle(
      {
        signedPreKeyId: 7,
        signedPreKey: seq(32, 1),
        signedPreKeySignature: seq(64, 2),
        identityKey: seq(32, 3),
        preKeys: Array.from({ length: 200 }, (_, i) => ({ id: 200 - i, publicKey: seq(32, i) })), // decreasing ids
      },
      version,
    );
    const pretty = `\n${ours.replaceAll('><', '>\n  <')}\n`;
    for (const xml of [python, ours, pretty, ours.replaceAll('"', "'")]) {
      assert.ok(scanPlainBundle(xml, n) !== undefined, `${version} takes the plain path: ${xml.slice(0, 80)}`);
      for (const pick of [undefined, 0, 5, 199]) agree(xml, version, pick);
    }
  }
});

test('every other shape is left to the tree (which still reads it or says why not)', () => {
  const ours = serializeBundle(
    {
      signedPreKeyId: 1,
      signedPreKey: seq(32, 1),
      signedPreKeySignature: seq(64, 2),
      identityKey: seq(32, 3),
      preKeys: [1, 2].map((id) => ({ id, publicKey: seq(32, id) })),
    },
    'twomemo',
  );
  const key1 = Buffer.from(seq(32, 1)).toString('base64');
  const others = [
    `<item id="1">${ours}</item>`, // wrapped
    ours.replace('<spk id="1">', '<spk id="1" x="y">'), // another attribute
    ours.replace('<prekeys>', '<prekeys><x/>'), // an unknown child
    ours.replace(/<ik>.*<\/ik>/, '').replace('<spk ', `<ik>${Buffer.from(seq(32, 3)).toString('base64')}</ik><spk `), // order
    ours.replace(key1, `${key1.slice(0, 20)}\n${key1.slice(20)}`), // wrapped base64
    ours.replace(key1, `&#${key1.charCodeAt(0)};${key1.slice(1)}`), // a reference
    ours.replace('<prekeys>', '<prekeys><!-- c -->'), // a comment
    ours
      .replace('<bundle xmlns="urn:xmpp:omemo:2">', '<b:bundle xmlns:b="urn:xmpp:omemo:2">')
      .replace('</bundle>', '</b:bundle>'),
    `\ufeff${ours}`, // a byte order mark
    ours.replaceAll('><', '>\r\n<'), // CR LF
    ours.replace('id="2"', 'id="2147483648"'), // an id out of range
    ours.replace('id="2"', 'id="0"'),
    `${ours}${' '.repeat(PLAIN_BUNDLE_MAX_CHARS)}`, // longer than the plain path reads
  ];
  for (const xml of others) {
    assert.is(scanPlainBundle(xml, TWOMEMO_BUNDLE_FORMAT), undefined, xml.slice(0, 200));
    agree(xml, 'twomemo', 1);
    agree(xml, 'twomemo', undefined);
  }
  // Plain text, but what readBundle checks after the scan refuses it: a repeated id, 202 pre keys.
  const pks = ours.slice(ours.indexOf('<pk'), ours.indexOf('</prekeys>'));
  for (const xml of [ours.replace('id="2"', 'id="1"'), ours.replace('<prekeys>', `<prekeys>${pks.repeat(100)}`)]) {
    assert.ok(scanPlainBundle(xml, TWOMEMO_BUNDLE_FORMAT) !== undefined);
    agree(xml, 'twomemo', 1);
    agree(xml, 'twomemo', undefined);
  }
});

test('a choosePreKey that reads another bundle does not change the one being read', () => {
  const make = (offset: number) =>
    serializeBundle(
      {
        signedPreKeyId: 1,
        signedPreKey: seq(32, offset),
        signedPreKeySignature: seq(64, offset),
        identityKey: seq(32, offset + 1),
        preKeys: [1, 2, 3].map((id) => ({ id, publicKey: seq(32, offset + id) })),
      },
      'twomemo',
    );
  const [a, b] = [make(10), make(100)];
  const inner = parseBundleChoosing(b, 'twomemo', () => 0);
  const outer = parseBundleChoosing(a, 'twomemo', () => {
    parseBundleChoosing(b, 'twomemo', () => 0); // the same reader, in the middle of reading `a`
    return 2;
  });
  assert.equal(outer.preKeys, [{ id: 3, publicKey: seq(32, 13) }]);
  assert.equal(inner.preKeys, [{ id: 1, publicKey: seq(32, 101) }]);
});

test('mutated plain bundles: every reader decides as the thorough one', () => {
  fc.assert(
    fc.property(
      bundleText,
      fc.array(mutation, { maxLength: 3 }),
      fc.option(fc.nat(8), { nil: undefined }),
      (b, ms, pick) => {
        const text = ms.reduce(mutate, b.xml);
        agree(text, b.version, pick);
        agree(text, b.version === 'oldmemo' ? 'twomemo' : 'oldmemo', pick); // the other version's reader
      },
    ),
    { numRuns: 2500, seed: 20261206 },
  );
});

test('mutated pre key elements (in a tree): every reader decides as the thorough one', () => {
  // Changes inside the pre keys only, so that the tree parses and plainPreKeys is what decides.
  const inKeys = fc.tuple(bundleText, fc.array(mutation, { minLength: 1, maxLength: 2 }), fc.nat(8));
  fc.assert(
    fc.property(inKeys, ([b, ms, pick]) => {
      const start = b.xml.indexOf('<prekeys>') + 9;
      const end = b.xml.indexOf('</prekeys>');
      const keys = ms.reduce(mutate, b.xml.slice(start, end));
      agree(b.xml.slice(0, start) + keys + b.xml.slice(end), b.version, pick);
    }),
    { numRuns: 2500, seed: 20261206 },
  );
});

/** The formats' key sizes are what their readKey accepts (the plain paths rely on it). */
test('keyBytes and keyTypeByte describe what readKey accepts', () => {
  const leaf = (text: string): XmlElement => ({ name: 'k', ns: '', attrs: {}, children: [], text, content: [text] });
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  const n: BundleFormat = OLDMEMO_BUNDLE_FORMAT;
  assert.is(n.keyBytes, 33);
  assert.equal(n.readKey(leaf(b64(Uint8Array.from([5, ...seq(32)]))), 'k'), seq(32));
  assert.throws(() => n.readKey(leaf(b64(Uint8Array.from([6, ...seq(32)]))), 'k'));
  assert.is(TWOMEMO_BUNDLE_FORMAT.keyBytes, 32);
  assert.is(TWOMEMO_BUNDLE_FORMAT.keyTypeByte, undefined);
  assert.equal(TWOMEMO_BUNDLE_FORMAT.readKey(leaf(b64(seq(32))), 'k'), seq(32));
});

test.run();
