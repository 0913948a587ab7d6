// Tests for src/omemo/stanzas/encrypted-element.ts (XEP-0384 0.3.0 §4.5 / 0.9 §5.4 <encrypted>).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toBase64 } from '../../src/crypto/bytes';
import {
  MAX_KEY_ELEMENT_BYTES,
  MAX_KEYS_PER_MESSAGE,
  type EncryptedElementData,
} from '../../src/omemo/stanzas/encrypted-element';
import { keysFor, parseEncrypted, parseEncryptedFor, serializeEncrypted } from '../../src/omemo/versions/by-version';
import { NS_LEGACY } from '../../src/omemo/versions/oldmemo';
import { NS_OMEMO2 } from '../../src/omemo/versions/twomemo';
import { MAX_STANZA_CHARS } from '../../src/omemo/stanzas/xml';
import { fixture, seq, throwsMalformed, throwsProgrammer } from './helpers';

const L = NS_LEGACY;
const O = NS_OMEMO2;

const legacySample: EncryptedElementData = {
  sid: 1001,
  keys: [
    { rid: 2002, keyExchange: true, data: seq(40) },
    { rid: 2003, keyExchange: false, data: seq(41, 1) },
  ],
  iv: seq(12, 7),
  payload: seq(20, 3),
};

const omemo2Sample: EncryptedElementData = {
  sid: 1001,
  keys: [
    { jid: 'bob@example.org', rid: 2002, keyExchange: true, data: seq(40) },
    { jid: 'alice@example.org', rid: 1002, keyExchange: false, data: seq(41, 1) },
    { jid: 'bob@example.org', rid: 2003, keyExchange: false, data: seq(42, 2) },
  ],
  payload: seq(48, 3),
};

test('parses the real legacy key-exchange, normal and empty messages', () => {
  const kex = parseEncrypted(fixture('oldmemo-encrypted-keyexchange.xml'));
  assert.is(kex.version, 'oldmemo');
  assert.is(kex.sid, 1001);
  assert.is(kex.keys.length, 1);
  assert.is(kex.keys[0]!.rid, 1489678178);
  assert.is(kex.keys[0]!.keyExchange, true);
  assert.is(kex.keys[0]!.jid, undefined);
  assert.is(kex.keys[0]!.data[0], 0x33, 'legacy key content starts with the version byte');
  assert.is(kex.iv!.length, 12);
  assert.ok(kex.payload && kex.payload.length > 0);

  const normal = parseEncrypted(fixture('oldmemo-encrypted-normal.xml'), 'oldmemo');
  assert.is(normal.keys[0]!.keyExchange, false);
  assert.is(normal.sid, 1489678178);

  const empty = parseEncrypted(fixture('oldmemo-encrypted-empty.xml'));
  assert.is(empty.payload, undefined);
  assert.is(empty.iv!.length, 12, 'legacy empty messages keep <iv>');
  assert.ok(!('payload' in empty));

  for (const f of [
    'readme-oldmemo-encrypted-keyexchange.xml',
    'readme-oldmemo-encrypted-normal.xml',
    'readme-oldmemo-encrypted-empty.xml',
  ]) {
    assert.is(parseEncrypted(fixture(f)).version, 'oldmemo', f);
  }
});

test('parses the real OMEMO 2 key-exchange, normal, empty and two-JID messages', () => {
  const kex = parseEncrypted(fixture('twomemo-encrypted-keyexchange.xml'));
  assert.is(kex.version, 'twomemo');
  assert.equal(
    kex.keys.map((k) => [k.jid, k.rid, k.keyExchange]),
    [['bob@example.org', 1489678178, true]],
  );
  assert.is(kex.iv, undefined);
  assert.ok(!('iv' in kex));

  const empty = parseEncrypted(fixture('twomemo-encrypted-empty.xml'));
  assert.is(empty.payload, undefined);
  assert.equal(
    empty.keys.map((k) => [k.jid, k.rid, k.keyExchange]),
    [['alice@example.org', 1001, false]],
  );

  const two = parseEncrypted(fixture('twomemo-encrypted-two-jids.xml'));
  assert.equal(
    two.keys.map((k) => [k.jid, k.rid, k.keyExchange]),
    [
      ['alice@example.org', 1002, true],
      ['bob@example.org', 1489678178, true],
    ],
  );
  for (const f of [
    'readme-twomemo-encrypted-keyexchange.xml',
    'readme-twomemo-encrypted-empty.xml',
    'twomemo-encrypted-normal.xml',
  ]) {
    assert.is(parseEncrypted(fixture(f)).version, 'twomemo', f);
  }
});

