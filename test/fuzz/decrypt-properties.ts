// Fuzzing: OmemoManager.decrypt end to end, both versions: real messages (normal and key exchange) mutated in
// their XML and in their key/payload bytes, and authentic messages carrying hostile payloads.
//
// The property of a mutated message M' of a real message M (plaintext P, to device b; P is exact bytes):
//  1. decrypt(M') returns or throws an OmemoError, nothing else;
//  2. when it throws, everything b keeps (store snapshot, commits, published pre keys, messages it sent or
//     published) is unchanged — except for one rate-limited session repair (one 'session-repair' message) when
//     the variant opens a chain b cannot follow; a variant whose <payload> is gone is reported `payloadMissing`
//     and changes nothing either;
//  3. when it returns, M' is taken for M: its payload is exactly P, sender, version and key-exchange flag are
//     M's, and at most one variant of M is ever accepted (a second one, and then M itself, must fail as
//     'duplicate-message' without any change) — the ratchet message can be used once;
//  4. an equivalent spelling of M (white space, line-wrapped base64, "1" for "true", a wrapping stanza) is
//     accepted unless a variant already was;
//  5. when no variant was accepted, M itself still decrypts to P afterwards, and so do the messages sent
//     before M and held back (skipped message keys survive the rejected variants).

import fc from 'fast-check';
import { fromBase64, toHex, utf8Decode, utf8Encode } from '../../src/crypto/bytes';
import { OmemoError } from '../../src/crypto/errors';
import { parseEncrypted } from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { buildEnvelope, parseEnvelope, type EnvelopeInput } from '../../src/omemo/stanzas/sce';
import type { DecryptResult } from '../../src/omemo/manager/session-manager';
import type { OmemoTransport } from '../../src/omemo/manager/transport';
import { parseXml } from '../../src/omemo/stanzas/xml';
import {
  InProcessRouter,
  elementOf,
  openDevice,
  snapshot,
  syncDeviceLists,
  type Device,
} from '../omemo/manager-fixture';
import {
  anyStringArb,
  applyByteEdit,
  byteEditArb,
  bytesArb,
  mutateXml,
  spellBase64,
  styleArb,
  tokenSoupArb,
  treeArb,
  xmlMutationArb,
  xmlStringArb,
  type ByteEdit,
  type XmlMutation,
} from './arbitraries';
import { equivalent, mutateWire, wireMutationArb, type PropertySpec, type WireMutation } from './parser-properties';
import { PLAIN_STYLE, allNodes, fromElement, writeContent, writeXml, type XNode, type XmlStyle } from './xml-model';

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

/** Error codes of rejected variants, counted (decrypt.test.ts checks the mutations reach every layer). */
export const rejectionCodes = new Map<string, number>();

// ------------------------------------------------------------------------------------------------ the world

/** Alice (one device) writes to Bob (b, under test, and b2, whose keys are in every message too). */
interface World {
  version: OmemoVersion;
  router: InProcessRouter;
  a: Device;
  b: Device;
  b2: Device;
  /** What b handed to its transport. */
  outbox: { sends: number; publishes: number; kinds: string[] };
}

function countingTransport(inner: OmemoTransport, outbox: World['outbox']): OmemoTransport {
  return {
    publish: (node, itemId, xml, options) => {
      outbox.publishes += 1;
      return inner.publish(node, itemId, xml, options);
    },
    fetch: (jid, node, itemId) => inner.fetch(jid, node, itemId),
    send: (to, xml, kind) => {
      outbox.sends += 1;
      outbox.kinds.push(kind);
      return inner.send(to, xml, kind);
    },
  };
}

async function makeWorld(version: OmemoVersion): Promise<World> {
  const router = new InProcessRouter();
  const outbox = { sends: 0, publishes: 0, kinds: [] as string[] };
  const versions = [version];
  const a = await openDevice(router, ALICE, 'a', { versions });
  const transport = countingTransport(router.connect(BOB, `${BOB}/b1`), outbox);
  const b = await openDevice(router, BOB, 'b1', { versions, transport });
  const b2 = await openDevice(router, BOB, 'b2', { versions });
  await syncDeviceLists(router, [a, b, b2]);
  // A session both ways: alice's key exchange, bob's automatic answer.
  await b.m.decrypt(ALICE, elementOf(await a.m.encrypt([BOB], 'hello'), version));
  await deliverToAlice({ version, router, a, b, b2, outbox });
  return { version, router, a, b, b2, outbox };
}

