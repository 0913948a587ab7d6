// XEP-0384 §5.5 / 0.3 §4.6 receiving a message: decrypt the `<encrypted>` element(s) of a direct, carbon
// (XEP-0280), group-chat (XEP-0045, with the sender's real JID) or archived (XEP-0313) message and deliver the
// payload to the message listeners.
import { isOmemoError, OmemoError } from '../crypto/errors';
import { fileOfText, type FileDescriptor } from '../omemo/files/file-descriptor';
import type { OmemoVersion } from '../omemo/versions/backend';
import type { DecryptResult, OmemoManager } from '../omemo/manager/session-manager';
import { asOmemoError, callListeners, type ReportError } from './error-report';
import type { MessageHandler } from './inbound';
import { mayHoldKeyFor, toOmemoElement } from './ltx-xml';
import { encryptedElements, senderDeviceOf, versionOfEncrypted } from './omemo-message';
import { bareOf } from './stanza-jid';
import { NS_DELAY } from './xmpp-namespaces';
import type { XmlElement } from './xmpp-types';

/** How a decrypted message reached us ('groupchat': live from a room; a room's archive is 'archive'). */
export type OmemoMessageVia = 'direct' | 'carbon-received' | 'carbon-sent' | 'archive' | 'groupchat';

/** A decrypted message with text or bytes (empty OMEMO messages are handled internally, not delivered). */
export interface OmemoChatMessage {
  /** Bare JID of the sender; our own JID for a message sent by another device of ours. */
  from: string;
  /** The other party: the sender, or the recipient's bare JID for a message from our own account. */
  peer: string;
  /** The message `to` as received. */
  to: string | undefined;
  /** The decrypted text (undefined for a payload that is not text). */
  text: string | undefined;
  /** The shared file, when the text is exactly one XEP-0454 `aesgcm://` link (see `downloadFile`). */
  file?: FileDescriptor;
  /** Everything the manager knows about the decryption (sender device, trust, key exchange, SCE envelope). */
  result: DecryptResult;
  via: OmemoMessageVia;
  /** Message type: 'chat', 'normal' or 'groupchat'. */
  type: string;
  /** Group chats: the room's bare JID (also `peer`). */
  room?: string;
  /** Group chats: the sender's nick in the room. */
  nick?: string;
  /** Group chats: the sender's real bare JID, as the room told it (also `from`). */
  realJid?: string;
  /**
   * Group chats: our own message from this device, reflected by the room. It holds no key for this device: `text`
   * is what we sent (by its origin-id), or undefined when we no longer remember it (e.g. from the archive).
   */
  reflected?: boolean;
  /** The message stanza that carried the `<encrypted>` element (the forwarded one for carbons/archive). */
  stanza: XmlElement;
  /** XEP-0203 delay stamp (archived and offline-stored messages). */
  delay?: string;
  /** Archive id (via 'archive'). */
  archiveId?: string;
}

/** A message listener. */
export type MessageListener = (message: OmemoChatMessage) => void | Promise<void>;

/** Where a message came from besides `via`: its XEP-0203 stamp and, for archived ones, the archive id. */
export interface DeliveryMeta {
  stamp?: string | undefined;
  archiveId?: string;
  /** A group-chat message: its room, the sender's nick and real JID (resolved by the MUC plugin, never guessed). */
  groupchat?: { room: string; nick: string | undefined; realJid: string };
}

/**
 * Decrypts one message and delivers it; resolves to whether a listener got it. Failures are reported (phase
 * 'decrypt'; duplicates and empty messages for other devices quietly), listener errors too (phase 'handler').
 */
export type Deliver = (
  manager: OmemoManager,
  message: XmlElement,
  via: OmemoMessageVia,
  meta: DeliveryMeta,
) => Promise<boolean>;

/** What the deliver plugin needs. */
export interface DeliveryOptions {
  /** The OMEMO versions we run: `<encrypted>` elements of other versions are ignored. */
  versions: readonly OmemoVersion[];
  report: ReportError;
  /** The message listeners, read at each delivery. */
  listeners: ReadonlySet<MessageListener>;
}

/**
 * The decrypt-and-deliver function shared by direct messages, carbons and the catch-up.
 * @throws nothing (the returned function reports instead of rejecting, except for manager bugs).
 */
