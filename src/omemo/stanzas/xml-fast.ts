// XML 1.0 §2-3 and Namespaces in XML §3-6, for the plain shape OMEMO stanzas have: a fast scanner that builds the
// same tree as `parseXml` (xml.ts) for documents made only of unprefixed elements, unprefixed attributes in
// quotes, `xmlns` declarations, text and the predefined entities / character references. Anything else — a
// prefix, a comment, CDATA, a PI or declaration, a `>` or `]` in text, a carriage return, a duplicate attribute,
// an unusual name, a mismatched tag — makes it step aside (undefined), and fast-xml-parser with every check
// decides (parseXml). It never throws, so errors and their messages stay parseXml's. Property tests check that
// whatever it accepts, parseXml accepts as the same tree (test/omemo/xml-fast.test.ts).

import type { XmlElement } from './xml';
import { emptyAttributes } from './xml-attributes';
import { decodeReferences } from './xml-references';
import { AMP, APOS, EQ, GT, LT, QUOT, SLASH } from './xml-char-codes';

/** The namespaces a default `xmlns` may not name (Namespaces in XML §3): the library path refuses them. */
const RESERVED_NAMESPACES = new Set(['http://www.w3.org/XML/1998/namespace', 'http://www.w3.org/2000/xmlns/']);

/** ASCII letters and `_` start a name here; letters, digits, `_`, `-`, `.` continue it (a subset of XML's). */
function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
}
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09;
}

/** Names the library path marks or refuses (inherited object properties, `__proto__`, …): left to it. */
const UNORDINARY_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype']);
/** The shortest of them (`valueOf`): most names in stanzas (`key`, `rid`, `sid`, `jid`) are shorter, no lookup. */
const SHORTEST_UNORDINARY = Math.min(...[...UNORDINARY_NAMES].map((n) => n.length));
function isOrdinaryName(name: string): boolean {
  return name.length < SHORTEST_UNORDINARY || !UNORDINARY_NAMES.has(name);
}

/** A run with its references decoded, or undefined when one does not decode (the thorough path reports it). */
function decode(s: string): string | undefined {
  const decoded = decodeReferences(s);
  return typeof decoded === 'string' ? decoded : undefined;
}

/**
 * The root element of `text` when the document has the plain shape (see the module comment), or undefined to let
 * `parseXml` decide. `text` must already have passed parseXml's size and character checks; `maxDepth` is its
 * nesting bound.
 */
export function scanPlainXml(text: string, maxDepth: number): XmlElement | undefined {
  const n = text.length;
  let i = 0;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  const stack: { el: XmlElement; qname: string }[] = [];
  const namespaces: string[] = [''];
  let root: XmlElement | undefined;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== LT) {
      // Text: up to the next tag; `>` and `]` are left to the library (`]]>` is an error there).
      const lt = text.indexOf('<', i);
      const end = lt < 0 ? n : lt;
      const raw = text.slice(i, end);
      if (raw.includes('>') || raw.includes(']')) return undefined;
      if (stack.length === 0) {
        // Text outside the root: the library's error. XML white space only (S, XML 1.0 §2.3): trim() would also
        // take U+00A0, U+2028, U+3000 and the like for white space.
        for (let k = 0; k < raw.length; k++) if (!isSpace(raw.charCodeAt(k))) return undefined;
      } else {
        const piece = decode(raw);
        if (piece === undefined) return undefined;
        if (piece !== '') {
          const top = stack[stack.length - 1]!.el;
          top.text += piece;
          const last = top.content.length - 1;
          if (last >= 0 && typeof top.content[last] === 'string') top.content[last] += piece;
          else top.content.push(piece);
        }
      }
      i = end;
      continue;
    }
    const next = text.charCodeAt(i + 1);
    if (next === SLASH) {
      // End tag: `</name>` with optional space before `>`.
      let j = i + 2;
      const start = j;
      while (j < n && isNameChar(text.charCodeAt(j))) j++;
      const qname = text.slice(start, j);
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== GT) return undefined;
      const open = stack.pop();
      if (open === undefined || open.qname !== qname) return undefined;
      namespaces.pop();
      i = j + 1;
      if (stack.length === 0) {
        while (i < n && isSpace(text.charCodeAt(i))) i++;
        return i === n ? root : undefined; // anything after the root: the library decides
      }
      continue;
    }
    if (!isNameStart(next) || (root !== undefined && stack.length === 0)) return undefined; // <!, <?, 2nd root
    let j = i + 2;
    while (j < n && isNameChar(text.charCodeAt(j))) j++;
    const qname = text.slice(i + 1, j);
    if (!isOrdinaryName(qname) || stack.length + 1 > maxDepth) return undefined;
    let ns = namespaces[namespaces.length - 1]!;
    let declared = false;
    const attrs = emptyAttributes();
    let selfClosing = false;
    for (;;) {
      const before = j;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      const d = text.charCodeAt(j);
      if (d === GT) {
        j++;
        break;
      }
      if (d === SLASH) {
        if (text.charCodeAt(j + 1) !== GT) return undefined;
        selfClosing = true;
        j += 2;
        break;
      }
      if (j === before || !isNameStart(d)) return undefined; // attributes need space before them
      const nameStart = j;
      while (j < n && isNameChar(text.charCodeAt(j))) j++;
      const name = text.slice(nameStart, j);
      if (text.charCodeAt(j) !== EQ) return undefined; // no space around `=` in the plain shape
      const quote = text.charCodeAt(j + 1);
      if (quote !== QUOT && quote !== APOS) return undefined;
      const close = text.indexOf(quote === QUOT ? '"' : "'", j + 2);
      if (close < 0) return undefined;
      // Literal white space other than a space is normalised by the library; `<` and `>` are its to judge. A loop:
      // values are short (ids, JIDs), where a regular expression's set-up costs more than the scan.
      let amp = false;
      for (let k = j + 2; k < close; k++) {
        const v = text.charCodeAt(k);
        if (v === LT || v === GT || v === 0x09 || v === 0x0a) return undefined;
        if (v === AMP) amp = true;
      }
      const raw = text.slice(j + 2, close);
      const value = amp ? decode(raw) : raw;
      if (value === undefined) return undefined;
      j = close + 1;
      if (name === 'xmlns') {
        if (declared || RESERVED_NAMESPACES.has(value)) return undefined;
        declared = true;
        ns = value;
        continue;
      }
      if (!isOrdinaryName(name) || Object.hasOwn(attrs, name)) return undefined;
      attrs[name] = value;
    }
    const el: XmlElement = { name: qname, ns, attrs, children: [], text: '', content: [] };
    const parent = stack[stack.length - 1];
    if (parent === undefined) root = el;
    else {
      parent.el.children.push(el);
      parent.el.content.push(el);
    }
    if (selfClosing) {
      if (parent === undefined) {
        while (j < n && isSpace(text.charCodeAt(j))) j++;
        return j === n ? root : undefined;
      }
    } else {
      stack.push({ el, qname });
      namespaces.push(ns);
    }
    i = j;
  }
  return undefined; // unclosed elements or no root: the library's error
}
