// Tests for src/omemo/stanzas/sce.ts (XEP-0420 envelopes as used by OMEMO 2).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RANDOM_POOL_BYTES } from '../../src/crypto/random';
import { MAX_RANDOM_RPAD_CHARS, buildEnvelope, parseEnvelope } from '../../src/omemo/stanzas/sce';
import { fixture, throwsMalformed, throwsProgrammer } from './helpers';

const SPECIAL = `Grüße <&> "quotes" 'apos' 🎉\nsecond line`;

/** Deterministic rng: returns the queued byte arrays in turn. */
function queuedRng(...chunks: number[][]): (n: number) => Uint8Array {
  return (n) => {
    const next = chunks.shift();
    if (!next) throw new Error('rng exhausted');
    assert.is(next.length, n, 'rng asked for an unexpected length');
    return Uint8Array.from(next);
  };
}

test('parses the python peer envelope (real fixtures)', () => {
  const e = parseEnvelope(fixture('twomemo-sce-envelope.xml'));
  assert.is(e.body, 'Hello Bob, this is Alice (twomemo) #1');
  assert.is(e.from, 'alice@example.org');
  assert.is(e.rpad, '4vTcyYxnATywFCcAPXODW4dyhEIwBjspEFYGK3D8MIb3x8haOPV5qdcERntI8');
  assert.is(e.to, undefined);
  assert.is(e.time, undefined);
  assert.is(e.contentXml, '<body xmlns="jabber:client">Hello Bob, this is Alice (twomemo) #1</body>');
  assert.is(parseEnvelope(fixture('readme-sce-envelope.xml')).rpad, 'W2FX8H858EuSfBVqKOiUvZZn1');
});

test('build: the python peer shape, fixed rpad', () => {
  assert.is(
    buildEnvelope({ body: 'Hello Bob', from: 'alice@example.org', rpad: 'xyz' }),
    `<envelope xmlns="urn:xmpp:sce:1"><content><body xmlns="jabber:client">Hello Bob</body></content><rpad>xyz</rpad><from jid="alice@example.org"/></envelope>`,
  );
});

test('XML specials, non-ASCII, emoji and a newline survive build → parse', () => {
  const xml = buildEnvelope({ body: SPECIAL, from: `o'neil&co@x`, to: 'b"ob@y', rpad: '<&>' });
  assert.ok(xml.includes('Grüße &lt;&amp;&gt; "quotes" \'apos\' 🎉\nsecond line'), 'body text is escaped, not CDATA');
  const e = parseEnvelope(xml);
  assert.is(e.body, SPECIAL);
  assert.is(e.from, `o'neil&co@x`);
  assert.is(e.to, 'b"ob@y');
  assert.is(e.rpad, '<&>');
  assert.is(parseEnvelope(buildEnvelope({ body: 'a\r\nb\rc' })).body, 'a\r\nb\rc', 'CR survives (written as &#13;)');
});

test('entities in a foreign envelope body are decoded', () => {
  const e = parseEnvelope(
    `<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>&lt;b&gt; &amp; &#x1F389; &#228;</body></content></envelope>`,
  );
  assert.is(e.body, '<b> & 🎉 ä');
});

test('time, to and contentXml', () => {
  const time = new Date('2024-05-06T07:08:09.123Z');
  const xml = buildEnvelope({
    body: 'hi',
    contentXml: `<reply xmlns='urn:xmpp:reply:0' id='m1' to='a@b'/>`,
    time,
    to: 'bob@example.org',
    rpad: '',
  });
  assert.ok(!xml.includes('<rpad'), 'an empty rpad writes no element');
  assert.ok(xml.indexOf('<time') < xml.indexOf('<to') && xml.indexOf('<to') < xml.indexOf('</envelope>'));
  const e = parseEnvelope(xml);
  assert.is(e.time!.toISOString(), time.toISOString());
  assert.is(e.to, 'bob@example.org');
  assert.is(e.rpad, undefined);
  assert.is(e.contentXml, `<body xmlns="jabber:client">hi</body><reply xmlns="urn:xmpp:reply:0" id="m1" to="a@b"/>`);
});