test('serialises the real messages byte-identically to python-omemo', () => {
  for (const f of [
    'oldmemo-encrypted-keyexchange.xml',
    'oldmemo-encrypted-normal.xml',
    'oldmemo-encrypted-empty.xml',
    'twomemo-encrypted-keyexchange.xml',
    'twomemo-encrypted-normal.xml',
    'twomemo-encrypted-empty.xml',
    'twomemo-encrypted-two-jids.xml',
  ]) {
    const xml = fixture(f).trim();
    const { version, ...data } = parseEncrypted(xml);
    assert.is(serializeEncrypted(data, version), xml, f);
  }
});

test('finds <encrypted> inside a whole <message> stanza; the version comes from the namespace', () => {
  const l = parseEncrypted(fixture('oldmemo-message-stanza.xml'));
  assert.is(l.version, 'oldmemo');
  assert.is(l.keys[0]!.rid, 1001);
  const o = parseEncrypted(fixture('twomemo-message-stanza.xml'));
  assert.is(o.version, 'twomemo');
  throwsMalformed(
    () => parseEncrypted(fixture('twomemo-message-stanza.xml'), 'oldmemo'),
    /no <encrypted xmlns='eu.siacs/,
  );
  throwsMalformed(() => parseEncrypted(`<message xmlns='jabber:client'><body>hi</body></message>`), /no <encrypted/);
});

test('a stanza with both versions: first in document order, or the one asked for', () => {
  const both = `<message xmlns='jabber:client'>${serializeEncrypted(legacySample, 'oldmemo')}${serializeEncrypted(omemo2Sample, 'twomemo')}</message>`;
  assert.is(parseEncrypted(both).version, 'oldmemo');
  assert.is(parseEncrypted(both, 'twomemo').version, 'twomemo');
  assert.is(parseEncrypted(both, 'twomemo').keys.length, 3);
});

test('round trips: serialize → parse and parse → serialize → parse (both versions)', () => {
  for (const [data, version] of [
    [legacySample, 'oldmemo'],
    [omemo2Sample, 'twomemo'],
  ] as const) {
    const xml = serializeEncrypted(data, version);
    const parsed = parseEncrypted(xml, version);
    // OMEMO 2 serialisation groups keys by JID (first-appearance order), so compare as grouped.
    const expected = version === 'twomemo' ? { ...data, keys: [data.keys[0]!, data.keys[2]!, data.keys[1]!] } : data;
    assert.equal(parsed, { version, ...expected });
    const { version: v, ...again } = parsed;
    assert.equal(parseEncrypted(serializeEncrypted(again, v)), parsed);
  }
});

test('OMEMO 2 keys are grouped per JID in first-appearance order; nothing is sorted', () => {
  const xml = serializeEncrypted(omemo2Sample, 'twomemo');
  assert.is(
    xml,
    `<encrypted xmlns="${O}"><header sid="1001">` +
      `<keys jid="bob@example.org"><key rid="2002" kex="true">${toBase64(seq(40))}</key><key rid="2003">${toBase64(seq(42, 2))}</key></keys>` +
      `<keys jid="alice@example.org"><key rid="1002">${toBase64(seq(41, 1))}</key></keys>` +
      `</header><payload>${toBase64(seq(48, 3))}</payload></encrypted>`,
  );
});

