// Tests for the fast path of the SCE envelope reader (src/omemo/stanzas/sce-plain.ts): the envelopes buildEnvelope
// writes are read from their text, everything else by the tree (parseEnvelopeThoroughly), and parseEnvelope decides
// exactly as the tree does: the same fields, or the same error code and message.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OmemoError } from '../../src/crypto/errors';
import { buildEnvelope, parseEnvelope, parseEnvelopeThoroughly } from '../../src/omemo/stanzas/sce';
import { scanPlainEnvelope } from '../../src/omemo/stanzas/sce-plain';
import { MUTATION_PIECES, mutate, textMutation } from './helpers';

/** The result (every field, the time as its instant) or the error code and message of `fn`. */
function decide(fn: () => unknown): string {
  try {
    return JSON.stringify(fn(), (_k, v: unknown) => (v instanceof Date ? `date ${v.getTime()}` : v));
  } catch (e) {
    if (!(e instanceof OmemoError)) return `not an OmemoError: ${String(e)}`;
    return `${e.code}: ${e.message}`;
  }
}

/** parseEnvelope and the plain path each decide as the tree on `text`; whether the plain path took it. */
function agree(text: string): boolean {
  const expected = decide(() => parseEnvelopeThoroughly(text));
  assert.is(
    decide(() => parseEnvelope(text)),
    expected,
    JSON.stringify(text),
  );
  const plain = scanPlainEnvelope(text);
  if (plain !== undefined)
    assert.is(
      decide(() => plain),
      expected,
      `plain path: ${JSON.stringify(text)}`,
    );
  return plain !== undefined;
}

const noPad = () => new Uint8Array(2); // rpad length 0

test('what buildEnvelope writes takes the plain path and reads as the tree reads', () => {
  const bodies = [
    'Hello',
    '',
    'a & b < c > d " \' ]] x',
    'tab\there\nnewline',
    'émoji 👍🏽 and 中文',
    '&amp; &#60; literally',
    ' leading and trailing ',
  ];
  let plain = 0;
  let total = 0;
  for (const body of [...bodies, undefined]) {
    for (const rpad of [undefined, '', 'abc-_XYZ09', 'x&y<z']) {
      for (const affixes of [{}, { from: 'a@example.org' }, { from: 'a@example.org/r', to: 'b@example.org' }]) {
        for (const time of [undefined, new Date(Date.UTC(2026, 11, 6, 12, 0, 0, 123))]) {
          const input = { ...(body === undefined ? {} : { body }), ...affixes, ...(time ? { time } : {}) };
          const text = rpad === undefined ? buildEnvelope(input) : buildEnvelope({ ...input, rpad });
          total++;
          if (agree(text)) plain++;
          else if (!/[>\]]/.test(body ?? '') && !/[>\]]/.test(rpad ?? '')) {
            assert.unreachable(`should take the plain path: ${JSON.stringify(text)}`);
          }
        }
      }
    }
  }
  assert.ok(plain > total * 0.6, `${plain} of ${total} on the plain path`);
  // The random padding of buildEnvelope (0..200 characters of its alphabet).
  for (let i = 0; i < 50; i++) assert.ok(agree(buildEnvelope({ body: `m${i}`, from: 'a@b' })), 'random rpad');
  assert.ok(agree(buildEnvelope({ body: 'x' }, noPad)));
});

test('references written otherwise than buildEnvelope would take the plain path and read as the tree reads', () => {
  const ns = 'urn:xmpp:sce:1';
  for (const raw of ['&#60;b&#62;', '&#x41;&#x1F44D;', '&gt;&lt;&amp;&quot;&apos;', 'a&#13;b', '&#x9;tab']) {
    const text = `<envelope xmlns="${ns}"><content><body xmlns="jabber:client">${raw}</body></content><rpad>${raw}</rpad></envelope>`;
    assert.ok(agree(text), raw);
  }
});

