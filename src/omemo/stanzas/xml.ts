// XML 1.0 §2-4 + Namespaces in XML 1.0 §3-6: safe parsing of untrusted stanzas into a small namespaced tree.
//
// fast-xml-parser does the tokenising; everything that decides safety is done here: a size bound, no DTD
// (so no entity expansion beyond the five predefined entities and character references, which we decode
// ourselves), characters outside XML 1.0's Char production, a single root element, and namespace
// resolution (default `xmlns` and prefixes). Every failure is an OmemoError('malformed-stanza').

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { OmemoError } from '../../crypto/errors';
import { scanPlainXml } from './xml-fast';
import { emptyAttributes } from './xml-attributes';
import { decodeReferences } from './xml-references';
import { checkNothingAfterRoot, hasMarkupDeclaration } from './xml-markup';

/** Largest XML text (in UTF-16 code units) accepted by `parseXml`. A 100-pre-key bundle is ~9 KiB. */
export const MAX_STANZA_CHARS = 1024 * 1024;
/** Deepest element nesting accepted by `parseXml`. */
export const MAX_XML_DEPTH = 64;

/** The namespace bound to the `xml` prefix by definition. */
export const NS_XML = 'http://www.w3.org/XML/1998/namespace';
const NS_XMLNS = 'http://www.w3.org/2000/xmlns/';

/**
 * One element of a parsed document.
 * - `name` is the local name (prefix removed), `ns` the resolved namespace URI ('' for none).
 * - `attrs` holds unprefixed attributes under their name and prefixed ones under Clark notation
 *   `{namespace}local` (e.g. `{http://www.w3.org/XML/1998/namespace}lang`); namespace declarations are
 *   not attributes. Values are entity-decoded. The object inherits no property (see emptyAttributes).
 * - `children` are the child elements in document order; `text` is the concatenation of the element's own
 *   character data (entity-decoded, CDATA included, children's text excluded).
 * - `content` is the mixed content in document order (text runs and elements), for re-serialisation.
 */
export interface XmlElement {
  name: string;
  ns: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  content: (XmlElement | string)[];
}

/** Shorthand for the error every layer of src/omemo throws for bad network input. */
export function malformed(message: string, cause?: unknown): OmemoError {
  return new OmemoError('malformed-stanza', message, cause === undefined ? undefined : { cause });
}

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] (lone surrogates excluded).
/** Characters XML 1.0 (§2.2) cannot carry. */
export const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/**
 * Every code unit that can be part of a character NOT_XML_CHAR finds: C0 controls but TAB/LF/CR, surrogates
 * (paired ones are fine, so a match is only a reason to look closer), U+FFFE/U+FFFF. A class of what to find
 * runs ~2× faster than NOT_XML_CHAR's negated Unicode class, and nearly all text has none of them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const MAYBE_NOT_XML_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uD800-\uDFFF\uFFFE\uFFFF]/;

/** The first character of `text` that XML 1.0 cannot carry (as NOT_XML_CHAR.exec), or undefined. */
export function firstNonXmlChar(text: string): string | undefined {
  if (!MAYBE_NOT_XML_CHAR.test(text)) return undefined;
  return NOT_XML_CHAR.exec(text)?.[0];
}
const NAME_PART = /^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9._\-\u00B7\u00C0-\uFFFF]*$/;
const DANGEROUS_NAME_MARK = '#name:';
/**
 * Local names refused for elements: fast-xml-parser refuses them unprefixed, so `<p:prototype>` is refused
 * too (serializeElement writes elements unprefixed, and the result must parse again).
 */
const REFUSED_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** A tag or attribute name as written in the document (undoes the parser's `onDangerousProperty` marking). */
function sourceName(key: string): string {
  return key.startsWith(DANGEROUS_NAME_MARK) ? key.slice(DANGEROUS_NAME_MARK.length) : key;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false, // decoded below, strictly
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: false,
  removeNSPrefix: false,
  maxNestedTags: MAX_XML_DEPTH,
  // fast-xml-parser renames names such as `toString` or `hasOwnProperty` to `__toString`, …, which would make
  // `<toString/>` and `<__toString/>` the same element: mark them with a prefix no XML name can have instead.
  onDangerousProperty: (name: string) => DANGEROUS_NAME_MARK + name,
});