test('OMEMO 2: several <keys> groups of one JID come out merged, as serializeEncrypted would write them', () => {
  // Found by test/fuzz (encrypted.hostile, seed 1801117768): keys of groups a, b, a came out as a, b, a, and
  // parse(serialize(parse(x))) as a, a, b.
  const k = (rid: number, byte: number) => `<key rid="${rid}">${toBase64(seq(2, byte))}</key>`;
  const xml =
    `<encrypted xmlns="${O}"><header sid="1"><keys jid="a@x">${k(1, 1)}</keys><keys jid="b@x">${k(2, 2)}</keys>` +
    `<keys jid="a@x">${k(3, 3)}${k(1, 4)}</keys></header></encrypted>`;
  const p = parseEncrypted(xml);
  assert.equal(
    p.keys.map((x) => `${x.jid}/${x.rid}/${x.data[0]}`),
    ['a@x/1/1', 'a@x/3/3', 'a@x/1/4', 'b@x/2/2'],
  );
  assert.equal(parseEncrypted(serializeEncrypted(p, 'twomemo')), p);
  assert.is(keysFor(p, 'a@x', 1)!.data[0], 1, 'the first key for a device is still the one in document order');
});

test('legacy wire form: keys directly in <header>, then <iv>; no JID', () => {
  assert.is(
    serializeEncrypted({ ...legacySample, keys: legacySample.keys.map((k) => ({ ...k, jid: 'x@y' })) }, 'oldmemo'),
    `<encrypted xmlns="${L}"><header sid="1001"><key rid="2002" prekey="true">${toBase64(seq(40))}</key>` +
      `<key rid="2003">${toBase64(seq(41, 1))}</key><iv>${toBase64(seq(12, 7))}</iv></header>` +
      `<payload>${toBase64(seq(20, 3))}</payload></encrypted>`,
  );
});

test('prekey="false" / kex="false" are never written', () => {
  const l = serializeEncrypted(legacySample, 'oldmemo');
  const o = serializeEncrypted(omemo2Sample, 'twomemo');
  assert.ok(!/prekey="(?!true")/.test(l) && !l.includes('false'));
  assert.is(l.match(/prekey=/g)!.length, 1);
  assert.ok(!o.includes('false'));
  assert.is(o.match(/kex=/g)!.length, 1);
  assert.ok(!o.includes('prekey') && !l.includes('kex'));
});

test('prekey/kex values: true/1 are true; false/0/absent are false; anything else is malformed', () => {
  const legacy = (v: string) =>
    `<encrypted xmlns='${L}'><header sid='1'><key rid='2'${v}>AQ==</key><iv>${toBase64(seq(12))}</iv></header></encrypted>`;
  const two = (v: string) =>
    `<encrypted xmlns='${O}'><header sid='1'><keys jid='a@b'><key rid='2'${v}>AQ==</key></keys></header></encrypted>`;
  for (const [attr, want] of [
    [" prekey='true'", true],
    [" prekey='1'", true],
    [" prekey='false'", false],
    [" prekey='0'", false],
    ['', false],
  ] as const) {
    assert.is(parseEncrypted(legacy(attr)).keys[0]!.keyExchange, want, attr);
    assert.is(parseEncrypted(two(attr.replace('prekey', 'kex'))).keys[0]!.keyExchange, want, attr);
  }
  throwsMalformed(
    () => parseEncrypted(legacy(" prekey='yes'")),
    /prekey must be "true", "false", "1" or "0", got "yes"/,
  );
  throwsMalformed(() => parseEncrypted(two(" kex='TRUE'")), /kex must be/);
  // legacy ignores kex, OMEMO 2 ignores prekey
  assert.is(parseEncrypted(legacy(" kex='true'")).keys[0]!.keyExchange, false);
  assert.is(parseEncrypted(two(" prekey='true'")).keys[0]!.keyExchange, false);
});

test('prefixes, single quotes, white space and line-wrapped base64', () => {
  const key = toBase64(seq(100));
  const wrapped = key.replace(/(.{16})/g, '$1\n\t');
  const xml =
    `<e:encrypted xmlns:e='${O}'>\n <e:header sid='5'>\n  <e:keys jid='b@x'>\n   <e:key rid="6" kex='true'>\n${wrapped}\n</e:key>\n  </e:keys>\n </e:header>\n` +
    ` <e:payload>${wrapped}</e:payload>\n</e:encrypted>`;
  const p = parseEncrypted(xml);
  assert.equal(p, {
    version: 'twomemo',
    sid: 5,
    keys: [{ jid: 'b@x', rid: 6, keyExchange: true, data: seq(100) }],
    payload: seq(100),
  });
});

