// RFC 6121 §3.1.3 presence subscription requests answered automatically (approve, then subscribe back, §3.1.4):
// a bot's concern, kept here for one release behind the deprecated `acceptSubscriptions` option.
import { xml } from '@xmpp/client';
import { asOmemoError, type ReportError } from './error-report';
import { bareOf } from './stanza-jid';
import type { XmlElement, XmppClientLike } from './xmpp-types';

/** What the auto-subscribe plugin needs. */
export interface AutoSubscribeOptions {
  client: XmppClientLike;
  /** Failed answers are reported here (phase 'stanza'). */
  report: ReportError;
}

/**
 * Approves every presence subscription request and asks back, until `stop()`. Only behind the deprecated
 * `acceptSubscriptions` option: applications answer on their own client (examples/echo-bot.ts,
 * `approveSubscriptions`); this file goes when the option does.
 * @throws nothing (failures are reported).
 */
export function createAutoSubscribe(options: AutoSubscribeOptions): { stop(): void } {
  const { client, report } = options;
  const onStanza = (stanza: XmlElement): void => {
    try {
      if (stanza.name !== 'presence' || stanza.attrs.type !== 'subscribe') return;
      const from = bareOf(stanza.attrs.from);
      if (from === undefined) return;
      const answer = (type: string) =>
        client.send(xml('presence', { to: from, type })).catch((e: unknown) => {
          report(asOmemoError(e, `answering ${from}'s subscription failed`), { phase: 'stanza', stanza, from });
        });
      void answer('subscribed').then(() => answer('subscribe'));
    } catch (e) {
      report(asOmemoError(e, 'handling a stanza failed'), { phase: 'stanza', stanza });
    }
  };
  client.on('stanza', onStanza);
  return { stop: () => void client.removeListener('stanza', onStanza) };
}
