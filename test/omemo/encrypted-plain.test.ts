// Tests for the plain path of the `<encrypted>` reader: src/omemo/stanzas/encrypted-plain.ts (plain element text, no
// tree). It must decide exactly as the tree path (readEncrypted over parseXml, and findEncrypted without a version):
// the same keys in the same order, the same bytes, the same buffer rules (a key exchange's bytes an array of their
// own), or the same error code and message.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OmemoError } from '../../src/crypto/errors';
import { MAX_KEYS_PER_MESSAGE, type EncryptedElementData } from '../../src/omemo/stanzas/encrypted-element';
import { scanPlainEncrypted } from '../../src/omemo/stanzas/encrypted-plain';
import { parseXml } from '../../src/omemo/stanzas/xml';
import type { OmemoVersion, ParsedEncrypted } from '../../src/omemo/versions/backend';
import { parseEncrypted, parseEncryptedFor, serializeEncrypted } from '../../src/omemo/versions/by-version';
import { OLDMEMO_ENCRYPTED_FORMAT } from '../../src/omemo/versions/oldmemo';
import { TWOMEMO_ENCRYPTED_FORMAT } from '../../src/omemo/versions/twomemo';
import { MUTATION_PIECES, fixture, mutate, seq, textMutation } from './helpers';

const FORMATS = { oldmemo: OLDMEMO_ENCRYPTED_FORMAT, twomemo: TWOMEMO_ENCRYPTED_FORMAT } as const;
const VERSIONS: OmemoVersion[] = ['oldmemo', 'twomemo'];

/** Whether `u` is an array of its own (not a view into a shared buffer). */
function own(u: Uint8Array): boolean {
  return u.byteOffset === 0 && u.buffer.byteLength === u.length;
}

/** The result (bytes as hex, with whether each is an array of its own) or the error (code and message) of `fn`. */
function decide(fn: () => ParsedEncrypted): string {
  try {
    const p = fn();
    const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
    return JSON.stringify({
      ...p,
      keys: p.keys.map((k) => ({ ...k, data: hex(k.data), own: own(k.data) })),
      iv: p.iv === undefined ? undefined : [hex(p.iv), own(p.iv)],
      payload: p.payload === undefined ? undefined : [hex(p.payload), own(p.payload)],
      fields: Object.keys(p),
      keyFields: p.keys.map((k) => Object.keys(k).join()),
    });
  } catch (e) {
    if (!(e instanceof OmemoError) && !(e instanceof TypeError) && !(e instanceof RangeError)) throw e;
    return `${e.constructor.name} ${e instanceof OmemoError ? e.code : ''}: ${e.message}`;
  }
}

/**
 * What the tree path decides: the reader given the parsed element (which never takes the plain path), or the
 * error parsing throws (which the reader given the text throws first).
 */
function viaTree(text: string, read: (el: ReturnType<typeof parseXml>) => ParsedEncrypted): string {
  let el: ReturnType<typeof parseXml>;
  try {
    el = parseXml(text);
  } catch (e) {
    return decide(() => {
      throw e;
    });
  }
  return decide(() => read(el));
}

