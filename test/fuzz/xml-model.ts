// Fuzzing support for XML: a plain element model, a writer that spells one model in many equivalent XML forms
// (prefixes, quotes, character references, CDATA, comments, prolog) and a comparable normal form. No tests here.

import { NS_XML, type XmlElement } from '../../src/omemo/stanzas/xml';

/** An element: `attrs` are [key, value] pairs, key `local` or Clark `{namespace}local` (as in XmlElement). */
export interface XNode {
  name: string;
  ns: string;
  attrs: [string, string][];
  content: (XNode | string)[];
}

/** Knobs of `writeXml`: `seed` drives every per-node choice, `level` (0..3) how often odd spellings are used. */
export interface XmlStyle {
  seed: number;
  level: number;
}

/** The plain spelling: what a canonical writer would produce. */
export const PLAIN_STYLE: XmlStyle = { seed: 1, level: 0 };

/** A small deterministic PRNG (mulberry32) for the writer's choices. */
export class Chooser {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The model of a parsed element. */
export function fromElement(el: XmlElement): XNode {
  return {
    name: el.name,
    ns: el.ns,
    attrs: Object.keys(el.attrs).map((k) => [k, el.attrs[k]!] as [string, string]),
    content: el.content.map((c) => (typeof c === 'string' ? c : fromElement(c))),
  };
}

/** Normal form for comparisons: attributes sorted, adjacent text merged, empty text dropped. */
export function normalise(node: XNode): XNode {
  const content: (XNode | string)[] = [];
  for (const c of node.content) {
    if (typeof c !== 'string') content.push(normalise(c));
    else if (c !== '') {
      const last = content[content.length - 1];
      if (typeof last === 'string') content[content.length - 1] = last + c;
      else content.push(c);
    }
  }
  const attrs = [...node.attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { name: node.name, ns: node.ns, attrs, content };
}

/** A canonical string of a model (for equality assertions and messages). */
export function modelKey(node: XNode): string {
  return JSON.stringify(normalise(node));
}

/** Every element of a tree in document order (the root first). */
export function allNodes(root: XNode): XNode[] {
  const out: XNode[] = [root];
  for (const c of root.content) if (typeof c !== 'string') out.push(...allNodes(c));
  return out;
}

/** A deep copy. */
export function cloneNode(node: XNode): XNode {
  return {
    name: node.name,
    ns: node.ns,
    attrs: node.attrs.map(([k, v]) => [k, v] as [string, string]),
    content: node.content.map((c) => (typeof c === 'string' ? c : cloneNode(c))),
  };
}

const SPACES = [' ', ' ', ' ', '  ', '\n', '\t', '\r\n', '\n  '];
const COMMENT_TEXT = ['', ' c ', 'x', ' <a/> & ', 'é', ' - '];
const PI_TEXT = ['', 'data', 'a="1"', '?'];

function charRef(cp: number, c: Chooser): string {
  if (c.chance(0.5)) return `&#${cp};`;
  const hex = cp.toString(16);
  return `&#x${c.chance(0.5) ? hex.toUpperCase() : hex};`;
}

function escapeChars(s: string, special: Record<string, string[]>, pRef: number, c: Chooser): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const forced = special[ch];
    if (forced !== undefined) out += c.chance(0.3) ? charRef(cp, c) : c.pick(forced);
    else if (pRef > 0 && c.chance(pRef)) out += charRef(cp, c);
    else out += ch;
  }
  return out;
}

const TEXT_SPECIAL: Record<string, string[]> = { '&': ['&amp;'], '<': ['&lt;'], '>': ['&gt;'], '\r': ['&#13;'] };

function attrSpecial(quote: string): Record<string, string[]> {
  return {
    '&': ['&amp;'],
    '<': ['&lt;'],
    '\t': ['&#9;'],
    '\n': ['&#10;'],
    '\r': ['&#13;'],
    [quote]: [quote === '"' ? '&quot;' : '&apos;'],
  };
}

class Writer {
  private readonly c: Chooser;
  private readonly p: number;
  constructor(style: XmlStyle) {
    this.c = new Chooser(style.seed);
    this.p = Math.max(0, Math.min(3, style.level)) / 3;
  }

  private ws(): string {
    return this.p > 0 && this.c.chance(this.p * 0.5) ? this.c.pick(SPACES) : '';
  }

  private misc(): string {
    if (this.p === 0 || !this.c.chance(this.p * 0.3)) return '';
    if (this.c.chance(0.5)) return `<!--${this.c.pick(COMMENT_TEXT)}-->`;
    return `<?pi${this.c.int(3)} ${this.c.pick(PI_TEXT)}?>`;
  }

  attrValue(v: string): string {
    const quote = this.p > 0 && this.c.chance(this.p * 0.5) ? "'" : '"';
    return `${quote}${escapeChars(v, attrSpecial(quote), this.p * 0.1, this.c)}${quote}`;
  }