/** Alice reads what was sent to her (automatic answers, heartbeats); their failures are not under test. */
async function deliverToAlice(w: World): Promise<void> {
  for (const m of w.router.drain(w.a.inbox)) {
    try {
      await w.a.m.decrypt(m.from, m.xml);
    } catch (e) {
      if (!(e instanceof OmemoError)) throw e;
    }
  }
  w.router.drain(w.b2.inbox);
}

/** Everything of b that a rejected input must leave as it was. */
async function stateOf(w: World): Promise<string> {
  const addresses = [
    { version: w.version, jid: ALICE, deviceId: w.a.m.deviceId },
    { version: w.version, jid: BOB, deviceId: w.b2.m.deviceId },
  ];
  return JSON.stringify({
    store: await snapshot(w.b.store, [ALICE, BOB], addresses),
    commits: w.b.store.commits,
    preKeys: w.b.m.preKeyIds(),
    outbox: w.outbox,
  });
}

/** What Alice sends for `text`: exact bytes, so that an accepted variant can be compared byte for byte. */
function plaintextOf(version: OmemoVersion, text: string): Uint8Array {
  return utf8Encode(version === 'oldmemo' ? text : buildEnvelope({ body: text, from: ALICE, to: BOB, rpad: '' }));
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.constructor.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

function fail(what: string, xml: string): never {
  throw new Error(`${what}\n  input: ${JSON.stringify(xml.length > 4000 ? `${xml.slice(0, 4000)}…` : xml)}`);
}

// ------------------------------------------------------------------------------------------------ mutations

/** A mutation of a real message. */
type MessageMutation =
  | { kind: 'xml'; m: XmlMutation }
  | { kind: 'key'; ours: boolean; m: WireMutation; spelling: number; style: XmlStyle }
  | { kind: 'payload' | 'iv'; edits: ByteEdit[]; spelling: number; style: XmlStyle }
  | { kind: 'equivalent'; style: XmlStyle };

const messageMutationArb: fc.Arbitrary<MessageMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('xml' as const), m: xmlMutationArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('key' as const),
      ours: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      m: wireMutationArb,
      spelling: fc.nat(7),
      style: styleArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('payload' as const, 'iv' as const),
      edits: fc.array(byteEditArb, { minLength: 1, maxLength: 3 }),
      spelling: fc.nat(7),
      style: styleArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('equivalent' as const), style: styleArb }) },
);

function textOf(n: XNode): string {
  return n.content.filter((c): c is string => typeof c === 'string').join('');
}

/** The <key> elements of a message's tree: ours (for b) and the others. */
function keyNodes(root: XNode, w: World): { ours: XNode[]; others: XNode[] } {
  const ours: XNode[] = [];
  const others: XNode[] = [];
  const walk = (n: XNode, jid: string | undefined) => {
    for (const c of n.content) {
      if (typeof c === 'string') continue;
      if (c.name === 'key') {
        const rid = c.attrs.find(([k]) => k === 'rid')?.[1];
        const mine = rid === String(w.b.m.deviceId) && (w.version === 'oldmemo' || jid === BOB);
        (mine ? ours : others).push(c);
      } else {
        walk(c, c.name === 'keys' ? c.attrs.find(([k]) => k === 'jid')?.[1] : jid);
      }
    }
  };
  walk(root, undefined);
  return { ours, others };
}

