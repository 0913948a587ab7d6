// A scripted stand-in for an @xmpp/client client (no network): iqs are answered by a tiny PEP service
// (publish / items / owner configure / carbons / MAM via `archive`), sent stanzas are recorded, incoming
// stanzas are injected with `receive`. Individual iqs can be made to fail with a stanza error.
import { EventEmitter } from 'node:events';
import { xml } from '@xmpp/client';
import type { OmemoTransport } from '../../src/omemo/manager/transport';
import { parseElement } from '../../src/adapters/ltx-xml';
import type { IqCalleeContext, XmlElement } from '../../src/adapters/xmpp-types';

const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
const NS_MAM = 'urn:xmpp:mam:2';

/** An error like @xmpp/client's StanzaError. */
export class FakeStanzaError extends Error {
  constructor(
    readonly condition: string,
    readonly element: XmlElement,
  ) {
    super(condition);
  }
}

/** `<error>` with a condition and an optional pubsub#errors condition. */
export function stanzaError(condition: string, pubsubCondition?: string): FakeStanzaError {
  const app = pubsubCondition ? `<${pubsubCondition} xmlns="http://jabber.org/protocol/pubsub#errors"/>` : '';
  return new FakeStanzaError(
    condition,
    parseElement(`<error type="cancel"><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>${app}</error>`),
  );
}

/** PEP items of every account: jid → node → item id → payload XML (insertion order = publication order). */
export class FakePep {
  readonly nodes = new Map<string, Map<string, Map<string, string>>>();

  items(jid: string, node: string): Map<string, string> {
    let nodes = this.nodes.get(jid);
    if (nodes === undefined) this.nodes.set(jid, (nodes = new Map()));
    let items = nodes.get(node);
    if (items === undefined) nodes.set(node, (items = new Map()));
    return items;
  }

  /** A plain OmemoTransport for a manager that is not behind the fake client (a remote peer). */
  transport(jid: string, outbox: { to: string; xml: string }[]): OmemoTransport {
    return {
      publish: async (node, itemId, payload) => {
        this.items(jid, node).set(itemId, payload);
      },
      fetch: async (target, node, itemId) => {
        const items = this.nodes.get(target)?.get(node);
        if (items === undefined) return undefined;
        return itemId === undefined ? [...items.values()].pop() : items.get(itemId);
      },
      send: async (to, payload) => {
        outbox.push({ to, xml: payload });
      },
    };
  }
}

type IqResponder = (iq: XmlElement) => XmlElement | Error | undefined | Promise<XmlElement | Error | undefined>;

export class FakeXmppClient extends EventEmitter {
  readonly jid: { toString(): string; bare(): { toString(): string } };
  status = 'offline';
  readonly sent: XmlElement[] = [];
  readonly iqs: XmlElement[] = [];
  /** Consulted before the built-in PEP service; return undefined to fall through. */
  readonly responders: IqResponder[] = [];
  /** Archived messages for MAM queries (each page is `<max>` of them after `<after>`). */
  archive: { id: string; message: XmlElement }[] = [];
  private readonly calleeHandlers: {
    ns: string;
    name: string;
    handler: (ctx: IqCalleeContext, next: () => unknown) => unknown;
  }[] = [];

  readonly iqCaller = { request: (iq: XmlElement) => this.request(iq) };
  readonly iqCallee = {
    get: (ns: string, name: string, handler: (ctx: IqCalleeContext, next: () => unknown) => unknown) => {
      this.calleeHandlers.push({ ns, name, handler });
    },
  };

  constructor(
    readonly fullJid: string,
    readonly pep: FakePep,
  ) {
    super();
    this.jid = { toString: () => fullJid, bare: () => ({ toString: () => fullJid.split('/')[0]! }) };
  }

  get bare(): string {
    return this.fullJid.split('/')[0]!;
  }

  async send(el: XmlElement): Promise<void> {
    this.sent.push(el);
  }

  /** Goes online (emits 'online' like @xmpp/client after resource binding). */
  goOnline(): void {
    this.status = 'online';
    this.emit('online', this.jid);
  }

  /** Delivers an incoming stanza. */
  receive(stanza: XmlElement | string): void {
    this.emit('stanza', typeof stanza === 'string' ? parseElement(stanza) : stanza);
  }

  /** Asks our disco#info handler like a server would (undefined when it passes the query on). */
  async discoInfo(node?: string): Promise<XmlElement | undefined> {
    const element = xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node });
    const stanza = xml('iq', { type: 'get', from: 'example.org', id: 'd1' }, element);
    for (const h of this.calleeHandlers) {
      if (!element.is(h.name, h.ns)) continue;
      let passed = false;
      const out = await h.handler({ stanza, element }, () => {
        passed = true;
        return undefined;
      });
      return passed ? undefined : (out as XmlElement);
    }
    return undefined;
  }

  private async request(iq: XmlElement): Promise<XmlElement> {
    this.iqs.push(iq);
    for (const r of this.responders) {
      const out = await r(iq);
      if (out instanceof Error) throw out;
      if (out !== undefined) return out;
    }
    const result = (...children: XmlElement[]) => xml('iq', { type: 'result', id: iq.attrs.id }, ...children);
    const pubsub = iq.getChild('pubsub', NS_PUBSUB);
    const publish = pubsub?.getChild('publish');
    if (publish !== undefined) {
      const item = publish.getChild('item')!;
      this.pep.items(this.bare, publish.attrs.node!).set(item.attrs.id!, item.getChildElements()[0]!.toString());
      return result();
    }
    const items = pubsub?.getChild('items');
    if (items !== undefined) {
      const stored = this.pep.nodes.get(iq.attrs.to ?? this.bare)?.get(items.attrs.node!);
      if (stored === undefined) throw stanzaError('item-not-found');
      const wanted = items.getChild('item')?.attrs.id;
      const pick = wanted === undefined ? [...stored].slice(-1) : [...stored].filter(([id]) => id === wanted);
      return result(
        xml(
          'pubsub',
          { xmlns: NS_PUBSUB },
          xml(
            'items',
            { node: items.attrs.node },
            ...pick.map(([id, payload]) => xml('item', { id }, parseElement(payload))),
          ),
        ),
      );
    }
    if (
      iq.getChild('pubsub', NS_PUBSUB_OWNER) !== undefined ||
      iq.getChild('enable', 'urn:xmpp:carbons:2') !== undefined
    )
      return result();
    const query = iq.getChild('query', NS_MAM);
    if (query !== undefined) {
      const set = query.getChild('set')!;
      const max = Number(set.getChild('max')!.getText());
      const after = set.getChild('after')?.getText();
      const start = after === undefined ? 0 : this.archive.findIndex((a) => a.id === after) + 1;
      const page = this.archive.slice(start, start + max);
      for (const a of page) {
        this.receive(
          xml(
            'message',
            { to: this.fullJid },
            xml(
              'result',
              { xmlns: NS_MAM, queryid: query.attrs.queryid, id: a.id },
              xml(
                'forwarded',
                { xmlns: 'urn:xmpp:forward:0' },
                xml('delay', { xmlns: 'urn:xmpp:delay', stamp: '2024-01-01T00:00:00Z' }),
                a.message,
              ),
            ),
          ),
        );
      }
      const last = page[page.length - 1]?.id;
      return result(
        xml(
          'fin',
          { xmlns: NS_MAM, complete: start + max >= this.archive.length ? 'true' : 'false' },
          xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, last ? xml('last', {}, last) : undefined),
        ),
      );
    }
    throw stanzaError('service-unavailable');
  }
}
