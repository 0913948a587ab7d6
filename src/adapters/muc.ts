// XEP-0045 rooms for OMEMO (XEP-0384 0.9 "Group Chats"): joining only rooms that are members-only and
// non-anonymous (§6.4 features), the member list from affiliation lists (§9.5, §10.6), occupant presences with
// real JIDs (§7.2.3) and affiliation changes (§9.3–9.4), and the members' device lists fetched explicitly — PEP
// `+notify` only reaches contacts (XEP-0163 §4), room members often are not — when we join and when they join.
import { OmemoError } from '../crypto/errors';
import {
  PEP_FETCH_CONCURRENCY,
  PEP_FETCH_TIMEOUT_MS,
  forEachBounded,
  withTimeout,
} from '../omemo/manager/bounded-fetch';
import type { OmemoManager } from '../omemo/manager/session-manager';
import { MAX_ROOM_MEMBERS, OmemoRoom, type RoomAffiliation } from '../omemo/rooms/room';
import { backendFor, type OmemoVersion } from '../omemo/versions/backend';
import { asOmemoError, type ReportError } from './error-report';
import {
  affiliationListQuery,
  featuresOf,
  instantRoomConfig,
  joinPresence,
  readAffiliationAnnouncement,
  readConfigurationChange,
  readAffiliationList,
  readInvitation,
  readOccupantPresence,
  roomInfoQuery,
  setAffiliationIq,
  type OccupantPresence,
  type RoomInvitation,
} from './muc-stanzas';
import { errorCondition, type PepTransport } from './pep-transport';
import { bareOf } from './stanza-jid';
import type { XmlElement, XmppClientLike } from './xmpp-types';
import { xml } from '@xmpp/client';

/** XEP-0045 §15.2 disco features OMEMO requires of a room (XEP-0384 "Group Chats": non-anonymous, and members-only as clients require). */
export const REQUIRED_ROOM_FEATURES = Object.freeze(['muc_membersonly', 'muc_nonanonymous']);

/** Options of `joinRoom`. */
export interface JoinRoomOptions {
  /** Our nick in the room. */
  nick: string;
  /** The room password, if it has one. */
  password?: string;
}

/** A joined room's state in the adapter. */
export interface JoinedRoom {
  room: OmemoRoom;
  /** Whether we are in the room now (false after we were removed or left). */
  joined: boolean;
  /** Whether the room is still members-only and non-anonymous (checked again after each configuration change). */
  eligible: boolean;
  /** Settles when the device lists of members who just joined or were added have been refreshed. */
  refreshing: Promise<void>;
  password: string | undefined;
}

/** What the MUC plugin needs. */
export interface MucOptions {
  client: XmppClientLike;
  iqTimeoutMs: number;
  report: ReportError;
  manager: () => Promise<OmemoManager>;
  transport: PepTransport;
  versions: readonly OmemoVersion[];
  capsElement: () => Promise<XmlElement>;
  /** Told of every invitation (mediated or direct). */
  onInvitation: (invitation: RoomInvitation) => void;
}

/** The MUC plugin. */
export interface Muc {
  join(room: string, options: JoinRoomOptions): Promise<OmemoRoom>;
  leave(room: string): Promise<void>;
  /** A joined (or left) room, by bare JID. */
  get(room: string): JoinedRoom | undefined;
  setAffiliation(room: string, jid: string, affiliation: RoomAffiliation): Promise<void>;
  /** Joins again every room we were in (after a reconnect); failures are reported. */
  rejoinAll(): void;
  stop(): void;
}

/** The typed refusal of a room where OMEMO is not used. */
function notEligible(room: string, features: ReadonlySet<string>): OmemoError {
  const missing = REQUIRED_ROOM_FEATURES.filter((f) => !features.has(f));
  return new OmemoError(
    'room-not-eligible',
    `${room} is not members-only and non-anonymous (missing ${missing.join(', ')}): OMEMO is not used there`,
  );
}

/**
 * Creates the MUC plugin: it listens to presences and room messages (occupants, affiliation announcements,
 * invitations) on arrival, so the member list is current before any queued message is handled.
 * @throws nothing.
 */
