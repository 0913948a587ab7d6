// XEP-0420 0.4 §3-4 (as used by XEP-0384 0.9 §6.1): the SCE envelope that is the OMEMO 2 plaintext.

import { OmemoError } from '../../crypto/errors';
import { randomBytes as secureRandomBytes } from '../../crypto/random';
import { NS_JABBER_CLIENT, NS_SCE } from './namespaces';
import { optionalChild, requireOneChild } from './wire-values';
import { attr, malformed, parseXml, type XmlElement } from './xml';
import { escapeXml, escapeXmlAttr, serializeElement } from './xml-serialize';
import { scanPlainEnvelope } from './sce-plain';
import { inStampRange, parseStamp } from './xmpp-datetime';

/** Longest random `<rpad>` written by `buildEnvelope` (length is uniform in 0..MAX_RANDOM_RPAD_CHARS). */
export const MAX_RANDOM_RPAD_CHARS = 200;

const RPAD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Source of random bytes: returns `n` fresh random bytes. */
export type RandomBytes = (n: number) => Uint8Array;

const defaultRng: RandomBytes = secureRandomBytes;

export interface EnvelopeInput {
  /** Message text, written as `<body xmlns='jabber:client'>` inside `<content>` (escaped here). */
  body?: string;
  /** Further content, raw XML (well-formed, with its own xmlns declarations); written after the body. */
  contentXml?: string;
  /** Sender's JID (`<from jid>`, XEP-0420 affix). */
  from?: string;
  /** Recipient's JID (`<to jid>`). */
  to?: string;
  /** Timestamp (`<time stamp>`, XEP-0082). */
  time?: Date;
  /** Padding text; when omitted, 0..MAX_RANDOM_RPAD_CHARS random characters. An empty string writes none. */
  rpad?: string;
}

export interface ParsedEnvelope {
  /** Text of the first `<body>` in `<content>` (entities decoded), if any. */
  body?: string;
  /** The children of `<content>` re-serialised, each with its namespace declared. */
  contentXml: string;
  rpad?: string;
  from?: string;
  to?: string;
  time?: Date;
}

function randomRpad(rng: RandomBytes): string {
  const range = MAX_RANDOM_RPAD_CHARS + 1;
  const limit = 65536 - (65536 % range); // rejection sampling: uniform length
  let length: number;
  for (;;) {
    const b = randomBytes(rng, 2);
    const v = (b[0]! << 8) | b[1]!;
    if (v < limit) {
      length = v % range;
      break;
    }
  }
  if (length === 0) return '';
  const bytes = randomBytes(rng, length);
  let s = '';
  for (let i = 0; i < length; i++) s += RPAD_ALPHABET[bytes[i]! & 63]!;
  return s;
}

function randomBytes(rng: RandomBytes, n: number): Uint8Array {
  const b = rng(n);
  if (!(b instanceof Uint8Array) || b.length !== n) throw new TypeError(`rng(${n}) must return ${n} bytes`);
  return b;
}

