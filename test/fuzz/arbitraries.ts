// Fuzzing support: fast-check arbitraries shared by the properties: XML-safe strings, token soups, element
// trees, odd attribute values and namespaces, and mutations of text, trees and bytes. No tests here.

import fc from 'fast-check';
import { fromBase64, toBase64 } from '../../src/crypto/bytes';
import { NS_JABBER_CLIENT, NS_SCE } from '../../src/omemo/stanzas/namespaces';
import { NS_LEGACY } from '../../src/omemo/versions/oldmemo';
import { NS_OMEMO2 } from '../../src/omemo/versions/twomemo';
import { NS_XML, parseXml } from '../../src/omemo/stanzas/xml';
import { allNodes, cloneNode, fromElement, writeXml, type XNode, type XmlStyle } from './xml-model';

// ------------------------------------------------------------------------------------------------ strings

const XML_SPECIALS = ['&', '<', '>', '"', "'", '\t', '\n', '\r', ' ', ']]>', '&amp;', '--'];

/** One character XML 1.0 can carry (weighted towards ASCII and the characters that need escaping). */
export const xmlCharArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n)) },
  { weight: 2, arbitrary: fc.constantFrom('&', '<', '>', '"', "'", '\t', '\n', '\r', ' ') },
  { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xd7ff }).map((n) => String.fromCharCode(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 0xe000, max: 0xfffd }).map((n) => String.fromCharCode(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((n) => String.fromCodePoint(n)) },
);

/** A string of XML characters (any of them may need escaping). */
export function xmlStringArb(maxLength = 24): fc.Arbitrary<string> {
  const special = fc.constantFrom(...XML_SPECIALS);
  const unit = fc.oneof({ weight: 8, arbitrary: xmlCharArb }, { weight: 1, arbitrary: special });
  return fc.array(unit, { maxLength }).map((a) => a.join(''));
}

/** Any string at all, lone surrogates and control characters included. */
export const anyStringArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ maxLength: 60 }),
);

/** Ids of the XEP (1..2^31-1), edges favoured. */
export const idArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 0x7fffffff }),
  fc.constantFrom(1, 2, 9, 10, 99, 0x7ffffffe, 0x7fffffff),
);

/** uint32 values, edges favoured. */
export const uint32Arb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(0, 1, 127, 128, 16383, 16384, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.integer({ min: 0, max: 300 }),
);

/** Bytes of the given length range. */
export function bytesArb(minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength, maxLength });
}

/** Exactly `n` bytes. */
export function fixedBytesArb(n: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: n, maxLength: n });
}

// ------------------------------------------------------------------------------------------------ XML vocabulary

/** Element and attribute local names that matter here, and some that might confuse a JavaScript parser. */
export const NAMES = [
  'encrypted',
  'header',
  'key',
  'keys',
  'iv',
  'payload',
  'bundle',
  'spk',
  'spks',
  'ik',
  'pk',
  'prekeys',
  'signedPreKeyPublic',
  'signedPreKeySignature',
  'identityKey',
  'preKeyPublic',
  'list',
  'devices',
  'device',
  'envelope',
  'content',
  'rpad',
  'time',
  'to',
  'from',
  'body',
  'message',
  'item',
  'items',
  'event',
  'sid',
  'rid',
  'jid',
  'kex',
  'prekey',
  'id',
  'label',
  'labelsig',
  'stamp',
  'signedPreKeyId',
  'preKeyId',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '#text',
  ':@',
  'a',
  'b',
  'x',
  'xmlns',
  'é',
  'ключ',
  'a-b',
  'a.b',
  '_',
  'A1',
] as const;

const VALID_NAME = /^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9._\-\u00B7\u00C0-\uFFFF]*$/;

/** A valid NCName (no colon). */
export const ncNameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NAMES.filter((n) => VALID_NAME.test(n))) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9._-]{0,6}$/) },
);

/**
 * Names parseXml refuses on purpose (fast-xml-parser throws for them; test/omemo/xml.test.ts asserts it):
 * generated well-formed documents avoid them, mutations still use them.
 */
