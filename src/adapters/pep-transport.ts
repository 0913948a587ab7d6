// XEP-0163 PEP over XEP-0060 iqs for the OMEMO core: publish with publish-options (§7.1.5), reconfigure the
// node when its configuration does not match (§8.2), the numeric max_items fallback, item retrieval (§6.5).
import { xml } from '@xmpp/client';
import { OmemoError } from '../crypto/errors';
import { versionOfNamespace } from '../omemo/versions/backend';
import type { OmemoTransport } from '../omemo/manager/transport';
import {
  MAX_ITEMS_NUMERIC_FALLBACK,
  serializePublishOptions,
  type PublishOptions,
} from '../omemo/stanzas/publish-options';
import { buildOmemoMessage } from './omemo-message';
import { parseElement } from './ltx-xml';
import { FORM_TYPE_NODE_CONFIG, NS_PUBSUB, NS_PUBSUB_ERRORS, NS_PUBSUB_OWNER, NS_X_DATA } from './xmpp-namespaces';
import type { XmlElement, XmppClientLike } from './xmpp-types';

/** How long an iq may take before it counts as failed. */
export const IQ_TIMEOUT_MS = 20_000;

/** Stanza error conditions with which servers refuse publish-options they do not accept as given. */
const OPTIONS_REJECTED = new Set([
  'conflict',
  'not-acceptable',
  'bad-request',
  'policy-violation',
  'feature-not-implemented',
]);

/** The stanza error condition of an iq failure (@xmpp/client's StanzaError has `condition`). */
export function errorCondition(e: unknown): string | undefined {
  const c = (e as { condition?: unknown } | null)?.condition;
  return typeof c === 'string' ? c : undefined;
}

/** True for XEP-0060 §7.1.5 `<precondition-not-met/>`: the node exists with a different configuration. */
export function isPreconditionNotMet(e: unknown): boolean {
  const el = (e as { element?: XmlElement } | null)?.element;
  return el?.getChild?.('precondition-not-met', NS_PUBSUB_ERRORS) !== undefined;
}

/** Options of `createPepTransport`. */
export interface PepTransportOptions {
  /** Per-iq timeout (default IQ_TIMEOUT_MS). */
  iqTimeoutMs?: number;
  /** Message type of automatic messages (default 'chat'). */
  messageType?: string;
}

/** The OmemoTransport of a connected @xmpp/client, plus what the adapter learnt about the server. */
export interface PepTransport extends OmemoTransport {
  /** True once the server refused `pubsub#max_items=max`: MAX_ITEMS_NUMERIC_FALLBACK is used from then on. */
  readonly usesNumericMaxItems: boolean;
}

function configForm(formType: string, options: PublishOptions): XmlElement {
  return xml(
    'x',
    { xmlns: NS_X_DATA, type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, formType)),
    ...Object.entries(options).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v))),
  );
}

/**
 * An OmemoTransport over an @xmpp/client connection: PEP publish/fetch through `client.iqCaller`, messages
 * through `client.send`. Publishing follows what clients do in the field: publish with publish-options; on
 * `precondition-not-met` reconfigure the node (pubsub#owner) and publish again; when the server rejects
 * `max_items=max`, use MAX_ITEMS_NUMERIC_FALLBACK.
 */
export function createPepTransport(client: XmppClientLike, options: PepTransportOptions = {}): PepTransport {
  const timeout = options.iqTimeoutMs ?? IQ_TIMEOUT_MS;
  let numericMaxItems = false;

  const request = (iq: XmlElement): Promise<XmlElement> => client.iqCaller.request(iq, timeout);

  const publishOnce = (node: string, itemId: string, payloadXml: string, opts: PublishOptions) =>
    request(
      xml(
        'iq',
        { type: 'set' },
        xml(
          'pubsub',
          { xmlns: NS_PUBSUB },
          xml('publish', { node }, xml('item', { id: itemId }, parseElement(payloadXml))),
          parseElement(serializePublishOptions(opts)),
        ),
      ),
    );

  const configure = (node: string, opts: PublishOptions) =>
    request(
      xml(
        'iq',
        { type: 'set' },
        xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('configure', { node }, configForm(FORM_TYPE_NODE_CONFIG, opts))),
      ),
    );

  /** Publish; on a configuration mismatch, configure the node to `opts` and publish once more. */
  const publishConfigured = async (node: string, itemId: string, payloadXml: string, opts: PublishOptions) => {
    try {
      await publishOnce(node, itemId, payloadXml, opts);
    } catch (e) {
      if (!isPreconditionNotMet(e)) throw e;
      await configure(node, opts);
      await publishOnce(node, itemId, payloadXml, opts);
    }
  };

  const numeric = (opts: PublishOptions): PublishOptions => ({
    ...opts,
    'pubsub#max_items': MAX_ITEMS_NUMERIC_FALLBACK,
  });

  return {
    get usesNumericMaxItems() {
      return numericMaxItems;
    },

    async publish(node, itemId, payloadXml, opts) {
      const wantsMax = opts['pubsub#max_items'] === 'max';
      if (wantsMax && numericMaxItems) return publishConfigured(node, itemId, payloadXml, numeric(opts));
      try {
        await publishConfigured(node, itemId, payloadXml, opts);
      } catch (e) {
        // Servers without `max` (XEP-0060 1.15.x) refuse the option itself or the configure that sets it.
        if (!wantsMax || !OPTIONS_REJECTED.has(errorCondition(e) ?? '')) throw e;
        await publishConfigured(node, itemId, payloadXml, numeric(opts));
        numericMaxItems = true;
      }
    },

    async fetch(jid, node, itemId) {
      const items = xml(
        'items',
        itemId === undefined ? { node, max_items: '1' } : { node },
        itemId === undefined ? undefined : xml('item', { id: itemId }),
      );
      let result: XmlElement;
      try {
        result = await request(xml('iq', { type: 'get', to: jid }, xml('pubsub', { xmlns: NS_PUBSUB }, items)));
      } catch (e) {
        if (errorCondition(e) === 'item-not-found') return undefined;
        throw e;
      }
      const found = result.getChild('pubsub', NS_PUBSUB)?.getChild('items')?.getChildren('item') ?? [];
      const item = itemId === undefined ? found[found.length - 1] : found.find((i) => i.attrs.id === itemId);
      return item?.getChildElements()[0]?.toString();
    },

    // Automatic messages (session completion, heartbeat) carry no body, only the store hint, so that they
    // still reach offline devices; the kind makes no difference on the wire.
    async send(to: string, encryptedXml: string) {
      const element = parseElement(encryptedXml);
      const version = versionOfNamespace(element.attrs.xmlns ?? '');
      if (version === undefined)
        throw new OmemoError(
          'malformed-stanza',
          `not an OMEMO element: ${element.name} xmlns=${String(element.attrs.xmlns)}`,
        );
      await client.send(
        buildOmemoMessage({ to, type: options.messageType ?? 'chat', elements: [{ version, xml: element }] }),
      );
    },
  };
}
