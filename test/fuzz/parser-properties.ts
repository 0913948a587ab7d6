// Fuzzing: the properties of every parser (XML, <encrypted>, bundles, device lists, SCE envelopes, wire
// messages, session records) for both OMEMO versions. Collected with the decrypt properties in properties.ts.

import fc from 'fast-check';
import { toHex } from '../../src/crypto/bytes';
import { OmemoError, type OmemoErrorCode } from '../../src/crypto/errors';
import {
  parseBundle,
  parseBundleChoosing,
  serializeBundle,
  parseDeviceList,
  serializeDeviceList,
  parseEncrypted,
  parseEncryptedFor,
  serializeEncrypted,
} from '../../src/omemo/versions/by-version';
import { MAX_PREKEYS_PER_BUNDLE, readBundleThoroughly, type BundleData } from '../../src/omemo/stanzas/bundle';
import type { DeviceListEntry } from '../../src/omemo/stanzas/device-list';
import {
  MAX_KEY_ELEMENT_BYTES,
  type EncryptedElementData,
  type EncryptedKey,
} from '../../src/omemo/stanzas/encrypted-element';
import type { ParsedEncrypted, OmemoVersion } from '../../src/omemo/versions/backend';
import { NS_JABBER_CLIENT, NS_SCE } from '../../src/omemo/stanzas/namespaces';
import { NS_LEGACY, OLDMEMO_BUNDLE_FORMAT } from '../../src/omemo/versions/oldmemo';
import { TWOMEMO_BUNDLE_FORMAT } from '../../src/omemo/versions/twomemo';
import {
  buildEnvelope,
  parseEnvelope,
  parseEnvelopeThoroughly,
  type EnvelopeInput,
  type ParsedEnvelope,
} from '../../src/omemo/stanzas/sce';
import { MAX_STANZA_CHARS, MAX_XML_DEPTH, NOT_XML_CHAR, parseXml, parseXmlFully } from '../../src/omemo/stanzas/xml';
import { scanPlainXml } from '../../src/omemo/stanzas/xml-fast';
import { serializeElement } from '../../src/omemo/stanzas/xml-serialize';
import type { ProtocolVersion } from '../../src/protocol/constants';
import { Session, skipId, type SessionState, type SkippedKey } from '../../src/protocol/session';
import { deserializeSession, serializeSession } from '../../src/protocol/session-record';
import {
  encodeKeyExchange,
  frameMessage,
  parseKeyExchange,
  parseMessage,
  parseMessageThoroughly,
  type ParsedKeyExchange,
  type ParsedMessage,
  type RatchetHeader,
} from '../../src/protocol/wire';
import {
  anyStringArb,
  applyByteEdit,
  applyFieldEdits,
  byteEditArb,
  bytesArb,
  fieldEditArb,
  fixedBytesArb,
  idArb,
  mutateXml,
  rawFieldArb,
  styleArb,
  tokenSoupArb,
  treeArb,
  uint32Arb,
  writeRawFields,
  xmlMutationArb,
  xmlStringArb,
  type ByteEdit,
  type RawField,
  type FieldEdit,
} from './arbitraries';
import {
  Chooser,
  allNodes,
  fromElement,
  modelKey,
  normalise,
  writeContent,
  writeXml,
  PLAIN_STYLE,
  type XNode,
  type XmlStyle,
} from './xml-model';

// ------------------------------------------------------------------------------------------------ helpers

/** Comparable text of any value: bytes as hex, Maps as entry lists, Dates as ISO strings, undefined kept. */
export function canon(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (v === undefined) return '<undefined>';
    if (v instanceof Uint8Array) return `hex:${toHex(v)}`;
    if (v instanceof Date) return `date:${Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString()}`;
    if (v instanceof Map) return { map: [...v.entries()].map(([k, x]) => [walk(k), walk(x)]) };
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = walk((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(walk(value));
}

function clip(s: string, n = 600): string {
  return s.length <= n ? s : `${s.slice(0, n)}… (${s.length} chars)`;
}

/** Throws unless `actual` and `expected` are equal under `canon`. */
export function same(actual: unknown, expected: unknown, what: string): void {
  const a = canon(actual);
  const e = canon(expected);
  if (a !== e) throw new Error(`${what}:\n  actual   ${clip(a)}\n  expected ${clip(e)}`);
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

/**
 * Runs a parser on untrusted input: returns its result, or undefined when it threw an OmemoError with one of
 * `codes`. Any other exception fails the property.
 */
export function untrusted<T>(what: string, codes: readonly OmemoErrorCode[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OmemoError && codes.includes(e.code)) return undefined;
    throw new Error(`${what} threw something else than OmemoError(${codes.join('|')}): ${describeError(e)}`);
  }
}

/** Runs a serializer on a value: returns its output, or undefined when it refused with TypeError/RangeError. */
function refusable<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) return undefined;
    throw e;
  }
}

const versionArb = fc.constantFrom<OmemoVersion>('oldmemo', 'twomemo');
const STANZA: OmemoErrorCode[] = ['malformed-stanza'];
const WIRE: OmemoErrorCode[] = ['malformed-message', 'unsupported-version'];
const RECORD: OmemoErrorCode[] = ['malformed-record'];

/** Input for "anything goes" checks: mutated valid documents mostly, token soups and random strings too. */
function hostileXmlArb(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(valid, xmlMutationArb).map(([xml, m]) => mutateXml(xml, m)) },
    { weight: 1, arbitrary: tokenSoupArb },
    { weight: 1, arbitrary: anyStringArb },
  );
}

// ------------------------------------------------------------------------------------------------ equivalent spellings

const BASE64_ELEMENTS = new Set([
  'key',
  'iv',
  'payload',
  'spk',
  'spks',
  'ik',
  'pk',
  'signedPreKeyPublic',
  'signedPreKeySignature',
  'identityKey',
  'preKeyPublic',
]);

/**
 * Re-spells a protocol element without changing what it means: base64 with line breaks or surrounding white
 * space, white space between elements, flags as "1", "false" flags written out, unknown children (where the
 * parser ignores them), children reordered (bundles), and the element wrapped in a stanza.
 */
