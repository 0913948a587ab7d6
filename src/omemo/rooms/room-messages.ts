// XEP-0384 0.9 "Group Chats" (0.3 clients do the same): messages of a group chat, encrypted to every device of
// every member (the fan-out of a 1:1 send, the room as the SCE `<to>`, which XEP-0384 requires for group chats)
// and, on receipt, the sender's real JID for decryption or the recognition of our own message reflected by the
// room (XEP-0045 §7.2.13), which holds no key for our device.
import { OmemoError } from '../../crypto/errors';
import type { EncryptOptions, EncryptResult } from '../manager/manager-types';
import type { OmemoManager } from '../manager/session-manager';
import type { OmemoRoom, SentMessage } from './room';

/** Options of `encryptToRoom`. */
export interface RoomEncryptOptions extends Omit<EncryptOptions, 'room'> {
  /** The XEP-0359 origin-id the message will carry: its reflection is recognised by it. */
  originId: string;
}

/**
 * Encrypts a message to every device of every member of `room` and to our own other devices, with the per-device
 * report (and per member in `recipients`: with `partial`, who cannot read it and why), then remembers it as sent.
 * @throws what OmemoManager.encrypt throws: OmemoError `no-eligible-devices` when a member has no usable device
 *   (unless `partial`), `stanza-too-large` (saying how many devices fit), `store-error`, `transport-error`.
 */
export async function encryptToRoom(
  manager: OmemoManager,
  room: OmemoRoom,
  message: string | Uint8Array,
  options: RoomEncryptOptions,
): Promise<EncryptResult> {
  const { originId, ...encrypt } = options;
  if (typeof originId !== 'string' || originId === '') throw new TypeError('originId must be a non-empty string');
  const result = await manager.encrypt(room.members(), message, { ...encrypt, room: room.jid });
  room.recordSent({ originId, text: typeof message === 'string' ? message : undefined });
  return result;
}

/** Who sent a group-chat message, as far as OMEMO is concerned. */
export type RoomSender =
  /** Decrypt with this real bare JID (ours when another device of ours sent it). */
  | { kind: 'member'; jid: string }
  /** Our own message (this device) reflected by the room: not decryptable here, returned as ours. */
  | { kind: 'reflection'; sent: SentMessage | undefined };

/** What a received group-chat message says about its sender. */
export interface RoomMessageSender {
  /** The occupant's nick (the resource of the message's `from`). */
  nick: string | undefined;
  /** The real JID given with the message itself (e.g. an archived one), when any. */
  realJid?: string | undefined;
  /** The sender device id of the `<encrypted>` element. */
  deviceId: number | undefined;
  /** The message's XEP-0359 origin-id. */
  originId?: string | undefined;
  /**
   * An archived message: only `realJid` counts, never the nick (which may have been someone else's back then).
   */
  archived?: boolean;
}

/**
 * The real JID to decrypt a group-chat message with, or the recognition of our own reflected message: sent by our
 * device id from our nick or real JID. A message whose sender's real JID the room did not tell is refused.
 * @throws OmemoError `unknown-real-jid` when neither the message nor the room names the occupant's real JID.
 */
export function resolveRoomSender(room: OmemoRoom, ownDeviceId: number, sender: RoomMessageSender): RoomSender {
  const byNick = !sender.archived && sender.nick !== undefined;
  const jid = sender.realJid ?? (byNick ? room.realJidOf(sender.nick!) : undefined);
  const ours = jid === room.ownJid || (jid === undefined && byNick && sender.nick === room.nick);
  if (ours && sender.deviceId === ownDeviceId) return { kind: 'reflection', sent: room.sentMessage(sender.originId) };
  if (ours) return { kind: 'member', jid: room.ownJid };
  if (jid === undefined) {
    throw new OmemoError(
      'unknown-real-jid',
      `${room.jid}/${sender.nick ?? '(no nick)'}: the room did not tell this occupant's real JID`,
    );
  }
  return { kind: 'member', jid };
}