test('other shapes step aside and read (or fail) exactly as the tree decides', () => {
  const ns = 'urn:xmpp:sce:1';
  const apostrophes = `<envelope xmlns='${ns}'><content><body xmlns='jabber:client'>hi</body></content><rpad>p</rpad><from jid='a@b'/></envelope>`;
  assert.ok(agree(apostrophes), 'either quote style is plain');
  const others = [
    `<envelope xmlns="${ns}"> <content><body xmlns="jabber:client">hi</body></content></envelope>`,
    `<envelope xmlns="${ns}"><content><body>hi</body></content></envelope>`,
    `<envelope xmlns="${ns}"><content><body xmlns="jabber:client">hi</body><x xmlns="y"/></content></envelope>`,
    `<envelope xmlns="${ns}"><content><body xmlns="jabber:client">a]]>b</body></content></envelope>`,
    `<envelope xmlns="${ns}"><content><body xmlns="jabber:client"><![CDATA[x]]></body></content></envelope>`,
    `<envelope xmlns="${ns}"><content><body xmlns="jabber:client">x<!-- c --></body></content></envelope>`,
    `<envelope xmlns="${ns}"><content><body xmlns="jabber:client">&bogus;</body></content></envelope>`,
    `<envelope xmlns="${ns}"><content/><from jid="a@b"/><from jid="c@d"/></envelope>`,
    `<envelope xmlns="${ns}"><content/><from jid="a&amp;b"/></envelope>`,
    `<envelope xmlns="${ns}"><content/><from/></envelope>`,
    `<envelope xmlns="${ns}"><content/><time stamp="yesterday"/></envelope>`,
    `<envelope xmlns="${ns}"><content/><time stamp="0000-01-01T00:00:00+01:00"/></envelope>`,
    `<envelope xmlns="${ns}"><content/><to jid="a@b" x="y"/></envelope>`,
    `<envelope xmlns="${ns}"><content/><from jid="a@b"/><rpad>late</rpad></envelope>`,
    `<envelope xmlns="${ns}"><content/><rpad>a</rpad><rpad>b</rpad></envelope>`,
    `<envelope xmlns="${ns}"><content/></envelope>\n`,
    `\ufeff<envelope xmlns="${ns}"><content/></envelope>`,
    `<envelope xmlns="${ns}"><content/><rpad>a\r\nb</rpad></envelope>`,
    `<envelope xmlns="${ns}"><content></content><content/></envelope>`,
    `<envelope xmlns="urn:xmpp:sce:0"><content/></envelope>`,
    `<envelope xmlns="${ns}" x="1"><content/></envelope>`,
    `<s:envelope xmlns:s="${ns}"><s:content/></s:envelope>`,
    `<envelope xmlns="${ns}"><content/>`,
    `<envelope xmlns="${ns}"><content/></envelope><x/>`,
    `<envelope xmlns="${ns}"><content><body xmlns="jabber:client">\u0001</body></content></envelope>`,
    `<envelope xmlns="${ns}"><content><body xmlns="jabber:client">\ud800</body></content></envelope>`,
    'not xml',
    '',
  ];
  for (const text of others) assert.not.ok(agree(text), `took the plain path: ${JSON.stringify(text)}`);
  // Stepping aside is not refusing: the first three parse.
  for (const text of others.slice(0, 3)) assert.ok(parseEnvelope(text).contentXml.length > 0, text);
});

// What a mutation brings in: the shared pieces (helpers.ts) and this element's own.
const PIECES = [
  ...MUTATION_PIECES,
  '</',
  ']',
  '&#60;',
  '&#x1F44D;',
  '\ud83d',
  'a',
  'Z',
  'x:',
  '<rpad>r</rpad>',
  '<to jid="t@x"/>',
  '<from jid="f@x"/>',
  '<time stamp="2026-12-06T12:00:00Z"/>',
  '<body xmlns="jabber:client">b</body>',
  '<content/>',
];
const mutation = textMutation(PIECES);

const envelopeText = fc
  .record({
    body: fc.option(fc.string({ maxLength: 30, unit: 'binary' }), { nil: undefined }),
    rpad: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
    from: fc.option(fc.constantFrom('a@example.org', 'a@example.org/res', 'ü@x', "o'b@x"), { nil: undefined }),
    to: fc.option(fc.constantFrom('b@example.org', 'room@muc.x'), { nil: undefined }),
    time: fc.option(fc.integer({ min: -62167219200000, max: 253402300799999 }), { nil: undefined }),
    quotes: fc.boolean(),
  })
  .map(({ body, rpad, from, to, time, quotes }) => {
    let text: string;
    try {
      text = buildEnvelope({
        ...(body === undefined ? {} : { body }),
        rpad: rpad ?? '',
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(time === undefined ? {} : { time: new Date(time) }),
      });
    } catch {
      text = buildEnvelope({ body: 'x', rpad: '' }); // a body XML cannot carry
    }
    return quotes ? text.replaceAll('"', "'") : text;
  });

test('property: envelopes, as written and mutated, are decided by parseEnvelope exactly as by the tree', () => {
  let plain = 0;
  let runs = 0;
  fc.assert(
    fc.property(envelopeText, fc.array(mutation, { maxLength: 3 }), (text, ms) => {
      runs++;
      if (agree(ms.reduce(mutate, text))) plain++;
    }),
    { numRuns: 4000, seed: 20261206 },
  );
  assert.ok(plain > runs / 8, `only ${plain} of ${runs} took the plain path: the property would test little`);
});

test.run();
