// src/adapters/ltx-xml.ts: received ltx elements become the core's element tree exactly as the core's parser would
// build it from their text (so a stanza is parsed once), with the parser's bounds; and the cheap check that an
// <encrypted> element may hold a key for this device.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xml } from '@xmpp/client';
import { OmemoError } from '../../src/crypto/errors';
import { mayHoldKeyFor, parseElement, toOmemoElement } from '../../src/adapters/ltx-xml';
import { MAX_XML_DEPTH, parseXml } from '../../src/omemo/stanzas/xml';
import { treeArb } from '../fuzz/arbitraries';
import { PLAIN_STYLE, writeXml } from '../fuzz/xml-model';

const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

test('toOmemoElement builds what parseXml builds from the same text (random trees, prefixes, entities)', () => {
  fc.assert(
    fc.property(treeArb, (tree) => {
      const text = writeXml(tree, PLAIN_STYLE);
      let expected: unknown;
      try {
        expected = plain(parseXml(text));
      } catch {
        return; // a tree the core refuses (e.g. a refused name): not this property's concern
      }
      let ltx: ReturnType<typeof parseElement>;
      try {
        ltx = parseElement(text);
      } catch {
        return; // ltx's parser is stricter in places: then nothing reaches the core
      }
      assert.equal(plain(toOmemoElement(ltx)), expected, text);
    }),
    { numRuns: 1500, seed: 61206 },
  );
  const doc = '<m xmlns="jabber:client" xmlns:p="urn:p"><p:a p:x="1" y="&lt;&amp;">t &amp; u<b/>v</p:a></m>';
  assert.equal(plain(toOmemoElement(parseElement(doc))), plain(parseXml(doc)));
});

test('toOmemoElement keeps the core parser’s bounds', () => {
  const refuse = (el: ReturnType<typeof xml>, pattern: RegExp) => {
    try {
      toOmemoElement(el as never);
    } catch (e) {
      assert.instance(e, OmemoError);
      assert.is((e as OmemoError).code, 'malformed-stanza');
      assert.match((e as Error).message, pattern);
      return;
    }
    assert.unreachable(`accepted ${el.toString()}`);
  };
  let deep = xml('a', { xmlns: 'urn:x' });
  for (let i = 0; i < MAX_XML_DEPTH; i++) deep = xml('a', {}, deep);
  refuse(deep, /MAX_XML_DEPTH/);
  refuse(xml('p:a', {}), /not bound/);
  refuse(xml('a', { 'q:b': '1' }), /not bound/);
  refuse(xml('constructor', {}), /not supported/);
  refuse(xml('a', {}, 'bell \u0007'), /XML 1\.0/);
  refuse(xml('a', { 'xmlns:p': 'urn:p', 'xmlns:q': 'urn:p', 'p:x': '1', 'q:x': '2' }), /twice/);
  refuse(xml('a', {}, 'x'.repeat(1024 * 1024 + 1)), /MAX_STANZA_CHARS/);
});

test('mayHoldKeyFor: a key with our rid in either version (leading zeros too); none → not for us', () => {
  const legacy = (rids: string[]) =>
    xml(
      'encrypted',
      { xmlns: 'eu.siacs.conversations.axolotl' },
      xml('header', { sid: '7' }, ...rids.map((rid) => xml('key', { rid }, 'AAAA')), xml('iv', {}, 'AAAA')),
    );
  const two = (rids: string[]) =>
    xml(
      'encrypted',
      { xmlns: 'urn:xmpp:omemo:2' },
      xml(
        'header',
        { sid: '7' },
        xml('keys', { jid: 'a@example.org' }, ...rids.map((rid) => xml('key', { rid }, 'A'))),
      ),
    );
  for (const make of [legacy, two]) {
    assert.ok(mayHoldKeyFor(make(['1', '42', '3']) as never, 42));
    assert.ok(mayHoldKeyFor(make(['0042']) as never, 42));
    assert.not.ok(mayHoldKeyFor(make(['1', '2', 'x42', '']) as never, 42));
    const thousand = Array.from({ length: 1000 }, (_, i) => String(1000 + i));
    assert.not.ok(mayHoldKeyFor(make(thousand) as never, 42));
  }
});

test.run();