test('<encrypted> may contain only <header> and <payload>', () => {
  const good = serializeEncrypted(omemo2Sample, 'twomemo');
  for (const [junk, re] of [
    ['<store xmlns="urn:xmpp:hints"/>', /only <header> and <payload>, found <store xmlns='urn:xmpp:hints'>/],
    ['<iv>AAAAAAAAAAAAAAAA</iv>', /only <header> and <payload>, found <iv/],
    ['<header xmlns="urn:other"/>', /found <header xmlns='urn:other'>/],
    ['stray text', /must not contain text/],
  ] as const) {
    throwsMalformed(() => parseEncrypted(good.replace('</encrypted>', `${junk}</encrypted>`)), re);
  }
  throwsMalformed(
    () => parseEncrypted(good.replace('<payload>', '<payload>AA==</payload><payload>')),
    /more than one <payload>/,
  );
  throwsMalformed(
    () => parseEncrypted(`<encrypted xmlns='${O}'><payload>AA==</payload></encrypted>`),
    /has no <header>/,
  );
  const lgood = serializeEncrypted(legacySample, 'oldmemo');
  throwsMalformed(
    () => parseEncrypted(lgood.replace('</header>', '</header><header sid="2"/>')),
    /more than one <header>/,
  );
});

test('header contents: legacy only <key>/<iv>, OMEMO 2 only <keys>/<key>', () => {
  const l = serializeEncrypted(legacySample, 'oldmemo');
  throwsMalformed(
    () => parseEncrypted(l.replace('<iv>', '<keys jid="a@b"/><iv>')),
    /legacy <header> may contain only <key> and <iv>, found <keys/,
  );
  const o = serializeEncrypted(omemo2Sample, 'twomemo');
  throwsMalformed(
    () =>
      parseEncrypted(
        o.replace('<keys jid="alice@example.org">', '<key rid="9">AQ==</key><keys jid="alice@example.org">'),
      ),
    /OMEMO 2 <header> may contain only <keys>, found <key/,
  );
  throwsMalformed(
    () => parseEncrypted(o.replace('</keys>', '<iv>AQ==</iv></keys>')),
    /<keys> may contain only <key>, found <iv/,
  );
  throwsMalformed(() => parseEncrypted(o.replace(' jid="alice@example.org"', '')), /<keys> has no jid/);
  throwsMalformed(() => parseEncrypted(o.replace('jid="alice@example.org"', 'jid=""')), /<keys> has no jid/);
});

test('a header without any <key> is malformed (serializeEncrypted refuses to write one)', () => {
  // Found by test/fuzz (encrypted.hostile): parseEncrypted returned keys: [], which serializeEncrypted refuses.
  const l = serializeEncrypted(legacySample, 'oldmemo');
  throwsMalformed(() => parseEncrypted(l.replace(/<key [^>]*>[^<]*<\/key>/g, '')), /<header> has no <key>/);
  const o = serializeEncrypted(omemo2Sample, 'twomemo');
  throwsMalformed(() => parseEncrypted(o.replace(/<keys [^>]*>.*<\/keys>/, '')), /<header> has no <key>/);
  throwsMalformed(() => parseEncrypted(o.replace(/<key [^>]*>[^<]*<\/key>/g, '')), /<header> has no <key>/);
});

test('legacy <iv> is required (also in empty messages) and must be 12 or 16 bytes', () => {
  const empty = fixture('oldmemo-encrypted-empty.xml');
  throwsMalformed(
    () => parseEncrypted(empty.replace(/<iv>.*<\/iv>/, '')),
    /no <iv> \(required, also in empty messages\)/,
  );
  const l = serializeEncrypted(legacySample, 'oldmemo');
  const iv = `<iv>${toBase64(seq(12, 7))}</iv>`;
  assert.ok(l.includes(iv));
  assert.is(parseEncrypted(l.replace(iv, `<iv>${toBase64(seq(16))}</iv>`)).iv!.length, 16);
  throwsMalformed(
    () => parseEncrypted(l.replace(iv, `<iv>${toBase64(seq(8))}</iv>`)),
    /<iv> must be 12 or 16 bytes, got 8/,
  );
  throwsMalformed(() => parseEncrypted(l.replace(iv, '<iv>not base64!</iv>')), /<iv> is not valid base64/);
  throwsMalformed(() => parseEncrypted(l.replace(iv, `${iv}${iv}`)), /more than one <iv>/);
});

