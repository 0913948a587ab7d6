// The fast scanner of plain XML (src/omemo/stanzas/xml-fast.ts): what our own and other clients' OMEMO elements
// look like takes it and gives parseXml's thorough tree; every other shape is left to the thorough path. The
// random comparison with the thorough path is the fuzz property `xml.fast-scanner`.
import { readdirSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_XML_DEPTH, parseXmlFully } from '../../src/omemo/stanzas/xml';
import { scanPlainXml } from '../../src/omemo/stanzas/xml-fast';
import { buildEnvelope } from '../../src/omemo/stanzas/sce';
import { fixture } from './helpers';

const scan = (xml: string) => scanPlainXml(xml, MAX_XML_DEPTH);
const plain = (el: unknown) => JSON.parse(JSON.stringify(el));

test('OMEMO elements of both versions and the SCE envelope take the fast path, with the thorough tree', () => {
  const dir = new URL('./fixtures/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml'));
  assert.ok(files.length >= 20);
  const rng = (n: number) => new Uint8Array(n).fill(7);
  const docs = [
    ...files.map((f) => [f, fixture(f).trim()] as const),
    ['envelope', buildEnvelope({ body: "Grüße <&> 'q' 🎉\nline", from: 'a@example.org', to: 'b@example.org' }, rng)],
  ] as const;
  for (const [name, xml] of docs) {
    const fast = scan(xml);
    if (xml.includes('<!--')) {
      assert.is(fast, undefined, `${name} has a comment: the thorough path`);
      continue;
    }
    assert.ok(fast !== undefined, `${name} takes the fast path`);
    assert.equal(plain(fast), plain(parseXmlFully(xml)), name);
  }
});

test('every shape outside the plain one is left to the thorough path', () => {
  const odd = [
    '<a xmlns:p="u"><p:b/></a>', // prefixes
    '<a><!-- c --></a>', // comments
    '<a><![CDATA[x]]></a>', // CDATA
    '<?xml version="1.0"?><a/>', // declaration
    '<!DOCTYPE a><a/>',
    '<a>x > y</a>', // legal, but the library's to judge
    '<a>]]></a>',
    '<a b="x>y"/>',
    '<a b="x\ty"/>', // attribute white space normalisation
    '<a b="x\ny"/>',
    "<a b='x<y'/>",
    '<a b="x>y" c="d"/>',
    '<a b = "c"/>',
    '<a b=c/>',
    '<a b="1" b="2"/>',
    '<a xmlns="u" xmlns="v"/>',
    '<a xmlns="http://www.w3.org/2000/xmlns/"/>',
    '<a>&unknown;</a>',
    '<a>&#0;</a>',
    '<a>&#xD800;</a>',
    '<a>& </a>',
    '<a><b></a></b>',
    '<a>',
    '<a/><b/>',
    'text<a/>',
    '<a/>text',
    '<toString/>',
    '<a constructor="x"/>',
    '<ä/>',
    '<a:b xmlns:a="u"/>',
    `${'<a>'.repeat(MAX_XML_DEPTH + 1)}${'</a>'.repeat(MAX_XML_DEPTH + 1)}`,
  ];
  for (const xml of odd) assert.is(scan(xml), undefined, xml);
});

test('white space, entities, quotes and namespaces as the thorough path reads them', () => {
  const docs = [
    '  <a>\n  <b c=\'"\' d="&apos;&#x1F389;&#10;">t &amp; &lt;u&gt;</b>\n</a>\n',
    '<a xmlns="u"><b xmlns=""><c/></b><d/></a>',
    '<a><b/>text<c></c>more</a >',
  ];
  for (const xml of docs) {
    const fast = scan(xml);
    assert.ok(fast !== undefined, xml);
    assert.equal(plain(fast), plain(parseXmlFully(xml)), xml);
  }
  // The deepest nesting parseXml accepts (a tree as JSON doubles per level: compared by walking it).
  let deep = scan(`${'<a>'.repeat(MAX_XML_DEPTH)}${'</a>'.repeat(MAX_XML_DEPTH)}`);
  let depth = 0;
  for (; deep !== undefined; deep = deep.children[0]) depth += 1;
  assert.is(depth, MAX_XML_DEPTH);
});

test.run();
