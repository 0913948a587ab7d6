// XEP-0045 multi-user chat stanzas as OMEMO in rooms needs them (XEP-0384 0.9 "Group Chats"): the join presence
// (§7.2.1, no history), occupant presences with real JIDs (§7.2.3, status codes §15.6), affiliation lists (§9.5,
// §10.6), the room features (§6.4), affiliation announcements (§9.3), and invitations (mediated §7.8.2, direct
// XEP-0249).
import { xml } from '@xmpp/client';
import type { RoomAffiliation } from '../omemo/rooms/room';
import { bareOf } from './stanza-jid';
import {
  NS_CONFERENCE,
  NS_DISCO_INFO,
  NS_MUC,
  NS_MUC_ADMIN,
  NS_MUC_OWNER,
  NS_MUC_USER,
  NS_X_DATA,
} from './xmpp-namespaces';
import type { XmlElement } from './xmpp-types';

const AFFILIATIONS: ReadonlySet<string> = new Set(['owner', 'admin', 'member', 'none', 'outcast']);

/** The affiliation of a `<item affiliation>`, or undefined for a missing or unknown one. */
export function affiliationOf(item: XmlElement | undefined): RoomAffiliation | undefined {
  const a = item?.attrs.affiliation;
  return a !== undefined && AFFILIATIONS.has(a) ? (a as RoomAffiliation) : undefined;
}

/** An occupant presence from a room, as OMEMO reads it. */
export interface OccupantPresence {
  room: string;
  nick: string;
  available: boolean;
  /** The bare real JID, when the room shows it (non-anonymous rooms). */
  jid: string | undefined;
  affiliation: RoomAffiliation | undefined;
  /** XEP-0045 §15.6 status codes (110: this is us; 201: room created; 303: nick change; 321: removed, …). */
  statuses: Set<string>;
  /** The new nick of a nick change (status 303). */
  newNick: string | undefined;
}

/** The MUC occupant presence in `stanza` (a presence from room/nick with `<x xmlns='…muc#user'>`), or undefined. */
export function readOccupantPresence(stanza: XmlElement): OccupantPresence | undefined {
  if (stanza.name !== 'presence' || stanza.attrs.type === 'error') return undefined;
  const x = stanza.getChild('x', NS_MUC_USER);
  const from = stanza.attrs.from;
  const slash = from?.indexOf('/') ?? -1;
  const room = bareOf(from);
  if (x === undefined || room === undefined || slash < 0) return undefined;
  const item = x.getChild('item');
  return {
    room,
    nick: from!.slice(slash + 1),
    available: stanza.attrs.type !== 'unavailable',
    jid: bareOf(item?.attrs.jid),
    affiliation: affiliationOf(item),
    statuses: new Set(x.getChildren('status').map((s) => s.attrs.code ?? '')),
    newNick: item?.attrs.nick,
  };
}

/** XEP-0045 §7.2.1 join presence to room/nick, asking for no history (catch-up is MAM's job). */
export function joinPresence(room: string, nick: string, caps: XmlElement, password?: string): XmlElement {
  return xml(
    'presence',
    { to: `${room}/${nick}` },
    xml(
      'x',
      { xmlns: NS_MUC },
      xml('history', { maxstanzas: '0' }),
      password === undefined ? undefined : xml('password', {}, password),
    ),
    caps,
  );
}

/** XEP-0030 disco#info to a room. */
export function roomInfoQuery(room: string): XmlElement {
  return xml('iq', { type: 'get', to: room }, xml('query', { xmlns: NS_DISCO_INFO }));
}

/** The features of a disco#info result. */
export function featuresOf(result: XmlElement): Set<string> {
  const query = result.getChild('query', NS_DISCO_INFO);
  return new Set((query?.getChildren('feature') ?? []).map((f) => f.attrs.var ?? ''));
}

/** XEP-0045 §10.1.2 instant room: accept the default configuration of a room we just created. */
export function instantRoomConfig(room: string): XmlElement {
  return xml(
    'iq',
    { type: 'set', to: room },
    xml('query', { xmlns: NS_MUC_OWNER }, xml('x', { xmlns: NS_X_DATA, type: 'submit' })),
  );
}