export const REFUSED_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** A valid NCName that parseXml accepts. */
export const acceptedNameArb: fc.Arbitrary<string> = ncNameArb.filter((n) => !REFUSED_NAMES.includes(n));

/** Namespaces: the protocol's, near misses and ones XML reserves. */
export const NAMESPACES = [
  '',
  NS_LEGACY,
  NS_OMEMO2,
  NS_SCE,
  NS_JABBER_CLIENT,
  'urn:xmpp:omemo:2 ',
  'URN:XMPP:OMEMO:2',
  'urn:xmpp:omemo:1',
  `${NS_LEGACY}/`,
  'urn:x',
  'a b',
  '&<>"\'',
  'é',
  'http://jabber.org/protocol/pubsub',
  'http://jabber.org/protocol/pubsub#event',
] as const;

/** Namespace usable on an element (the xmlns namespace never is). */
export const elementNsArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...NAMESPACES) },
  { weight: 1, arbitrary: fc.constant(NS_XML) },
  { weight: 1, arbitrary: xmlStringArb(8) },
);

/** Attribute values that break naive number, flag, JID and base64 readers. */
export const ODD_VALUES = [
  '',
  ' ',
  '0',
  '1',
  '-1',
  '+1',
  '01',
  '1.0',
  '1e3',
  '0x1F',
  ' 1',
  '1 ',
  '2147483647',
  '2147483648',
  '4294967295',
  '4294967296',
  '18446744073709551616',
  '9999999999',
  '99999999999999999999999',
  'NaN',
  'Infinity',
  '١',
  '１',
  'true',
  'false',
  'TRUE',
  'yes',
  ' true ',
  '1\n',
  'alice@example.org',
  'bob@example.org',
  'bob@example.org/res',
  '/res',
  '@',
  'a'.repeat(3000),
  '9'.repeat(400),
  'AAAA',
  '====',
  'QUJD=',
  'A',
  '\u00e9',
  '&',
  '<x/>',
  '1970-01-01T00:00:00Z',
  '2024-02-30T25:61:61Z',
  '0000-01-01T00:00:00+01:00',
  '9999-12-31T23:59:59-01:00',
] as const;

export const oddValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ODD_VALUES) },
  { weight: 1, arbitrary: xmlStringArb(12) },
  { weight: 1, arbitrary: uint32Arb.map(String) },
);

/** Tokens that XML tokenisers trip over (a token soup is a random sequence of them). */
export const TOKENS = [
  '<',
  '>',
  '/>',
  '</',
  '<a',
  '<a>',
  '</a>',
  '<a/>',
  '<p:a xmlns:p="urn:p">',
  '</p:a>',
  '="',
  '"',
  "'",
  '=',
  ' ',
  '\n',
  '\t',
  '\r\n',
  '\r',
  '&',
  '&amp;',
  '&lt;',
  '&gt;',
  '&quot;',
  '&apos;',
  '&#0;',
  '&#9;',
  '&#x10FFFF;',
  '&#x110000;',
  '&#65;',
  '&#xD800;',
  '&#99999999;',
  '&#x;',
  '&#;',
  '&bogus;',
  '&e;',
  '&',
  ';',
  '<!--',
  '-->',
  '<!---->',
  '<?xml version="1.0"?>',
  '<?',
  '?>',
  '<?pi x?>',
  '<![CDATA[',
  ']]>',
  '<![CDATA[x]]>',
  '<!DOCTYPE a [<!ENTITY e "xx">]>',
  '<!ENTITY',
  '<!ELEMENT',
  'xmlns',
  'xmlns:',
  'xmlns=""',
  'xmlns:p="urn:p"',
  'xmlns:xml="urn:x"',
  'xmlns:xmlns="urn:x"',
  'p:',
  ':',
  'xml:lang="en"',
  'xmlns="http://www.w3.org/XML/1998/namespace"',
  '\u0000',
  '\u0001',
  '\uD800',
  '\uDC00',
  '\uFFFE',
  '\uFFFF',
  '\uFEFF',
  '\u0085',
  '\u2028',
  'é',
  '𝒜',
  ...NAMES,
  ...NAMESPACES.filter((n) => n !== ''),
  ...ODD_VALUES.filter((v) => v.length < 40),
] as const;

