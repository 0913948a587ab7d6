// XML strings of the OMEMO core → @xmpp/client ltx elements, with @xmpp/client's own XML parser (xml.Parser,
// re-exported on its `xml` factory); and received ltx elements → the core's element tree, so a stanza is parsed once.
import { xml } from '@xmpp/client';
import { OmemoError } from '../crypto/errors';
import {
  MAX_STANZA_CHARS,
  MAX_XML_DEPTH,
  firstNonXmlChar,
  NS_XML,
  malformed,
  type XmlElement as OmemoXmlElement,
} from '../omemo/stanzas/xml';
import { emptyAttributes } from '../omemo/stanzas/xml-attributes';
import type { XmlElement } from './xmpp-types';

/**
 * Parses one XML element (as produced by the OMEMO core) into an ltx element that can be appended to a
 * stanza.
 * @throws OmemoError `malformed-stanza` when the text is not one well-formed element.
 */
export function parseElement(text: string): XmlElement {
  if (typeof text !== 'string') throw new TypeError(`xml must be a string, got ${typeof text}`);
  if (text.length > MAX_STANZA_CHARS)
    throw new OmemoError('malformed-stanza', `XML of ${text.length} characters exceeds MAX_STANZA_CHARS`);
  const parser = new xml.Parser();
  let root: XmlElement | undefined;
  let error: Error | undefined;
  let closed = false;
  // The parser is a stream parser: direct children of the root arrive as 'element' once complete.
  parser.on('start', (el) => {
    root ??= el as XmlElement;
  });
  parser.on('element', (el) => {
    root?.append(el as XmlElement);
  });
  parser.on('end', () => {
    closed = true;
  });
  parser.on('error', (err) => {
    error ??= err;
  });
  try {
    parser.write(text);
    parser.end();
  } catch (cause) {
    throw new OmemoError('malformed-stanza', `unparsable XML: ${(cause as Error).message}`, { cause });
  }
  if (error !== undefined)
    throw new OmemoError('malformed-stanza', `unparsable XML: ${error.message}`, { cause: error });
  if (root === undefined || !closed) throw new OmemoError('malformed-stanza', 'no complete XML element');
  return root;
}

/** Local names the core refuses for elements (its objects have no prototype, but names must stay plain). */
const REFUSED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const NAME = /^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9._\-\u00B7\u00C0-\uFFFF]*$/;

/**
 * An ltx element (parsed once by @xmpp/client's stream parser) as the core's element tree (Namespaces in XML
 * §5-6: prefixes resolved, namespace declarations dropped, attributes without prototype), so that the core does
 * not serialise and parse it again. The same bounds as the core's parser: MAX_STANZA_CHARS of text, MAX_XML_DEPTH,
 * XML 1.0 characters only, qualified names.
 * @throws OmemoError `malformed-stanza` for what the core's parser would refuse.
 */
export function toOmemoElement(el: XmlElement): OmemoXmlElement {
  let budget = MAX_STANZA_CHARS;
  const spend = (s: string): string => {
    budget -= s.length;
    if (budget < 0) throw malformed('the element exceeds MAX_STANZA_CHARS');
    if (firstNonXmlChar(s) !== undefined) throw malformed('the element contains a character that is not XML 1.0');
    return s;
  };
  const convert = (node: XmlElement, scope: ReadonlyMap<string, string>, depth: number): OmemoXmlElement => {
    if (depth > MAX_XML_DEPTH) throw malformed(`the element nests deeper than MAX_XML_DEPTH (${MAX_XML_DEPTH})`);
    let own = scope;
    const plain: [string, string][] = [];
    for (const [key, raw] of Object.entries(node.attrs)) {
      if (raw === undefined) continue;
      const value = spend(String(raw));
      if (key === 'xmlns' || key.startsWith('xmlns:')) {
        const prefix = key === 'xmlns' ? '' : key.slice(6);
        if (prefix !== '' && (value === '' || !NAME.test(prefix))) throw malformed(`bad namespace declaration ${key}`);
        if (own === scope) own = new Map(scope);
        (own as Map<string, string>).set(prefix, value);
      } else plain.push([key, value]);
    }
    const [prefix, name] = splitName(spend(node.name));
    if (REFUSED_NAMES.has(name)) throw malformed(`element name ${JSON.stringify(node.name)} is not supported`);
    const ns = own.get(prefix);
    if (ns === undefined) throw malformed(`element prefix ${JSON.stringify(prefix)} is not bound to a namespace`);
    const attrs = emptyAttributes();
    for (const [key, value] of plain) {
      const [p, local] = splitName(key);
      const attrNs = p === '' ? '' : own.get(p);
      if (attrNs === undefined) throw malformed(`attribute prefix ${JSON.stringify(p)} is not bound to a namespace`);
      const k = p === '' ? local : `{${attrNs}}${local}`;
      if (Object.hasOwn(attrs, k)) throw malformed(`attribute ${k} appears twice on <${name}>`);
      attrs[k] = value;
    }
    const out: OmemoXmlElement = { name, ns, attrs, children: [], text: '', content: [] };
    for (const child of node.children) {
      if (typeof child === 'string') {
        if (child === '') continue;
        out.text += spend(child);
        const last = out.content.length - 1;
        if (last >= 0 && typeof out.content[last] === 'string') out.content[last] += child;
        else out.content.push(child);
      } else {
        const c = convert(child, own, depth + 1);
        out.children.push(c);
        out.content.push(c);
      }
    }
    return out;
  };
  return convert(
    el,
    new Map([
      ['xml', NS_XML],
      ['', ''],
    ]),
    1,
  );
}

/**
 * Whether an `<encrypted>` element (either version) may hold a key for device `deviceId`: some `<key>` of its
 * `<header>` (OMEMO 2: inside a `<keys>`) names it in `rid`. False means the message is not for this device, found
 * without converting the element or decoding any key (a 1000-key room message costs one pass over attributes).
 */
export function mayHoldKeyFor(encrypted: XmlElement, deviceId: number): boolean {
  const isOurs = (key: XmlElement) => {
    const rid = key.attrs.rid;
    return rid !== undefined && /^[0-9]{1,10}$/.test(rid) && Number(rid) === deviceId;
  };
  for (const header of encrypted.getChildElements()) {
    if (header.name !== 'header') continue;
    for (const child of header.getChildElements()) {
      if (child.name === 'key' && isOurs(child)) return true;
      if (child.name === 'keys' && child.getChildElements().some((k) => k.name === 'key' && isOurs(k))) return true;
    }
  }
  return false;
}

function splitName(qname: string): [prefix: string, local: string] {
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const local = colon < 0 ? qname : qname.slice(colon + 1);
  if ((prefix !== '' && !NAME.test(prefix)) || !NAME.test(local)) {
    throw malformed(`name ${JSON.stringify(qname)} is not a valid qualified name`);
  }
  return [prefix, local];
}
