// XEP-0384 §5.4 / 0.3 §4.5 message stanzas as sent over XMPP: the <encrypted> elements plus what servers and
// other clients need around them (XEP-0380 EME, a fallback <body>, a XEP-0334 store hint for MAM/offline).
import { xml } from '@xmpp/client';
import { randomBytes } from '../crypto/random';
import { toHex } from '../crypto/bytes';
import { OMEMO_BACKENDS, backendFor, type OmemoVersion } from '../omemo/versions/backend';
import { parseElement } from './ltx-xml';
import { NS_EME, NS_HINTS } from './xmpp-namespaces';
import type { XmlElement } from './xmpp-types';

/** The `<body>` clients without OMEMO show instead of the (encrypted) text. Never the plaintext. */
export const DEFAULT_FALLBACK_BODY =
  "I sent you an OMEMO encrypted message but your client doesn't seem to support that.";

/** An outgoing message: one `<encrypted>` element per OMEMO version used. */
export interface OmemoMessageInput {
  to: string;
  elements: readonly { version: OmemoVersion; xml: string | XmlElement }[];
  /** Message type (default 'chat'). */
  type?: string;
  /** Stanza id (default random). */
  id?: string;
  /** Fallback body; undefined for none (automatic empty messages). */
  body?: string;
}

/** A random stanza id (XEP-0359 wants them unique; 96 bits are plenty). */
export function stanzaId(): string {
  return `omemo-${toHex(randomBytes(12))}`;
}

/**
 * Builds the `<message>`: the encrypted elements, one EME element per version, the fallback body and
 * `<store xmlns='urn:xmpp:hints'/>` (Prosody archives and offline-stores nothing without a body or hint).
 * @throws OmemoError `malformed-stanza` when an element's XML does not parse.
 */
export function buildOmemoMessage(input: OmemoMessageInput): XmlElement {
  const children: XmlElement[] = input.elements.map((e) => (typeof e.xml === 'string' ? parseElement(e.xml) : e.xml));
  for (const version of new Set(input.elements.map((e) => e.version))) {
    children.push(xml('encryption', { xmlns: NS_EME, namespace: backendFor(version).namespace, name: 'OMEMO' }));
  }
  if (input.body !== undefined) children.push(xml('body', {}, input.body));
  children.push(xml('store', { xmlns: NS_HINTS }));
  return xml('message', { to: input.to, type: input.type ?? 'chat', id: input.id ?? stanzaId() }, ...children);
}

/**
 * The version of an OMEMO `<encrypted>` element, by its namespace; undefined for any other element.
 * @throws nothing.
 */
export function versionOfEncrypted(element: XmlElement): OmemoVersion | undefined {
  return OMEMO_BACKENDS.find((b) => element.is('encrypted', b.namespace))?.version;
}

/** The OMEMO `<encrypted>` children of a message (both versions), in document order. */
export function encryptedElements(message: XmlElement): XmlElement[] {
  return message.getChildElements().filter((c) => versionOfEncrypted(c) !== undefined);
}

/** The sender device id of an `<encrypted>` element, when readable (`<header sid>`). */
export function senderDeviceOf(encrypted: XmlElement): number | undefined {
  const sid = encrypted.getChild('header')?.attrs.sid;
  return sid !== undefined && /^[0-9]{1,10}$/.test(sid) ? Number(sid) : undefined;
}