test('empty messages: no <payload> in, none out', () => {
  const { payload: _p, ...emptyLegacy } = legacySample;
  const lx = serializeEncrypted(emptyLegacy, 'oldmemo');
  assert.ok(!lx.includes('payload') && lx.includes('<iv>'));
  assert.ok(!('payload' in parseEncrypted(lx)));
  const { payload: _q, ...emptyTwo } = omemo2Sample;
  const ox = serializeEncrypted(emptyTwo, 'twomemo');
  assert.ok(!ox.includes('payload') && !ox.includes('<iv>'));
  assert.ok(!('payload' in parseEncrypted(ox)));
  // An explicitly empty <payload/> is present (zero bytes), not an empty message.
  assert.equal(parseEncrypted(ox.replace('</encrypted>', '<payload/></encrypted>')).payload, new Uint8Array(0));
});

test('bad sid / rid values', () => {
  const o = serializeEncrypted(omemo2Sample, 'twomemo');
  for (const [v, re] of [
    ['0', /got 0/],
    ['-1', /decimal integer/],
    ['2147483648', /got 2147483648/],
    ['12a', /decimal integer/],
  ] as const) {
    throwsMalformed(
      () => parseEncrypted(o.replace('sid="1001"', `sid="${v}"`)),
      new RegExp(`<header> sid .*${re.source}`),
    );
    throwsMalformed(
      () => parseEncrypted(o.replace('rid="2002"', `rid="${v}"`)),
      new RegExp(`<key> rid .*${re.source}`),
    );
  }
  throwsMalformed(() => parseEncrypted(o.replace(' sid="1001"', '')), /<header> sid is missing/);
  throwsMalformed(() => parseEncrypted(o.replace(' rid="2002"', '')), /<key> rid is missing/);
});

test('key content: bad base64, empty, MAX_KEY_ELEMENT_BYTES', () => {
  const mk = (content: string) =>
    `<encrypted xmlns='${O}'><header sid='1'><keys jid='a@b'><key rid='2'>${content}</key></keys></header></encrypted>`;
  throwsMalformed(() => parseEncrypted(mk('@@@@')), /<key rid="2"> is not valid base64/);
  throwsMalformed(() => parseEncrypted(mk('')), /<key rid="2"> is empty/);
  assert.is(parseEncrypted(mk(toBase64(seq(MAX_KEY_ELEMENT_BYTES)))).keys[0]!.data.length, MAX_KEY_ELEMENT_BYTES);
  throwsMalformed(
    () => parseEncrypted(mk(toBase64(seq(MAX_KEY_ELEMENT_BYTES + 1)))),
    /longer than 1024 bytes|more than 1024/,
  );
  throwsMalformed(() => parseEncrypted(mk(toBase64(seq(3000)))), /longer than 1024 bytes/);
  throwsMalformed(
    () =>
      parseEncrypted(
        `<encrypted xmlns='${O}'><header sid='1'><keys jid='a@b'><key rid='2'>AQ==</key></keys></header><payload>!!</payload></encrypted>`,
      ),
    /<payload> is not valid base64/,
  );
});

test('MAX_KEYS_PER_MESSAGE bounds parse and serialise', () => {
  // Real keys would exceed MAX_STANZA_CHARS first; use 1-byte keys to reach the key bound.
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `<key rid="${i + 1}">AQ==</key>`).join('');
  const xml = (n: number) =>
    `<encrypted xmlns="${L}"><header sid="1">${keys(n)}<iv>${toBase64(seq(12))}</iv></header></encrypted>`;
  assert.is(parseEncrypted(xml(MAX_KEYS_PER_MESSAGE)).keys.length, MAX_KEYS_PER_MESSAGE);
  throwsMalformed(() => parseEncrypted(xml(MAX_KEYS_PER_MESSAGE + 1)), /MAX_KEYS_PER_MESSAGE/);
  const many = Array.from({ length: MAX_KEYS_PER_MESSAGE + 1 }, (_, i) => ({
    rid: i + 1,
    keyExchange: false,
    data: seq(1),
  }));
  throwsProgrammer(
    () => serializeEncrypted({ sid: 1, keys: many, iv: seq(12) }, 'oldmemo'),
    RangeError,
    /MAX_KEYS_PER_MESSAGE/,
  );
});

