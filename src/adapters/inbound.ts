// RFC 6120 §10.1 in-order processing of the stanzas that concern OMEMO (XEP-0384): one bounded queue for the
// messages the plugins accept, handled one at a time once the manager is set up, in the order they arrived.
import { OmemoError } from '../crypto/errors';
import type { OmemoManager } from '../omemo/manager/session-manager';
import { asOmemoError, type ReportError } from './error-report';
import type { XmlElement, XmppClientLike } from './xmpp-types';

/** Received stanzas waiting for processing before new ones are dropped (reported as errors). */
export const MAX_PENDING_STANZAS = 10_000;

/** A plugin's share of the incoming messages. */
export interface MessageHandler {
  /** True for a message this handler processes (asked on arrival; the first handler that accepts it gets it). */
  accepts(message: XmlElement): boolean;
  /** Processes an accepted message in its turn; a rejection is reported (phase 'stanza'). */
  handle(message: XmlElement, manager: OmemoManager): Promise<void>;
}

/** What the inbound plugin needs. */
export interface InboundOptions {
  client: XmppClientLike;
  /** The manager once set up: each queued message waits for it (a failed setup is reported per message). */
  manager: () => Promise<OmemoManager>;
  report: ReportError;
  /** Asked first, on arrival and in order: a claim returning true takes the message, nothing queues it. */
  claims: readonly ((message: XmlElement) => boolean)[];
  /** The queued handlers, in order of precedence. */
  handlers: readonly MessageHandler[];
}

/** The inbound plugin. */
export interface Inbound {
  /** Resolves when every stanza received so far has been processed. */
  idle(): Promise<void>;
  /** Stops listening; messages still queued are dropped when their turn comes. */
  stop(): void;
}

/**
 * Listens to the client's stanzas and dispatches messages to the claims and the queued handlers.
 * @throws nothing (errors are reported: phase 'stanza', OmemoError `transport-error` for a full queue).
 */
export function createInbound(options: InboundOptions): Inbound {
  const { client, report, claims, handlers } = options;
  let inbox: Promise<void> = Promise.resolve();
  let pending = 0;
  let stopped = false;

  const enqueue = (stanza: XmlElement, handler: MessageHandler): void => {
    if (pending >= MAX_PENDING_STANZAS) {
      const error = new OmemoError('transport-error', `more than ${MAX_PENDING_STANZAS} stanzas waiting: dropped one`);
      report(error, { phase: 'stanza', stanza });
      return;
    }
    pending++;
    inbox = inbox
      .then(async () => {
        const manager = await options.manager();
        if (!stopped) await handler.handle(stanza, manager);
      })
      .catch((e: unknown) => report(asOmemoError(e, 'handling a message failed'), { phase: 'stanza', stanza }))
      .finally(() => {
        pending--;
      });
  };

  const onStanza = (stanza: XmlElement): void => {
    try {
      if (stanza.name !== 'message') return;
      if (claims.some((claim) => claim(stanza))) return;
      const handler = handlers.find((h) => h.accepts(stanza));
      if (handler !== undefined) enqueue(stanza, handler);
    } catch (e) {
      report(asOmemoError(e, 'handling a stanza failed'), { phase: 'stanza', stanza });
    }
  };
  client.on('stanza', onStanza);

  return {
    idle: async () => {
      for (let seen: Promise<void> | undefined; seen !== inbox; ) {
        seen = inbox;
        await seen;
      }
    },
    stop: () => {
      stopped = true;
      client.removeListener('stanza', onStanza);
    },
  };
}
