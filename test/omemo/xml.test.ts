// Tests for src/omemo/stanzas/xml.ts (XML 1.0 + Namespaces in XML: safe parsing, escaping, re-serialisation).

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MAX_STANZA_CHARS,
  MAX_XML_DEPTH,
  NS_XML,
  NOT_XML_CHAR,
  attr,
  childElements,
  firstNonXmlChar,
  findElement,
  locateElement,
  parseXml,
  type XmlElement,
} from '../../src/omemo/stanzas/xml';
import { escapeXml, escapeXmlAttr, serializeElement } from '../../src/omemo/stanzas/xml-serialize';
import { scanPlainXml } from '../../src/omemo/stanzas/xml-fast';
import { fixture, throwsMalformed, throwsProgrammer } from './helpers';

/** Comparable form of a tree (attrs copied into a plain object). */
function plain(el: XmlElement): unknown {
  return {
    name: el.name,
    ns: el.ns,
    attrs: { ...el.attrs },
    text: el.text,
    children: el.children.map(plain),
  };
}

test('parses a default-namespace element with attributes, text and children', () => {
  const el = parseXml('<list xmlns="eu.siacs.conversations.axolotl"><device id="1"/><device id="2"></device></list>');
  assert.is(el.name, 'list');
  assert.is(el.ns, 'eu.siacs.conversations.axolotl');
  assert.is(el.children.length, 2);
  assert.is(el.children[0]!.ns, 'eu.siacs.conversations.axolotl', 'children inherit the default namespace');
  assert.is(attr(el.children[1]!, 'id'), '2');
  assert.is(el.text, '');
});

test('resolves prefixed namespaces on elements and Clark-notates prefixed attributes', () => {
  const el = parseXml(
    "<o:encrypted xmlns:o='urn:xmpp:omemo:2' xmlns:z='urn:z'><o:header sid='7' z:q='v' xml:lang='de'/><header/></o:encrypted>",
  );
  assert.is(el.name, 'encrypted');
  assert.is(el.ns, 'urn:xmpp:omemo:2');
  const [h1, h2] = el.children;
  assert.is(h1!.ns, 'urn:xmpp:omemo:2');
  assert.equal({ ...h1!.attrs }, { sid: '7', '{urn:z}q': 'v', [`{${NS_XML}}lang`]: 'de' });
  assert.is(h2!.ns, '', 'an unprefixed child has no namespace when there is no default namespace');
});

test('xmlns="" undeclares the default namespace; an inner default overrides the outer', () => {
  const el = parseXml("<a xmlns='urn:a'><b xmlns=''><c/></b><d xmlns='urn:d'><e/></d></a>");
  assert.equal(
    el.children.map((c) => [c.name, c.ns, c.children[0]!.ns]),
    [
      ['b', '', ''],
      ['d', 'urn:d', 'urn:d'],
    ],
  );
});

test('single and double quotes, <x/> and <x></x>, attribute order and white space give the same tree', () => {
  const a = parseXml(`<devices xmlns="urn:xmpp:omemo:2"><device id="1" label="x"/></devices>`);
  const b = parseXml(`<devices xmlns='urn:xmpp:omemo:2'>\n  <device label = 'x'\n id='1'></device>\n</devices>`);
  assert.equal(plain({ ...b, text: '' }), plain(a));
  assert.is(b.text.trim(), '');
});

test('decodes the five predefined entities and character references in text and attributes', () => {
  const el = parseXml(
    `<a v="&lt;&gt;&amp;&quot;&apos;&#65;&#x1F389;">&lt;&gt;&amp;&quot;&apos;&#65;&#x1f389;&#10;</a>`,
  );
  assert.is(attr(el, 'v'), `<>&"'A🎉`);
  assert.is(el.text, `<>&"'A🎉\n`);
});

test('CDATA is literal text; comments, the XML declaration and PIs are ignored', () => {
  const el = parseXml(
    `<?xml version='1.0' encoding='UTF-8'?>\n<!-- c --><a>x<!-- y -->y<![CDATA[<&amp;>]]><?pi z?></a>`,
  );
  assert.is(el.text, 'xy<&amp;>');
});

test('end-of-line and attribute white-space normalisation (XML 1.0 §2.11, §3.3.3)', () => {
  const el = parseXml(`<a v="1\n2\t3&#10;4&#9;">x\r\ny\rz</a>`);
  assert.is(attr(el, 'v'), '1 2 3\n4\t');
  assert.is(el.text, 'x\ny\nz');
});

test('keeps mixed content in order', () => {
  const el = parseXml('<p>Hello <b>bold</b> world</p>');
  assert.equal(
    el.content.map((c) => (typeof c === 'string' ? c : `<${c.name}>`)),
    ['Hello ', '<b>', ' world'],
  );
  assert.is(el.text, 'Hello  world');
});

