// XEP-0384 0.3.0 / 0.9, the per-version API by version name: `parseBundle(xml, version)` and the like, each a
// one-line dispatch to backendFor(version), so that callers name a version instead of holding a backend.
import type { BundleData } from '../stanzas/bundle';
import type { DeviceListEntry } from '../stanzas/device-list';
import type { PepLocations } from '../stanzas/namespaces';
import type { OmemoNodeKind, PublishOptions } from '../stanzas/publish-options';
import type { XmlElement } from '../stanzas/xml';
import { backendFor, type OmemoVersion } from './backend';

/**
 * The XML namespace of a version.
 * @throws TypeError for an unknown version.
 */
export function namespaceOf(version: OmemoVersion): string {
  return backendFor(version).namespace;
}

/**
 * PEP nodes and item ids of `deviceId`'s device list and bundle for `version`.
 * @throws TypeError for an unknown version; TypeError/RangeError unless `deviceId` is an integer in 1..2^31-1.
 */
export function pepLocations(version: OmemoVersion, deviceId: number): PepLocations {
  return backendFor(version).pepLocations(deviceId);
}

/**
 * The publish options for a node. Only the OMEMO 2 bundles node needs `pubsub#max_items`; with
 * `numericMaxItems` it is MAX_ITEMS_NUMERIC_FALLBACK instead of `max` (retry after a `precondition-not-met`
 * or `not-acceptable` error).
 * @throws TypeError for an unknown version or node kind.
 */
export function publishOptionsFor(
  version: OmemoVersion,
  node: OmemoNodeKind,
  opts: { numericMaxItems?: boolean } = {},
): PublishOptions {
  return backendFor(version).publishOptions(node, opts);
}

/**
 * Parses a device list. `xml` may be the `<list>`/`<devices>` element itself or anything containing it (a
 * PEP `<item>`, an `<event>` message). Legacy: only `id` is read, other attributes are ignored (python-omemo
 * would reject them). OMEMO 2: `label` and `labelsig` are read too (a `labelsig` without `label` is
 * ignored). Children other than `<device>` are
 * ignored. An empty list gives `[]` (python-omemo rejects it; the caller decides what an empty list means).
 * @throws OmemoError('malformed-stanza') for a missing element, a bad or duplicate id (decimal 1..2^31-1), a
 * bad `labelsig` or more than MAX_DEVICES_PER_LIST devices; TypeError for an unknown version.
 */
export function parseDeviceList(xml: string | XmlElement, version: OmemoVersion): DeviceListEntry[] {
  return backendFor(version).parseDeviceList(xml);
}

/**
 * Serialises a device list as `<list xmlns='eu.siacs.conversations.axolotl'>` (legacy: only `id` is written,
 * a `label` would make python-omemo reject the whole list) or `<devices xmlns='urn:xmpp:omemo:2'>` (with
 * `label` and `labelsig` when given). Note: python-twomemo 1.0.3 (XEP-0384 0.8 schema) rejects a list with
 * `labelsig`; only pass `labelSignature` when the peers understand 0.9.
 * @throws TypeError/RangeError for an unknown version, bad ids, duplicates, more than MAX_DEVICES_PER_LIST
 * entries, or a `labelSignature` without `label`.
 */
export function serializeDeviceList(entries: readonly DeviceListEntry[], version: OmemoVersion): string {
  return backendFor(version).serializeDeviceList(entries);
}

/**
 * Parses a bundle. `xml` may be the `<bundle>` itself or anything containing it (a PEP `<item>`, an IQ
 * result). Children may come in any order (python-oldmemo's schema requires the XEP's order; we do not) and
 * unknown children are ignored; each known child must appear exactly once.
 * @throws OmemoError('malformed-stanza') for a missing/repeated element, bad base64, wrong key lengths
 * (legacy keys must be 33 bytes starting 0x05, OMEMO 2 keys 32 bytes), a signature that is not 64 bytes,
 * bad or duplicate ids, no pre key, or more than MAX_PREKEYS_PER_BUNDLE pre keys; TypeError for an unknown
 * version.
 */
export function parseBundle(xml: string | XmlElement, version: OmemoVersion): BundleData {
  return backendFor(version).parseBundle(xml);
}

/**
 * Serialises a bundle in the XEP's child order (signed pre key, signature, identity key, pre keys).
 * Legacy keys are written as 33 bytes `0x05`‖key.
 * @throws TypeError/RangeError for an unknown version, wrong lengths, bad or duplicate ids, no pre key or more
 * than MAX_PREKEYS_PER_BUNDLE.
 */
export function serializeBundle(b: BundleData, version: OmemoVersion): string {
  return backendFor(version).serializeBundle(b);
}