export function equivalent(
  xml: string,
  style: XmlStyle,
  opts: { ignoresUnknownChildren: boolean; reorder: boolean },
): string {
  const c = new Chooser(style.seed ^ 0x5bd1e995);
  const root = fromElement(parseXml(xml));
  for (const n of allNodes(root)) {
    if (BASE64_ELEMENTS.has(n.name) && n.content.every((x) => typeof x === 'string')) {
      const text = n.content.join('');
      n.content = [c.chance(0.5) ? text : c.chance(0.5) ? text.replace(/(.{4})/g, '$1\n') : ` \n${text}\t`];
    }
    if (n.name === 'key') {
      const flag = n.ns === NS_LEGACY ? 'prekey' : 'kex';
      const i = n.attrs.findIndex(([k]) => k === flag);
      if (i >= 0 && c.chance(0.5)) n.attrs[i] = [flag, c.pick(['1', ' true', 'true '])];
      else if (i < 0 && c.chance(0.2)) n.attrs.push([flag, c.pick(['false', '0', ' false'])]);
    }
    const elements = n.content.filter((x): x is XNode => typeof x !== 'string');
    if (elements.length > 0) {
      if (opts.reorder && n === root && c.chance(0.5)) elements.reverse();
      if (opts.ignoresUnknownChildren && c.chance(0.3)) {
        const unknown: XNode = { name: 'unknown', ns: n.ns, attrs: [['a', 'b']], content: ['x'] };
        elements.splice(c.int(elements.length + 1), 0, unknown);
      }
      n.content = [];
      for (const el of elements) {
        if (c.chance(0.3)) n.content.push(c.pick([' ', '\n  ', '\t']));
        n.content.push(el);
      }
    }
  }
  let out: XNode = root;
  if (c.chance(0.3)) {
    out = {
      name: 'message',
      ns: NS_JABBER_CLIENT,
      attrs: [
        ['to', 'bob@example.org'],
        ['type', 'chat'],
      ],
      content: [
        { name: 'body', ns: NS_JABBER_CLIENT, attrs: [], content: ['fallback'] },
        root,
        { name: 'store', ns: 'urn:xmpp:hints', attrs: [], content: [] },
      ],
    };
  }
  return writeXml(out, style);
}

// ------------------------------------------------------------------------------------------------ property type

/** A named check of one generated input; `prepare` runs once per batch (e.g. to build managers). */
export interface PropertySpec<T, W = undefined> {
  name: string;
  description: string;
  arbitrary: fc.Arbitrary<T>;
  prepare?: () => Promise<W>;
  check: (input: T, world: W) => void | Promise<void>;
  /** Runs in CI, with a fixed seed. */
  ciRuns: number;
  /** Runs per batch of the long fuzz (scripts/fuzz.ts). */
  batchRuns: number;
  /** Share of the long fuzz's time (relative). */
  weight: number;
}

// ------------------------------------------------------------------------------------------------ XML

function xmlAcceptedIsStable(text: string): void {
  const el = untrusted('parseXml', STANZA, () => parseXml(text));
  if (el === undefined) return;
  const once = serializeElement(el);
  const again = untrusted('parseXml(serializeElement(accepted))', STANZA, () => parseXml(once));
  if (again === undefined) {
    throw new Error(`serializeElement wrote XML that parseXml refuses:\n  ${clip(JSON.stringify(once))}`);
  }
  same(modelKey(fromElement(again)), modelKey(fromElement(el)), 'reparsed tree');
  same(serializeElement(again), once, 'second serialisation');
}

const xmlDocArb = fc.tuple(treeArb, styleArb).map(([tree, style]) => ({ tree, style, xml: writeXml(tree, style) }));

/**
 * The fast scanner against the thorough path: whatever `scanPlainXml` accepts (after parseXml's own size and
 * character checks), `parseXmlFully` accepts as the same tree, attribute and text values included.
 */
function fastScannerAgrees(xml: string): void {
  if (xml.length > MAX_STANZA_CHARS || NOT_XML_CHAR.test(xml) || xml.includes('\r')) return;
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  const fast = scanPlainXml(text, MAX_XML_DEPTH);
  if (fast === undefined) return;
  const full = untrusted('parseXmlFully', STANZA, () => parseXmlFully(text));
  if (full === undefined)
    throw new Error(`the fast scanner accepted what parseXml refuses:\n  ${clip(JSON.stringify(xml))}`);
  same(fast, full, 'fast scanner tree');
}

const GARBAGE = [
  'x',
  '<b/>',
  '</a>',
  '<a>',
  '&amp;',
  ']]>',
  '<![CDATA[x]]>',
  '>',
  '<',
  '&#65;',
  'é',
  '<a></a>',
  '<!-- c --> x',
];

export const xmlProperties = [
  {
    name: 'xml.roundtrip',
    description: 'any element tree, spelled in any equivalent way, parses to itself; serializeElement is canonical',
    arbitrary: xmlDocArb,
    check: ({ tree, xml }: { tree: XNode; xml: string }) => {
      const el = untrusted('parseXml', STANZA, () => parseXml(xml));
      if (el === undefined) throw new Error(`parseXml refused well-formed XML:\n  ${clip(JSON.stringify(xml))}`);
      same(modelKey(fromElement(el)), modelKey(normalise(tree)), 'parsed tree');
      xmlAcceptedIsStable(xml);
    },
    ciRuns: 1500,
    batchRuns: 2000,
    weight: 2,
  } satisfies PropertySpec<{ tree: XNode; style: XmlStyle; xml: string }>,
  {
    name: 'xml.hostile',
    description:
      'mutated documents, token soups and random strings: only OmemoError; what parses re-serialises to ' + 'itself',
    arbitrary: hostileXmlArb(xmlDocArb.map((d) => d.xml)),
    check: xmlAcceptedIsStable,
    ciRuns: 3000,
    batchRuns: 4000,
    weight: 3,
  } satisfies PropertySpec<string>,
  {
    name: 'xml.fast-scanner',
    description: 'the fast scanner accepts only what fast-xml-parser with every check accepts, as the same tree',
    arbitrary: fc.oneof(
      { weight: 3, arbitrary: treeArb.map((tree) => writeXml(tree, PLAIN_STYLE)) },
      { weight: 2, arbitrary: xmlDocArb.map((d) => d.xml) },
      { weight: 4, arbitrary: hostileXmlArb(treeArb.map((tree) => writeXml(tree, PLAIN_STYLE))) },
    ),
    check: fastScannerAgrees,
    ciRuns: 3000,
    batchRuns: 4000,
    weight: 3,
  } satisfies PropertySpec<string>,
  {
    name: 'xml.outside-root',
    description: 'text, elements or CDATA before or after the root element are refused',
    arbitrary: fc.tuple(
      xmlDocArb,
      fc.constantFrom(...GARBAGE),
      fc.boolean(),
      fc.constantFrom('', ' ', '\n', '<!--c-->'),
    ),
    check: ([doc, garbage, before, ws]: [{ xml: string }, string, boolean, string]) => {
      const text = before ? `${ws}${garbage}${ws}${doc.xml}` : `${doc.xml}${ws}${garbage}${ws}`;
      const el = untrusted('parseXml', STANZA, () => parseXml(text));
      if (el !== undefined) {
        const where = before ? 'before' : 'after';
        const shown = clip(JSON.stringify(text));
        throw new Error(`parseXml accepted ${JSON.stringify(garbage)} ${where} the root:\n  ${shown}`);
      }
    },
    ciRuns: 1000,
    batchRuns: 2000,
    weight: 1,
  } satisfies PropertySpec<[{ xml: string }, string, boolean, string]>,
];