function applyMessageMutation(w: World, xml: string, mu: MessageMutation): string {
  switch (mu.kind) {
    case 'xml':
      return mutateXml(xml, mu.m);
    case 'equivalent':
      return equivalent(xml, mu.style, { ignoresUnknownChildren: false, reorder: false });
    case 'key': {
      const root = fromElement(parseXml(xml));
      const { ours, others } = keyNodes(root, w);
      const el = (mu.ours ? ours : others)[0] ?? ours[0];
      if (el === undefined) return xml;
      const bytes = fromBase64(textOf(el));
      if (bytes === undefined) return xml;
      const kex = el.attrs.some(([k, v]) => (k === 'kex' || k === 'prekey') && v === 'true');
      el.content = [spellBase64(mutateWire(w.version, kex, bytes, mu.m), mu.spelling)];
      return writeXml(root, mu.style);
    }
    case 'payload':
    case 'iv': {
      const root = fromElement(parseXml(xml));
      const el = allNodes(root).find((n) => n.name === mu.kind);
      if (el === undefined) return xml;
      const bytes = fromBase64(textOf(el));
      if (bytes === undefined) return xml;
      el.content = [spellBase64(mu.edits.reduce(applyByteEdit, bytes), mu.spelling)];
      return writeXml(root, mu.style);
    }
  }
}