test('rejects DOCTYPE, internal entities and the billion-laughs pattern', () => {
  throwsMalformed(() => parseXml('<!DOCTYPE a><a/>'), /DOCTYPE/);
  throwsMalformed(() => parseXml(`<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>`), /DOCTYPE/);
  const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>`;
  throwsMalformed(() => parseXml(lol), /DOCTYPE/);
  throwsMalformed(() => parseXml(`<a/><!ENTITY e 'x'>`), /markup declaration/);
  throwsMalformed(() => parseXml(`<a>&e;</a>`), /undefined entity.*&e;/);
  throwsMalformed(() => parseXml(`<!-- c --><!DOCTYPE a><a/>`), /DOCTYPE/);
  throwsMalformed(() => parseXml(`<a x="y"><![CDATA[x]]><!ELEMENT a ANY></a>`), /markup declaration/);
  throwsMalformed(() => parseXml(`<!-- <a/> <!DOCTYPE a><a/>`), /DOCTYPE|not well-formed/);
});

test('"<!" inside CDATA, comments, PIs and attribute values is text, not a declaration', () => {
  // Found by test/fuzz (xml.roundtrip): <a><![CDATA[<!]]></a> was refused as a markup declaration.
  assert.is(parseXml('<a><![CDATA[<!DOCTYPE x>]]></a>').text, '<!DOCTYPE x>');
  assert.is(parseXml('<a><!-- <!ENTITY e "x"> -->t<?pi <!x?></a>').text, 't');
  assert.is(parseXml('<!-- <!DOCTYPE a> --><a x="&lt;!"/>').name, 'a');
  assert.is(attr(parseXml('<a x=\'"-->"\' y="a>b"><![CDATA[<!]]></a>'), 'y'), 'a>b');
  throwsMalformed(() => parseXml('<a x="<!DOCTYPE a>"/>'), /raw '<'|DOCTYPE|not well-formed/);
});

test('rejects entity and character-reference abuse', () => {
  throwsMalformed(() => parseXml('<a>a & b</a>'), /not well-formed|bare '&'/);
  throwsMalformed(() => parseXml('<a v="a & b"/>'), /bare '&'/);
  throwsMalformed(() => parseXml('<a v="&amp"/>'), /bare '&'/);
  throwsMalformed(() => parseXml('<a>&#0;</a>'), /not an XML 1.0 character/);
  throwsMalformed(() => parseXml('<a>&#xD800;</a>'), /not an XML 1.0 character/);
  throwsMalformed(() => parseXml('<a>&#x110000;</a>'), /out of range/);
  throwsMalformed(() => parseXml('<a>&nbsp;</a>'), /undefined entity/);
  throwsMalformed(() => parseXml('<a v="<"/>'), /raw '<'/);
});

test('size bound: MAX_STANZA_CHARS is accepted, one more character is not', () => {
  const filler = (n: number) => `<a>${'x'.repeat(n - 7)}</a>`;
  assert.is(filler(MAX_STANZA_CHARS).length, MAX_STANZA_CHARS);
  assert.is(parseXml(filler(MAX_STANZA_CHARS)).text.length, MAX_STANZA_CHARS - 7);
  throwsMalformed(() => parseXml(filler(MAX_STANZA_CHARS + 1)), /MAX_STANZA_CHARS/);
});

test('depth bound', () => {
  const nest = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
  assert.ok(parseXml(nest(MAX_XML_DEPTH)));
  throwsMalformed(() => parseXml(nest(MAX_XML_DEPTH + 1)), /nest|Maximum nested/i);
});

test('rejects malformed documents', () => {
  const bad: [string, RegExp][] = [
    ['', /not well-formed/],
    ['   ', /not well-formed/],
    ['<a>', /not well-formed/],
    ['<a></b>', /not well-formed/],
    ['<a><b></a></b>', /not well-formed/],
    ['<a/><b/>', /more than one root|after the root/],
    ['<a></a><b/>', /more than one root|after the root|not well-formed/],
    ['x<a/>', /not well-formed/],
    ['<a/>x', /after the root/],
    ['<a/>x<!-- c -->', /after the root/],
    ['<a/>&amp;', /after the root/],
    ['<a v="/>"/>]]>', /after the root/],
    ['<a></a>x', /not well-formed/],
    ['<a x="1" x="2"/>', /not well-formed.*repeated/],
    ['<a x=1/>', /not well-formed/],
    ['<a x/>', /not well-formed/],
    ['<o:a/>', /prefix "o" is not bound/],
    ['<a o:x="1"/>', /prefix "o" is not bound/],
    ['<a:b:c xmlns:a="u"/>', /not a valid qualified name/],
    ['<a xmlns:o=""/>', /empty namespace/],
    ['<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>', /appears twice/],
    ['<a>\u0001</a>', /U\+0001/],
    ['<a>\uD800</a>', /U\+D800/],
    ['<a __proto__="1"/>', /not well-formed/],
    ['<constructor/>', /not well-formed/],
    // Found by test/fuzz (xml.hostile): prefixed, they were accepted and serializeElement wrote them unprefixed.
    ['<p:prototype xmlns:p="urn:p"/>', /element name "p:prototype" is not supported/],
    ['<a><p:constructor xmlns:p="urn:p"/></a>', /element name "p:constructor" is not supported/],
    ['<a xmlns:p="urn:p"><p:__proto__/></a>', /element name "p:__proto__" is not supported/],
  ];
  for (const [xml, re] of bad) throwsMalformed(() => parseXml(xml), re);
});

test('references after the root end tag are refused (the validator let them through, the parser dropped them)', () => {
  // Found by test/fuzz (xml.outside-root): <a></a>&#65; parsed as <a/>.
  for (const xml of [
    '<a></a>&amp;',
    '<a></a>&#65;',
    '<a><b/></a> &lt;',
    '<a x="/a>">t</a>\n&#x20AC;',
    '<a><!-- </a> --></a>&gt;',
  ]) {
    throwsMalformed(() => parseXml(xml), /after the root/);
  }
  assert.is(parseXml('<a x="a/>"><![CDATA[</a>]]><?pi </a>?></a> <!-- c -->').text, '</a>');
});

test('only XML white space (space, tab, line feed) may stand before the root: other Unicode spaces are text', () => {
  // Found by test/fuzz (xml.fast-scanner): the fast scanner took "\u00a0<a/>" (JavaScript's trim() counts
  // U+00A0 as white space), which XML 1.0 §2.3 (S) and the thorough path refuse as text outside the root.
  for (const space of ['\u00a0', '\u2028', '\u3000', '\u2003', ' \ufeff', '\u1680']) {
    const xml = `${space}<encrypted xmlns='eu.siacs.conversations.axolotl'/>`;
    throwsMalformed(() => parseXml(xml), /not well-formed|outside the root/);
    assert.is(scanPlainXml(xml, MAX_XML_DEPTH), undefined, JSON.stringify(space));
  }
  assert.is(parseXml(' \t\n<a/>').name, 'a');
});

test('comments, PIs and white space after the root are allowed', () => {
  assert.is(parseXml('<a v="x/>"/> <!-- c --> <?pi x?>\n').name, 'a');
  assert.is(parseXml('<a>t</a><!-- c -->').text, 't');
});

test('attrs inherits nothing: inherited names are not attributes, on both parsing paths', () => {
  for (const xml of ['<a id="1"/>', '<!-- thorough path --><a id="1"/>']) {
    const el = parseXml(xml);
    assert.is(attr(el, 'toString'), undefined);
    assert.is(attr(el, 'hasOwnProperty'), undefined);
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'])
      assert.not.ok(name in el.attrs, `${name} is inherited`);
    const proto = Object.getPrototypeOf(el.attrs) as object;
    assert.is(Object.getPrototypeOf(proto), null);
    assert.ok(Object.isFrozen(proto), 'the shared prototype cannot be polluted');
    assert.equal(Object.keys(el.attrs), ['id']);
  }
});

test('names fast-xml-parser treats as dangerous (toString, hasOwnProperty, …) keep their spelling', () => {
  // Found by test/fuzz (xml.roundtrip): <toString/> came back as an element named "__toString".
  const el = parseXml(
    '<toString hasOwnProperty="1" __toString="2"><valueOf/><__valueOf/><__defineGetter__/></toString>',
  );
  assert.is(el.name, 'toString');
  assert.equal({ ...el.attrs }, { hasOwnProperty: '1', __toString: '2' });
  assert.equal(
    el.children.map((c) => c.name),
    ['valueOf', '__valueOf', '__defineGetter__'],
  );
});

test('findElement is depth-first in document order and matches the namespace', () => {
  const root = parseXml(
    "<m xmlns='jabber:client'><a><x xmlns='urn:x' id='1'/></a><x xmlns='urn:x' id='2'/><x xmlns='urn:y' id='3'/></m>",
  );
  assert.is(attr(findElement(root, 'x', 'urn:x')!, 'id'), '1');
  assert.is(attr(findElement(root, 'x', 'urn:y')!, 'id'), '3');
  assert.is(findElement(root, 'x', 'jabber:client'), undefined);
  assert.is(findElement(root, 'm', 'jabber:client'), root, 'the root itself is a candidate');
  assert.is(childElements(root, 'x', 'urn:x').length, 1, 'childElements looks at direct children only');
});

test('locateElement finds the element inside a whole <message> and names the root when missing', () => {
  const el = locateElement(fixture('twomemo-message-stanza.xml'), 'encrypted', 'urn:xmpp:omemo:2');
  assert.is(el.children[0]!.name, 'header');
  throwsMalformed(
    () => locateElement(fixture('twomemo-message-stanza.xml'), 'encrypted', 'eu.siacs.conversations.axolotl'),
    /no <encrypted xmlns='eu.siacs.conversations.axolotl'> element found \(root is <message xmlns='jabber:client'>\)/,
  );
  throwsProgrammer(() => locateElement(42 as unknown as string, 'a', ''), TypeError, /string/);
});

test('escapeXml / escapeXmlAttr survive a parse round trip', () => {
  const tricky = `Grüße <&> "quotes" 'apos' 🎉\nline\ttab\r]]>`;
  const el = parseXml(`<a v="${escapeXmlAttr(tricky)}">${escapeXml(tricky)}</a>`);
  assert.is(attr(el, 'v'), tricky);
  assert.is(el.text, tricky);
  assert.is(escapeXml('a<b&c>d'), 'a&lt;b&amp;c&gt;d');
  assert.is(escapeXmlAttr(`"x'`), `&quot;x'`);
});

