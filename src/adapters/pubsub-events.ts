// XEP-0163 §4 PEP notifications of the device lists (XEP-0384 §4.1 / 0.3 §4.2): the `+notify` features that ask
// for them (XEP-0115 caps) and the inbound handler that applies each `<items>` update to the manager.
import { OmemoError } from '../crypto/errors';
import { OMEMO_BACKENDS, backendFor, type OmemoVersion } from '../omemo/versions/backend';
import { asOmemoError, callListeners, type ReportError } from './error-report';
import type { MessageHandler } from './inbound';
import { bareOf } from './stanza-jid';
import { NS_PUBSUB_EVENT } from './xmpp-namespaces';

/** A device-list update that was applied (after a PEP event). */
export interface DeviceListEvent {
  jid: string;
  version: OmemoVersion;
}

/** A device-list listener. */
export type DeviceListListener = (event: DeviceListEvent) => void;

/** The device-list nodes and their versions. */
const DEVICE_LIST_NODES: ReadonlyMap<string, OmemoVersion> = new Map(
  OMEMO_BACKENDS.map((b) => [b.deviceListNode, b.version]),
);

/**
 * The disco features that subscribe us to the device lists of `versions` (to advertise in caps): the XEP-0163 §4
 * `+notify` feature of each version's device-list node.
 * @throws TypeError for an unknown version.
 */
export function notifyFeatures(versions: readonly OmemoVersion[]): string[] {
  return versions.map((v) => `${backendFor(v).deviceListNode}+notify`);
}

/** What the device-list events plugin needs. */
export interface DeviceListEventsOptions {
  /** The OMEMO versions we run: events of other device-list nodes are ignored. */
  versions: readonly OmemoVersion[];
  report: ReportError;
  /** The device-list listeners, told after each applied update. */
  listeners: ReadonlySet<DeviceListListener>;
}

/**
 * The inbound handler of PEP events: the newest item of each device-list node goes to
 * `manager.onDeviceListUpdate`; retractions and purges are ignored (never remove devices we know).
 * @throws nothing (failed updates are reported, phase 'device-list'; listener errors phase 'handler').
 */
export function deviceListEvents(options: DeviceListEventsOptions): MessageHandler {
  const { versions, report, listeners } = options;
  return {
    accepts: (stanza) => stanza.getChild('event', NS_PUBSUB_EVENT) !== undefined,
    handle: async (stanza, manager) => {
      const event = stanza.getChild('event', NS_PUBSUB_EVENT);
      // PEP notifications come from the publisher's bare JID; our own from our bare JID (or without from).
      const jid = stanza.attrs.from === undefined ? manager.jid : bareOf(stanza.attrs.from);
      if (event === undefined || jid === undefined) return;
      for (const items of event.getChildren('items')) {
        const version = DEVICE_LIST_NODES.get(items.attrs.node ?? '');
        if (version === undefined || !versions.includes(version)) continue;
        const item = items.getChildren('item').pop();
        if (item === undefined) continue;
        const payload = item.getChildElements()[0];
        try {
          if (payload === undefined) {
            throw new OmemoError('malformed-stanza', `${version} device-list item of ${jid} has no payload`);
          }
          await manager.onDeviceListUpdate(jid, version, payload.toString());
        } catch (e) {
          report(asOmemoError(e, 'device-list update failed'), { phase: 'device-list', stanza, from: jid });
          continue;
        }
        const failed = (e: unknown) => report(e as Error, { phase: 'handler', stanza, from: jid });
        callListeners(listeners, (l) => l({ jid, version }), failed);
      }
    },
  };
}