// ------------------------------------------------------------------------------------------------ <encrypted>

const jidArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('bob@example.org', 'alice@example.org', 'carol@example.org', 'a@b', 'x') },
  { weight: 1, arbitrary: xmlStringArb(20) },
);

const keyDataArb = fc.oneof(
  { weight: 6, arbitrary: bytesArb(1, 200) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(MAX_KEY_ELEMENT_BYTES, MAX_KEY_ELEMENT_BYTES + 1, 0).chain((n) => fixedBytesArb(n)),
  },
);

interface EncryptedCase {
  version: OmemoVersion;
  data: EncryptedElementData;
}

const encryptedCaseArb: fc.Arbitrary<EncryptedCase> = versionArb.chain((version) =>
  fc
    .record({
      sid: idArb,
      keys: fc.array(fc.record({ jid: jidArb, rid: idArb, keyExchange: fc.boolean(), data: keyDataArb }), {
        minLength: 1,
        maxLength: 5,
      }),
      iv: fc.oneof(fixedBytesArb(12), fixedBytesArb(16)),
      payload: fc.option(bytesArb(0, 300), { nil: undefined }),
    })
    .map(({ sid, keys, iv, payload }) => {
      const data: EncryptedElementData = {
        sid,
        keys: keys.map(
          (k): EncryptedKey => (version === 'oldmemo' ? { rid: k.rid, keyExchange: k.keyExchange, data: k.data } : k),
        ),
      };
      if (version === 'oldmemo') data.iv = iv;
      if (payload !== undefined) data.payload = payload;
      return { version, data };
    }),
);

/** What parseEncrypted returns for serialised `data`: OMEMO 2 keys come back grouped by JID. */
function expectedParsed({ version, data }: EncryptedCase): ParsedEncrypted {
  let keys = data.keys;
  if (version === 'twomemo') {
    const order = [...new Set(keys.map((k) => k.jid))];
    keys = order.flatMap((jid) => keys.filter((k) => k.jid === jid));
  }
  return { version, ...data, keys };
}

const validEncryptedArb = encryptedCaseArb
  .map((c) => refusable(() => serializeEncrypted(c.data, c.version)))
  .filter((x): x is string => x !== undefined);

function encryptedAcceptedIsStable(text: string): void {
  const p = untrusted('parseEncrypted', STANZA, () => parseEncrypted(text));
  if (p === undefined) return;
  const { version, ...data } = p;
  const out = refusable(() => serializeEncrypted(data, version));
  if (out === undefined) throw new Error(`serializeEncrypted refuses what parseEncrypted returned: ${clip(canon(p))}`);
  same(parseEncrypted(out), p, 'parse(serialize(parse(x)))');
}

/** The error parsing `text` throws (code and message), or the result. */
function outcome<T>(fn: () => T): { value: T } | { error: string } {
  try {
    return { value: fn() };
  } catch (e) {
    return { error: e instanceof OmemoError ? `${e.code}: ${e.message}` : describeError(e) };
  }
}

/**
 * parseEncryptedFor, which decodes only our key, decides exactly as parseEncrypted: the same error (code and
 * message) or the keys parseEncrypted would give for us, keysFor's first. `pick` chooses who "us" is: one of the
 * element's recipients, or nobody in it.
 */
function encryptedForUsAgrees(text: string, pick: number): void {
  const all = outcome(() => parseEncrypted(text));
  const keys = 'value' in all ? all.value.keys : [];
  const us = pick < keys.length ? keys[pick]! : { rid: 31337, jid: 'nobody@example.org' };
  const jid = us.jid ?? 'nobody@example.org';
  const mine = outcome(() => parseEncryptedFor(text, jid, us.rid));
  if ('error' in all) {
    same('error' in mine ? mine.error : 'parsed', all.error, 'parseEncryptedFor refuses as parseEncrypted');
    return;
  }
  if ('error' in mine) throw new Error(`parseEncryptedFor refuses what parseEncrypted reads: ${mine.error}`);
  const ours = all.value.keys.filter((k) => k.rid === us.rid && (all.value.version === 'oldmemo' || k.jid === jid));
  same(mine.value, { ...all.value, keys: ours }, 'parseEncryptedFor = parseEncrypted with only our keys');
}

export const encryptedProperties = [
  {
    name: 'encrypted.roundtrip',
    description:
      '<encrypted> of both versions: what serializeEncrypted writes parses back to the data, in any ' +
      'equivalent spelling',
    arbitrary: fc.tuple(encryptedCaseArb, styleArb),
    check: ([c, style]: [EncryptedCase, XmlStyle]) => {
      const xml = refusable(() => serializeEncrypted(c.data, c.version));
      if (xml === undefined) return; // refused as a programmer error (e.g. a key over MAX_KEY_ELEMENT_BYTES)
      const p = untrusted('parseEncrypted', STANZA, () => parseEncrypted(xml));
      if (p === undefined) throw new Error(`parseEncrypted refuses what serializeEncrypted wrote:\n  ${clip(xml)}`);
      same(p, expectedParsed(c), 'parse(serialize(data))');
      same(serializeEncrypted(p, p.version), xml, 'serialize(parse(xml))');
      const variant = equivalent(xml, style, { ignoresUnknownChildren: false, reorder: false });
      const pv = untrusted('parseEncrypted', STANZA, () => parseEncrypted(variant));
      if (pv === undefined) {
        throw new Error(`parseEncrypted refuses an equivalent spelling:\n  ${clip(JSON.stringify(variant))}`);
      }
      same(pv, p, 'parse(equivalent spelling)');
    },
    ciRuns: 800,
    batchRuns: 1000,
    weight: 2,
  } satisfies PropertySpec<[EncryptedCase, XmlStyle]>,
  {
    name: 'encrypted.hostile',
    description: 'mutated <encrypted> elements: only OmemoError; what parses survives serialize → parse unchanged',
    arbitrary: hostileXmlArb(validEncryptedArb),
    check: encryptedAcceptedIsStable,
    ciRuns: 2500,
    batchRuns: 3000,
    weight: 3,
  } satisfies PropertySpec<string>,
  {
    name: 'encrypted.for-us',
    description:
      'valid and mutated <encrypted> elements: parseEncryptedFor (only our key decoded) refuses with the same ' +
      'error as parseEncrypted, or returns its keys for us',
    arbitrary: fc.tuple(fc.oneof(validEncryptedArb, hostileXmlArb(validEncryptedArb)), fc.nat(6)),
    check: ([text, pick]: [string, number]) => encryptedForUsAgrees(text, pick),
    ciRuns: 1500,
    batchRuns: 2000,
    weight: 2,
  } satisfies PropertySpec<[string, number]>,
  {
    name: 'encrypted.plain-path',
    description:
      'valid and mutated <encrypted> elements, as text and as a tree: the plain path (read from the text) decides ' +
      'as the tree path, the same keys and bytes or the same error, with and without a version',
    arbitrary: fc.tuple(fc.oneof(validEncryptedArb, hostileXmlArb(validEncryptedArb)), fc.nat(6), versionArb),
    check: ([text, pick, version]: [string, number, OmemoVersion]) => encryptedPlainAgrees(text, pick, version),
    ciRuns: 1500,
    batchRuns: 2000,
    weight: 2,
  } satisfies PropertySpec<[string, number, OmemoVersion]>,
];

