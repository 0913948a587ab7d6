// XEP-0384 0.3.0 §4.2 / 0.9 §5.3.1: device lists (`<list>` legacy, `<devices>` OMEMO 2), read and written the
// same way in both versions but for the names and the labels each backend's DeviceListFormat gives.

import { assertBytes, fromBase64, toBase64 } from '../../crypto/bytes';
import { assertId, parseId } from './wire-values';
import { attr, childElements, locateElement, malformed, type XmlElement } from './xml';
import { escapeXmlAttr } from './xml-serialize';

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

/** How one version writes its device list. */
export interface DeviceListFormat {
  /** Namespace of the list element and its `<device>`s. */
  readonly ns: string;
  /** Local name of the list element: `list` (0.3) or `devices` (OMEMO 2). */
  readonly element: string;
  /** Whether `label` and `labelsig` are read and written (OMEMO 2; python-oldmemo rejects a list with them). */
  readonly labels: boolean;
}

/**
 * Reads a device list in `format`: see parseDeviceList (versions/by-version.ts).
 * @throws OmemoError `malformed-stanza` for a missing element, a bad or duplicate id, a bad `labelsig` or more
 * than MAX_DEVICES_PER_LIST devices.
 */
export function readDeviceList(xml: string | XmlElement, format: DeviceListFormat): DeviceListEntry[] {
  const { ns } = format;
  const listEl = locateElement(xml, format.element, ns);
  const devices = childElements(listEl, 'device', ns);
  if (devices.length > MAX_DEVICES_PER_LIST) {
    const n = devices.length;
    throw malformed(`device list has ${n} devices, more than MAX_DEVICES_PER_LIST (${MAX_DEVICES_PER_LIST})`);
  }
  const seen = new Set<number>();
  const out: DeviceListEntry[] = [];
  for (const d of devices) {
    const id = parseId(attr(d, 'id'), 'device id');
    if (seen.has(id)) throw malformed(`device id ${id} appears twice in the device list`);
    seen.add(id);
    const entry: DeviceListEntry = { id };
    if (format.labels) {
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
 * Writes a device list in `format`: see serializeDeviceList (versions/by-version.ts).
 * @throws TypeError/RangeError for bad ids, duplicates, more than MAX_DEVICES_PER_LIST entries, or a
 * `labelSignature` without `label`.
 */
export function writeDeviceList(entries: readonly DeviceListEntry[], format: DeviceListFormat): string {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  if (entries.length > MAX_DEVICES_PER_LIST) {
    const n = entries.length;
    throw new RangeError(`entries has ${n} devices, more than MAX_DEVICES_PER_LIST (${MAX_DEVICES_PER_LIST})`);
  }
  const { ns, element: name } = format;
  const seen = new Set<number>();
  let body = '';
  entries.forEach((entry, i) => {
    if (typeof entry !== 'object' || entry === null) throw new TypeError(`entries[${i}] must be an object`);
    assertId(entry.id, `entries[${i}].id`);
    if (seen.has(entry.id)) throw new RangeError(`entries[${i}].id ${entry.id} is a duplicate`);
    seen.add(entry.id);
    body += `<device id="${entry.id}"`;
    if (format.labels) {
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