/** Whether `variant` is `original` with its `<payload>` removed. */
function stripped(original: string, variant: string): boolean {
  try {
    return parseEncrypted(original).payload !== undefined && parseEncrypted(variant).payload === undefined;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------------------ mutated messages

interface MutatedCase {
  text: string;
  /** Messages Alice sends before M, delivered only after it. */
  held: number;
  /** Bob writes to Alice first (normal messages: M then opens a new ratchet chain). */
  reply: boolean;
  mutations: MessageMutation[];
}

const mutatedCaseArb: fc.Arbitrary<MutatedCase> = fc.record({
  text: fc.oneof(xmlStringArb(30), fc.constantFrom('', 'hello', 'é🎉<&>')),
  held: fc.nat(2),
  reply: fc.boolean(),
  mutations: fc.array(messageMutationArb, { minLength: 1, maxLength: 4 }),
});

function checkAccepted(w: World, r: DecryptResult, expected: Uint8Array, keyExchange: boolean, xml: string): void {
  const problems: string[] = [];
  if (r.payload === undefined || toHex(r.payload) !== toHex(expected)) {
    problems.push(`payload ${r.payload ? toHex(r.payload) : 'none'} ≠ ${toHex(expected)}`);
  }
  if (r.sender.jid !== ALICE || r.sender.deviceId !== w.a.m.deviceId) {
    problems.push(`sender ${JSON.stringify(r.sender)}`);
  }
  if (r.version !== w.version) problems.push(`version ${r.version}`);
  if (r.keyExchange !== keyExchange) problems.push(`keyExchange ${r.keyExchange}`);
  if (problems.length > 0) fail(`a variant was accepted but is not the original message: ${problems.join('; ')}`, xml);
}

async function checkMutatedCase(w: World, kind: 'normal' | 'kex', c: MutatedCase): Promise<void> {
  const { version, a, b } = w;
  if (kind === 'kex') await a.m.buildSession(BOB, b.m.deviceId, version);
  else if (c.reply) {
    await a.m.decrypt(BOB, elementOf(await b.m.encrypt([ALICE], 'reply'), version));
    w.router.drain(w.b2.inbox);
  }
  const held: { xml: string; payload: Uint8Array }[] = [];
  for (let i = 0; i < c.held; i++) {
    const payload = plaintextOf(version, `held ${i}`);
    held.push({ xml: elementOf(await a.m.encrypt([BOB], payload), version), payload });
  }
  const expected = plaintextOf(version, c.text);
  const original = elementOf(await a.m.encrypt([BOB], expected), version);
  const keyExchange = kind === 'kex';

  let accepted = false;
  for (const mu of c.mutations) {
    const variant = applyMessageMutation(w, original, mu);
    const before = await stateOf(w);
    let r: DecryptResult;
    try {
      r = await b.m.decrypt(ALICE, variant);
    } catch (e) {
      if (!(e instanceof OmemoError)) fail(`decrypt threw something else than an OmemoError: ${describe(e)}`, variant);
      rejectionCodes.set(e.code, (rejectionCodes.get(e.code) ?? 0) + 1);
      const why = `${e.code}: ${e.message}`;
      // A refusal changes nothing, with one exception: a normal message b holds no usable session for (a chain it
      // cannot follow) makes b repair the session: one 'session-repair' message, at most once per device per
      // interval (the clock stands still here: once per world). Everything below must then still hold.
      if ((await stateOf(w)) !== before) {
        const repairs = w.outbox.kinds.filter((k) => k === 'session-repair').length;
        const sentNow = w.outbox.kinds.slice(JSON.parse(before).outbox.kinds.length);
        if (sentNow.join() !== 'session-repair' || repairs !== 1) {
          fail(`a rejected variant (${why}) changed b's state (sent: ${sentNow.join(', ') || 'nothing'})`, variant);
        }
      }
      if (mu.kind === 'equivalent' && !accepted) fail(`an equivalent spelling was refused (${why})`, variant);
      continue;
    }
    if (r.payloadMissing) {
      // A message whose <payload> went missing is reported as such and stores nothing (its key stays unused).
      if (!stripped(original, variant)) fail('payloadMissing for a message that has its payload', variant);
      if ((await stateOf(w)) !== before) fail("a message without its payload changed b's state", variant);
      continue;
    }
    if (accepted) fail('a second variant of one message was accepted', variant);
    checkAccepted(w, r, expected, keyExchange, variant);
    accepted = true;
  }

  const before = await stateOf(w);
  let real: DecryptResult | undefined;
  let refusal: unknown;
  try {
    real = await b.m.decrypt(ALICE, original);
  } catch (e) {
    refusal = e;
  }
  if (!accepted) {
    if (real === undefined) {
      fail(`the real message no longer decrypts after the rejected variants: ${describe(refusal)}`, original);
    }
    checkAccepted(w, real, expected, keyExchange, original);
  } else {
    if (real !== undefined) fail('the real message was accepted after a variant of it had been', original);
    if (!(refusal instanceof OmemoError) || refusal.code !== 'duplicate-message') {
      const got = describe(refusal);
      fail(`the real message after an accepted variant: expected duplicate-message, got ${got}`, original);
    }
    if ((await stateOf(w)) !== before) fail("the refused real message changed b's state", original);
  }
  for (const h of held) {
    let r: DecryptResult;
    try {
      r = await b.m.decrypt(ALICE, h.xml);
    } catch (e) {
      fail(`a message sent before the mutated one no longer decrypts: ${describe(e)}`, h.xml);
    }
    checkAccepted(w, r, h.payload, keyExchange, h.xml);
  }
  // Alice reads b's answers (a device that never answers is skipped as stale after a while).
  await deliverToAlice(w);
}

// ------------------------------------------------------------------------------------------------ hostile payloads

const WEIRD_JIDS = [
  '',
  '/r',
  '/',
  'a'.repeat(3100),
  `${'a'.repeat(3071)}/r`,
  ' ',
  ALICE,
  `${ALICE}/phone`,
  'mallory@evil.example',
  'ALICE@EXAMPLE.ORG',
];
const MIN_STAMP_MS = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_STAMP_MS = Date.parse('9999-12-31T23:59:59.999Z');

const weirdEnvelopeArb: fc.Arbitrary<string> = fc
  .record({
    body: fc.option(xmlStringArb(30), { nil: undefined }),
    content: fc.array(treeArb, { maxLength: 2 }),
    from: fc.option(fc.oneof(fc.constantFrom(...WEIRD_JIDS), xmlStringArb(12)), { nil: undefined }),
    to: fc.option(fc.oneof(fc.constantFrom(...WEIRD_JIDS), xmlStringArb(12)), { nil: undefined }),
    time: fc.option(
      fc.integer({ min: MIN_STAMP_MS, max: MAX_STAMP_MS }).map((t) => new Date(t)),
      { nil: undefined },
    ),
    rpad: xmlStringArb(10),
  })
  .map(({ body, content, from, to, time, rpad }) => {
    const input: EnvelopeInput = { rpad };
    if (body !== undefined) input.body = body;
    if (from !== undefined) input.from = from;
    if (to !== undefined) input.to = to;
    if (time !== undefined) input.time = time;
    if (content.length > 0) input.contentXml = writeContent(content, PLAIN_STYLE, 'urn:xmpp:sce:1');
    try {
      return buildEnvelope(input);
    } catch {
      return '<envelope xmlns="urn:xmpp:sce:1"><content/></envelope>';
    }
  });

const hostilePayloadArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: weirdEnvelopeArb.map(utf8Encode) },
  { weight: 3, arbitrary: fc.tuple(weirdEnvelopeArb, xmlMutationArb).map(([x, m]) => utf8Encode(mutateXml(x, m))) },
  { weight: 1, arbitrary: bytesArb(0, 200) },
  { weight: 1, arbitrary: anyStringArb.map(utf8Encode) },
  { weight: 1, arbitrary: tokenSoupArb.map(utf8Encode) },
);