/** XEP-0045 §9.5 / §10.6 the list of one affiliation. */
export function affiliationListQuery(room: string, affiliation: RoomAffiliation): XmlElement {
  return xml('iq', { type: 'get', to: room }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation })));
}

/** The bare JIDs of an affiliation list result (at most `max`). */
export function readAffiliationList(result: XmlElement, max: number): string[] {
  const items = result.getChild('query', NS_MUC_ADMIN)?.getChildren('item') ?? [];
  const jids: string[] = [];
  for (const item of items) {
    const jid = bareOf(item.attrs.jid);
    if (jid !== undefined && jids.length < max) jids.push(jid);
  }
  return jids;
}

/** XEP-0045 §9.3 / §9.4 granting or revoking an affiliation. */
export function setAffiliationIq(room: string, jid: string, affiliation: RoomAffiliation): XmlElement {
  return xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation, jid })));
}

/** XEP-0045 §9.3 affiliation change of a user not in the room, announced by the room (`<message from='room'>`). */
export function readAffiliationAnnouncement(
  stanza: XmlElement,
): { room: string; jid: string; affiliation: RoomAffiliation }[] {
  const room = bareOf(stanza.attrs.from);
  if (stanza.name !== 'message' || room === undefined || stanza.attrs.from !== room) return [];
  const x = stanza.getChild('x', NS_MUC_USER);
  const out: { room: string; jid: string; affiliation: RoomAffiliation }[] = [];
  for (const item of x?.getChildren('item') ?? []) {
    const jid = bareOf(item.attrs.jid);
    const affiliation = affiliationOf(item);
    if (jid !== undefined && affiliation !== undefined) out.push({ room, jid, affiliation });
  }
  return out;
}

/** An invitation to a room. */
export interface RoomInvitation {
  room: string;
  /** Who invited us (bare JID), when known. */
  from: string | undefined;
  password: string | undefined;
  reason: string | undefined;
  kind: 'mediated' | 'direct';
}

/** A mediated (XEP-0045 §7.8.2, from the room) or direct (XEP-0249) invitation, or undefined. */
export function readInvitation(stanza: XmlElement): RoomInvitation | undefined {
  if (stanza.name !== 'message' || stanza.attrs.type === 'error') return undefined;
  const direct = stanza.getChild('x', NS_CONFERENCE);
  const directRoom = bareOf(direct?.attrs.jid);
  if (direct !== undefined && directRoom !== undefined) {
    return {
      room: directRoom,
      from: bareOf(stanza.attrs.from),
      password: direct.attrs.password,
      reason: direct.attrs.reason,
      kind: 'direct',
    };
  }
  const invite = stanza.getChild('x', NS_MUC_USER)?.getChild('invite');
  const room = bareOf(stanza.attrs.from);
  if (invite === undefined || room === undefined) return undefined;
  return {
    room,
    from: bareOf(invite.attrs.from),
    password: stanza.getChild('x', NS_MUC_USER)?.getChild('password')?.getText(),
    reason: invite.getChild('reason')?.getText(),
    kind: 'mediated',
  };
}

/** XEP-0045 §10.2.1 status codes of a configuration change: 104 (non-privacy), 170–174 (logging, anonymity). */
const CONFIGURATION_CHANGED: ReadonlySet<string> = new Set(['104', '170', '171', '172', '173', '174']);

/** The room whose configuration changed, from its `<message from='room'>` notification, or undefined. */
export function readConfigurationChange(stanza: XmlElement): string | undefined {
  const room = bareOf(stanza.attrs.from);
  if (stanza.name !== 'message' || room === undefined || stanza.attrs.from !== room) return undefined;
  const statuses = stanza.getChild('x', NS_MUC_USER)?.getChildren('status') ?? [];
  return statuses.some((s) => CONFIGURATION_CHANGED.has(s.attrs.code ?? '')) ? room : undefined;
}
