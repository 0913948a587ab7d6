// XEP-0384 0.3.0 / 0.9, the per-version API by version name: `parseBundle(xml, version)` and the like, each a
// one-line dispatch to backendFor(version), so that callers name a version instead of holding a backend.
import type { PepLocations } from '../stanzas/namespaces';
import type { OmemoNodeKind, PublishOptions } from '../stanzas/publish-options';
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