export function codePointLabel(s: string): string {
  const cp = s.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Parses `xml` and returns its root element. Throws OmemoError('malformed-stanza') for anything that is not
 * a well-formed, namespace-well-formed XML 1.0 document without DTD, or that exceeds `MAX_STANZA_CHARS`.
 * A leading XML declaration, comments and processing instructions are allowed and ignored.
 */
export function parseXml(xml: string): XmlElement {
  if (typeof xml !== 'string') throw new TypeError(`xml must be a string, got ${typeof xml}`);
  if (xml.length > MAX_STANZA_CHARS) {
    throw malformed(`XML is ${xml.length} characters long, more than MAX_STANZA_CHARS (${MAX_STANZA_CHARS})`);
  }
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  const bad = firstNonXmlChar(text);
  if (bad !== undefined) throw malformed(`XML contains ${codePointLabel(bad)}, which is not an XML 1.0 character`);
  // The plain shape of OMEMO stanzas takes a fast scanner (~10× faster); anything else gets every check.
  if (text.indexOf('\r') < 0) {
    const plain = scanPlainXml(text, MAX_XML_DEPTH);
    if (plain !== undefined) return plain;
  }
  return parseXmlFully(text);
}

/**
 * parseXml's thorough path (fast-xml-parser and every check) for `text` that passed the size and character checks
 * and had its byte order mark removed. Exported for the tests that hold the fast scanner to it.
 * @throws OmemoError `malformed-stanza`.
 */
export function parseXmlFully(input: string): XmlElement {
  let text = input;
  if (hasMarkupDeclaration(text)) {
    throw malformed('XML contains a DOCTYPE or markup declaration (<!DOCTYPE, <!ENTITY, …), which is not allowed');
  }
  text = text.replace(/\r\n?/g, '\n'); // XML 1.0 §2.11 end-of-line handling
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw malformed(`XML is not well-formed: ${msg} (line ${line}${col === undefined ? '' : `, column ${col}`})`);
  }
  checkNothingAfterRoot(text);
  let nodes: unknown;
  try {
    nodes = parser.parse(text);
  } catch (e) {
    throw malformed(`XML is not well-formed: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  if (!Array.isArray(nodes)) throw malformed('XML parser returned no document');
  let root: XmlElement | undefined;
  const rootScope = new Map<string, string>([
    ['xml', NS_XML],
    ['', ''],
  ]);
  for (const node of nodes) {
    const rec = node as Record<string, unknown>;
    if ('#text' in rec) {
      if (String(rec['#text']).trim() !== '') throw malformed('XML has text outside the root element');
      continue;
    }
    if ('#cdata' in rec) throw malformed('XML has a CDATA section outside the root element');
    if (root) throw malformed('XML has more than one root element');
    root = convertElement(rec, rootScope, 1);
  }
  if (!root) throw malformed('XML has no root element');
  return root;
}

function splitQName(qname: string, what: string): [prefix: string, local: string] {
  const parts = qname.split(':');
  if (parts.length === 1 && NAME_PART.test(qname)) return ['', qname];
  if (parts.length === 2 && NAME_PART.test(parts[0]!) && NAME_PART.test(parts[1]!)) return [parts[0]!, parts[1]!];
  throw malformed(`${what} name ${JSON.stringify(qname)} is not a valid qualified name`);
}

function convertElement(node: Record<string, unknown>, parentScope: Map<string, string>, depth: number): XmlElement {
  if (depth > MAX_XML_DEPTH) throw malformed(`XML nests deeper than MAX_XML_DEPTH (${MAX_XML_DEPTH})`);
  const keys = Object.keys(node).filter((k) => k !== ':@');
  if (keys.length !== 1) throw malformed('XML parser returned an unexpected node');
  const rawChildren = node[keys[0]!];
  const qname = sourceName(keys[0]!);
  const rawAttrs = (node[':@'] ?? {}) as Record<string, unknown>;

  // Namespace declarations first: they apply to the element's own name and attributes.
  let scope = parentScope;
  const plainAttrs: [string, string][] = [];
  for (const rawKey of Object.keys(rawAttrs)) {
    const rawName = sourceName(rawKey);
    const value = decodeAttrValue(String(rawAttrs[rawKey]), rawName);
    if (rawName === 'xmlns') {
      if (value === NS_XML || value === NS_XMLNS) throw malformed(`the default namespace may not be ${value}`);
      if (scope === parentScope) scope = new Map(parentScope);
      scope.set('', value);
    } else if (rawName.startsWith('xmlns:')) {
      const prefix = rawName.slice(6);
      if (!NAME_PART.test(prefix)) throw malformed(`namespace prefix ${JSON.stringify(prefix)} is not a valid name`);
      if (value === '') throw malformed(`namespace prefix ${prefix} is bound to the empty namespace`);
      if (prefix === 'xmlns' || value === NS_XMLNS) throw malformed('the xmlns prefix/namespace may not be declared');
      if ((prefix === 'xml') !== (value === NS_XML)) throw malformed(`the xml prefix may only be bound to ${NS_XML}`);
      if (scope === parentScope) scope = new Map(parentScope);
      scope.set(prefix, value);
    } else {
      plainAttrs.push([rawName, value]);
    }
  }

  const [prefix, name] = splitQName(qname, 'element');
  if (prefix === 'xmlns') throw malformed('element names may not use the xmlns prefix');
  if (REFUSED_NAMES.includes(name)) throw malformed(`element name ${JSON.stringify(qname)} is not supported`);
  const ns = scope.get(prefix);
  if (ns === undefined) throw malformed(`element prefix ${JSON.stringify(prefix)} is not bound to a namespace`);

  const attrs = emptyAttributes();
  for (const [rawName, value] of plainAttrs) {
    const [attrPrefix, local] = splitQName(rawName, 'attribute');
    let key = local;
    if (attrPrefix !== '') {
      const attrNs = scope.get(attrPrefix);
      if (attrNs === undefined) {
        throw malformed(`attribute prefix ${JSON.stringify(attrPrefix)} is not bound to a namespace`);
      }
      key = `{${attrNs}}${local}`;
    }
    if (Object.hasOwn(attrs, key)) throw malformed(`attribute ${key} appears twice on <${name}>`);
    attrs[key] = value;
  }

  const children: XmlElement[] = [];
  const content: (XmlElement | string)[] = [];
  let text = '';
  if (!Array.isArray(rawChildren)) throw malformed('XML parser returned an unexpected node');
  for (const child of rawChildren) {
    const rec = child as Record<string, unknown>;
    let piece: string | undefined;
    if ('#text' in rec) {
      piece = decodeText(String(rec['#text']));
    } else if ('#cdata' in rec) {
      const parts = rec['#cdata'];
      piece = Array.isArray(parts)
        ? parts.map((p) => String((p as Record<string, unknown>)['#text'] ?? '')).join('')
        : '';
    } else {
      const el = convertElement(rec, scope, depth + 1);
      children.push(el);
      content.push(el);
      continue;
    }
    if (piece === '') continue;
    text += piece;
    const last = content[content.length - 1];
    if (typeof last === 'string') content[content.length - 1] = last + piece;
    else content.push(piece);
  }
  return { name, ns, attrs, children, text, content };
}

function decodeAttrValue(raw: string, name: string): string {
  if (raw.includes('<')) throw malformed(`attribute ${name} contains a raw '<'`);
  // XML 1.0 §3.3.3: literal white space is normalised to a space; character references are not.
  return decodeEntities(raw.replace(/[\t\n]/g, ' '));
}

function decodeText(raw: string): string {
  return decodeEntities(raw);
}

/** Decodes the five predefined entities and character references; anything else after `&` is malformed. */
function decodeEntities(s: string): string {
  const decoded = decodeReferences(s);
  if (typeof decoded === 'string') return decoded;
  const { reason, shown } = decoded;
  if (reason === 'out-of-range') throw malformed(`character reference ${shown} is out of range`);
  if (reason === 'not-a-char') throw malformed(`character reference ${shown} is not an XML 1.0 character`);
  throw malformed(`XML contains an undefined entity or a bare '&': ${JSON.stringify(shown)}`);
}

/** Depth-first (document order) search for the first element named `localName` in namespace `ns`, `root` included. */
export function findElement(root: XmlElement, localName: string, ns: string): XmlElement | undefined {
  if (root.name === localName && root.ns === ns) return root;
  for (const child of root.children) {
    const found = findElement(child, localName, ns);
    if (found) return found;
  }
  return undefined;
}

/** The direct children of `parent` named `localName` in namespace `ns`. */
export function childElements(parent: XmlElement, localName: string, ns: string): XmlElement[] {
  return parent.children.filter((c) => c.name === localName && c.ns === ns);
}

/** Own attribute value or undefined (safe against inherited property names). */
export function attr(el: XmlElement, name: string): string | undefined {
  return Object.hasOwn(el.attrs, name) ? el.attrs[name] : undefined;
}

/**
 * Parses `input` (unless it is already an element) and returns the first `<localName xmlns=ns>` in it,
 * depth-first, so the wanted element may be wrapped in anything (a `<message>`, a PEP `<item>`, …).
 * Throws OmemoError('malformed-stanza') when there is none.
 */
export function locateElement(input: string | XmlElement, localName: string, ns: string): XmlElement {
  const root = typeof input === 'string' ? parseXml(input) : input;
  if (typeof root !== 'object' || root === null || typeof root.name !== 'string' || !Array.isArray(root.children)) {
    throw new TypeError('input must be an XML string or an XmlElement');
  }
  const el = findElement(root, localName, ns);
  if (!el) {
    const rootName = root.ns === '' ? `<${root.name}>` : `<${root.name} xmlns='${root.ns}'>`;
    throw malformed(`no <${localName} xmlns='${ns}'> element found (root is ${rootName})`);
  }
  return el;
}