test('serialise validates its input precisely', () => {
  throwsProgrammer(
    () => serializeEncrypted({ ...legacySample, iv: undefined }, 'oldmemo'),
    TypeError,
    /iv is required for legacy/,
  );
  throwsProgrammer(
    () => serializeEncrypted({ ...legacySample, iv: seq(8) }, 'oldmemo'),
    RangeError,
    /iv must be 12 or 16 bytes, got 8/,
  );
  throwsProgrammer(
    () => serializeEncrypted({ ...omemo2Sample, iv: seq(12) }, 'twomemo'),
    TypeError,
    /iv must be absent for OMEMO 2/,
  );
  throwsProgrammer(
    () => serializeEncrypted({ ...omemo2Sample, keys: [{ rid: 5, keyExchange: false, data: seq(4) }] }, 'twomemo'),
    TypeError,
    /keys\[0\]\.jid must be a non-empty string/,
  );
  // Found by test/fuzz (encrypted.roundtrip): a white-space JID was written, and the parser refuses it.
  for (const jid of ['', ' ', '\r', '\t\n']) {
    throwsProgrammer(
      () =>
        serializeEncrypted({ ...omemo2Sample, keys: [{ jid, rid: 5, keyExchange: false, data: seq(4) }] }, 'twomemo'),
      TypeError,
      /keys\[0\]\.jid must be a non-empty string/,
    );
  }
  throwsProgrammer(
    () => serializeEncrypted({ ...legacySample, sid: 0 }, 'oldmemo'),
    RangeError,
    /sid must be in 1\.\.2147483647/,
  );
  throwsProgrammer(() => serializeEncrypted({ ...legacySample, keys: [] }, 'oldmemo'), RangeError, /at least one key/);
  throwsProgrammer(
    () =>
      serializeEncrypted(
        { ...legacySample, keys: [{ rid: 2, keyExchange: 'true' as unknown as boolean, data: seq(4) }] },
        'oldmemo',
      ),
    TypeError,
    /keys\[0\]\.keyExchange must be a boolean/,
  );
  throwsProgrammer(
    () =>
      serializeEncrypted(
        { ...legacySample, keys: [{ rid: 2, keyExchange: false, data: seq(MAX_KEY_ELEMENT_BYTES + 1) }] },
        'oldmemo',
      ),
    RangeError,
    /keys\[0\]\.data must be 1\.\.1024 bytes, got 1025/,
  );
  throwsProgrammer(
    () => serializeEncrypted({ ...legacySample, payload: 'x' as unknown as Uint8Array }, 'oldmemo'),
    TypeError,
    /payload must be a Uint8Array/,
  );
  throwsProgrammer(() => serializeEncrypted(legacySample, 'legacy' as 'oldmemo'), TypeError, /version/);
});

test('JIDs with XML specials are escaped and survive a round trip', () => {
  const jid = `o'brien&co@example.org`;
  const xml = serializeEncrypted({ sid: 1, keys: [{ jid, rid: 2, keyExchange: false, data: seq(3) }] }, 'twomemo');
  assert.ok(xml.includes('jid="o\'brien&amp;co@example.org"'));
  assert.is(parseEncrypted(xml).keys[0]!.jid, jid);
});

test('keysFor: legacy matches rid only; OMEMO 2 matches rid within our JID', () => {
  const l = parseEncrypted(serializeEncrypted(legacySample, 'oldmemo'));
  assert.is(keysFor(l, undefined, 2003)!.rid, 2003);
  assert.is(keysFor(l, 'anyone@x', 2002)!.keyExchange, true);
  assert.is(keysFor(l, undefined, 31337), undefined);

  const two = parseEncrypted(fixture('twomemo-encrypted-two-jids.xml'));
  assert.is(keysFor(two, 'bob@example.org', 1489678178)!.jid, 'bob@example.org');
  assert.is(keysFor(two, 'alice@example.org', 1002)!.rid, 1002);
  assert.is(keysFor(two, 'bob@example.org', 1002), undefined, 'a device id under another JID is not ours');
  assert.is(keysFor(two, 'carol@example.org', 1489678178), undefined);
  throwsProgrammer(() => keysFor(two, undefined, 1002), TypeError, /jid \(own bare JID\) is required for OMEMO 2/);
  throwsProgrammer(() => keysFor(two, 'bob@example.org', 0), RangeError, /deviceId/);

  // The referee's "not for us" edit: the rid is changed to 31337.
  const readdressed = parseEncrypted(
    fixture('twomemo-encrypted-keyexchange.xml').replace('rid="1489678178"', 'rid="31337"'),
  );
  assert.is(keysFor(readdressed, 'bob@example.org', 1489678178), undefined);
});