/** Holds every reader of `text` to the tree path: parseEncryptedFor (as `jid`/`rid`) with and without a version. */
function agree(text: string, jid: string, rid: number): void {
  const what = JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}…` : text);
  assert.is(
    decide(() => parseEncryptedFor(text, jid, rid)),
    viaTree(text, (el) => parseEncryptedFor(el, jid, rid)),
    `parseEncryptedFor ${what}`,
  );
  assert.is(
    decide(() => parseEncrypted(text)),
    viaTree(text, (el) => parseEncrypted(el)),
    `parseEncrypted ${what}`,
  );
  for (const version of VERSIONS) {
    assert.is(
      decide(() => parseEncryptedFor(text, jid, rid, version)),
      viaTree(text, (el) => parseEncryptedFor(el, jid, rid, version)),
      `parseEncryptedFor ${version} ${what}`,
    );
    assert.is(
      decide(() => parseEncrypted(text, version)),
      viaTree(text, (el) => parseEncrypted(el, version)),
      `parseEncrypted ${version} ${what}`,
    );
  }
}

/** Bytes from a seed. */
function bytesFrom(seed: number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 131 + i * 29 + ((seed >> 3) ^ i)) & 255);
}

const JIDS = ['bob@example.org', 'alice@example.org', 'zoë@exämple.org', 'ᚠ@例え.jp', '😀@example.org', 'x', 'a@b/c'];
const IDS = [1, 2, 9, 10, 99, 12345, 2147483647, 1234567890];

interface Stanza {
  version: OmemoVersion;
  xml: string;
  /** Who reads it: one of its recipients, or nobody in it. */
  jid: string;
  rid: number;
}

/** A serialized element of 1..60 keys (JIDs repeating, key exchanges, sizes up to 600 bytes), re-spelled. */
const stanzaArb: fc.Arbitrary<Stanza> = fc
  .record({
    version: fc.constantFrom<OmemoVersion>(...VERSIONS),
    sid: fc.constantFrom(...IDS),
    keys: fc.array(
      fc.record({
        jid: fc.constantFrom(...JIDS),
        rid: fc.constantFrom(...IDS),
        keyExchange: fc.boolean(),
        size: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constantFrom(64, 65, 600)),
        seed: fc.nat(1000),
      }),
      { minLength: 1, maxLength: 60 },
    ),
    iv: fc.constantFrom(12, 16),
    payload: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
    reader: fc.nat(70),
    apostrophes: fc.boolean(),
    spaced: fc.constantFrom('', '', ' ', '\n  ', '\t'),
    flags: fc.constantFrom('as written', '1', 'false', '0'),
  })
  .map((c) => {
    const data: EncryptedElementData = {
      sid: c.sid,
      keys: c.keys.map((k) => ({
        rid: k.rid,
        keyExchange: k.keyExchange,
        data: bytesFrom(k.seed, k.size),
        ...(c.version === 'twomemo' ? { jid: k.jid } : {}),
      })),
    };
    if (c.version === 'oldmemo') data.iv = bytesFrom(c.sid, c.iv);
    if (c.payload !== undefined) data.payload = bytesFrom(c.sid + 1, c.payload);
    let xml = serializeEncrypted(data, c.version);
    // Flags as other clients spell them: "1" for a key exchange, or "false"/"0" written out for a normal key.
    const flag = c.version === 'oldmemo' ? 'prekey' : 'kex';
    if (c.flags === '1') xml = xml.replaceAll(`${flag}="true"`, `${flag}="1"`);
    else if (c.flags !== 'as written') xml = xml.replace(/(<key rid="\d+")>/g, `$1 ${flag}="${c.flags}">`);
    if (c.apostrophes) xml = xml.replaceAll('"', "'");
    if (c.spaced !== '') xml = `${c.spaced}${xml.replaceAll('><', `>${c.spaced}<`)}${c.spaced}`;
    const reader = c.keys[c.reader] ?? { jid: 'nobody@example.org', rid: 31337 };
    return { version: c.version, xml, jid: reader.jid, rid: reader.rid };
  });

// What a mutation brings in: the shared pieces (helpers.ts) and this element's own.
const PIECES = [
  ...MUTATION_PIECES,
  '\r\n',
  '<![CDATA[AAAA]]>',
  '<?pi x?>',
  ' sid="5"',
  ' rid="7"',
  ' kex="true"',
  ' prekey="1"',
  ' kex="0"',
  '\ud800',
  '\udc00',
  ' prekey=" true"',
  ' jid="bob@example.org"',
  ' xmlns="urn:xmpp:omemo:2"',
  ' xmlns="eu.siacs.conversations.axolotl"',
  ' xmlns:o="urn:xmpp:omemo:2"',
  'o:',
  '<key rid="7">AAAA</key>',
  '<key rid="7" kex="true">AAAA</key>',
  '<keys jid="bob@example.org"><key rid="7">AAAA</key></keys>',
  '<iv>AAAAAAAAAAAAAAAA</iv>',
  '<payload>AAAA</payload>',
  '</header>',
  '99999999999',
  '2147483648',
];

const mutation = textMutation(PIECES);

/** Whole-element rewrites: attributes reordered, a wrapper, a declaration, a BOM, CR LF, a repeated sid. */
const REWRITES: ((xml: string) => string)[] = [
  (x) => x.replace(/<key rid="(\d+)" (kex|prekey)="true">/g, '<key $2="true" rid="$1">'),
  (x) => x.replace(/<key rid="(\d+)"/, '<key  rid="$1" '),
  (x) => x.replace(/<header sid="(\d+)">/, '<header sid="$1" sid="$1">'),
  (x) => x.replace(/<header sid="(\d+)">/, '<header sid="0$1">'),
  (x) => `<message xmlns="jabber:client" to="bob@example.org">${x}</message>`,
  (x) => `<?xml version="1.0"?>${x}`,
  (x) => `\ufeff${x}`,
  (x) => x.replaceAll('><', '>\r\n<'),
  (x) => x.replace(/<payload>[^<]*<\/payload>/, '$&$&'),
  (x) => x.replace(/<iv>[^<]*<\/iv>/, '$&$&'),
  (x) => x.replace(/<keys jid="([^"]*)">/, '<keys jid="$1" jid="$1">'),
  (x) => x.replace(/(<key [^>]*>)([^<]{8})/, '$1$2\n'),
  (x) => x.replace(/(<payload>)([^<]{8})/, '$1$2\n '),
  (x) =>
    x.replace('<encrypted ', '<o:encrypted ').replace('xmlns=', 'xmlns:o=').replace('</encrypted>', '</o:encrypted>'),
  (x) => x.replace('<encrypted xmlns="urn:xmpp:omemo:2">', '<encrypted xmlns="urn:xmpp:omemo:2" xmlns="x">'),
  (x) => x.replace(/<keys jid="[^"]*">/, '<keys jid="  ">'),
  (x) => x.replace(/<keys jid="[^"]*">/, '<keys jid="bob&#64;example.org">'),
  (x) => x.replace(/<key [^>]*>[^<]*<\/key>/g, ''), // no key at all
  (x) => x.replace(/(<keys [^>]*>)(?:<key [^>]*>[^<]*<\/key>)*/g, '$1'), // empty groups
  (x) => x.replace(/<key rid="\d+"/, '<key'), // no rid
  ...['0', '2147483648', '4294967296', '0000000001', '00000000001'].map(
    (id) => (x: string) => x.replace(/<key rid="\d+"/, `<key rid="${id}"`),
  ),
  // The last key empty, over MAX_KEY_ELEMENT_BYTES, at it, or not canonical.
  ...['', `${'A'.repeat(1366)}==`, 'A'.repeat(1368), 'AB==', 'AAA', '-AAA'].map(
    (text) => (x: string) => x.replace(/(<key [^>]*>)[^<]*(<\/key>)(?![\s\S]*<key )/, `$1${text}$2`),
  ),
  // An <iv> of another length, or not canonical.
  ...['AAAAAAAAAAA=', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAA==', 'AAAAAAAAAAAAAAAB'].map(
    (text) => (x: string) => x.replace(/<iv>[^<]*<\/iv>/, `<iv>${text}</iv>`),
  ),
  // JIDs with a lone or reversed surrogate, a non-character, white space.
  ...['\ud83d@x', '\ude00@x', '\ude00\ude00@x', '\ude00\ud83d@x', 'a\ufffe@x', 'a b@x', 'a\tb@x', 'a>b@x'].map(
    (jid) => (x: string) => x.replace(/<keys jid="[^"]*">/, `<keys jid="${jid}">`),
  ),
  // A JID's keys in two groups, apart (serializeEncrypted writes one): they come out together.
  (x) => x.replace(/(<keys [^>]*>.*?<\/keys>)(.*)<\/header>/, '$1$2$1</header>'),
  (x) => x.replace(/(<keys [^>]*>)(<key [^>]*>[^<]*<\/key>)(.*)<\/header>/, '$1$2$3$1$2</keys></header>'),
];

test('our own elements of both versions take the plain path and read as the tree reads (1..60 keys)', () => {
  fc.assert(
    fc.property(stanzaArb, (s) => {
      const plain = scanPlainEncrypted(s.xml, FORMATS[s.version], undefined, false, s.version);
      assert.ok(plain !== undefined, `plain path: ${s.xml.slice(0, 200)}`);
      agree(s.xml, s.jid, s.rid);
    }),
    { numRuns: 400, seed: 20261206 },
  );
});

test('mutated elements (a character changed, inserted or removed anywhere): every reader decides as the tree', () => {
  fc.assert(
    fc.property(stanzaArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (s, ms) => {
      agree(ms.reduce(mutate, s.xml), s.jid, s.rid);
    }),
    { numRuns: 2000, seed: 20261206 },
  );
});

test('rewritten elements (attribute order, wrappers, BOM, CR LF, references, prefixes, repeats): as the tree', () => {
  fc.assert(
    fc.property(stanzaArb, fc.nat(REWRITES.length - 1), fc.array(mutation, { maxLength: 1 }), (s, r, ms) => {
      agree(ms.reduce(mutate, REWRITES[r]!(s.xml)), s.jid, s.rid);
    }),
    { numRuns: 2000, seed: 20261206 },
  );
});

test('fixtures (python-omemo, Conversations-style 0.3, key exchanges, empty messages) take the plain path', () => {
  const names = [
    'oldmemo-encrypted-normal.xml',
    'oldmemo-encrypted-keyexchange.xml',
    'oldmemo-encrypted-empty.xml',
    'twomemo-encrypted-normal.xml',
    'twomemo-encrypted-keyexchange.xml',
    'twomemo-encrypted-empty.xml',
    'twomemo-encrypted-two-jids.xml',
    'readme-oldmemo-encrypted-normal.xml',
    'readme-oldmemo-encrypted-keyexchange.xml',
    'readme-twomemo-encrypted-keyexchange.xml',
  ];
  for (const name of names) {
    const xml = fixture(name);
    const version: OmemoVersion = name.includes('oldmemo') ? 'oldmemo' : 'twomemo';
    assert.ok(scanPlainEncrypted(xml, FORMATS[version], undefined, true, version) !== undefined, name);
    const all = parseEncrypted(xml);
    for (const k of all.keys) agree(xml, k.jid ?? 'nobody@example.org', k.rid);
    agree(xml, 'nobody@example.org', 31337);
  }
});

test('a key exchange is an array of its own; a long normal key and the payload may share a buffer', () => {
  for (const version of VERSIONS) {
    const jid = 'bob@example.org';
    const keys = [
      { jid, rid: 5, keyExchange: true, data: seq(300, 1) },
      { jid, rid: 5, keyExchange: false, data: seq(200, 2) },
      { jid, rid: 6, keyExchange: false, data: seq(200, 3) },
    ];
    const data: EncryptedElementData = { sid: 9, keys, payload: seq(400, 4) };
    if (version === 'oldmemo') data.iv = seq(12, 5);
    const xml = serializeEncrypted(data, version);
    const p = parseEncryptedFor(xml, jid, 5);
    assert.is(p.keys.length, 2);
    assert.ok(own(p.keys[0]!.data), 'key exchange');
    assert.equal(p.keys[0]!.data, seq(300, 1));
    assert.equal(p.keys[1]!.data, seq(200, 2));
    assert.equal(p.payload, seq(400, 4));
    assert.not.ok(own(p.payload!), 'transient payload');
    agree(xml, jid, 5);
  }
});

test('MAX_KEYS_PER_MESSAGE is enforced as the tree does (the plain path steps aside over it)', () => {
  const key = '<key rid="7">AAAA</key>';
  const make = (n: number) =>
    `<encrypted xmlns="urn:xmpp:omemo:2"><header sid="1"><keys jid="bob@example.org">${key.repeat(n - 1)}` +
    '<key rid="8">AAAA</key></keys></header><payload>AAAA</payload></encrypted>';
  const at = make(MAX_KEYS_PER_MESSAGE);
  assert.ok(scanPlainEncrypted(at, TWOMEMO_ENCRYPTED_FORMAT, undefined, false, 'twomemo') !== undefined);
  assert.is(parseEncryptedFor(at, 'bob@example.org', 8).keys.length, 1);
  const over = make(MAX_KEYS_PER_MESSAGE + 1);
  assert.is(scanPlainEncrypted(over, TWOMEMO_ENCRYPTED_FORMAT, undefined, false, 'twomemo'), undefined);
  assert.throws(() => parseEncryptedFor(over, 'bob@example.org', 8), /MAX_KEYS_PER_MESSAGE/);
  agree(over, 'bob@example.org', 8);
  const legacy = `<encrypted xmlns="eu.siacs.conversations.axolotl"><header sid="1">${key.repeat(MAX_KEYS_PER_MESSAGE + 1)}<iv>AAAAAAAAAAAAAAAA</iv></header></encrypted>`;
  assert.is(scanPlainEncrypted(legacy, OLDMEMO_ENCRYPTED_FORMAT, undefined, false, 'oldmemo'), undefined);
  agree(legacy, 'bob@example.org', 7);
});

test('bad arguments are reported after a malformed element, as without the plain path', () => {
  const xml = '<encrypted xmlns="urn:xmpp:omemo:2"><header sid="1"></encrypted>';
  assert.is(
    decide(() => parseEncryptedFor(xml, undefined, 0)),
    viaTree(xml, (el) => parseEncryptedFor(el, undefined, 0)),
  );
  const good = serializeEncrypted(
    { sid: 1, keys: [{ jid: 'a@b', rid: 2, keyExchange: false, data: seq(9) }] },
    'twomemo',
  );
  assert.throws(() => parseEncryptedFor(good, undefined, 2), TypeError);
  assert.throws(() => parseEncryptedFor(good, 'a@b', 0), RangeError);
});

test.run();