test('time stamps with offsets and without fractions parse; bad ones are malformed', () => {
  const env = (stamp: string) => `<envelope xmlns='urn:xmpp:sce:1'><content/><time stamp='${stamp}'/></envelope>`;
  assert.is(parseEnvelope(env('2004-01-25T05:05:00+01:00')).time!.toISOString(), '2004-01-25T04:05:00.000Z');
  assert.is(parseEnvelope(env('2004-01-25T05:05:00Z')).time!.getTime(), Date.UTC(2004, 0, 25, 5, 5, 0));
  throwsMalformed(() => parseEnvelope(env('yesterday')), /no valid stamp: "yesterday"/);
  throwsMalformed(() => parseEnvelope(env('2004-13-45T99:00:00Z')), /no valid stamp/);
  throwsMalformed(
    () => parseEnvelope(`<envelope xmlns='urn:xmpp:sce:1'><content/><time/></envelope>`),
    /no valid stamp: null/,
  );
});

test('random rpad: 0..200 characters from the injected rng, uniform length by rejection', () => {
  // length bytes 0x00,0x05 → 5; characters from bytes & 63
  const xml = buildEnvelope({ body: 'x' }, queuedRng([0, 5], [0, 1, 62, 63, 64]));
  assert.is(parseEnvelope(xml).rpad, 'AB-_A');
  // 0xFFFF is rejected (≥ 65536 - 65536 % 201), then 200 = 0x00C8 is taken.
  const long = buildEnvelope({}, queuedRng([255, 255], [0, 200], Array(200).fill(25)));
  assert.is(parseEnvelope(long).rpad, 'Z'.repeat(MAX_RANDOM_RPAD_CHARS));
  // 201 → 0 characters → no <rpad>
  const none = buildEnvelope({ body: 'x' }, queuedRng([0, 201]));
  assert.ok(!none.includes('rpad'));
  // default rng: real randomness, always within bounds
  for (let i = 0; i < 50; i++) {
    const r = parseEnvelope(buildEnvelope({ body: 'x' })).rpad ?? '';
    assert.ok(r.length <= MAX_RANDOM_RPAD_CHARS && /^[A-Za-z0-9_-]*$/.test(r));
  }
});

test('parse rejects what is not an envelope', () => {
  throwsMalformed(() => parseEnvelope('Hello Bob'), /not well-formed/);
  throwsMalformed(() => parseEnvelope(`<envelope><content/></envelope>`), /not an SCE envelope: root is <envelope>/);
  throwsMalformed(() => parseEnvelope(`<envelope xmlns='urn:xmpp:sce:0'><content/></envelope>`), /not an SCE envelope/);
  throwsMalformed(
    () =>
      parseEnvelope(`<message xmlns='jabber:client'><envelope xmlns='urn:xmpp:sce:1'><content/></envelope></message>`),
    /not an SCE envelope: root is <message/,
  );
  throwsMalformed(
    () => parseEnvelope(`<envelope xmlns='urn:xmpp:sce:1'><rpad>x</rpad></envelope>`),
    /has no <content>/,
  );
  throwsMalformed(
    () => parseEnvelope(`<envelope xmlns='urn:xmpp:sce:1'><content/><content/></envelope>`),
    /more than one <content>/,
  );
  throwsMalformed(
    () => parseEnvelope(`<envelope xmlns='urn:xmpp:sce:1'><content/><from/></envelope>`),
    /<from> has no jid/,
  );
  throwsMalformed(
    () =>
      parseEnvelope(
        `<!DOCTYPE e [<!ENTITY x 'y'>]><envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>&x;</body></content></envelope>`,
      ),
    /DOCTYPE/,
  );
});