/**
 * The readers given the text (which may take the plain path) decide as given the parsed element (the tree path):
 * parseEncrypted, and parseEncryptedFor as one of the element's recipients (or nobody), without and with `version`.
 */
function encryptedPlainAgrees(text: string, pick: number, version: OmemoVersion): void {
  const el = outcome(() => parseXml(text));
  const all = outcome(() => parseEncrypted(text));
  const keys = 'value' in all ? all.value.keys : [];
  const us = pick < keys.length ? keys[pick]! : { rid: 31337, jid: 'nobody@example.org' };
  const jid = us.jid ?? 'nobody@example.org';
  const readers: [string, (x: string | ReturnType<typeof parseXml>) => ParsedEncrypted][] = [
    ['parseEncrypted', (x) => parseEncrypted(x)],
    ['parseEncrypted(version)', (x) => parseEncrypted(x, version)],
    ['parseEncryptedFor', (x) => parseEncryptedFor(x, jid, us.rid)],
    ['parseEncryptedFor(version)', (x) => parseEncryptedFor(x, jid, us.rid, version)],
  ];
  for (const [what, read] of readers) {
    const fromText = outcome(() => read(text));
    const expected = 'value' in el ? outcome(() => read(el.value)) : el;
    same(fromText, expected, `${what} from the text`);
    if ('value' in fromText) {
      for (const k of fromText.value.keys) {
        if (k.keyExchange && (k.data.byteOffset !== 0 || k.data.buffer.byteLength !== k.data.length)) {
          throw new Error(`${what}: a key exchange's bytes are a view into a shared buffer`);
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------ bundles

interface BundleCase {
  version: OmemoVersion;
  bundle: BundleData;
}

const bundleCaseArb: fc.Arbitrary<BundleCase> = fc.record({
  version: versionArb,
  bundle: fc.record({
    signedPreKeyId: idArb,
    signedPreKey: fixedBytesArb(32),
    signedPreKeySignature: fixedBytesArb(64),
    identityKey: fixedBytesArb(32),
    preKeys: fc.oneof(
      {
        weight: 9,
        arbitrary: fc.uniqueArray(fc.record({ id: idArb, publicKey: fixedBytesArb(32) }), {
          minLength: 1,
          maxLength: 6,
          selector: (k) => k.id,
        }),
      },
      {
        weight: 1,
        arbitrary: fc.uniqueArray(fc.record({ id: idArb, publicKey: fixedBytesArb(32) }), {
          minLength: MAX_PREKEYS_PER_BUNDLE - 1,
          maxLength: MAX_PREKEYS_PER_BUNDLE + 1,
          selector: (k) => k.id,
        }),
      },
    ),
  }),
});

const validBundleArb = bundleCaseArb
  .map((c) => refusable(() => serializeBundle(c.bundle, c.version)))
  .filter((x): x is string => x !== undefined);

/** A valid or mutated bundle, a version to read it as, and a number that picks the pre key. */
const bundleChoiceArb = fc.tuple(fc.oneof(validBundleArb, hostileXmlArb(validBundleArb)), versionArb, fc.nat(200));

export const bundleProperties = [
  {
    name: 'bundle.roundtrip',
    description:
      'bundles of both versions: serialize → parse gives the data back, in any equivalent spelling ' +
      '(children in any order, unknown ones)',
    arbitrary: fc.tuple(bundleCaseArb, styleArb),
    check: ([c, style]: [BundleCase, XmlStyle]) => {
      const xml = refusable(() => serializeBundle(c.bundle, c.version));
      if (xml === undefined) return;
      const p = untrusted('parseBundle', STANZA, () => parseBundle(xml, c.version));
      if (p === undefined) throw new Error(`parseBundle refuses what serializeBundle wrote:\n  ${clip(xml)}`);
      same(p, c.bundle, 'parse(serialize(bundle))');
      same(serializeBundle(p, c.version), xml, 'serialize(parse(xml))');
      const variant = equivalent(xml, style, { ignoresUnknownChildren: true, reorder: true });
      const pv = untrusted('parseBundle', STANZA, () => parseBundle(variant, c.version));
      if (pv === undefined) {
        throw new Error(`parseBundle refuses an equivalent spelling:\n  ${clip(JSON.stringify(variant))}`);
      }
      same(pv, p, 'parse(equivalent spelling)');
    },
    ciRuns: 300,
    batchRuns: 500,
    weight: 1,
  } satisfies PropertySpec<[BundleCase, XmlStyle]>,
  {
    name: 'bundle.hostile',
    description: 'mutated bundles, parsed as either version: only OmemoError; what parses survives serialize → parse',
    arbitrary: fc.tuple(hostileXmlArb(validBundleArb), versionArb),
    check: ([text, version]: [string, OmemoVersion]) => {
      const p = untrusted('parseBundle', STANZA, () => parseBundle(text, version));
      if (p === undefined) return;
      const out = refusable(() => serializeBundle(p, version));
      if (out === undefined) throw new Error(`serializeBundle refuses what parseBundle returned: ${clip(canon(p))}`);
      same(parseBundle(out, version), p, 'parse(serialize(parse(x)))');
    },
    ciRuns: 1500,
    batchRuns: 2000,
    weight: 2,
  } satisfies PropertySpec<[string, OmemoVersion]>,
  {
    name: 'bundle.choosing',
    description:
      'valid and mutated bundles of either version: parseBundleChoosing (only the chosen pre key decoded) refuses ' +
      'with the same error as parseBundle, or returns its data with the chosen pre key alone',
    arbitrary: bundleChoiceArb,
    check: ([text, version, pick]: [string, OmemoVersion, number]) => {
      let asked = -1;
      const one = outcome(() =>
        parseBundleChoosing(text, version, (count) => {
          asked = count;
          return pick % count;
        }),
      );
      const all = outcome(() => parseBundle(text, version));
      if ('error' in all) {
        same('error' in one ? one.error : 'parsed', all.error, 'parseBundleChoosing refuses as parseBundle');
        return;
      }
      if ('error' in one) throw new Error(`parseBundleChoosing refuses what parseBundle reads: ${one.error}`);
      same(asked, all.value.preKeys.length, 'choosePreKey is given the number of pre keys');
      same(one.value, { ...all.value, preKeys: [all.value.preKeys[pick % asked]!] }, 'the chosen pre key alone');
    },
    ciRuns: 800,
    batchRuns: 1500,
    weight: 2,
  } satisfies PropertySpec<[string, OmemoVersion, number]>,
  {
    name: 'bundle.plain-path',
    description:
      'valid and mutated bundles of either version, as text and as a tree: the fast paths (plain text, plain pre key ' +
      'elements) decide as the thorough reader, the same data or the same error',
    arbitrary: bundleChoiceArb,
    check: ([text, version, pick]: [string, OmemoVersion, number]) => {
      const n = version === 'oldmemo' ? OLDMEMO_BUNDLE_FORMAT : TWOMEMO_BUNDLE_FORMAT;
      const choose = (count: number) => pick % count;
      const thorough = outcome(() => readBundleThoroughly(text, n, choose));
      same(
        outcome(() => parseBundleChoosing(text, version, choose)),
        thorough,
        'from the text',
      );
      const el = outcome(() => parseXml(text));
      if ('value' in el)
        same(
          outcome(() => parseBundleChoosing(el.value, version, choose)),
          thorough,
          'from the tree',
        );
    },
    ciRuns: 800,
    batchRuns: 1500,
    weight: 2,
  } satisfies PropertySpec<[string, OmemoVersion, number]>,
];

// ------------------------------------------------------------------------------------------------ device lists

interface DeviceListCase {
  version: OmemoVersion;
  entries: DeviceListEntry[];
}

const deviceListCaseArb: fc.Arbitrary<DeviceListCase> = fc
  .record({
    version: versionArb,
    entries: fc.uniqueArray(
      fc.record({
        id: idArb,
        label: fc.option(xmlStringArb(20), { nil: undefined }),
        labelSignature: fc.option(bytesArb(0, 80), { nil: undefined }),
      }),
      { maxLength: 8, selector: (e) => e.id },
    ),
  })
  .map(({ version, entries }) => ({
    version,
    entries: entries.map((e) => {
      const out: DeviceListEntry = { id: e.id };
      if (e.label !== undefined) out.label = e.label;
      if (e.labelSignature !== undefined) out.labelSignature = e.labelSignature;
      return out;
    }),
  }));

export const deviceListProperties = [
  {
    name: 'device-list.roundtrip',
    description:
      'device lists of both versions: serialize → parse gives the entries back (0.3 keeps ids only), in ' +
      'any equivalent spelling',
    arbitrary: fc.tuple(deviceListCaseArb, styleArb),
    check: ([c, style]: [DeviceListCase, XmlStyle]) => {
      const xml = refusable(() => serializeDeviceList(c.entries, c.version));
      if (xml === undefined) return;
      const p = untrusted('parseDeviceList', STANZA, () => parseDeviceList(xml, c.version));
      if (p === undefined) throw new Error(`parseDeviceList refuses what serializeDeviceList wrote:\n  ${clip(xml)}`);
      same(p, c.version === 'oldmemo' ? c.entries.map((e) => ({ id: e.id })) : c.entries, 'parse(serialize(entries))');
      same(serializeDeviceList(p, c.version), xml, 'serialize(parse(xml))');
      const variant = equivalent(xml, style, { ignoresUnknownChildren: true, reorder: false });
      const pv = untrusted('parseDeviceList', STANZA, () => parseDeviceList(variant, c.version));
      if (pv === undefined) {
        throw new Error(`parseDeviceList refuses an equivalent spelling:\n  ${clip(JSON.stringify(variant))}`);
      }
      same(pv, p, 'parse(equivalent spelling)');
    },
    ciRuns: 500,
    batchRuns: 1000,
    weight: 1,
  } satisfies PropertySpec<[DeviceListCase, XmlStyle]>,
  {
    name: 'device-list.hostile',
    description:
      'mutated device lists, parsed as either version: only OmemoError; what parses survives serialize ' + '→ parse',
    arbitrary: fc.tuple(
      hostileXmlArb(
        deviceListCaseArb.map((c) => refusable(() => serializeDeviceList(c.entries, c.version)) ?? '<list/>'),
      ),
      versionArb,
    ),
    check: ([text, version]: [string, OmemoVersion]) => {
      const p = untrusted('parseDeviceList', STANZA, () => parseDeviceList(text, version));
      if (p === undefined) return;
      const out = refusable(() => serializeDeviceList(p, version));
      if (out === undefined) {
        throw new Error(`serializeDeviceList refuses what parseDeviceList returned: ${clip(canon(p))}`);
      }
      same(parseDeviceList(out, version), p, 'parse(serialize(parse(x)))');
    },
    ciRuns: 1500,
    batchRuns: 2000,
    weight: 2,
  } satisfies PropertySpec<[string, OmemoVersion]>,
];

// ------------------------------------------------------------------------------------------------ SCE

interface EnvelopeCase {
  input: EnvelopeInput;
  content: (XNode | string)[];
  style: XmlStyle;
}

const MIN_TIME = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');

const envelopeCaseArb: fc.Arbitrary<EnvelopeCase> = fc
  .record({
    body: fc.option(xmlStringArb(40), { nil: undefined }),
    content: fc.array(fc.oneof({ weight: 3, arbitrary: treeArb }, { weight: 1, arbitrary: xmlStringArb(10) }), {
      maxLength: 3,
    }),
    from: fc.option(fc.oneof(jidArb, fc.constantFrom('', '/r', 'a'.repeat(3100), 'alice@example.org/phone')), {
      nil: undefined,
    }),
    to: fc.option(jidArb, { nil: undefined }),
    time: fc.option(
      fc.oneof(
        { weight: 5, arbitrary: fc.integer({ min: MIN_TIME, max: MAX_TIME }).map((t) => new Date(t)) },
        { weight: 1, arbitrary: fc.date({ noInvalidDate: true }) },
      ),
      { nil: undefined },
    ),
    rpad: fc.option(xmlStringArb(30), { nil: undefined }),
    style: styleArb,
  })
  .map(({ body, content, from, to, time, rpad, style }) => {
    const input: EnvelopeInput = { rpad: rpad ?? '' };
    if (body !== undefined) input.body = body;
    if (from !== undefined) input.from = from;
    if (to !== undefined) input.to = to;
    if (time !== undefined) input.time = time;
    if (content.length > 0) input.contentXml = writeContent(content, style, NS_SCE);
    return { input, content, style };
  });

function firstBody(content: readonly (XNode | string)[]): string | undefined {
  const b = content.find(
    (c): c is XNode =>
      typeof c !== 'string' && c.name === 'body' && (c.ns === NS_JABBER_CLIENT || c.ns === NS_SCE || c.ns === ''),
  );
  return b === undefined ? undefined : b.content.filter((x): x is string => typeof x === 'string').join('');
}

/** The envelope buildEnvelope writes for a parsed one (the rebuild of the canonical round trip). */
function rebuild(p: ParsedEnvelope): string | undefined {
  const input: EnvelopeInput = { contentXml: p.contentXml, rpad: p.rpad ?? '' };
  if (p.from !== undefined) input.from = p.from;
  if (p.to !== undefined) input.to = p.to;
  if (p.time !== undefined) input.time = p.time;
  return refusable(() => buildEnvelope(input));
}

function withoutEmptyRpad(p: ParsedEnvelope): ParsedEnvelope {
  const { rpad, ...rest } = p;
  return rpad === undefined || rpad === '' ? rest : p;
}

export const sceProperties = [
  {
    name: 'sce.roundtrip',
    description: 'SCE envelopes: what buildEnvelope writes parses back to its input; parse → build → parse is stable',
    arbitrary: envelopeCaseArb,
    check: ({ input, content }: EnvelopeCase) => {
      const xml = refusable(() => buildEnvelope(input));
      if (xml === undefined) return;
      const p = untrusted('parseEnvelope', STANZA, () => parseEnvelope(xml));
      if (p === undefined) {
        throw new Error(`parseEnvelope refuses what buildEnvelope wrote:\n  ${clip(JSON.stringify(xml))}`);
      }
      const bodyEl: XNode[] =
        input.body === undefined ? [] : [{ name: 'body', ns: NS_JABBER_CLIENT, attrs: [], content: [input.body] }];
      same(p.body, input.body ?? firstBody(content), 'body');
      same(p.from, input.from, 'from');
      same(p.to, input.to, 'to');
      same(p.time, input.time, 'time');
      same(p.rpad, input.rpad === '' ? undefined : input.rpad, 'rpad');
      const wrapped = parseXml(`<c xmlns="${NS_SCE}">${p.contentXml}</c>`);
      const expectedContent: XNode = { name: 'c', ns: NS_SCE, attrs: [], content: [...bodyEl, ...content] };
      same(modelKey(fromElement(wrapped)), modelKey(expectedContent), 'content');
      const again = rebuild(p);
      if (again === undefined) throw new Error(`buildEnvelope refuses what parseEnvelope returned: ${clip(canon(p))}`);
      same(parseEnvelope(again), p, 'parse(build(parse(xml)))');
    },
    ciRuns: 600,
    batchRuns: 1000,
    weight: 2,
  } satisfies PropertySpec<EnvelopeCase>,
  {
    name: 'sce.hostile',
    description: 'mutated envelopes, token soups, random strings: only OmemoError; what parses survives build → parse',
    arbitrary: hostileXmlArb(envelopeCaseArb.map((c) => refusable(() => buildEnvelope(c.input)) ?? '<envelope/>')),
    check: (text: string) => {
      const p = untrusted('parseEnvelope', STANZA, () => parseEnvelope(text));
      if (p === undefined) return;
      const again = rebuild(p);
      if (again === undefined) throw new Error(`buildEnvelope refuses what parseEnvelope returned: ${clip(canon(p))}`);
      const p2 = untrusted('parseEnvelope', STANZA, () => parseEnvelope(again));
      if (p2 === undefined) {
        throw new Error(`parseEnvelope refuses the rebuilt envelope:\n  ${clip(JSON.stringify(again))}`);
      }
      same(withoutEmptyRpad(p2), withoutEmptyRpad(p), 'parse(build(parse(x)))');
    },
    ciRuns: 2000,
    batchRuns: 3000,
    weight: 2,
  } satisfies PropertySpec<string>,
  {
    name: 'sce.plain-path',
    description:
      'valid and mutated envelopes: parseEnvelope (the plain text path first) decides as the element tree, the same ' +
      'fields or the same error',
    arbitrary: fc.oneof(
      envelopeCaseArb.map((c) => refusable(() => buildEnvelope(c.input)) ?? '<envelope/>'),
      hostileXmlArb(envelopeCaseArb.map((c) => refusable(() => buildEnvelope(c.input)) ?? '<envelope/>')),
    ),
    check: (text: string) => {
      same(
        outcome(() => parseEnvelope(text)),
        outcome(() => parseEnvelopeThoroughly(text)),
        'parseEnvelope against the tree',
      );
    },
    ciRuns: 1500,
    batchRuns: 2500,
    weight: 2,
  } satisfies PropertySpec<string>,
];

// ------------------------------------------------------------------------------------------------ wire messages

interface MessageFields {
  header: RatchetHeader;
  ciphertext: Uint8Array;
  mac: Uint8Array;
}

interface KexFields {
  preKeyId: number | undefined;
  signedPreKeyId: number;
  identityKey: Uint8Array;
  baseKey: Uint8Array;
}

interface WireCase {
  version: ProtocolVersion;
  message: MessageFields;
  kex: KexFields | undefined;
}

const MAC_BYTES: Record<ProtocolVersion, number> = { oldmemo: 8, twomemo: 16 };

const wireCaseArb: fc.Arbitrary<WireCase> = versionArb.chain((version) =>
  fc.record({
    version: fc.constant(version),
    message: fc.record({
      header: fc.record({ ratchetKey: fixedBytesArb(32), n: uint32Arb, pn: uint32Arb }),
      ciphertext: bytesArb(0, 300),
      mac: fixedBytesArb(MAC_BYTES[version]),
    }),
    kex: fc.option(
      fc.record({
        preKeyId: version === 'oldmemo' ? fc.option(uint32Arb, { nil: undefined }) : uint32Arb,
        signedPreKeyId: uint32Arb,
        identityKey: fixedBytesArb(32),
        baseKey: fixedBytesArb(32).map((k) => {
          k[31]! &= 0x7f;
          return k;
        }),
      }),
      { nil: undefined },
    ),
  }),
);

function frame(version: ProtocolVersion, m: MessageFields): Uint8Array {
  const f = frameMessage(version, m.header, m.ciphertext.length, (n) => new Uint8Array(n));
  f.message.set(m.ciphertext, f.headerOffset + f.headerLength);
  f.message.set(m.mac, f.macOffset);
  return f.message;
}

function encodeWire(c: WireCase): Uint8Array {
  const message = frame(c.version, c.message);
  return c.kex === undefined ? message : encodeKeyExchange(c.version, c.kex, message);
}

function fieldsOf(p: ParsedMessage): MessageFields {
  return { header: p.header, ciphertext: p.ciphertext, mac: p.mac };
}

function kexFieldsOf(k: ParsedKeyExchange): KexFields {
  return { preKeyId: k.preKeyId, signedPreKeyId: k.signedPreKeyId, identityKey: k.identityKey, baseKey: k.baseKey };
}

function wireCaseOf(version: ProtocolVersion, parsed: ParsedMessage | ParsedKeyExchange): WireCase {
  return 'message' in parsed && 'baseKey' in parsed
    ? { version, message: fieldsOf(parsed.message), kex: kexFieldsOf(parsed) }
    : { version, message: fieldsOf(parsed as ParsedMessage), kex: undefined };
}

function parseWire(version: ProtocolVersion, kex: boolean, bytes: Uint8Array): ParsedMessage | ParsedKeyExchange {
  return kex ? parseKeyExchange(version, bytes) : parseMessage(version, bytes);
}

export type WireMutation = { kind: 'bytes'; edits: ByteEdit[] } | { kind: 'fields'; edits: FieldEdit[] };

export const wireMutationArb: fc.Arbitrary<WireMutation> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), edits: fc.array(byteEditArb, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('fields' as const), edits: fc.array(fieldEditArb, { minLength: 1, maxLength: 4 }) }),
);

/** Applies a mutation to a wire message; field edits go to the protobuf inside a legacy frame. */
export function mutateWire(version: ProtocolVersion, kex: boolean, bytes: Uint8Array, m: WireMutation): Uint8Array {
  if (m.kind === 'bytes') return m.edits.reduce(applyByteEdit, bytes);
  // Legacy messages are a version byte, a protobuf and (normal messages) an 8-byte MAC: edit the protobuf.
  const tail = version === 'oldmemo' && !kex ? MAC_BYTES.oldmemo : 0;
  if (version === 'oldmemo' && bytes.length > 1 + tail) {
    const out = applyFieldEdits(bytes.subarray(1, bytes.length - tail), m.edits);
    const whole = new Uint8Array(out.length + 1 + tail);
    whole[0] = bytes[0]!;
    whole.set(out, 1);
    whole.set(bytes.subarray(bytes.length - tail), out.length + 1);
    return whole;
  }
  return applyFieldEdits(bytes, m.edits);
}

interface HostileWire {
  version: ProtocolVersion;
  asKex: boolean;
  bytes: Uint8Array;
}

const hostileWireArb: fc.Arbitrary<HostileWire> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(wireCaseArb, wireMutationArb, fc.boolean(), versionArb).map(([c, m, sameKind, other]) => ({
      version: sameKind ? c.version : other,
      asKex: sameKind ? c.kex !== undefined : c.kex === undefined,
      bytes: mutateWire(c.version, c.kex !== undefined, encodeWire(c), m),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      version: versionArb,
      asKex: fc.boolean(),
      bytes: fc.array(rawFieldArb, { maxLength: 8 }).map(writeRawFields),
    }),
  },
  { weight: 1, arbitrary: fc.record({ version: versionArb, asKex: fc.boolean(), bytes: bytesArb(0, 200) }) },
);

/**
 * Normal messages built field by field (field numbers of proto/*.proto), in the canonical layout or near it: extra
 * fields anywhere, fields repeated or swapped, long varints, wrong key lengths, a MAC of another length.
 */
const nearCanonicalArb: fc.Arbitrary<HostileWire> = fc
  .record({
    version: versionArb,
    n: fc.oneof(fc.nat(300), uint32Arb),
    pn: fc.oneof(fc.nat(300), uint32Arb),
    keyLength: fc.constantFrom(32, 32, 32, 31, 33),
    ciphertext: bytesArb(0, 80),
    macLength: fc.constantFrom(16, 16, 8, 8, 15),
    extra: fc.option(fc.tuple(rawFieldArb, fc.nat(5)), { nil: undefined }),
    swap: fc.option(fc.nat(4), { nil: undefined }),
    repeat: fc.option(fc.nat(4), { nil: undefined }),
    longVarint: fc.boolean(),
  })
  .map((c) => {
    const counter = (field: number, v: number): RawField => ({
      field,
      wireType: 0,
      value: c.longVarint ? BigInt(v) + (1n << 40n) : BigInt(v),
    });
    const key = new Uint8Array(c.keyLength).fill(7);
    const fields: RawField[] =
      c.version === 'twomemo'
        ? [
            counter(1, c.n),
            counter(2, c.pn),
            { field: 3, wireType: 2, value: key },
            { field: 4, wireType: 2, value: c.ciphertext },
          ]
        : [
            { field: 1, wireType: 2, value: Uint8Array.of(5, ...key) },
            counter(2, c.n),
            counter(3, c.pn),
            { field: 4, wireType: 2, value: c.ciphertext },
          ];
    if (c.swap !== undefined) {
      const i = c.swap % 3;
      [fields[i], fields[i + 1]] = [fields[i + 1]!, fields[i]!];
    }
    if (c.repeat !== undefined) fields.push(fields[c.repeat % 4]!);
    if (c.extra !== undefined) fields.splice(c.extra[1] % (fields.length + 1), 0, c.extra[0]);
    const inner = writeRawFields(fields);
    const mac = new Uint8Array(c.macLength).fill(9);
    const bytes =
      c.version === 'twomemo'
        ? writeRawFields([
            { field: 1, wireType: 2, value: mac },
            { field: 2, wireType: 2, value: inner },
          ])
        : Uint8Array.of(0x33, ...inner, ...mac);
    return { version: c.version, asKex: false, bytes };
  });

export const wireProperties = [
  {
    name: 'wire.roundtrip',
    description:
      'ratchet messages and key exchanges of both versions: encode → parse gives every field back; ' +
      'parse → encode is byte-identical',
    arbitrary: wireCaseArb,
    check: (c: WireCase) => {
      const bytes = encodeWire(c);
      const p = untrusted('parse', WIRE, () => parseWire(c.version, c.kex !== undefined, bytes));
      if (p === undefined) {
        throw new Error(`the parser refuses an encoded ${c.kex ? 'key exchange' : 'message'}: ${toHex(bytes)}`);
      }
      const back = wireCaseOf(c.version, p);
      same(back, c, 'parse(encode(fields))');
      same(toHex(encodeWire(back)), toHex(bytes), 'encode(parse(bytes))');
      const m = 'baseKey' in p ? p.message : p;
      const inner = c.kex === undefined ? bytes : frame(c.version, c.message);
      if (c.version === 'oldmemo') {
        same(toHex(m.macInput) + toHex(m.mac), toHex(inner), 'legacy MAC input ‖ MAC = the message bytes');
      }
    },
    ciRuns: 1500,
    batchRuns: 2000,
    weight: 1,
  } satisfies PropertySpec<WireCase>,
  {
    name: 'wire.hostile',
    description:
      'mutated messages (bytes and protobuf fields), raw protobuf, random bytes, either version and ' +
      'kind: only OmemoError; what parses is stable',
    arbitrary: hostileWireArb,
    check: ({ version, asKex, bytes }: HostileWire) => {
      const p = untrusted(asKex ? 'parseKeyExchange' : 'parseMessage', WIRE, () => parseWire(version, asKex, bytes));
      if (p === undefined) return;
      if (!asKex && version === 'oldmemo') {
        const m = p as ParsedMessage;
        same(toHex(m.macInput) + toHex(m.mac), toHex(bytes), 'legacy MAC input ‖ MAC = the bytes received');
      }
      const c = wireCaseOf(version, p);
      const again = untrusted('re-parse', WIRE, () => parseWire(version, asKex, encodeWire(c)));
      if (again === undefined) {
        throw new Error(`the parser refuses the re-encoding of what it accepted: ${clip(canon(c))}`);
      }
      same(wireCaseOf(version, again), c, 'parse(encode(parse(x)))');
    },
    ciRuns: 3000,
    batchRuns: 4000,
    weight: 2,
  } satisfies PropertySpec<HostileWire>,
  {
    name: 'wire.canonical-reader',
    description:
      'normal messages of both versions, valid and mutated: parseMessage (a reader of the canonical layout, ' +
      'protobufjs for the rest) gives what protobufjs alone gives, errors included',
    arbitrary: fc.oneof(
      wireCaseArb.map((c) => ({ version: c.version, asKex: false, bytes: frame(c.version, c.message) })),
      nearCanonicalArb,
      hostileWireArb,
    ),
    check: ({ version, bytes }: HostileWire) => {
      same(
        outcome(() => parseMessage(version, bytes)),
        outcome(() => parseMessageThoroughly(version, bytes)),
        'parseMessage = parseMessageThoroughly',
      );
    },
    ciRuns: 3000,
    batchRuns: 4000,
    weight: 2,
  } satisfies PropertySpec<HostileWire>,
];

// ------------------------------------------------------------------------------------------------ session records

const sessionStateArb: fc.Arbitrary<SessionState> = fc
  .record({
    version: versionArb,
    localIdentityKey: fixedBytesArb(32),
    remoteIdentityKey: fixedBytesArb(32),
    initiator: fc.boolean(),
    rootKey: fixedBytesArb(32),
    sendingRatchet: fc.record({ privateKey: fixedBytesArb(32), publicKey: fixedBytesArb(32) }),
    receivingRatchetKey: fc.option(fixedBytesArb(32), { nil: undefined }),
    sendingChainKey: fc.option(fixedBytesArb(32), { nil: undefined }),
    sendingCounter: uint32Arb,
    previousCounter: uint32Arb,
    receivingChainKey: fc.option(fixedBytesArb(32), { nil: undefined }),
    receivingCounter: uint32Arb,
    skipped: fc.array(fc.record({ ratchetKey: fixedBytesArb(32), n: uint32Arb, seed: fixedBytesArb(32) }), {
      maxLength: 6,
    }),
    oldChains: fc.array(fc.record({ ratchetKey: fixedBytesArb(32), nextN: uint32Arb }), { maxLength: 5 }),
    pending: fc.option(
      fc.record({
        preKeyId: fc.option(uint32Arb, { nil: undefined }),
        signedPreKeyId: uint32Arb,
        baseKey: fixedBytesArb(32),
      }),
      { nil: undefined },
    ),
    unanswered: uint32Arb,
    baseKey: fixedBytesArb(32),
  })
  .map((s) => ({ ...s, skipped: new Map(s.skipped.map((k): [string, SkippedKey] => [skipId(k.ratchetKey, k.n), k])) }));

const validRecordArb = sessionStateArb.map((s) => serializeSession(new Session(s)));

type RecordMutation = WireMutation;

export const sessionRecordProperties = [
  {
    name: 'session-record.roundtrip',
    description: 'session records: serialize → deserialize gives every field back; the bytes are canonical',
    arbitrary: sessionStateArb,
    check: (state: SessionState) => {
      const bytes = serializeSession(new Session(state));
      const s = untrusted('deserializeSession', RECORD, () => deserializeSession(bytes));
      if (s === undefined) throw new Error(`deserializeSession refuses what serializeSession wrote: ${toHex(bytes)}`);
      same(s.state, state, 'deserialize(serialize(state))');
      same(toHex(serializeSession(s)), toHex(bytes), 'serialize(deserialize(bytes))');
    },
    ciRuns: 1000,
    batchRuns: 2000,
    weight: 1,
  } satisfies PropertySpec<SessionState>,
  {
    name: 'session-record.hostile',
    description:
      'damaged records (bytes and protobuf fields), raw protobuf, random bytes: only OmemoError; what ' +
      'loads is stable',
    arbitrary: fc.oneof(
      {
        weight: 8,
        arbitrary: fc
          .tuple(validRecordArb, wireMutationArb)
          .map(([b, m]: [Uint8Array, RecordMutation]) =>
            m.kind === 'bytes' ? m.edits.reduce(applyByteEdit, b) : applyFieldEdits(b, m.edits),
          ),
      },
      { weight: 1, arbitrary: fc.array(rawFieldArb, { maxLength: 10 }).map(writeRawFields) },
      { weight: 1, arbitrary: bytesArb(0, 300) },
    ),
    check: (bytes: Uint8Array) => {
      const s = untrusted('deserializeSession', RECORD, () => deserializeSession(bytes));
      if (s === undefined) return;
      const once = serializeSession(s);
      const again = untrusted('deserializeSession', RECORD, () => deserializeSession(once));
      if (again === undefined) {
        throw new Error(`deserializeSession refuses the re-serialisation of what it loaded: ${toHex(once)}`);
      }
      same(again.state, s.state, 'deserialize(serialize(deserialize(x)))');
      same(toHex(serializeSession(again)), toHex(once), 'second serialisation');
    },
    ciRuns: 3000,
    batchRuns: 4000,
    weight: 2,
  } satisfies PropertySpec<Uint8Array>,
];