function bareOf(jid: string): string {
  const slash = jid.indexOf('/');
  return slash < 0 ? jid : jid.slice(0, slash);
}

async function checkHostilePayload(w: World, payload: Uint8Array): Promise<void> {
  let decoded: string | undefined;
  try {
    decoded = utf8Decode(payload);
  } catch {
    decoded = undefined;
  }
  let envelope;
  if (w.version === 'twomemo' && decoded !== undefined) {
    try {
      envelope = parseEnvelope(decoded);
    } catch {
      envelope = undefined;
    }
  }
  const xml = elementOf(await w.a.m.encrypt([BOB], payload), w.version);
  let r: DecryptResult;
  try {
    r = await w.b.m.decrypt(ALICE, xml);
  } catch (e) {
    fail(`an authentic message with this payload was refused: ${describe(e)}\n  payload: ${toHex(payload)}`, xml);
  }
  const problems: string[] = [];
  if (r.payload === undefined || toHex(r.payload) !== toHex(payload)) {
    problems.push(`payload ${r.payload ? toHex(r.payload) : 'none'}`);
  }
  const text = envelope ? envelope.body : decoded;
  if (r.text !== text) problems.push(`text ${JSON.stringify(r.text)} ≠ ${JSON.stringify(text)}`);
  if (w.version === 'twomemo') {
    if ((r.envelope === undefined) !== (envelope === undefined)) {
      problems.push(`envelope ${r.envelope ? 'parsed' : 'missing'}`);
    }
    if (envelope) {
      const matches = envelope.from === undefined || bareOf(envelope.from) === ALICE;
      if (r.envelopeFromMatches !== matches) {
        problems.push(`envelopeFromMatches ${String(r.envelopeFromMatches)} ≠ ${String(matches)}`);
      }
    }
  }
  if (problems.length > 0) fail(`wrong result: ${problems.join('; ')}\n  payload: ${toHex(payload)}`, xml);
  await deliverToAlice(w);
}

// ------------------------------------------------------------------------------------------------ the list

function mutated(
  version: OmemoVersion,
  kind: 'normal' | 'kex',
  runs: { ci: number; batch: number; weight: number },
): PropertySpec<MutatedCase, World> {
  return {
    name: `decrypt.${version}.${kind}`,
    description:
      `${version} ${kind === 'kex' ? 'key exchanges' : 'normal messages'}, mutated (XML, key bytes, protobuf fields, ` +
      'payload, iv): only OmemoError, no state change on refusal, a variant accepted only as the original, ' +
      'the original still decrypts',
    arbitrary: mutatedCaseArb,
    prepare: () => makeWorld(version),
    check: (c, w) => checkMutatedCase(w, kind, c),
    ciRuns: runs.ci,
    batchRuns: runs.batch,
    weight: runs.weight,
  };
}

function hostile(version: OmemoVersion): PropertySpec<Uint8Array, World> {
  return {
    name: `decrypt.${version}.payload`,
    description:
      `${version}: authentic messages whose payload is hostile (odd SCE envelopes and JIDs, random bytes, ` +
      'invalid UTF-8): decrypt returns it, never throws',
    arbitrary: hostilePayloadArb,
    prepare: () => makeWorld(version),
    check: (p, w) => checkHostilePayload(w, p),
    ciRuns: 300,
    batchRuns: 300,
    weight: 2,
  };
}

export const decryptProperties = [
  mutated('oldmemo', 'normal', { ci: 300, batch: 200, weight: 3 }),
  mutated('oldmemo', 'kex', { ci: 150, batch: 100, weight: 3 }),
  mutated('twomemo', 'normal', { ci: 300, batch: 200, weight: 3 }),
  mutated('twomemo', 'kex', { ci: 150, batch: 100, weight: 3 }),
  hostile('oldmemo'),
  hostile('twomemo'),
];
