// XEP-0384 0.3.0 §4.2-4.3 / 0.9 §5.3.1-5.3.2 with XEP-0060 §7.1.5 and XEP-0004: PEP publish options. Which options
// a node needs is its version's (OmemoBackend.publishOptions); the form that carries them is shared.

import { FORM_TYPE_PUBLISH_OPTIONS, NS_DATA_FORMS } from './namespaces';
import { escapeXml, escapeXmlAttr } from './xml-serialize';

/** XEP-0060 publish-options fields: `var` → value. */
export type PublishOptions = Readonly<Record<string, string>>;

/** Which PEP node is being published to. */
export type OmemoNodeKind = 'devicelist' | 'bundle';

/**
 * `pubsub#max_items` for servers that reject `max` (older Prosody/ejabberd). 256 is Prosody's default
 * `pep_max_items` and stays above MAX_DEVICES_PER_LIST, so one item per device always fits.
 */
export const MAX_ITEMS_NUMERIC_FALLBACK = '256';

/** Both versions: device lists and bundles must be readable by anyone. */
export const OPEN_ACCESS: PublishOptions = Object.freeze({ 'pubsub#access_model': 'open' });

/**
 * Throws unless `node` names a PEP node kind.
 * @throws TypeError unless `node` is 'devicelist' or 'bundle'.
 */
export function assertNodeKind(node: unknown): asserts node is OmemoNodeKind {
  if (node !== 'devicelist' && node !== 'bundle') {
    throw new TypeError(`node must be 'devicelist' or 'bundle', got ${JSON.stringify(node)}`);
  }
}

/**
 * Serialises publish options as `<publish-options><x xmlns='jabber:x:data' type='submit'>` with the hidden
 * FORM_TYPE field first, for inclusion in a `<pubsub xmlns='http://jabber.org/protocol/pubsub'>` publish.
 * @throws TypeError for options that are not an object of strings; RangeError when they contain FORM_TYPE.
 */
export function serializePublishOptions(options: PublishOptions): string {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  let fields = `<field var="FORM_TYPE" type="hidden"><value>${escapeXml(FORM_TYPE_PUBLISH_OPTIONS)}</value></field>`;
  for (const key of Object.keys(options)) {
    if (key === 'FORM_TYPE') throw new RangeError('options must not contain FORM_TYPE (it is added here)');
    const value = options[key];
    if (typeof value !== 'string') throw new TypeError(`options[${JSON.stringify(key)}] must be a string`);
    fields += `<field var="${escapeXmlAttr(key, 'option name')}"><value>${escapeXml(value, key)}</value></field>`;
  }
  return `<publish-options><x xmlns="${NS_DATA_FORMS}" type="submit">${fields}</x></publish-options>`;
}