export function createDelivery(options: DeliveryOptions): Deliver & { emit: (m: OmemoChatMessage) => boolean } {
  const { versions, report, listeners } = options;

  /** The bare JID the message counts as sent from, or undefined (reported) when it cannot be trusted. */
  const senderOf = (
    manager: OmemoManager,
    message: XmlElement,
    via: OmemoMessageVia,
    meta: DeliveryMeta,
  ): string | undefined => {
    const own = manager.jid;
    if (meta.groupchat !== undefined) return meta.groupchat.realJid; // from room/nick: the room told us who
    if (via === 'carbon-sent') {
      const sender = bareOf(message.attrs.from) ?? own;
      if (sender === own) return sender;
      const error = new OmemoError('malformed-stanza', `sent carbon from ${message.attrs.from}, not from our account`);
      report(error, { phase: 'decrypt', stanza: message });
      return undefined;
    }
    const sender = bareOf(message.attrs.from);
    if (sender === undefined) {
      const error = new OmemoError('malformed-stanza', 'OMEMO message without a valid from');
      report(error, { phase: 'decrypt', stanza: message });
    }
    return sender;
  };

  const emit = (delivered: OmemoChatMessage): boolean => {
    callListeners(
      listeners,
      (l) => l(delivered),
      (e) => report(e as Error, { phase: 'handler', stanza: delivered.stanza, from: delivered.from }),
    );
    return listeners.size > 0;
  };

  const deliver: Deliver = async (manager, message, via, meta) => {
    const type = message.attrs.type ?? 'normal';
    const group = meta.groupchat;
    if (type === 'error' || (type === 'groupchat' && group === undefined) || type === 'headline') {
      const [first] = encryptedElements(message);
      if (type === 'error' && first !== undefined) {
        const condition = message.getChild('error')?.getChildElements()[0]?.name ?? 'unknown';
        const bounced = `an OMEMO message to ${message.attrs.from} bounced: ${condition}`;
        const error = new OmemoError('transport-error', bounced);
        report(error, { phase: 'decrypt', stanza: message, from: bareOf(message.attrs.from) ?? '' });
      }
      return false; // groupchat comes here through the MUC plugin, which maps the occupant to its real JID
    }
    // Only the versions we run (a 0.3-only device ignores the OMEMO 2 element next to its own).
    const elements = encryptedElements(message).filter((e) => versions.includes(versionOfEncrypted(e)!));
    if (elements.length === 0) return false;
    const sender = senderOf(manager, message, via, meta);
    if (sender === undefined) return false;
    const own = manager.jid;
    // Our own message coming back (archive): this device has no key in it.
    if (sender === own && elements.every((e) => senderDeviceOf(e) === manager.deviceId)) return false;

    let result: DecryptResult | undefined;
    let failure: unknown;
    for (const element of elements) {
      try {
        // Not for this device (e.g. a big room's message after a device change): no conversion, no key decoded.
        if (!mayHoldKeyFor(element, manager.deviceId)) {
          throw new OmemoError('message-not-for-us', `no key for device ${manager.deviceId}`);
        }
        result = await manager.decrypt(sender, toOmemoElement(element));
        break;
      } catch (e) {
        if (failure === undefined || isOmemoError(failure, 'message-not-for-us')) failure = e;
      }
    }
    if (result === undefined) {
      // Duplicates (offline store + archive) fail quietly; so do empty messages meant for other devices.
      if (isOmemoError(failure, 'duplicate-message')) return false;
      const empty = elements.every((e) => e.getChild('payload') === undefined);
      if (empty && isOmemoError(failure, 'message-not-for-us')) return false;
      report(asOmemoError(failure, 'decryption failed'), { phase: 'decrypt', stanza: message, from: sender });
      return false;
    }
    if (result.payload === undefined) return false;
    const file = fileOfText(result.text);
    return emit({
      from: sender,
      peer: group !== undefined ? group.room : sender === own ? (bareOf(message.attrs.to) ?? own) : sender,
      to: message.attrs.to,
      text: result.text,
      result,
      via,
      type,
      stanza: message,
      ...(meta.stamp !== undefined ? { delay: meta.stamp } : {}),
      ...(meta.archiveId !== undefined ? { archiveId: meta.archiveId } : {}),
      ...(group !== undefined ? roomFields(group) : {}),
      ...(file !== undefined ? { file } : {}),
    });
  };
  return Object.assign(deliver, { emit });
}

/** The group-chat fields of a delivered message. */
export function roomFields(group: NonNullable<DeliveryMeta['groupchat']>): Partial<OmemoChatMessage> {
  return { room: group.room, realJid: group.realJid, ...(group.nick !== undefined ? { nick: group.nick } : {}) };
}

/**
 * The handler of messages that carry `<encrypted>` themselves (via 'direct', with their XEP-0203 stamp).
 * @throws nothing.
 */
export function directMessages(deliver: Deliver): MessageHandler {
  return {
    accepts: (message) => encryptedElements(message).length > 0,
    handle: async (message, manager) => {
      await deliver(manager, message, 'direct', { stamp: message.getChild('delay', NS_DELAY)?.attrs.stamp });
    },
  };
}