  text(s: string): string {
    if (this.p > 0 && !s.includes(']]>') && !s.includes('\r') && this.c.chance(this.p * 0.3)) return `<![CDATA[${s}]]>`;
    if (this.p > 0 && s.length > 1 && this.c.chance(this.p * 0.2)) {
      const cut = 1 + this.c.int(s.length - 1);
      const [a, b] = [s.slice(0, cut), s.slice(cut)];
      // Never split a surrogate pair.
      if (!/[\uD800-\uDBFF]$/.test(a)) return `${this.text(a)}${this.misc() || '<!---->'}${this.text(b)}`;
    }
    return escapeChars(s, TEXT_SPECIAL, this.p * 0.1, this.c);
  }

  element(n: XNode, def: string, prefixes: Map<string, string>): string {
    const c = this.c;
    const local = new Map(prefixes);
    // Prefixes declared or used on this element: a new declaration must not rebind one of them.
    const declared = new Set<string>();
    const decls: string[] = [];
    const bind = (ns: string): string => {
      if (ns === NS_XML) return 'xml';
      const reusable = [...local].filter(([p, u]) => u === ns && p !== 'xml').map(([p]) => p);
      if (reusable.length > 0 && c.chance(0.7)) {
        const p = c.pick(reusable);
        declared.add(p);
        return p;
      }
      let p = `p${c.int(4)}`;
      while (declared.has(p)) p = `p${c.int(1000)}`;
      declared.add(p);
      local.set(p, ns);
      decls.push(`xmlns:${p}=${this.attrValue(ns)}`);
      return p;
    };
    let qname: string;
    let childDefault = def;
    if (n.ns === NS_XML) {
      qname = `xml:${n.name}`;
    } else if (n.ns !== '' && this.p > 0 && c.chance(this.p * 0.4)) {
      qname = `${bind(n.ns)}:${n.name}`;
    } else if (n.ns === def && !(this.p > 0 && c.chance(this.p * 0.2))) {
      qname = n.name;
    } else {
      decls.push(`xmlns=${this.attrValue(n.ns)}`);
      childDefault = n.ns;
      qname = n.name;
    }
    const attrs: string[] = [];
    for (const [key, value] of n.attrs) {
      const m = /^\{([\s\S]*)\}([^}]+)$/.exec(key);
      attrs.push(`${m ? `${bind(m[1]!)}:${m[2]!}` : key}${this.ws()}=${this.ws()}${this.attrValue(value)}`);
    }
    if (this.p > 0 && c.chance(this.p * 0.2)) decls.push(`xmlns:unused${c.int(9)}u=${this.attrValue('urn:unused')}`);
    if (this.p > 0 && c.chance(this.p * 0.1) && !declared.has('xml')) decls.push(`xmlns:xml=${this.attrValue(NS_XML)}`);
    const parts = [...decls, ...attrs];
    if (this.p > 0) {
      for (let i = parts.length - 1; i > 0; i--) {
        const j = c.int(i + 1);
        [parts[i], parts[j]] = [parts[j]!, parts[i]!];
      }
    }
    const sep = (): string => (this.p > 0 && c.chance(this.p * 0.3) ? c.pick(SPACES) : ' ');
    let open = `<${qname}`;
    for (const part of parts) open += sep() + part;
    open += this.ws();
    if (n.content.length === 0 && !(this.p > 0 && c.chance(this.p * 0.3))) return `${open}/>`;
    let body = '';
    for (const part of n.content) {
      body += this.misc();
      body += typeof part === 'string' ? this.text(part) : this.element(part, childDefault, local);
    }
    body += this.misc();
    return `${open}>${body}</${qname}${this.ws()}>`;
  }

  parts(content: readonly (XNode | string)[], def: string): string {
    let body = '';
    for (const part of content) {
      body += this.misc();
      body += typeof part === 'string' ? this.text(part) : this.element(part, def, new Map([['xml', NS_XML]]));
    }
    return body + this.misc();
  }

  document(root: XNode): string {
    let out = '';
    if (this.p > 0 && this.c.chance(this.p * 0.2)) out += '\uFEFF';
    if (this.p > 0 && this.c.chance(this.p * 0.3)) {
      out += `<?xml version="1.0"${this.c.chance(0.5) ? ' encoding="UTF-8"' : ''}?>`;
    }
    out += this.ws() + this.misc() + this.ws();
    out += this.element(root, '', new Map([['xml', NS_XML]]));
    out += this.ws() + this.misc() + this.ws();
    return out;
  }
}

/** One XML spelling of `root` (a whole document: optional BOM, declaration, comments and white space around). */
export function writeXml(root: XNode, style: XmlStyle = PLAIN_STYLE): string {
  return new Writer(style).document(root);
}

/** `root` as an element only (no prolog), e.g. to embed it in other XML. */
export function writeElement(root: XNode, style: XmlStyle = PLAIN_STYLE, parentDefaultNs = ''): string {
  return new Writer(style).element(root, parentDefaultNs, new Map([['xml', NS_XML]]));
}

/** Mixed content (text and elements) as it would appear inside an element whose default namespace is `defaultNs`. */
export function writeContent(
  content: readonly (XNode | string)[],
  style: XmlStyle = PLAIN_STYLE,
  defaultNs = '',
): string {
  return new Writer(style).parts(content, defaultNs);
}
