// XEP-0384 0.9 "Group Chats" (members list), XMPP-library-agnostic: a room as OMEMO sees it (XEP-0045 §5.2 and §9
// affiliations, §7.2.3 real JIDs of a non-anonymous room) — the real bare JIDs to encrypt to, the nick → real JID
// map that decryption needs, and the ids of our recent messages, which the room reflects back to us.
import { bareJid } from '../stanzas/jid';

/** XEP-0045 §5.2 affiliations. */
export type RoomAffiliation = 'owner' | 'admin' | 'member' | 'none' | 'outcast';

/** Affiliations whose holders are encrypted to (XEP-0384 encrypts to the members of a members-only room). */
const MEMBER_AFFILIATIONS: ReadonlySet<RoomAffiliation> = new Set(['owner', 'admin', 'member']);

/** Members (affiliated real JIDs) a room may have before further ones are ignored: bounds memory and every send. */
export const MAX_ROOM_MEMBERS = 10_000;
/** Occupants (nicks) tracked per room before further ones are ignored. */
export const MAX_ROOM_OCCUPANTS = 10_000;
/** Our recently sent messages (origin-id → text) remembered per room to recognise their reflections. */
export const ROOM_SENT_MESSAGES_KEPT = 256;

/** An occupant: the nick in the room and, in a non-anonymous room, the real JID behind it. */
export interface RoomOccupant {
  nick: string;
  /** Bare real JID (undefined when the room did not tell). */
  jid: string | undefined;
  affiliation: RoomAffiliation;
}

/** What a reflected message of ours is recognised by. */
export interface SentMessage {
  /** The XEP-0359 origin-id we gave it. */
  originId: string;
  text: string | undefined;
}

function checkAffiliation(a: string): asserts a is RoomAffiliation {
  if (!['owner', 'admin', 'member', 'none', 'outcast'].includes(a))
    throw new TypeError(`unknown affiliation ${JSON.stringify(a)}`);
}

/**
 * One OMEMO group chat: the member list (from affiliation lists and occupant presences), the occupants and our
 * recent messages. It holds no keys: encrypting to `members()` and decrypting with `realJidOf(nick)` is the
 * manager's work (see encryptToRoom / decryptRoomMessage).
 */
export class OmemoRoom {
  /** The room's bare JID. */
  readonly jid: string;
  /** Our own bare JID (never listed among the members: the manager adds our other devices itself). */
  readonly ownJid: string;
  /** Our nick in the room, once joined. */
  nick: string | undefined;
  readonly #affiliations = new Map<string, RoomAffiliation>();
  readonly #occupants = new Map<string, RoomOccupant>();
  readonly #sent = new Map<string, string | undefined>();

  /** @throws TypeError for an invalid room or own JID. */
  constructor(jid: string, ownJid: string) {
    this.jid = bareJid(jid);
    this.ownJid = bareJid(ownJid);
  }

  /**
   * Records a real JID's affiliation (from an affiliation list, a presence, or an affiliation change);
   * returns whether its membership changed. Beyond MAX_ROOM_MEMBERS new members are ignored (returns false).
   * @throws TypeError for an invalid JID or an unknown affiliation.
   */
  setAffiliation(jid: string, affiliation: RoomAffiliation): boolean {
    checkAffiliation(affiliation);
    const bare = bareJid(jid);
    const was = this.isMember(bare);
    if (MEMBER_AFFILIATIONS.has(affiliation)) {
      if (!this.#affiliations.has(bare) && this.#affiliations.size >= MAX_ROOM_MEMBERS) return false;
      this.#affiliations.set(bare, affiliation);
    } else {
      this.#affiliations.delete(bare);
    }
    return was !== this.isMember(bare);
  }

  /**
   * Replaces the holders of one affiliation with `jids` (an answer to a `muc#admin` affiliation query): those no
   * longer listed lose it. Returns the JIDs whose membership changed.
   * @throws TypeError as setAffiliation.
   */
  setAffiliationList(affiliation: RoomAffiliation, jids: readonly string[]): string[] {
    checkAffiliation(affiliation);
    const listed = new Set(jids.map(bareJid));
    const changed: string[] = [];
    for (const [jid, a] of [...this.#affiliations]) {
      if (a === affiliation && !listed.has(jid) && this.setAffiliation(jid, 'none')) changed.push(jid);
    }
    for (const jid of listed) {
      if (this.#affiliations.get(jid) !== affiliation && this.setAffiliation(jid, affiliation)) changed.push(jid);
    }
    return changed;
  }

  /** Whether a real JID is a member (owner, admin or member). */
  isMember(jid: string): boolean {
    return this.#affiliations.has(bareJid(jid));
  }

  /** The real bare JIDs to encrypt to: every owner, admin and member except ourselves. */
  members(): string[] {
    return [...this.#affiliations.keys()].filter((j) => j !== this.ownJid);
  }

  /**
   * An occupant's presence (joined, or changed its affiliation). Its affiliation also updates the member list
   * (when the real JID is known). Returns whether the member list changed.
   * @throws TypeError for an invalid JID or an unknown affiliation.
   */
  occupantPresent(nick: string, jid: string | undefined, affiliation: RoomAffiliation): boolean {
    checkAffiliation(affiliation);
    const real = jid === undefined ? undefined : bareJid(jid);
    if (this.#occupants.has(nick) || this.#occupants.size < MAX_ROOM_OCCUPANTS)
      this.#occupants.set(nick, { nick, jid: real, affiliation });
    return real === undefined ? false : this.setAffiliation(real, affiliation);
  }

  /**
   * An occupant left (unavailable presence). With `affiliation` (a presence that says it, e.g. a removal from
   * the member list, XEP-0045 §9.4 status 321) the member list follows; returns whether it changed.
   */
  occupantLeft(nick: string, affiliation?: RoomAffiliation): boolean {
    const occupant = this.#occupants.get(nick);
    this.#occupants.delete(nick);
    if (affiliation === undefined || occupant?.jid === undefined) return false;
    return this.setAffiliation(occupant.jid, affiliation);
  }

  /** An occupant's nick changed (XEP-0045 §7.6, status 303). */
  occupantRenamed(oldNick: string, newNick: string): void {
    const occupant = this.#occupants.get(oldNick);
    if (occupant === undefined) return;
    this.#occupants.delete(oldNick);
    this.#occupants.set(newNick, { ...occupant, nick: newNick });
  }

  /** The real bare JID behind a nick, when the room told us; undefined otherwise (never guessed). */
  realJidOf(nick: string): string | undefined {
    return this.#occupants.get(nick)?.jid;
  }

  /** The occupants present now. */
  occupants(): RoomOccupant[] {
    return [...this.#occupants.values()];
  }

  /** Forgets the occupants (we left or were disconnected); the member list stays. */
  clearOccupants(): void {
    this.#occupants.clear();
  }

  /** Remembers a message we send (its origin-id and text), the oldest forgotten beyond ROOM_SENT_MESSAGES_KEPT. */
  recordSent(message: SentMessage): void {
    this.#sent.delete(message.originId);
    this.#sent.set(message.originId, message.text);
    while (this.#sent.size > ROOM_SENT_MESSAGES_KEPT) this.#sent.delete(this.#sent.keys().next().value as string);
  }

  /**
   * A message of ours that the room reflected, by its origin-id: what we sent, or undefined when we do not
   * remember that id (another client of ours, or one sent before a restart).
   */
  sentMessage(originId: string | undefined): SentMessage | undefined {
    if (originId === undefined || !this.#sent.has(originId)) return undefined;
    return { originId, text: this.#sent.get(originId) };
  }
}