test('parse: envelope without body, and a body without its own namespace', () => {
  const noBody = parseEnvelope(`<envelope xmlns='urn:xmpp:sce:1'><content><x xmlns='urn:y'/></content></envelope>`);
  assert.is(noBody.body, undefined);
  assert.is(noBody.contentXml, '<x xmlns="urn:y"/>');
  assert.is(
    parseEnvelope(`<envelope xmlns='urn:xmpp:sce:1'><content><body>plain</body></content></envelope>`).body,
    'plain',
  );
  assert.is(
    parseEnvelope(
      `<s:envelope xmlns:s='urn:xmpp:sce:1'><s:content><body xmlns='urn:other'>no</body></s:content></s:envelope>`,
    ).body,
    undefined,
  );
});

test('time stamps are limited to the years 0000..9999 (UTC) both ways', () => {
  // Found by test/fuzz (sce.roundtrip): a Date in year -1 or 10000 was written as '-000001-…'/'+010000-…',
  // which parseEnvelope refuses; and an offset could move a parsed stamp out of that range.
  for (const t of ['0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
    assert.is(parseEnvelope(buildEnvelope({ time: new Date(t), rpad: '' })).time!.toISOString(), t);
  }
  throwsProgrammer(
    () => buildEnvelope({ time: new Date(Date.parse('0000-01-01T00:00:00Z') - 1) }),
    RangeError,
    /outside the years 0000\.\.9999/,
  );
  throwsProgrammer(
    () => buildEnvelope({ time: new Date(Date.parse('9999-12-31T23:59:59.999Z') + 1) }),
    RangeError,
    /outside the years/,
  );
  const env = (stamp: string) => `<envelope xmlns='urn:xmpp:sce:1'><content/><time stamp='${stamp}'/></envelope>`;
  throwsMalformed(() => parseEnvelope(env('0000-01-01T00:00:00+01:00')), /no valid stamp/);
  throwsMalformed(() => parseEnvelope(env('9999-12-31T23:59:59-01:00')), /no valid stamp/);
  assert.is(parseEnvelope(env('0000-01-01T00:00:00-01:00')).time!.toISOString(), '0000-01-01T01:00:00.000Z');
});

test('build validates its input', () => {
  throwsProgrammer(() => buildEnvelope({ body: 5 as unknown as string }), TypeError, /body must be a string/);
  throwsProgrammer(() => buildEnvelope({ body: 'a\u0007' }), RangeError, /body contains U\+0007/);
  throwsProgrammer(() => buildEnvelope({ time: new Date('x') }), RangeError, /invalid Date/);
  throwsProgrammer(() => buildEnvelope({ time: '2024' as unknown as Date }), TypeError, /time must be a Date/);
  throwsProgrammer(() => buildEnvelope({ contentXml: '<a>' }), RangeError, /contentXml is not usable XML/);
  throwsProgrammer(() => buildEnvelope({ contentXml: '<!DOCTYPE a><a/>' }), RangeError, /contentXml is not usable XML/);
  throwsProgrammer(
    () => buildEnvelope({ body: 'x' }, () => new Uint8Array(1)),
    TypeError,
    /rng\(2\) must return 2 bytes/,
  );
});

test('buildEnvelope: the random padding comes from the random pool (no getRandomValues call per envelope)', () => {
  // A call for each padding (up to MAX_RANDOM_RPAD_CHARS bytes) cost a send ~1.4 µs; a pooled draw costs ~0.1 µs.
  const crypto = globalThis.crypto;
  const original = crypto.getRandomValues;
  let calls = 0;
  let padChars = 0;
  crypto.getRandomValues = (<T extends ArrayBufferView | null>(array: T): T => {
    calls++;
    return original.call(crypto, array as never) as T;
  }) as typeof crypto.getRandomValues;
  try {
    for (let i = 0; i < 200; i++) padChars += parseEnvelope(buildEnvelope({ body: 'hi' })).rpad?.length ?? 0;
  } finally {
    crypto.getRandomValues = original;
  }
  assert.ok(padChars > 200 * 50, `${padChars} characters of padding in 200 envelopes`);
  // Each envelope draws 2 bytes (the length) and the padding itself.
  const drawn = padChars + 200 * 2;
  assert.ok(calls <= Math.ceil(drawn / RANDOM_POOL_BYTES) + 1, `${calls} getRandomValues calls for ${drawn} bytes`);
});

test.run();
