// XEP-0384 0.3.0 §4 / 0.9 §5 with XEP-0420 §3, XEP-0004 and XEP-0060 §7.1.5: what both OMEMO versions share of
// namespaces and PEP items. Each version's own namespace and nodes are in its backend (src/omemo/versions/).

/** Stanza Content Encryption (XEP-0420), the OMEMO 2 plaintext envelope. */
export const NS_SCE = 'urn:xmpp:sce:1';
/** Namespace of `<body>` inside an SCE `<content>`. */
export const NS_JABBER_CLIENT = 'jabber:client';
/** XEP-0004 data forms, used for PEP publish options. */
export const NS_DATA_FORMS = 'jabber:x:data';
/** FORM_TYPE of XEP-0060 publish options. */
export const FORM_TYPE_PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';
/** Item id of the device list items (both versions) and of the legacy bundle items. */
export const ITEM_ID_CURRENT = 'current';

/** Where a device publishes its device list and bundle. */
export interface PepLocations {
  readonly deviceListNode: string;
  readonly deviceListItemId: string;
  readonly bundleNode: string;
  readonly bundleItemId: string;
}