/** A random sequence of tokens, or of tokens wrapped around a root element. */
export const tokenSoupArb: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => t.join('')),
  fc
    .tuple(
      fc.constantFrom(...NAMES),
      fc.constantFrom(...NAMESPACES),
      fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }),
    )
    .map(([name, ns, t]) => `<${name} xmlns="${ns}">${t.join('')}</${name}>`),
);

// ------------------------------------------------------------------------------------------------ trees

/** The writer's knobs (see xml-model.ts). */
export const styleArb: fc.Arbitrary<XmlStyle> = fc.record({
  seed: fc.integer(),
  level: fc.integer({ min: 0, max: 3 }),
});

function attrsArb(): fc.Arbitrary<[string, string][]> {
  const key = fc.oneof(
    { weight: 4, arbitrary: acceptedNameArb.filter((n) => n !== 'xmlns') },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...NAMESPACES.filter((n) => n !== ''), NS_XML), acceptedNameArb)
        .map(([ns, l]) => `{${ns}}${l}`),
    },
  );
  return fc.uniqueArray(fc.tuple(key, fc.oneof(xmlStringArb(16), oddValueArb)), { maxLength: 4, selector: ([k]) => k });
}

/** Element trees of depth ≤ 4 with text, namespaces and attributes anywhere. */
export const treeArb: fc.Arbitrary<XNode> = fc.letrec<{ node: XNode }>((tie) => ({
  node: fc.record({
    name: acceptedNameArb,
    ns: elementNsArb,
    attrs: attrsArb(),
    content: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      fc.constant([]),
      fc.array(fc.oneof({ weight: 1, arbitrary: xmlStringArb(12) }, { weight: 2, arbitrary: tie('node') }), {
        maxLength: 4,
      }),
    ),
  }) as fc.Arbitrary<XNode>,
})).node;

// ------------------------------------------------------------------------------------------------ mutations

/** Edits of a string. Positions are taken modulo the length, so every edit applies to every input. */
export type StringEdit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'replace'; at: number; length: number; text: string }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'swap'; at: number; to: number; length: number };

const insertTextArb = fc.oneof(fc.constantFrom(...TOKENS), anyStringArb, xmlStringArb(6));

export const stringEditArb: fc.Arbitrary<StringEdit> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 15 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: insertTextArb }),
  fc.record({
    op: fc.constant('replace' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 8 }),
    text: insertTextArb,
  }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), to: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
);

export function applyStringEdit(s: string, e: StringEdit): string {
  const at = e.at % (s.length + 1);
  switch (e.op) {
    case 'flip': {
      if (s.length === 0) return s;
      const i = at % s.length;
      return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << e.bit)) + s.slice(i + 1);
    }
    case 'delete':
      return s.slice(0, at) + s.slice(at + e.length);
    case 'insert':
      return s.slice(0, at) + e.text + s.slice(at);
    case 'replace':
      return s.slice(0, at) + e.text + s.slice(at + e.length);
    case 'duplicate':
      return s.slice(0, at) + s.slice(at, at + e.length) + s.slice(at);
    case 'truncate':
      return s.slice(0, at);
    case 'swap': {
      const to = e.to % (s.length + 1);
      const piece = s.slice(at, at + e.length);
      const rest = s.slice(0, at) + s.slice(at + e.length);
      const t = to % (rest.length + 1);
      return rest.slice(0, t) + piece + rest.slice(t);
    }
  }
}

/** Edits of bytes, positions modulo the length. */
export type ByteEdit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; bytes: Uint8Array };