test('parseEncryptedFor: only our key comes back; every other key is checked all the same', () => {
  const two = serializeEncrypted(omemo2Sample, 'twomemo');
  const mine = parseEncryptedFor(two, 'bob@example.org', 2003);
  assert.equal(mine.keys, [omemo2Sample.keys[2]]);
  assert.equal(mine.payload, omemo2Sample.payload);
  assert.equal(parseEncryptedFor(two, 'carol@example.org', 2003).keys, [], 'nothing for another JID');
  const legacy = serializeEncrypted(legacySample, 'oldmemo');
  assert.equal(parseEncryptedFor(legacy, undefined, 2002).keys, [legacySample.keys[0]]);
  // Another device's key is malformed: the element is, whoever reads it.
  const bad = two.replace(toBase64(omemo2Sample.keys[0]!.data), '@@@@');
  throwsMalformed(() => parseEncryptedFor(bad, 'bob@example.org', 2003), /<key rid="2002"> is not valid base64/);
  const empty = two.replace(toBase64(omemo2Sample.keys[1]!.data), '');
  throwsMalformed(() => parseEncryptedFor(empty, 'bob@example.org', 2003), /<key rid="1002"> is empty/);
  throwsProgrammer(() => parseEncryptedFor(two, undefined, 2003), TypeError, /jid \(own bare JID\) is required/);
});

test('DOCTYPE and oversize input are rejected before anything else', () => {
  throwsMalformed(
    () =>
      parseEncrypted(
        `<!DOCTYPE e [<!ENTITY x "AAAA">]><encrypted xmlns='${O}'><header sid='1'/><payload>&x;</payload></encrypted>`,
      ),
    /DOCTYPE/,
  );
  const huge = `<encrypted xmlns='${O}'><header sid='1'/><payload>${'A'.repeat(MAX_STANZA_CHARS)}</payload></encrypted>`;
  throwsMalformed(() => parseEncrypted(huge), /MAX_STANZA_CHARS/);
});

test('parseEncryptedFor: a key exchange and everything parseEncrypted gives own their buffers; a payload need not', () => {
  const me = 'me@example.org';
  for (const version of ['oldmemo', 'twomemo'] as const) {
    const data = (keyExchange: boolean) => ({
      sid: 7,
      keys: [
        { jid: me, rid: 1, keyExchange, data: seq(120, 1) },
        { jid: 'other@example.org', rid: 2, keyExchange: false, data: seq(120, 2) },
      ],
      ...(version === 'oldmemo' ? { iv: seq(12, 3) } : {}),
      payload: seq(400, 4),
    });
    const owns = (b: Uint8Array) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
    const kex = parseEncryptedFor(serializeEncrypted(data(true), version), me, 1, version);
    assert.ok(owns(kex.keys[0]!.data), `${version}: a key exchange's bytes are kept (its base key marks a pre key)`);
    const normal = parseEncryptedFor(serializeEncrypted(data(false), version), me, 1, version);
    assert.equal(Array.from(normal.keys[0]!.data), Array.from(seq(120, 1)), `${version}: the key's bytes`);
    assert.equal(Array.from(normal.payload!), Array.from(seq(400, 4)), `${version}: the payload's bytes`);
    const pub = parseEncrypted(serializeEncrypted(data(false), version), version);
    for (const k of pub.keys) assert.ok(owns(k.data), `${version}: parseEncrypted's keys own their buffers`);
    assert.ok(owns(pub.payload!), `${version}: parseEncrypted's payload owns its buffer`);
  }
});

test.run();
