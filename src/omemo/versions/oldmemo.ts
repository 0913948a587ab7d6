// XEP-0384 0.3.0 (OMEMO 0.3, python-omemo's "oldmemo", namespace `eu.siacs.conversations.axolotl`): the backend
// of the legacy version.
import { readDeviceList, writeDeviceList, type DeviceListFormat } from '../stanzas/device-list';
import { ITEM_ID_CURRENT } from '../stanzas/namespaces';
import { OPEN_ACCESS, assertNodeKind } from '../stanzas/publish-options';
import { assertId } from '../stanzas/wire-values';
import type { OmemoBackend } from './backend';

/** Legacy OMEMO 0.3 namespace. */
export const NS_LEGACY = 'eu.siacs.conversations.axolotl';
/** Legacy device list PEP node (item id `current`). */
export const NODE_LEGACY_DEVICELIST = 'eu.siacs.conversations.axolotl.devicelist';
/** Prefix of the legacy per-device bundle nodes; the full node is `PREFIX + deviceId`. */
export const NODE_LEGACY_BUNDLES_PREFIX = 'eu.siacs.conversations.axolotl.bundles:';

/**
 * Legacy bundle node of one device: `eu.siacs.conversations.axolotl.bundles:<deviceId>`.
 * @throws TypeError/RangeError unless `deviceId` is an integer in 1..MAX_ID.
 */
export function legacyBundleNode(deviceId: number): string {
  assertId(deviceId, 'deviceId');
  return `${NODE_LEGACY_BUNDLES_PREFIX}${deviceId}`;
}

/** `<list xmlns='eu.siacs.conversations.axolotl'>`: ids only (python-oldmemo rejects any other attribute). */
const DEVICE_LIST: DeviceListFormat = Object.freeze({ ns: NS_LEGACY, element: 'list', labels: false });

/** OMEMO 0.3. */
export const OLDMEMO_BACKEND: OmemoBackend = Object.freeze<OmemoBackend>({
  version: 'oldmemo',
  namespace: NS_LEGACY,
  preference: 1,
  supportsLabels: DEVICE_LIST.labels,
  wrapsText: false,
  deviceListNode: NODE_LEGACY_DEVICELIST,

  pepLocations: (deviceId: number) => ({
    deviceListNode: NODE_LEGACY_DEVICELIST,
    deviceListItemId: ITEM_ID_CURRENT,
    bundleNode: legacyBundleNode(deviceId),
    bundleItemId: ITEM_ID_CURRENT,
  }),
  publishOptions: (node: unknown) => {
    assertNodeKind(node);
    return OPEN_ACCESS;
  },

  parseDeviceList: (xml) => readDeviceList(xml, DEVICE_LIST),
  serializeDeviceList: (entries) => writeDeviceList(entries, DEVICE_LIST),
});