test('escape helpers reject what XML cannot carry and non-strings', () => {
  throwsProgrammer(() => escapeXml('a\u0000b', 'body'), RangeError, /body contains U\+0000/);
  throwsProgrammer(() => escapeXmlAttr('\uDFFF'), RangeError, /U\+DFFF/);
  throwsProgrammer(() => escapeXml(5 as unknown as string), TypeError, /must be a string/);
});

test('serializeElement: parse → serialize → parse keeps names, namespaces, attributes and text', () => {
  const src =
    "<o:e xmlns:o='urn:o' xmlns:z='urn:z' a='&lt;1&gt;'><o:h z:q='2' xml:lang='de'>t&amp;x<i xmlns='urn:i'/></o:h><p/></o:e>";
  const once = parseXml(src);
  const text = serializeElement(once);
  const twice = parseXml(text);
  assert.equal(plain(twice), plain(once));
  assert.ok(!text.includes('o:'), 'prefixes are replaced by default namespace declarations');
});

test('serializeElement: elements in the xml namespace keep the xml: prefix (it cannot be a default namespace)', () => {
  // Found by test/fuzz (xml.hostile, sce.hostile): <xml:a/> was written as <a xmlns="…XML/1998/namespace"/>,
  // which parseXml refuses.
  const src = '<r xmlns="urn:r"><xml:a xml:lang="en"><b/><c xmlns=""/></xml:a><xml:e/></r>';
  const once = parseXml(src);
  const text = serializeElement(once);
  assert.equal(plain(parseXml(text)), plain(once));
  assert.is(once.children[0]!.ns, NS_XML);
  assert.is(once.children[0]!.children[0]!.ns, 'urn:r', 'the default namespace in scope is not changed by xml:');
  assert.is(serializeElement(parseXml(text)), text);
});

