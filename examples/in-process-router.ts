// An in-process stand-in for an XMPP server with PEP (XEP-0163): it stores published items per account and
// node, answers fetches, and delivers messages to every device of the recipient, so several OmemoManagers
// can talk without a network. Used by the demo and the tests.
import type { AutomaticMessageKind, OmemoTransport, PublishOptions } from '../src/index';

/** A message delivered to a device's inbox. */
export interface RoutedMessage {
  from: string;
  to: string;
  xml: string;
  kind: AutomaticMessageKind | 'chat';
}

/** A PEP notification (XEP-0163 `+notify`): an item published by `jid` on `node`. */
export interface PepNotification {
  jid: string;
  node: string;
  itemId: string;
  xml: string;
}

/** The server: PEP nodes per account, and one inbox per connected device. */
export class InProcessRouter {
  private readonly pep = new Map<string, Map<string, Map<string, string>>>();
  private readonly inboxes = new Map<string, RoutedMessage[]>();
  /** Inbox names by the part before their first `/` (a bare JID): delivery looks there only, not at every inbox. */
  private readonly inboxesByJid = new Map<string, Set<string>>();
  /** Every publish, in order, for assertions. */
  readonly publishes: { jid: string; node: string; itemId: string; xml: string; options: PublishOptions }[] = [];
  /** JIDs whose fetches fail (simulates an unreachable account). */
  readonly unreachable = new Set<string>();
  private readonly subscriptions = new Map<string, { jids: Set<string>; nodes: Set<string> | undefined }>();
  private readonly notifications = new Map<string, PepNotification[]>();

  /** A transport for the device `jid`/`deviceName` (the name keys its inbox). */
  connect(jid: string, deviceName: string): OmemoTransport {
    this.inboxes.set(deviceName, this.inboxes.get(deviceName) ?? []);
    const bare = bareOf(deviceName);
    let names = this.inboxesByJid.get(bare);
    if (names === undefined) this.inboxesByJid.set(bare, (names = new Set()));
    names.add(deviceName);
    return {
      publish: async (node, itemId, xml, options) => {
        this.publishes.push({ jid, node, itemId, xml, options });
        this.items(jid, node).set(itemId, xml);
        this.notify({ jid, node, itemId, xml });
      },
      fetch: async (target, node, itemId) => {
        if (this.unreachable.has(target)) {
          // As @xmpp/client's StanzaError for a domain that does not resolve (RFC 6120 §8.3.3.15).
          throw Object.assign(new Error(`${target} is unreachable`), { condition: 'remote-server-not-found' });
        }
        const items = this.pep.get(target)?.get(node);
        if (items === undefined) return undefined;
        return itemId === undefined ? [...items.values()].pop() : items.get(itemId);
      },
      send: async (to, xml, kind) => {
        // Like a server with carbons: every device of the recipient, never back to the sending device.
        this.deliver({ from: jid, to, xml, kind }, { exceptDevice: deviceName });
      },
    };
  }

  private items(jid: string, node: string): Map<string, string> {
    let nodes = this.pep.get(jid);
    if (nodes === undefined) this.pep.set(jid, (nodes = new Map()));
    let items = nodes.get(node);
    if (items === undefined) nodes.set(node, (items = new Map()));
    return items;
  }

  /** The newest item of a node, as a fetch would return it. */
  item(jid: string, node: string, itemId?: string): string | undefined {
    const items = this.pep.get(jid)?.get(node);
    if (items === undefined) return undefined;
    return itemId === undefined ? [...items.values()].pop() : items.get(itemId);
  }

  /** Overwrites a PEP item directly (e.g. another client publishing a list without our device); subscribers are notified. */
  setItem(jid: string, node: string, itemId: string, xml: string): void {
    this.items(jid, node).set(itemId, xml);
    this.notify({ jid, node, itemId, xml });
  }

  /**
   * Subscribes the device `deviceName` to PEP notifications (`+notify`) of items published by `jids` on
   * `nodes` (default: every node). As a PEP service does on subscription, the newest item of each matching
   * existing node is queued right away. Notifications are queued; take them with `drainNotifications`.
   */
  subscribe(deviceName: string, jids: readonly string[], nodes?: readonly string[]): void {
    let sub = this.subscriptions.get(deviceName);
    if (sub === undefined)
      this.subscriptions.set(
        deviceName,
        (sub = { jids: new Set(), nodes: nodes === undefined ? undefined : new Set() }),
      );
    for (const j of jids) sub.jids.add(j);
    if (nodes === undefined) sub.nodes = undefined;
    else if (sub.nodes !== undefined) for (const n of nodes) sub.nodes.add(n);
    const queue = this.notificationQueue(deviceName);
    for (const jid of jids) {
      for (const [node, items] of this.pep.get(jid) ?? []) {
        if (nodes !== undefined && !nodes.includes(node)) continue;
        const last = [...items].pop();
        if (last !== undefined) queue.push({ jid, node, itemId: last[0], xml: last[1] });
      }
    }
  }

  /** Takes and clears the queued PEP notifications of a device, oldest first. */
  drainNotifications(deviceName: string): PepNotification[] {
    const queue = this.notifications.get(deviceName) ?? [];
    this.notifications.set(deviceName, []);
    return queue;
  }

  private notificationQueue(deviceName: string): PepNotification[] {
    let queue = this.notifications.get(deviceName);
    if (queue === undefined) this.notifications.set(deviceName, (queue = []));
    return queue;
  }

  private notify(n: PepNotification): void {
    for (const [deviceName, sub] of this.subscriptions) {
      if (sub.jids.has(n.jid) && (sub.nodes === undefined || sub.nodes.has(n.node)))
        this.notificationQueue(deviceName).push({ ...n });
    }
  }

  /**
   * Routes a message to the inbox of every device registered for the recipient's bare JID, except
   * `options.exceptDevice` (e.g. the sending device when delivering a carbon copy to its own account).
   */
  deliver(message: RoutedMessage, options: { exceptDevice?: string } = {}): void {
    for (const name of this.inboxesByJid.get(bareOf(message.to)) ?? []) {
      if (name === options.exceptDevice) continue;
      if (name === message.to || name.startsWith(`${message.to}/`)) this.inboxes.get(name)!.push(message);
    }
  }

  /** Takes and clears the inbox of a device. */
  drain(deviceName: string): RoutedMessage[] {
    const inbox = this.inboxes.get(deviceName) ?? [];
    this.inboxes.set(deviceName, []);
    return inbox;
  }
}

/** The part of an address before its first `/`: the bare JID of a full JID or of an inbox name `jid/resource`. */
function bareOf(address: string): string {
  const slash = address.indexOf('/');
  return slash < 0 ? address : address.slice(0, slash);
}