export const byteEditArb: fc.Arbitrary<ByteEdit> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  },
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 1, 0x05, 0x0a, 0x12, 0x33, 0x7f, 0x80, 0xff),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: bytesArb(1, 12) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('append' as const), bytes: bytesArb(1, 40) }),
);

export function applyByteEdit(b: Uint8Array, e: ByteEdit): Uint8Array {
  const at = 'at' in e ? e.at % (b.length + 1) : b.length;
  const cat = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  switch (e.op) {
    case 'flip':
    case 'set': {
      if (b.length === 0) return b;
      const out = b.slice();
      const i = at % b.length;
      out[i] = e.op === 'flip' ? out[i]! ^ (1 << e.bit) : e.value;
      return out;
    }
    case 'delete':
      return cat(b.subarray(0, at), b.subarray(at + e.length));
    case 'insert':
      return cat(b.subarray(0, at), e.bytes, b.subarray(at));
    case 'duplicate':
      return cat(b.subarray(0, at), b.subarray(at, at + e.length), b.subarray(at));
    case 'truncate':
      return b.slice(0, at);
    case 'append':
      return cat(b, e.bytes);
  }
}

// ------------------------------------------------------------------------------------------------ protobuf

/** One raw protobuf field, any wire type (also the invalid 6 and 7), any number. */
export interface RawField {
  field: number;
  wireType: number;
  /** varint (0), fixed64 (1), fixed32 (5): the value; length-delimited (2): the bytes; groups (3/4): nothing. */
  value: bigint | Uint8Array;
}

function varintBytes(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

/** Encodes raw fields in order. */
export function writeRawFields(fields: readonly RawField[]): Uint8Array {
  const out: number[] = [];
  for (const f of fields) {
    out.push(...varintBytes(BigInt(f.field) * 8n + BigInt(f.wireType & 7)));
    const v = f.value;
    switch (f.wireType & 7) {
      case 0:
        out.push(...varintBytes(typeof v === 'bigint' ? v : 0n));
        break;
      case 1:
      case 5: {
        const n = f.wireType === 1 ? 8 : 4;
        let x = typeof v === 'bigint' ? BigInt.asUintN(64, v) : 0n;
        for (let i = 0; i < n; i++) {
          out.push(Number(x & 0xffn));
          x >>= 8n;
        }
        break;
      }
      case 2: {
        const b = v instanceof Uint8Array ? v : new Uint8Array(0);
        out.push(...varintBytes(BigInt(b.length)), ...b);
        break;
      }
      default:
        break; // groups and invalid wire types: the tag alone
    }
  }
  return Uint8Array.from(out);
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] | undefined {
  let result = 0n;
  let shift = 0n;
  for (let i = pos; i < buf.length && shift < 70n; i++) {
    result |= BigInt(buf[i]! & 0x7f) << shift;
    if ((buf[i]! & 0x80) === 0) return [result, i + 1];
    shift += 7n;
  }
  return undefined;
}

/** Splits a protobuf message into raw fields (wire types 0, 1, 2, 5); undefined when it does not split. */
export function readRawFields(buf: Uint8Array): RawField[] | undefined {
  const out: RawField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    if (!tag) return undefined;
    pos = tag[1];
    const field = Number(tag[0] >> 3n);
    const wireType = Number(tag[0] & 7n);
    if (wireType === 0) {
      const v = readVarint(buf, pos);
      if (!v) return undefined;
      out.push({ field, wireType, value: v[0] });
      pos = v[1];
    } else if (wireType === 2) {
      const len = readVarint(buf, pos);
      if (!len || len[1] + Number(len[0]) > buf.length) return undefined;
      out.push({ field, wireType, value: buf.slice(len[1], len[1] + Number(len[0])) });
      pos = len[1] + Number(len[0]);
    } else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4;
      if (pos + n > buf.length) return undefined;
      let v = 0n;
      for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[pos + i]!);
      out.push({ field, wireType, value: v });
      pos += n;
    } else {
      return undefined;
    }
  }
  return out;
}

const VARINT_VALUES = [
  0n,
  1n,
  5n,
  0x33n,
  127n,
  128n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  2n ** 63n,
  2n ** 64n - 1n,
  -1n,
];

