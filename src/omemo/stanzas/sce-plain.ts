// XEP-0420 0.4 §3-4 SCE envelopes in the plain shape `buildEnvelope` writes (`<content>` holding at most one
// `<body xmlns='jabber:client'>` of text, then `<rpad>` and the `<time>`, `<to>`, `<from>` affixes), read straight
// from the text: a steady decrypt parses one per message, and the element tree cost more than the rest of the
// envelope's work. It never throws: anything else (other content, white space between elements, a `>` or `]` in
// text, a reference in an attribute, a repeated or unknown affix, a stamp parseEnvelope would refuse) makes it step
// aside (undefined), and parseEnvelope's tree path decides, with its errors. Whatever it reads, the tree path reads
// the same way (test/omemo/sce-plain.test.ts, fuzz property `sce.plain-path`).

import { NS_JABBER_CLIENT, NS_SCE } from './namespaces';
import type { ParsedEnvelope } from './sce';
import { firstNonXmlChar, MAX_STANZA_CHARS } from './xml';
import { decodeReferences } from './xml-references';
import { escapeXml } from './xml-serialize';
import { parseStamp } from './xmpp-datetime';
import { AMP, APOS, GT, LT, QUOT } from './xml-char-codes';

const BODY_OPEN = 'body xmlns=';
const BODY_CLOSE = '</body></content>';

/**
 * Position after `quote value quote` at `i` when `value` is exactly the text there (either quote style), else −1.
 */
function quoted(text: string, i: number, value: string): number {
  const q = text.charCodeAt(i);
  if (q !== QUOT && q !== APOS) return -1;
  if (!text.startsWith(value, i + 1) || text.charCodeAt(i + 1 + value.length) !== q) return -1;
  return i + 2 + value.length;
}

/** The text from `i` up to the next `<`, decoded, when it has no `>` or `]` (the tree path's to judge) and its
 * references decode; with the position of that `<`. */
function textAt(text: string, i: number): { raw: string; value: string; end: number } | undefined {
  const end = text.indexOf('<', i);
  if (end < 0) return undefined;
  const raw = text.slice(i, end);
  if (raw.includes('>') || raw.includes(']')) return undefined;
  const value = decodeReferences(raw);
  return typeof value === 'string' ? { raw, value, end } : undefined;
}

/** The value of a quoted attribute at `i` and the position after it; no reference, `<`, `>`, TAB or LF in it. */
function attributeAt(text: string, i: number): { value: string; end: number } | undefined {
  const q = text.charCodeAt(i);
  if (q !== QUOT && q !== APOS) return undefined;
  const close = text.indexOf(q === QUOT ? '"' : "'", i + 1);
  if (close < 0) return undefined;
  for (let k = i + 1; k < close; k++) {
    const c = text.charCodeAt(k);
    if (c === AMP || c === LT || c === GT || c === 0x09 || c === 0x0a) return undefined;
  }
  return { value: text.slice(i + 1, close), end: close + 1 };
}

/**
 * The envelope `text` holds when it has the plain shape (see the module comment), exactly as parseEnvelope's tree
 * path would return it, or undefined to let that path decide.
 */
export function scanPlainEnvelope(text: string): ParsedEnvelope | undefined {
  if (text.length > MAX_STANZA_CHARS || text.indexOf('\r') >= 0 || firstNonXmlChar(text) !== undefined)
    return undefined;
  if (!text.startsWith('<envelope xmlns=')) return undefined;
  let i = quoted(text, 16, NS_SCE);
  if (i < 0 || text.charCodeAt(i) !== GT) return undefined;
  i++;
  let contentXml = '';
  let body: string | undefined;
  if (text.startsWith('<content/>', i)) i += 10;
  else if (text.startsWith('<content></content>', i)) i += 19;
  else if (text.startsWith('<content><', i) && text.startsWith(BODY_OPEN, i + 10)) {
    i = quoted(text, i + 10 + BODY_OPEN.length, NS_JABBER_CLIENT);
    if (i < 0 || text.charCodeAt(i) !== GT) return undefined;
    const t = textAt(text, i + 1);
    if (t === undefined || !text.startsWith(BODY_CLOSE, t.end)) return undefined;
    body = t.value;
    // What serializeElement writes for the body (sce.ts): empty, self-closed; raw text without a reference is
    // already in its escaped form (no `<`, `>`, `&` or CR in it).
    const open = `<body xmlns="${NS_JABBER_CLIENT}"`;
    if (t.raw === '') contentXml = `${open}/>`;
    else if (t.raw === t.value) contentXml = `${open}>${t.raw}</body>`;
    else {
      try {
        contentXml = `${open}>${escapeXml(t.value)}</body>`;
      } catch {
        return undefined; // a decoded character the writer refuses: the tree path says so
      }
    }
    i = t.end + BODY_CLOSE.length;
  } else return undefined;
  const out: ParsedEnvelope = { contentXml };
  if (body !== undefined) out.body = body;
  if (text.startsWith('<rpad>', i)) {
    const t = textAt(text, i + 6);
    if (t === undefined || !text.startsWith('</rpad>', t.end)) return undefined;
    out.rpad = t.value;
    i = t.end + 7;
  }
  let from: string | undefined;
  let to: string | undefined;
  let time: Date | undefined;
  for (;;) {
    let name: 'time' | 'to' | 'from';
    if (text.startsWith('<time stamp=', i)) name = 'time';
    else if (text.startsWith('<to jid=', i)) name = 'to';
    else if (text.startsWith('<from jid=', i)) name = 'from';
    else break;
    const a = attributeAt(text, i + (name === 'time' ? 12 : name === 'to' ? 8 : 10));
    if (a === undefined || !text.startsWith('/>', a.end)) return undefined;
    i = a.end + 2;
    if (name === 'time') {
      if (time !== undefined) return undefined;
      time = parseStamp(a.value);
      if (time === undefined) return undefined;
    } else if (name === 'to') {
      if (to !== undefined) return undefined;
      to = a.value;
    } else {
      if (from !== undefined) return undefined;
      from = a.value;
    }
  }
  if (i + 11 !== text.length || !text.startsWith('</envelope>', i)) return undefined;
  if (from !== undefined) out.from = from;
  if (to !== undefined) out.to = to;
  if (time !== undefined) out.time = time;
  return out;
}
