// The host's side of XEP-0384 §5 (PEP publishing/fetching) and message sending, as a small interface so the
// core stays independent of any XMPP library (adapters in src/adapters implement it).
import type { PublishOptions } from '../stanzas/publish-options';

/**
 * Why the manager sends a message on its own: completing a session a key exchange started, a heartbeat after a
 * long one-sided chain, an automatic repair after an undecryptable message, or a `resetSession`.
 */
export type AutomaticMessageKind = 'session-completion' | 'heartbeat' | 'session-repair' | 'session-reset';

/** What the session manager needs from the XMPP connection. */
export interface OmemoTransport {
  /**
   * Publishes `payloadXml` (the `<list>`/`<devices>`/`<bundle>` element) as item `itemId` of our PEP node.
   * @throws anything: the manager wraps it in OmemoError `transport-error`.
   */
  publish(node: string, itemId: string, payloadXml: string, options: PublishOptions): Promise<void>;
  /**
   * Fetches item `itemId` (or the newest item when undefined) of `jid`'s PEP node and returns the item's
   * payload XML, or undefined when the node or item does not exist.
   * @throws anything when the fetch fails; an error (or its `cause`) with a string `condition`, the RFC 6120
   *   §8.3.3 stanza error condition as @xmpp/client's StanzaError has it, tells a send's recipient reports why
   *   (e.g. `remote-server-not-found` → `recipient-unreachable`, `forbidden` → `device-list-forbidden`).
   */
  fetch(jid: string, node: string, itemId?: string): Promise<string | undefined>;
  /** Sends a `<message>` to `to` (a bare JID) carrying the OMEMO element `encryptedXml` (no body text needed). */
  send(to: string, encryptedXml: string, kind: AutomaticMessageKind): Promise<void>;
}
