// XEP-0384 0.9 (OMEMO 2, python-omemo's "twomemo", namespace `urn:xmpp:omemo:2`): the backend of the current
// version.
import { toBase64 } from '../../crypto/bytes';
import { readBundle, writeBundle, type BundleFormat } from '../stanzas/bundle';
import { readDeviceList, writeDeviceList, type DeviceListFormat } from '../stanzas/device-list';
import { ITEM_ID_CURRENT } from '../stanzas/namespaces';
import {
  MAX_ITEMS_NUMERIC_FALLBACK,
  OPEN_ACCESS,
  assertNodeKind,
  type PublishOptions,
} from '../stanzas/publish-options';
import { assertId, parseBase64Text } from '../stanzas/wire-values';
import type { OmemoBackend } from './backend';

/** OMEMO 2 namespace (XEP-0384 ≥ 0.8). */
export const NS_OMEMO2 = 'urn:xmpp:omemo:2';
/** OMEMO 2 device list PEP node (item id `current`). */
export const NODE_OMEMO2_DEVICES = 'urn:xmpp:omemo:2:devices';
/** OMEMO 2 bundles PEP node: one node for all devices, item id = device id. */
export const NODE_OMEMO2_BUNDLES = 'urn:xmpp:omemo:2:bundles';

/** OMEMO 2 bundles node: one item per device, so the node must keep as many items as the server allows. */
export const OMEMO2_BUNDLES_OPTIONS: PublishOptions = Object.freeze({
  'pubsub#access_model': 'open',
  'pubsub#max_items': 'max',
});
/** OMEMO2_BUNDLES_OPTIONS for servers that refuse `max`. */
const OMEMO2_BUNDLES_OPTIONS_NUMERIC: PublishOptions = Object.freeze({
  ...OMEMO2_BUNDLES_OPTIONS,
  'pubsub#max_items': MAX_ITEMS_NUMERIC_FALLBACK,
});

/** `<devices xmlns='urn:xmpp:omemo:2'>` with `label` and `labelsig`. */
const DEVICE_LIST: DeviceListFormat = Object.freeze({ ns: NS_OMEMO2, element: 'devices', labels: true });

/** The OMEMO 2 bundle: short element names, keys as their raw 32 bytes. */
const BUNDLE: BundleFormat = Object.freeze<BundleFormat>({
  ns: NS_OMEMO2,
  spk: 'spk',
  spkId: 'id',
  spks: 'spks',
  ik: 'ik',
  pk: 'pk',
  pkId: 'id',
  readKey: (el, what) => parseBase64Text(el, what, { lengths: [32], maxBytes: 64 }),
  writeKey: toBase64,
});

/** OMEMO 2. */
export const TWOMEMO_BACKEND: OmemoBackend = Object.freeze<OmemoBackend>({
  version: 'twomemo',
  namespace: NS_OMEMO2,
  preference: 2,
  supportsLabels: DEVICE_LIST.labels,
  wrapsText: true,
  deviceListNode: NODE_OMEMO2_DEVICES,

  pepLocations: (deviceId: number) => {
    assertId(deviceId, 'deviceId');
    return {
      deviceListNode: NODE_OMEMO2_DEVICES,
      deviceListItemId: ITEM_ID_CURRENT,
      bundleNode: NODE_OMEMO2_BUNDLES,
      bundleItemId: String(deviceId),
    };
  },
  publishOptions: (node: unknown, opts: { numericMaxItems?: boolean } = {}) => {
    assertNodeKind(node);
    if (node === 'devicelist') return OPEN_ACCESS; // one item: the default max_items fits
    return opts.numericMaxItems ? OMEMO2_BUNDLES_OPTIONS_NUMERIC : OMEMO2_BUNDLES_OPTIONS;
  },

  parseDeviceList: (xml) => readDeviceList(xml, DEVICE_LIST),
  serializeDeviceList: (entries) => writeDeviceList(entries, DEVICE_LIST),
  parseBundle: (xml) => readBundle(xml, BUNDLE),
  serializeBundle: (bundle) => writeBundle(bundle, BUNDLE),
});
