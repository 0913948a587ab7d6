// XEP-0384 0.9 "Group Chats" messages in XEP-0045 rooms: sending (`type='groupchat'` with EME, fallback body,
// store hint and a XEP-0359 origin-id by which the room's reflection is recognised) and receiving, live or from
// the room's archive (XEP-0313 §5.1.3), decrypted with the sender's real JID as the room told it.
import { fileOfText } from '../omemo/files/file-descriptor';
import { xml } from '@xmpp/client';
import { utf8Encode } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import type { EncryptResult, OmemoManager } from '../omemo/manager/session-manager';
import { encryptToRoom, resolveRoomSender, type RoomSender } from '../omemo/rooms/room-messages';
import type { OmemoVersion } from '../omemo/versions/backend';
import type { Deliver, DeliveryMeta, OmemoChatMessage, OmemoMessageVia } from './deliver';
import { roomFields } from './deliver';
import { asOmemoError, type ReportError } from './error-report';
import type { MessageHandler } from './inbound';
import type { Muc } from './muc';
import { buildOmemoMessage, encryptedElements, senderDeviceOf, stanzaId, versionOfEncrypted } from './omemo-message';
import { bareOf } from './stanza-jid';
import { NS_DELAY, NS_MUC_USER, NS_SID } from './xmpp-namespaces';
import type { SendOptions } from './xmpp-client-options';
import type { XmlElement, XmppClientLike } from './xmpp-types';

/** What the room-messages plugin needs. */
export interface RoomMessagesOptions {
  client: XmppClientLike;
  muc: Muc;
  versions: readonly OmemoVersion[];
  report: ReportError;
  deliver: Deliver & { emit: (m: OmemoChatMessage) => boolean };
  /** The fallback body for clients without OMEMO ('' for none). */
  fallbackBody: () => string;
}

/** The room-messages plugin. */
export interface RoomMessages {
  send(manager: OmemoManager, room: string, text: string | Uint8Array, options: SendOptions): Promise<EncryptResult>;
  /** The inbound handler of live `groupchat` messages from joined rooms. */
  handler: MessageHandler;
  /** Decrypts and delivers one message of a room's archive (via 'archive'); resolves to whether it was delivered. */
  deliverArchived(manager: OmemoManager, room: string, message: XmlElement, meta: DeliveryMeta): Promise<boolean>;
}

/**
 * The real JID an archived group-chat message carries: the `<x xmlns='…muc#user'><item jid/>` a non-anonymous
 * room's archive adds. A sender can put such an element in its own message too (Prosody 0.12 keeps it, then adds
 * its own): two different JIDs are no answer at all.
 */
function archivedRealJid(message: XmlElement): string | undefined {
  const jids = new Set<string | undefined>();
  for (const x of message.getChildren('x', NS_MUC_USER)) {
    for (const item of x.getChildren('item')) if (item.attrs.jid !== undefined) jids.add(bareOf(item.attrs.jid));
  }
  return jids.size === 1 ? [...jids][0] : undefined;
}

/**
 * Creates the room-messages plugin.
 * @throws nothing.
 */
export function createRoomMessages(options: RoomMessagesOptions): RoomMessages {
  const { client, muc, versions, report, deliver } = options;

  const deliverRoomMessage = async (
    manager: OmemoManager,
    roomJid: string,
    message: XmlElement,
    via: OmemoMessageVia,
    meta: DeliveryMeta,
  ): Promise<boolean> => {
    const state = muc.get(roomJid);
    if (state === undefined) return false;
    const elements = encryptedElements(message).filter((e) => versions.includes(versionOfEncrypted(e)!));
    if (elements.length === 0) return false;
    const from = message.attrs.from ?? '';
    const nick = from.includes('/') ? from.slice(from.indexOf('/') + 1) : undefined;
    const archived = via === 'archive';
    let sender: RoomSender;
    try {
      sender = resolveRoomSender(state.room, manager.deviceId, {
        nick,
        deviceId: senderDeviceOf(elements[0]!),
        originId: message.getChild('origin-id', NS_SID)?.attrs.id,
        ...(archived ? { archived, realJid: archivedRealJid(message) } : {}),
      });
    } catch (e) {
      report(asOmemoError(e, 'group-chat sender'), { phase: 'decrypt', stanza: message, from: state.room.jid });
      return false;
    }
    const group = { room: state.room.jid, nick, realJid: sender.kind === 'member' ? sender.jid : manager.jid };
    if (sender.kind === 'member') return deliver(manager, message, via, { ...meta, groupchat: group });
    // Our own message, reflected: nothing to decrypt (no key for this device); it is ours, with what we sent.
    const text = sender.sent?.text;
    const file = fileOfText(text); // a file we shared: ours again, with its descriptor
    return deliver.emit({
      from: manager.jid,
      peer: state.room.jid,
      to: message.attrs.to,
      text,
      result: {
        version: versionOfEncrypted(elements[0]!)!,
        sender: { jid: manager.jid, deviceId: manager.deviceId },
        payload: text === undefined ? undefined : utf8Encode(text),
        text,
        keyExchange: false,
        trust: 'verified',
        sent: [],
      },
      via,
      type: 'groupchat',
      stanza: message,
      reflected: true,
      ...(meta.stamp !== undefined ? { delay: meta.stamp } : {}),
      ...(meta.archiveId !== undefined ? { archiveId: meta.archiveId } : {}),
      ...roomFields(group),
      ...(file !== undefined ? { file } : {}),
    });
  };

  return {
    async send(manager, roomJid, text, sendOptions) {
      const state = muc.get(roomJid);
      if (state === undefined) throw new TypeError(`not in room ${roomJid}: joinRoom first`);
      if (!state.joined) throw new OmemoError('transport-error', `no longer in room ${state.room.jid}`);
      await state.refreshing; // members who just joined: their device lists first
      if (!state.eligible) {
        const why = `${state.room.jid} is no longer members-only and non-anonymous: OMEMO is not used there`;
        throw new OmemoError('room-not-eligible', why);
      }
      const { type: _type, body, ...encryptOptions } = sendOptions;
      const originId = stanzaId();
      const result = await encryptToRoom(manager, state.room, text, { ...encryptOptions, originId });
      if (result.elements.length === 0) {
        // `partial` and not one device anywhere (ours included): a message without a key is nobody's message.
        throw new OmemoError('no-eligible-devices', `no device in ${state.room.jid} can read it`);
      }
      const fallback = body ?? options.fallbackBody();
      const message = buildOmemoMessage({
        to: state.room.jid,
        type: 'groupchat',
        id: originId,
        elements: result.elements,
        ...(fallback === '' ? {} : { body: fallback }),
      });
      message.append(xml('origin-id', { xmlns: NS_SID, id: originId }));
      try {
        await client.send(message);
      } catch (e) {
        throw asOmemoError(e, `sending to ${state.room.jid} failed`);
      }
      return result;
    },
    handler: {
      accepts: (message) =>
        message.attrs.type === 'groupchat' &&
        muc.get(bareOf(message.attrs.from) ?? '') !== undefined &&
        encryptedElements(message).length > 0,
      handle: async (message, manager) => {
        const stamp = message.getChild('delay', NS_DELAY)?.attrs.stamp;
        await deliverRoomMessage(manager, bareOf(message.attrs.from)!, message, 'groupchat', { stamp });
      },
    },
    deliverArchived: (manager, room, message, meta) => deliverRoomMessage(manager, room, message, 'archive', meta),
  };
}