const rawValueArb: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(...VARINT_VALUES),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

const smallFieldArb = fc.integer({ min: 1, max: 7 });

/** A random raw field. */
export const rawFieldArb: fc.Arbitrary<RawField> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ field: smallFieldArb, wireType: fc.constant(0), value: rawValueArb }) },
  { weight: 3, arbitrary: fc.record({ field: smallFieldArb, wireType: fc.constant(2), value: bytesArb(0, 40) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      field: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(2 ** 29 - 1, 2 ** 29, 2 ** 31)),
      wireType: fc.integer({ min: 0, max: 7 }),
      value: fc.oneof(rawValueArb, bytesArb(0, 8)),
    }),
  },
);

/** Field-level edits of a protobuf message. */
export type FieldEdit =
  | { op: 'drop'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'move'; at: number; to: number }
  | { op: 'insert'; at: number; field: RawField }
  | { op: 'retype'; at: number; wireType: number }
  | { op: 'renumber'; at: number; field: number }
  | { op: 'value'; at: number; value: bigint }
  | { op: 'bytes'; at: number; edits: ByteEdit[] }
  | { op: 'nested'; at: number; edits: FieldEdit[] };

export const fieldEditArb: fc.Arbitrary<FieldEdit> = fc.letrec<{ edit: FieldEdit }>((tie) => ({
  edit: fc.oneof(
    { depthSize: 'small', maxDepth: 2 },
    fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('move' as const), at: fc.nat(), to: fc.nat() }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), field: rawFieldArb }),
    fc.record({ op: fc.constant('retype' as const), at: fc.nat(), wireType: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('renumber' as const), at: fc.nat(), field: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ op: fc.constant('value' as const), at: fc.nat(), value: rawValueArb }),
    fc.record({
      op: fc.constant('bytes' as const),
      at: fc.nat(),
      edits: fc.array(byteEditArb, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({
      op: fc.constant('nested' as const),
      at: fc.nat(),
      edits: fc.array(tie('edit'), { minLength: 1, maxLength: 3 }),
    }),
  ) as fc.Arbitrary<FieldEdit>,
})).edit;

function editFields(fields: RawField[], e: FieldEdit): RawField[] {
  const out = [...fields];
  const i = out.length === 0 ? 0 : e.at % out.length;
  const f = out[i];
  switch (e.op) {
    case 'insert':
      out.splice(e.at % (out.length + 1), 0, e.field);
      return out;
    case 'drop':
      if (f) out.splice(i, 1);
      return out;
    case 'duplicate':
      if (f) out.splice(i, 0, f);
      return out;
    case 'move':
      if (f) {
        out.splice(i, 1);
        out.splice(e.to % (out.length + 1), 0, f);
      }
      return out;
    case 'retype':
      if (f) out[i] = { ...f, wireType: e.wireType };
      return out;
    case 'renumber':
      if (f) out[i] = { ...f, field: e.field };
      return out;
    case 'value':
      if (f) out[i] = f.wireType === 2 ? { ...f, wireType: 0, value: e.value } : { ...f, value: e.value };
      return out;
    case 'bytes':
      if (f && f.value instanceof Uint8Array) out[i] = { ...f, value: e.edits.reduce(applyByteEdit, f.value) };
      return out;
    case 'nested':
      if (f && f.value instanceof Uint8Array) out[i] = { ...f, value: applyFieldEdits(f.value, e.edits) };
      return out;
  }
}

/** Applies field edits to a protobuf message (bytes that do not split into fields get byte edits instead). */
export function applyFieldEdits(buf: Uint8Array, edits: readonly FieldEdit[]): Uint8Array {
  const fields = readRawFields(buf);
  if (fields === undefined) {
    return edits.length === 0 ? buf : applyByteEdit(buf, { op: 'flip', at: edits.length, bit: 0 });
  }
  return writeRawFields(edits.reduce(editFields, fields));
}