function optionalString(value: unknown, name: string): value is string {
  if (value === undefined) return false;
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`);
  return true;
}

/**
 * Builds `<envelope xmlns='urn:xmpp:sce:1'><content>…</content><rpad>…</rpad><time stamp/><to jid/><from jid/></envelope>`.
 * `rng` supplies the random padding (default: `crypto.getRandomValues`). Throws TypeError/RangeError for
 * non-string fields, an invalid Date or one outside the years 0000..9999 (UTC), characters XML cannot carry,
 * or `contentXml` that is not well-formed.
 */
export function buildEnvelope(input: EnvelopeInput, rng: RandomBytes = defaultRng): string {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
  if (typeof rng !== 'function') throw new TypeError('rng must be a function');
  let content = '';
  if (optionalString(input.body, 'body')) {
    content += `<body xmlns="${NS_JABBER_CLIENT}">${escapeXml(input.body, 'body')}</body>`;
  }
  if (optionalString(input.contentXml, 'contentXml')) {
    try {
      parseXml(`<content xmlns="${NS_SCE}">${input.contentXml}</content>`);
    } catch (e) {
      if (e instanceof OmemoError) throw new RangeError(`contentXml is not usable XML: ${e.message}`);
      throw e;
    }
    content += input.contentXml;
  }
  let out = `<envelope xmlns="${NS_SCE}">`;
  out += content === '' ? '<content/>' : `<content>${content}</content>`;
  const rpad = optionalString(input.rpad, 'rpad') ? input.rpad : randomRpad(rng);
  if (rpad !== '') out += `<rpad>${escapeXml(rpad, 'rpad')}</rpad>`;
  if (input.time !== undefined) {
    if (!(input.time instanceof Date)) throw new TypeError('time must be a Date');
    if (Number.isNaN(input.time.getTime())) throw new RangeError('time is an invalid Date');
    if (!inStampRange(input.time.getTime())) {
      const iso = input.time.toISOString();
      throw new RangeError(`time ${iso} is outside the years 0000..9999 a XEP-0082 stamp can carry`);
    }
    out += `<time stamp="${input.time.toISOString()}"/>`;
  }
  if (optionalString(input.to, 'to')) out += `<to jid="${escapeXmlAttr(input.to, 'to')}"/>`;
  if (optionalString(input.from, 'from')) out += `<from jid="${escapeXmlAttr(input.from, 'from')}"/>`;
  return `${out}</envelope>`;
}

function jidOf(el: XmlElement | undefined): string | undefined {
  if (!el) return undefined;
  const jid = attr(el, 'jid');
  if (jid === undefined) throw malformed(`SCE <${el.name}> has no jid`);
  return jid;
}

/**
 * Parses an SCE envelope (the decrypted OMEMO 2 plaintext as text). The root must be
 * `<envelope xmlns='urn:xmpp:sce:1'>` with exactly one `<content>`. A `<body>` in `jabber:client` (or without
 * its own namespace) gives `body`. Throws OmemoError('malformed-stanza') if the text is not an envelope, or
 * for a bad `<time stamp>` (also one outside the years 0000..9999 UTC), a `<from>`/`<to>` without jid, or
 * repeated affixes.
 */
export function parseEnvelope(text: string): ParsedEnvelope {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
  // The shape buildEnvelope writes is read from the text (sce-plain.ts); anything else takes the tree.
  return scanPlainEnvelope(text) ?? parseEnvelopeThoroughly(text);
}

/**
 * parseEnvelope without its fast path: the element tree and every check. Exported for the tests that hold the fast
 * path to it.
 * @throws as parseEnvelope.
 */
export function parseEnvelopeThoroughly(text: string): ParsedEnvelope {
  const root = parseXml(text);
  if (root.name !== 'envelope' || root.ns !== NS_SCE) {
    throw malformed(`not an SCE envelope: root is <${root.name}${root.ns === '' ? '' : ` xmlns='${root.ns}'`}>`);
  }
  const content = requireOneChild(root, 'content', NS_SCE);
  const out: ParsedEnvelope = {
    contentXml: content.content.map((p) => (typeof p === 'string' ? escapeXml(p) : serializeElement(p))).join(''),
  };
  const body = content.children.find(
    (c) => c.name === 'body' && (c.ns === NS_JABBER_CLIENT || c.ns === NS_SCE || c.ns === ''),
  );
  if (body) out.body = body.text;
  const rpad = optionalChild(root, 'rpad', NS_SCE);
  if (rpad) out.rpad = rpad.text;
  const from = jidOf(optionalChild(root, 'from', NS_SCE));
  if (from !== undefined) out.from = from;
  const to = jidOf(optionalChild(root, 'to', NS_SCE));
  if (to !== undefined) out.to = to;
  const timeEl = optionalChild(root, 'time', NS_SCE);
  if (timeEl) {
    const stamp = attr(timeEl, 'stamp');
    const time = parseStamp(stamp);
    if (time === undefined) throw malformed(`SCE <time> has no valid stamp: ${JSON.stringify(stamp ?? null)}`);
    out.time = time;
  }
  return out;
}