test('serializeElement: prefixed attributes whose namespace contains a line break or a brace', () => {
  // Found by test/fuzz (xml.hostile): the Clark key {urn:a&#13;}x was written verbatim as an attribute name.
  const once = parseXml('<a xmlns:p="urn:a&#13;&#10;b" xmlns:q="u}v" p:x="1" q:y="2"/>');
  assert.equal({ ...once.attrs }, { '{urn:a\r\nb}x': '1', '{u}v}y': '2' });
  const text = serializeElement(once);
  assert.equal(plain(parseXml(text)), plain(once));
});

test('firstNonXmlChar finds what NOT_XML_CHAR finds (controls, lone and paired surrogates, U+FFFE/U+FFFF)', () => {
  const units = [
    'a',
    '<',
    '\t',
    '\n',
    '\r',
    '\u0000',
    '\u0001',
    '\u000b',
    '\u001f',
    '\u00e9',
    '\ud7ff',
    '\ud800',
    '\udbff',
    '\udc00',
    '\udfff',
    '\ue000',
    '\ufffd',
    '\ufffe',
    '\uffff',
    '\u{1f510}',
    '\u{10ffff}',
  ];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...units), { maxLength: 12 }), (parts) => {
      const s = parts.join('');
      assert.is(firstNonXmlChar(s), NOT_XML_CHAR.exec(s)?.[0], JSON.stringify(s));
    }),
    { numRuns: 5000, seed: 20261206 },
  );
  assert.is(firstNonXmlChar('paired \u{1f510} is fine'), undefined);
  assert.is(firstNonXmlChar('lone \ud83d here'), '\ud83d');
});

test.run();