// ------------------------------------------------------------------------------------------------ tree edits

/** Edits of an element tree; node indexes are taken modulo the number of elements (document order). */
export type TreeEdit =
  | { op: 'remove'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'rename'; at: number; name: string }
  | { op: 'renamespace'; at: number; ns: string }
  | { op: 'removeAttr'; at: number; attr: number }
  | { op: 'setAttr'; at: number; key: string; value: string }
  | { op: 'duplicateAttr'; at: number; attr: number }
  | { op: 'setText'; at: number; text: string }
  | { op: 'addChild'; at: number; child: XNode; pos: number }
  | { op: 'wrap'; at: number; name: string; ns: string }
  | { op: 'unwrap'; at: number }
  | { op: 'moveChild'; at: number; from: number; to: number }
  | { op: 'base64'; at: number; edits: ByteEdit[]; spelling: number };

const smallChildArb: fc.Arbitrary<XNode> = fc.record({
  name: ncNameArb,
  ns: fc.constantFrom(...NAMESPACES),
  attrs: fc.constant([] as [string, string][]),
  content: fc.oneof(
    fc.constant([] as (XNode | string)[]),
    fc.array(fc.oneof(xmlStringArb(8), fc.constantFrom('AAAA', 'QUJD', ''))).map((a) => a as (XNode | string)[]),
  ),
});

export const treeEditArb: fc.Arbitrary<TreeEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }) },
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), name: ncNameArb }),
  fc.record({ op: fc.constant('renamespace' as const), at: fc.nat(), ns: fc.constantFrom(...NAMESPACES) }),
  { weight: 2, arbitrary: fc.record({ op: fc.constant('removeAttr' as const), at: fc.nat(), attr: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('setAttr' as const),
      at: fc.nat(),
      key: fc.oneof(
        fc.constantFrom('sid', 'rid', 'jid', 'kex', 'prekey', 'id', 'label', 'labelsig', 'stamp'),
        fc.constantFrom('signedPreKeyId', 'preKeyId', 'x'),
        ncNameArb,
      ),
      value: oddValueArb,
    }),
  },
  fc.record({ op: fc.constant('duplicateAttr' as const), at: fc.nat(), attr: fc.nat() }),
  fc.record({
    op: fc.constant('setText' as const),
    at: fc.nat(),
    text: fc.oneof(oddValueArb, xmlStringArb(12), fc.constantFrom(' ', '\n', 'AAAA', '=')),
  }),
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('addChild' as const), at: fc.nat(), child: smallChildArb, pos: fc.nat() }),
  },
  fc.record({ op: fc.constant('wrap' as const), at: fc.nat(), name: ncNameArb, ns: fc.constantFrom(...NAMESPACES) }),
  fc.record({ op: fc.constant('unwrap' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('moveChild' as const), at: fc.nat(), from: fc.nat(), to: fc.nat() }),
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('base64' as const),
      at: fc.nat(),
      edits: fc.array(byteEditArb, { maxLength: 3 }),
      spelling: fc.nat(7),
    }),
  },
);

