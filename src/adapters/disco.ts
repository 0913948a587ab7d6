// XEP-0030 §3.1 disco#info answers and XEP-0115 §4 caps for our presence: the plugin that tells the server
// which `+notify` features we have, so that PEP (XEP-0163 §4) pushes the device lists we are interested in.
import { xml } from '@xmpp/client';
import { CAPS_HASH, capsVerification, type DiscoIdentity } from './entity-capabilities';
import { NS_CAPS, NS_DISCO_INFO } from './xmpp-namespaces';
import type { IqCalleeContext, XmlElement, XmppClientLike } from './xmpp-types';

/** Default XEP-0115 node (identifies the software in caps). */
export const DEFAULT_CAPS_NODE = 'https://github.com/omemo-wasm/omemo-wasm';
/** Default XEP-0030 identity: a bot (set `caps.identity` for a client/pc). */
export const DEFAULT_IDENTITY: Readonly<DiscoIdentity> = Object.freeze({
  category: 'client',
  type: 'bot',
  name: 'omemo-wasm',
});

/** What the disco plugin needs. */
export interface DiscoOptions {
  client: XmppClientLike;
  /** XEP-0030 identity (default DEFAULT_IDENTITY). */
  identity?: DiscoIdentity;
  /** XEP-0115 node (default DEFAULT_CAPS_NODE). */
  node?: string;
  /** Features besides disco#info and caps (duplicates are dropped). */
  features: readonly string[];
}

/** The disco plugin: answers disco#info queries and builds the caps element that points to them. */
export interface Disco {
  /** The XEP-0115 `<c/>` element for a presence. */
  capsElement(): Promise<XmlElement>;
  /** From now on every disco#info query is passed on to the next handler (@xmpp/iq has no way to remove one). */
  stop(): void;
}

/**
 * Registers the disco#info handler on `client.iqCallee`: it answers plain queries and queries for our caps
 * node, and passes queries for other nodes on.
 * @throws nothing (the caps hash is computed in the background; no duplicates can reach it).
 */
export function createDisco(options: DiscoOptions): Disco {
  const identity = options.identity ?? DEFAULT_IDENTITY;
  const node = options.node ?? DEFAULT_CAPS_NODE;
  const features = [...new Set([NS_DISCO_INFO, NS_CAPS, ...options.features])];
  const ver = capsVerification([identity], features);
  let stopped = false;

  const answer = async (ctx: IqCalleeContext, next: () => unknown): Promise<unknown> => {
    const hash = await ver;
    const asked = ctx.element.attrs.node;
    if (stopped || (asked !== undefined && asked !== `${node}#${hash}`)) return next();
    const { category, type, name, lang } = identity;
    return xml(
      'query',
      { xmlns: NS_DISCO_INFO, node: asked },
      xml('identity', { category, type, name, 'xml:lang': lang }),
      ...features.map((f) => xml('feature', { var: f })),
    );
  };
  options.client.iqCallee.get(NS_DISCO_INFO, 'query', answer);

  return {
    capsElement: async () => xml('c', { xmlns: NS_CAPS, hash: CAPS_HASH, node, ver: await ver }),
    stop: () => {
      stopped = true;
    },
  };
}
