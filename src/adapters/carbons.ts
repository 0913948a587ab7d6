// XEP-0280 message carbons: enabled on every connect (§4), received and sent carbons (§6) unwrapped and handed
// to decrypt-and-deliver, but only when our own account sent them (§11 security considerations).
import { xml } from '@xmpp/client';
import { OmemoError } from '../crypto/errors';
import type { Deliver } from './deliver';
import { asOmemoError, type ReportError } from './error-report';
import type { MessageHandler } from './inbound';
import { bareOf } from './stanza-jid';
import { NS_CARBONS, NS_DELAY, NS_FORWARD } from './xmpp-namespaces';
import type { XmlElement, XmppClientLike } from './xmpp-types';

/** What the carbons plugin needs. */
export interface CarbonsOptions {
  client: XmppClientLike;
  /** Timeout of the enable iq. */
  iqTimeoutMs: number;
  report: ReportError;
  deliver: Deliver;
}

/** The carbons plugin: the inbound handler of carbon-wrapped messages, plus enabling carbons. */
export interface Carbons extends MessageHandler {
  /**
   * Asks the server for carbons; a failure is reported (phase 'setup'), not thrown.
   * @throws nothing.
   */
  enable(): Promise<void>;
}

const carbonOf = (stanza: XmlElement): XmlElement | undefined =>
  stanza.getChild('received', NS_CARBONS) ?? stanza.getChild('sent', NS_CARBONS);

/**
 * Creates the carbons plugin (register it as an inbound handler; call `enable` on every connect).
 * @throws nothing.
 */
export function createCarbons(options: CarbonsOptions): Carbons {
  const { client, report, deliver } = options;
  return {
    enable: async () => {
      try {
        const iq = xml('iq', { type: 'set' }, xml('enable', { xmlns: NS_CARBONS }));
        await client.iqCaller.request(iq, options.iqTimeoutMs);
      } catch (e) {
        report(asOmemoError(e, 'enabling carbons failed'), { phase: 'setup' });
      }
    },
    accepts: (stanza) => carbonOf(stanza) !== undefined,
    handle: async (stanza, manager) => {
      const carbon = carbonOf(stanza);
      if (carbon === undefined) return;
      // Only our own account may send carbons; anyone else is forging our messages.
      const from = stanza.attrs.from;
      if (from !== undefined && from !== manager.jid) {
        const error = new OmemoError('malformed-stanza', `carbon from ${from}, not from our account`);
        report(error, { phase: 'stanza', stanza, from: bareOf(from) ?? from });
        return;
      }
      const forwarded = carbon.getChild('forwarded', NS_FORWARD);
      const inner = forwarded?.getChild('message');
      if (inner === undefined) {
        report(new OmemoError('malformed-stanza', 'carbon without a forwarded message'), { phase: 'stanza', stanza });
        return;
      }
      const via = carbon.name === 'sent' ? 'carbon-sent' : 'carbon-received';
      await deliver(manager, inner, via, { stamp: forwarded?.getChild('delay', NS_DELAY)?.attrs.stamp });
    },
  };
}
