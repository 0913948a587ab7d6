// XEP-0384 0.3.0 §4.2 / 0.9 §5.3.1: device lists (`<list>` legacy, `<devices>` OMEMO 2).

import { assertBytes, fromBase64, toBase64 } from '../../crypto/bytes';
import { NS_LEGACY } from '../versions/oldmemo';
import { NS_OMEMO2 } from '../versions/twomemo';
import { assertVersion, type OmemoVersion } from '../versions/backend';
import { assertId, parseId } from './wire-values';
import { attr, childElements, escapeXmlAttr, locateElement, malformed, type XmlElement } from './xml';

/** Most devices accepted in (and written to) one device list. */
export const MAX_DEVICES_PER_LIST = 200;

/** One `<device>` of a device list. `label`/`labelSignature` exist only in OMEMO 2. */
export interface DeviceListEntry {
  id: number;
  /** OMEMO 2 device label (free text). */
  label?: string;
  /** OMEMO 2 `labelsig` (XEP-0384 0.9): the identity key's signature over the label, base64 on the wire. */
  labelSignature?: Uint8Array;
}

function elementName(version: OmemoVersion): string {
  return version === 'oldmemo' ? 'list' : 'devices';
}

/**
 * Parses a device list. `xml` may be the `<list>`/`<devices>` element itself or anything containing it (a
 * PEP `<item>`, an `<event>` message). Legacy: only `id` is read, other attributes are ignored (python-omemo
 * would reject them). OMEMO 2: `label` and `labelsig` are read too (a `labelsig` without `label` is
 * ignored). Children other than `<device>` are
 * ignored. An empty list gives `[]` (python-omemo rejects it; the caller decides what an empty list means).
 * Throws OmemoError('malformed-stanza') for a missing element, a bad or duplicate id (decimal 1..2^31-1), a
 * bad `labelsig` or more than MAX_DEVICES_PER_LIST devices.
 */
export function parseDeviceList(xml: string | XmlElement, version: OmemoVersion): DeviceListEntry[] {
  assertVersion(version);
  const ns = version === 'oldmemo' ? NS_LEGACY : NS_OMEMO2;
  const listEl = locateElement(xml, elementName(version), ns);
  const devices = childElements(listEl, 'device', ns);
  if (devices.length > MAX_DEVICES_PER_LIST) {
    throw malformed(`device list has ${devices.length} devices, more than MAX_DEVICES_PER_LIST (${MAX_DEVICES_PER_LIST})`);
  }
  const seen = new Set<number>();
  const out: DeviceListEntry[] = [];
  for (const d of devices) {
    const id = parseId(attr(d, 'id'), 'device id');
    if (seen.has(id)) throw malformed(`device id ${id} appears twice in the device list`);
    seen.add(id);
    const entry: DeviceListEntry = { id };
    if (version === 'twomemo') {
      const label = attr(d, 'label');
      if (label !== undefined) entry.label = label;
      const labelsig = attr(d, 'labelsig');
      // A signature over a label that is not there means nothing (and serializeDeviceList cannot write it).
      if (labelsig !== undefined && label !== undefined) {
        const sig = fromBase64(labelsig);
        if (sig === undefined) throw malformed(`labelsig of device ${id} is not valid base64`);
        entry.labelSignature = sig;
      }
    }
    out.push(entry);
  }
  return out;
}

/**
 * Serialises a device list as `<list xmlns='eu.siacs.conversations.axolotl'>` (legacy: only `id` is written,
 * a `label` would make python-omemo reject the whole list) or `<devices xmlns='urn:xmpp:omemo:2'>` (with
 * `label` and `labelsig` when given). Note: python-twomemo 1.0.3 (XEP-0384 0.8 schema) rejects a list with
 * `labelsig`; only pass `labelSignature` when the peers understand 0.9.
 * Throws TypeError/RangeError for bad ids, duplicates, more than MAX_DEVICES_PER_LIST entries, or a
 * `labelSignature` without `label`.
 */
export function serializeDeviceList(entries: readonly DeviceListEntry[], version: OmemoVersion): string {
  assertVersion(version);
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  if (entries.length > MAX_DEVICES_PER_LIST) {
    throw new RangeError(`entries has ${entries.length} devices, more than MAX_DEVICES_PER_LIST (${MAX_DEVICES_PER_LIST})`);
  }
  const ns = version === 'oldmemo' ? NS_LEGACY : NS_OMEMO2;
  const name = elementName(version);
  const seen = new Set<number>();
  let body = '';
  entries.forEach((entry, i) => {
    if (typeof entry !== 'object' || entry === null) throw new TypeError(`entries[${i}] must be an object`);
    assertId(entry.id, `entries[${i}].id`);
    if (seen.has(entry.id)) throw new RangeError(`entries[${i}].id ${entry.id} is a duplicate`);
    seen.add(entry.id);
    body += `<device id="${entry.id}"`;
    if (version === 'twomemo') {
      if (entry.label !== undefined) body += ` label="${escapeXmlAttr(entry.label, `entries[${i}].label`)}"`;
      if (entry.labelSignature !== undefined) {
        assertBytes(entry.labelSignature, `entries[${i}].labelSignature`);
        if (entry.label === undefined) throw new RangeError(`entries[${i}].labelSignature is given without a label`);
        body += ` labelsig="${toBase64(entry.labelSignature)}"`;
      }
    }
    body += '/>';
  });
  return body === '' ? `<${name} xmlns="${ns}"/>` : `<${name} xmlns="${ns}">${body}</${name}>`;
}
