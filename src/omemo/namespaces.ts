// XEP-0384 0.3.0 §3-4 / 0.9 §4-5: namespaces, PEP node names and item ids of both OMEMO versions.

/** The two wire formats: legacy OMEMO 0.3 ("oldmemo") and OMEMO 2 ("twomemo"), named as python-omemo does. */
export type OmemoVersion = 'oldmemo' | 'twomemo';

/** Both versions, newest last. */
export const OMEMO_VERSIONS: readonly OmemoVersion[] = Object.freeze(['oldmemo', 'twomemo'] as const);

/** Legacy OMEMO 0.3 namespace. */
export const NS_LEGACY = 'eu.siacs.conversations.axolotl';
/** OMEMO 2 namespace (XEP-0384 ≥ 0.8). */
export const NS_OMEMO2 = 'urn:xmpp:omemo:2';
/** Stanza Content Encryption (XEP-0420), the OMEMO 2 plaintext envelope. */
export const NS_SCE = 'urn:xmpp:sce:1';
/** Namespace of `<body>` inside an SCE `<content>`. */
export const NS_JABBER_CLIENT = 'jabber:client';
/** XEP-0004 data forms, used for PEP publish options. */
export const NS_DATA_FORMS = 'jabber:x:data';
/** FORM_TYPE of XEP-0060 publish options. */
export const FORM_TYPE_PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';

/** Legacy device list PEP node (item id `current`). */
export const NODE_LEGACY_DEVICELIST = 'eu.siacs.conversations.axolotl.devicelist';
/** Prefix of the legacy per-device bundle nodes; the full node is `PREFIX + deviceId`. */
export const NODE_LEGACY_BUNDLES_PREFIX = 'eu.siacs.conversations.axolotl.bundles:';
/** OMEMO 2 device list PEP node (item id `current`). */
export const NODE_OMEMO2_DEVICES = 'urn:xmpp:omemo:2:devices';
/** OMEMO 2 bundles PEP node: one node for all devices, item id = device id. */
export const NODE_OMEMO2_BUNDLES = 'urn:xmpp:omemo:2:bundles';
/** Item id of the device list items (both versions) and of the legacy bundle items. */
export const ITEM_ID_CURRENT = 'current';

const MAX_DEVICE_ID = 0x7fffffff;

function checkDeviceId(deviceId: number): void {
  if (typeof deviceId !== 'number' || !Number.isInteger(deviceId)) {
    throw new TypeError(`deviceId must be an integer, got ${typeof deviceId}`);
  }
  if (deviceId < 1 || deviceId > MAX_DEVICE_ID) {
    throw new RangeError(`deviceId must be in 1..${MAX_DEVICE_ID}, got ${deviceId}`);
  }
}

/** Legacy bundle node of one device: `eu.siacs.conversations.axolotl.bundles:<deviceId>`. */
export function legacyBundleNode(deviceId: number): string {
  checkDeviceId(deviceId);
  return `${NODE_LEGACY_BUNDLES_PREFIX}${deviceId}`;
}

/** Throws TypeError unless `version` is 'oldmemo' or 'twomemo'. */
export function assertVersion(version: unknown): asserts version is OmemoVersion {
  if (version !== 'oldmemo' && version !== 'twomemo') {
    throw new TypeError(`version must be 'oldmemo' or 'twomemo', got ${JSON.stringify(version) ?? typeof version}`);
  }
}

/** The XML namespace of a version. */
export function namespaceOf(version: OmemoVersion): string {
  assertVersion(version);
  return version === 'oldmemo' ? NS_LEGACY : NS_OMEMO2;
}

/** The version whose namespace is `ns`, or undefined. */
export function versionOfNamespace(ns: string): OmemoVersion | undefined {
  if (ns === NS_LEGACY) return 'oldmemo';
  if (ns === NS_OMEMO2) return 'twomemo';
  return undefined;
}

/** Where a device publishes its device list and bundle. */
export interface PepLocations {
  readonly deviceListNode: string;
  readonly deviceListItemId: string;
  readonly bundleNode: string;
  readonly bundleItemId: string;
}

/** PEP nodes and item ids of `deviceId`'s device list and bundle for `version`. */
export function pepLocations(version: OmemoVersion, deviceId: number): PepLocations {
  assertVersion(version);
  checkDeviceId(deviceId);
  return version === 'oldmemo'
    ? {
        deviceListNode: NODE_LEGACY_DEVICELIST,
        deviceListItemId: ITEM_ID_CURRENT,
        bundleNode: legacyBundleNode(deviceId),
        bundleItemId: ITEM_ID_CURRENT,
      }
    : {
        deviceListNode: NODE_OMEMO2_DEVICES,
        deviceListItemId: ITEM_ID_CURRENT,
        bundleNode: NODE_OMEMO2_BUNDLES,
        bundleItemId: String(deviceId),
      };
}