export function createMuc(options: MucOptions): Muc {
  const { client, report, transport, versions } = options;
  const rooms = new Map<string, JoinedRoom>();
  const joins = new Map<string, { resolve: (p: OccupantPresence) => void; reject: (e: Error) => void }>();
  const request = (iq: XmlElement) => client.iqCaller.request(iq, options.iqTimeoutMs);

  /** Fetches `jids`' device lists (bounded, each with a deadline) and hands them to the manager. */
  const refreshDeviceLists = async (jids: readonly string[]): Promise<void> => {
    const manager = await options.manager();
    const work = jids.filter((j) => j !== manager.jid).flatMap((jid) => versions.map((version) => ({ jid, version })));
    await forEachBounded(work, PEP_FETCH_CONCURRENCY, async ({ jid, version }) => {
      try {
        const what = `fetching the ${version} device list of ${jid}`;
        const fetched = transport.fetch(jid, backendFor(version).deviceListNode);
        let list: string | undefined;
        try {
          list = await withTimeout(fetched, PEP_FETCH_TIMEOUT_MS, what);
        } catch (e) {
          // Prosody answers `forbidden` for a node a non-contact may not read, existing or not (a member who never
          // published this version, or published it for contacts only): no list we can use, like a missing one.
          if (errorCondition(e) !== 'forbidden') throw e;
        }
        if (list !== undefined) await manager.onDeviceListUpdate(jid, version, list);
        else await manager.setDeviceList(jid, version, []);
      } catch (e) {
        report(asOmemoError(e, `device list of room member ${jid}`), { phase: 'device-list', from: jid });
      }
    });
  };

  /** Queues a refresh of `jids` after the running one (sendToRoom waits for it). */
  const scheduleRefresh = (state: JoinedRoom, jids: readonly string[]): void => {
    if (jids.length === 0) return;
    state.refreshing = state.refreshing.then(() => refreshDeviceLists(jids));
  };

  const onPresence = (p: OccupantPresence): void => {
    const state = rooms.get(p.room);
    if (state === undefined) return;
    const { room } = state;
    const self = p.statuses.has('110');
    if (self) {
      room.nick = p.available ? (p.newNick ?? p.nick) : room.nick;
      if (p.available) joins.get(p.room)?.resolve(p);
      else if (p.statuses.has('303') && p.newNick !== undefined) room.nick = p.newNick;
      else {
        state.joined = false; // we left, or were kicked, banned or removed from the member list
        room.clearOccupants();
        if (p.affiliation !== undefined) room.setAffiliation(room.ownJid, p.affiliation);
        return;
      }
    }
    if (!p.available) {
      if (p.statuses.has('303') && p.newNick !== undefined) room.occupantRenamed(p.nick, p.newNick);
      else room.occupantLeft(p.nick, p.affiliation);
      return;
    }
    const known = room.realJidOf(p.nick) !== undefined;
    room.occupantPresent(p.nick, p.jid, p.affiliation ?? 'none');
    // A member who (re)joins may have a new device since we last looked: their list is not pushed to us.
    if (!self && !known && p.jid !== undefined && room.isMember(p.jid) && state.joined) scheduleRefresh(state, [p.jid]);
  };

  const onStanza = (stanza: XmlElement): void => {
    try {
      if (stanza.name === 'presence') {
        const from = bareOf(stanza.attrs.from);
        if (stanza.attrs.type === 'error' && from !== undefined && joins.has(from)) {
          const condition = stanza.getChild('error')?.getChildElements()[0]?.name ?? 'unknown';
          joins.get(from)!.reject(new OmemoError('transport-error', `joining ${from} failed: ${condition}`));
          return;
        }
        const p = readOccupantPresence(stanza);
        if (p !== undefined) onPresence(p);
        return;
      }
      if (stanza.name !== 'message') return;
      for (const a of readAffiliationAnnouncement(stanza)) {
        const state = rooms.get(a.room);
        if (state === undefined) continue;
        if (state.room.setAffiliation(a.jid, a.affiliation) && state.room.isMember(a.jid))
          scheduleRefresh(state, [a.jid]);
      }
      const changed = readConfigurationChange(stanza);
      const changedRoom = changed === undefined ? undefined : rooms.get(changed);
      if (changedRoom !== undefined) {
        // XEP-0045 §10.2.1: the room's configuration changed (e.g. it became semi-anonymous): ask it again, and
        // until the answer is in, sends wait for it (they queue behind `refreshing`).
        changedRoom.refreshing = changedRoom.refreshing.then(async () => {
          try {
            const features = await roomFeatures(changedRoom.room.jid);
            changedRoom.eligible = features !== undefined && eligible(features);
          } catch (e) {
            report(asOmemoError(e, `disco#info of ${changedRoom.room.jid}`), { phase: 'stanza' });
          }
        });
      }
      const invitation = readInvitation(stanza);
      if (invitation !== undefined) options.onInvitation(invitation);
    } catch (e) {
      report(asOmemoError(e, 'handling a room stanza failed'), { phase: 'stanza', stanza });
    }
  };
  client.on('stanza', onStanza);

  /** disco#info of the room: its features, or undefined when it does not exist yet. */
  const roomFeatures = async (room: string): Promise<Set<string> | undefined> => {
    try {
      return featuresOf(await request(roomInfoQuery(room)));
    } catch (e) {
      if (errorCondition(e) === 'item-not-found') return undefined;
      throw asOmemoError(e, `disco#info of ${room} failed`);
    }
  };
  const eligible = (features: ReadonlySet<string>) => REQUIRED_ROOM_FEATURES.every((f) => features.has(f));

  /** Sends the join presence and waits for our own presence (status 110) or an error. */
  const enter = async (state: JoinedRoom, nick: string): Promise<OccupantPresence> => {
    const roomJid = state.room.jid;
    const self = new Promise<OccupantPresence>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new OmemoError('transport-error', `no answer from ${roomJid} within ${options.iqTimeoutMs} ms`)),
        options.iqTimeoutMs,
      );
      joins.set(roomJid, {
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
    try {
      await client.send(joinPresence(roomJid, nick, await options.capsElement(), state.password));
      return await self;
    } finally {
      joins.delete(roomJid);
    }
  };

  const loadAffiliations = async (state: JoinedRoom): Promise<void> => {
    const lists: RoomAffiliation[] = ['owner', 'admin', 'member'];
    await Promise.all(
      lists.map(async (affiliation) => {
        try {
          const result = await request(affiliationListQuery(state.room.jid, affiliation));
          state.room.setAffiliationList(affiliation, readAffiliationList(result, MAX_ROOM_MEMBERS));
        } catch (e) {
          // Servers refuse lists to some affiliations (XEP-0045 §9.5 is for admins): presences still tell us.
          if (errorCondition(e) !== 'forbidden' && errorCondition(e) !== 'not-allowed')
            report(asOmemoError(e, `${affiliation} list of ${state.room.jid}`), { phase: 'stanza' });
        }
      }),
    );
  };

  const join = async (roomJid: string, joinOptions: JoinRoomOptions): Promise<OmemoRoom> => {
    if (typeof joinOptions?.nick !== 'string' || joinOptions.nick === '') throw new TypeError('nick is required');
    const manager = await options.manager();
    const bare = bareOf(roomJid);
    if (bare === undefined || roomJid.includes('/')) throw new TypeError(`invalid room JID ${roomJid}`);
    const before = await roomFeatures(bare);
    if (before !== undefined && !eligible(before)) throw notEligible(bare, before);
    const state: JoinedRoom = rooms.get(bare) ?? {
      room: new OmemoRoom(bare, manager.jid),
      joined: false,
      eligible: true,
      refreshing: Promise.resolve(),
      password: joinOptions.password,
    };
    rooms.set(bare, state);
    try {
      const self = await enter(state, joinOptions.nick);
      if (self.statuses.has('201')) await request(instantRoomConfig(bare)); // we created it: default config
      const after = await roomFeatures(bare);
      if (after === undefined || !eligible(after)) throw notEligible(bare, after ?? new Set());
      state.joined = true;
      if (self.affiliation !== undefined) state.room.setAffiliation(manager.jid, self.affiliation);
      await loadAffiliations(state);
      scheduleRefresh(state, state.room.members());
      await state.refreshing;
      return state.room;
    } catch (e) {
      if (!state.joined) {
        rooms.delete(bare);
        await client.send(xml('presence', { to: `${bare}/${joinOptions.nick}`, type: 'unavailable' })).catch(() => 0);
      }
      throw asOmemoError(e, `joining ${bare} failed`);
    }
  };

  return {
    join,
    get: (room) => rooms.get(bareOf(room) ?? room),
    async leave(roomJid) {
      const state = rooms.get(bareOf(roomJid) ?? roomJid);
      if (state === undefined) return;
      rooms.delete(state.room.jid);
      state.joined = false;
      const to = `${state.room.jid}/${state.room.nick ?? ''}`;
      await client.send(xml('presence', { to, type: 'unavailable' }));
    },
    async setAffiliation(roomJid, jid, affiliation) {
      const state = rooms.get(bareOf(roomJid) ?? roomJid);
      const room = bareOf(roomJid);
      if (room === undefined) throw new TypeError(`invalid room JID ${roomJid}`);
      try {
        await request(setAffiliationIq(room, bareOf(jid) ?? jid, affiliation));
      } catch (e) {
        throw asOmemoError(e, `setting ${jid} to ${affiliation} in ${room} failed`);
      }
      if (state === undefined) return;
      if (state.room.setAffiliation(jid, affiliation) && state.room.isMember(jid))
        scheduleRefresh(state, [bareOf(jid)!]);
    },
    rejoinAll() {
      for (const state of rooms.values()) {
        if (!state.joined || state.room.nick === undefined) continue;
        state.room.clearOccupants();
        // The member list may have changed while we were away: read it again and refresh the device lists.
        enter(state, state.room.nick)
          .then(() => loadAffiliations(state))
          .then(() => scheduleRefresh(state, state.room.members()))
          .catch((e: unknown) => {
            state.joined = false;
            report(asOmemoError(e, `rejoining ${state.room.jid} failed`), { phase: 'setup' });
          });
      }
    },
    stop: () => client.removeListener('stanza', onStanza),
  };
}