/** Spells bytes in base64 with one of several variants (0: canonical; others odd but maybe valid). */
export function spellBase64(bytes: Uint8Array, spelling: number): string {
  const b64 = toBase64(bytes);
  switch (spelling % 8) {
    case 1:
      return b64.replace(/(.{4})/g, '$1\n'); // line breaks (valid)
    case 2:
      return ` ${b64}\t`; // surrounding white space (valid)
    case 3:
      return b64.replace(/=+$/, ''); // padding dropped
    case 4:
      return `${b64}=`; // extra padding
    case 5:
      return b64.replace(/\+/g, '-').replace(/\//g, '_'); // base64url alphabet
    case 6: {
      // Non-zero trailing bits before the padding.
      if (b64.length <= 2 || !b64.endsWith('=')) return b64;
      return b64.slice(0, -3) + String.fromCharCode(b64.charCodeAt(b64.length - 3) ^ 1) + b64.slice(-2);
    }
    default:
      return b64;
  }
}

function textOf(n: XNode): string {
  return n.content.filter((c): c is string => typeof c === 'string').join('');
}

/** Applies one edit to a copy of `root` and returns the new root (the root itself is never removed). */
export function applyTreeEdit(root: XNode, e: TreeEdit): XNode {
  const tree = cloneNode(root);
  const nodes = allNodes(tree);
  const n = nodes[e.at % nodes.length]!;
  const parentOf = (target: XNode): XNode | undefined => nodes.find((p) => p.content.includes(target));
  const parent = parentOf(n);
  switch (e.op) {
    case 'remove':
      if (parent) parent.content.splice(parent.content.indexOf(n), 1);
      break;
    case 'duplicate':
      if (parent) parent.content.splice(parent.content.indexOf(n), 0, cloneNode(n));
      break;
    case 'rename':
      n.name = e.name;
      break;
    case 'renamespace':
      n.ns = e.ns;
      break;
    case 'removeAttr':
      if (n.attrs.length > 0) n.attrs.splice(e.attr % n.attrs.length, 1);
      break;
    case 'setAttr': {
      const i = n.attrs.findIndex(([k]) => k === e.key);
      if (i >= 0) n.attrs[i] = [e.key, e.value];
      else n.attrs.push([e.key, e.value]);
      break;
    }
    case 'duplicateAttr':
      // Written twice: the parser must refuse the element.
      if (n.attrs.length > 0) n.attrs.push(n.attrs[e.attr % n.attrs.length]!);
      break;
    case 'setText':
      n.content = [...n.content.filter((c) => typeof c !== 'string'), e.text];
      break;
    case 'addChild':
      n.content.splice(e.pos % (n.content.length + 1), 0, cloneNode(e.child));
      break;
    case 'wrap':
      if (parent) parent.content[parent.content.indexOf(n)] = { name: e.name, ns: e.ns, attrs: [], content: [n] };
      else return { name: e.name, ns: e.ns, attrs: [], content: [n] };
      break;
    case 'unwrap':
      if (parent) parent.content.splice(parent.content.indexOf(n), 1, ...n.content);
      break;
    case 'moveChild': {
      if (n.content.length > 1) {
        const [moved] = n.content.splice(e.from % n.content.length, 1);
        n.content.splice(e.to % (n.content.length + 1), 0, moved!);
      }
      break;
    }
    case 'base64': {
      const bytes = fromBase64(textOf(n));
      if (bytes === undefined) break;
      const edited = e.edits.reduce(applyByteEdit, bytes);
      n.content = [...n.content.filter((c) => typeof c !== 'string'), spellBase64(edited, e.spelling)];
      break;
    }
  }
  return tree;
}

/** One mutation of an XML document: edits of its tree, then edits of its text. */
export interface XmlMutation {
  tree: TreeEdit[];
  style: XmlStyle;
  text: StringEdit[];
}

export const xmlMutationArb: fc.Arbitrary<XmlMutation> = fc.oneof(
  fc.record({
    tree: fc.array(treeEditArb, { minLength: 1, maxLength: 3 }),
    style: styleArb,
    text: fc.constant([] as StringEdit[]),
  }),
  fc.record({
    tree: fc.constant([] as TreeEdit[]),
    style: styleArb,
    text: fc.array(stringEditArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    tree: fc.array(treeEditArb, { maxLength: 2 }),
    style: styleArb,
    text: fc.array(stringEditArb, { maxLength: 2 }),
  }),
);

/** Applies a mutation to an XML document (tree edits need it to parse; text edits apply to anything). */
export function mutateXml(xml: string, m: XmlMutation): string {
  let out = xml;
  if (m.tree.length > 0) {
    let tree: XNode | undefined;
    try {
      tree = fromElement(parseXml(xml));
    } catch {
      tree = undefined;
    }
    if (tree !== undefined) out = writeXml(m.tree.reduce(applyTreeEdit, tree), m.style);
  }
  return m.text.reduce(applyStringEdit, out);
}
