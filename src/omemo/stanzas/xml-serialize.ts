// Writing XML 1.0 (W3C XML 1.0 §2.2 characters, §2.4 escaping, Namespaces in XML 1.0 §3): text and attribute values
// escaped, and an XmlElement tree serialized with the namespace declarations it needs.
import { codePointLabel, firstNonXmlChar, NS_XML, type XmlElement } from './xml';

function assertXmlChars(value: string, what: string): void {
  const bad = firstNonXmlChar(value);
  if (bad !== undefined) throw new RangeError(`${what} contains ${codePointLabel(bad)}, which XML 1.0 cannot carry`);
}

/** Escapes character data for element content (`&`, `<`, `>`, and CR so that it survives parsing). */
export function escapeXml(text: string, what = 'text'): string {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a string, got ${typeof text}`);
  assertXmlChars(text, what);
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/**
 * Escapes an attribute value for a double-quoted attribute (`&`, `<`, `>`, `"`, and TAB/LF/CR as character
 * references so that attribute-value normalisation does not turn them into spaces).
 */
export function escapeXmlAttr(value: string, what = 'attribute value'): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${typeof value}`);
  assertXmlChars(value, what);
  return value.replace(/[&<>"\t\n\r]/g, (c) => ATTR_ESCAPES[c]!);
}

const ATTR_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/**
 * Serialises a parsed element back to XML text. Namespaces are written as default `xmlns` declarations where
 * an element's namespace differs from the default namespace in scope (`parentNs`, default: none, i.e. always
 * declared at the top); elements in the xml namespace keep the `xml:` prefix; prefixed attributes get
 * generated prefixes. Equivalent to the input under the XML Infoset, not
 * byte-identical.
 */
export function serializeElement(el: XmlElement, parentNs?: string): string {
  // The xml namespace cannot be a default namespace: its elements keep the predeclared xml: prefix.
  const qname = el.ns === NS_XML ? `xml:${el.name}` : el.name;
  let defaultNs = parentNs;
  let out = `<${qname}`;
  if (el.ns !== parentNs && el.ns !== NS_XML) {
    out += ` xmlns="${escapeXmlAttr(el.ns)}"`;
    defaultNs = el.ns;
  }
  let n = 0;
  for (const key of Object.keys(el.attrs)) {
    const value = escapeXmlAttr(el.attrs[key]!);
    const m = /^\{([\s\S]*)\}([^}]+)$/.exec(key);
    if (!m) {
      out += ` ${key}="${value}"`;
    } else if (m[1] === NS_XML) {
      out += ` xml:${m[2]!}="${value}"`;
    } else {
      const p = `ns${n++}`;
      out += ` xmlns:${p}="${escapeXmlAttr(m[1]!)}" ${p}:${m[2]!}="${value}"`;
    }
  }
  if (el.content.length === 0) return `${out}/>`;
  out += '>';
  for (const part of el.content) out += typeof part === 'string' ? escapeXml(part) : serializeElement(part, defaultNs);
  return `${out}</${qname}>`;
}
