// The options of the @xmpp/client adapter (XEP-0384 over XEP-0030/0115/0163/0280/0313) and their checks:
// what `createXmppClientOmemo` and `XmppClientOmemo.send` accept.
import type { EncryptOptions, OmemoManagerOptions } from '../omemo/manager/session-manager';
import type { OmemoLogger } from '../omemo/manager/logger';
import type { OmemoStore } from '../omemo/store/store';
import type { OmemoChatMessage } from './deliver';
import type { DiscoIdentity } from './entity-capabilities';
import type { OmemoErrorContext } from './error-report';
import type { FetchLike } from './http-upload';
import type { XmppClientLike } from './xmpp-types';

/** Options of `createXmppClientOmemo`. */
export interface XmppClientOmemoOptions {
  /** An `@xmpp/client` client (online or not yet started). */
  client: XmppClientLike;
  /** The store, or a function giving it for our bare JID once the connection is bound. */
  store: OmemoStore | ((jid: string) => OmemoStore | Promise<OmemoStore>);
  /** Further OmemoManager options (versions, trust policy, label, …). */
  manager?: Omit<OmemoManagerOptions, 'jid' | 'store' | 'transport'>;
  /** Called for every decrypted message with a payload. */
  onMessage?: (message: OmemoChatMessage) => void | Promise<void>;
  /** Called for every error: OmemoError for anything from the network or the store; listener errors as thrown. */
  onError?: (error: Error, context: OmemoErrorContext) => void;
  /** The `<body>` for clients without OMEMO (default DEFAULT_FALLBACK_BODY; '' for none). */
  fallbackBody?: string;
  /** Enable XEP-0280 carbons on every connect (default true): our other devices see our conversations. */
  carbons?: boolean;
  /**
   * Send the initial presence with XEP-0115 caps on every connect (default true). Without caps in our presence,
   * the server does not push device-list updates. If you send presences yourself, add `capsElement()`.
   */
  presence?: boolean;
  /**
   * Approve presence subscription requests and subscribe back (default false).
   * @deprecated A bot's concern, not OMEMO's: answer `<presence type='subscribe'/>` on your own client, as
   *   the echo bot does (examples/echo-bot.ts, `approveSubscriptions`). This option will be removed.
   */
  acceptSubscriptions?: boolean;
  /** XEP-0115 node, XEP-0030 identity and additional features to advertise. */
  caps?: { node?: string; identity?: DiscoIdentity; features?: readonly string[] };
  /** Per-iq timeout (default IQ_TIMEOUT_MS). */
  iqTimeoutMs?: number;
  /** Encrypted files (XEP-0454 over XEP-0363): the fetch function, and plain http for loopback test servers. */
  files?: { fetch?: FetchLike; allowHttp?: boolean };
  /**
   * Where the adapter and its manager tell what they do (setup, connection failures, catch-up, reported errors,
   * and the manager's events: publishes, fetches, sessions, repairs, skipped devices); never key material.
   * `manager.logger`, when given, is the manager's instead.
   */
  logger?: OmemoLogger;
}

/** Options of `send`. */
export interface SendOptions extends EncryptOptions {
  /** Message type (default 'chat'). */
  type?: 'chat' | 'normal';
  /** Fallback body for this message (default: the adapter's). */
  body?: string;
}

/**
 * Checks what `createXmppClientOmemo` cannot work without.
 * @throws TypeError for options that are not an object, a client without `on`, `send`, `iqCaller` and
 *   `iqCallee`, or no store.
 */
export function checkOptions(options: XmppClientOmemoOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { client } = options;
  const complete =
    typeof client?.on === 'function' &&
    typeof client.send === 'function' &&
    client.iqCaller !== undefined &&
    client.iqCallee !== undefined;
  if (!complete) throw new TypeError('options.client must be an @xmpp/client client (with iqCaller and iqCallee)');
  if (options.store === undefined || options.store === null) throw new TypeError('options.store is required');
}
