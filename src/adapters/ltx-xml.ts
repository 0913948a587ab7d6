// XML strings of the OMEMO core → @xmpp/client ltx elements, with @xmpp/client's own XML parser (xml.Parser,
// re-exported on its `xml` factory). The other direction is ltx's `element.toString()`.
import { xml } from '@xmpp/client';
import { OmemoError } from '../crypto/errors';
import { MAX_STANZA_CHARS } from '../omemo/stanzas/xml';
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
