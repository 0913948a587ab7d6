// The string keys of the manager's caches (store.ts `sessionKey`, `deviceListKey`) for the addresses of a send
// (XEP-0384 0.9 §4.4: every device of every recipient), remembered per JID: a fan-out to 1000 devices otherwise
// builds and hashes 2000 new strings per call, every call.
import { MAX_DEVICES_PER_LIST } from '../stanzas/device-list';
import type { SessionAddress } from '../store/store';
import { deviceListKey, sessionKey } from '../store/store';
import type { OmemoVersion } from '../versions/backend';

/** JIDs whose key strings are remembered; beyond it all are forgotten at once (memory, not correctness). */
export const ADDRESS_KEY_JIDS = 20000;
/** Device ids per JID and version whose session keys are remembered (a JID may publish ever new ids). */
export const ADDRESS_KEY_DEVICES_PER_JID = MAX_DEVICES_PER_LIST;

interface JidKeys {
  lists: Map<OmemoVersion, string>;
  sessions: Map<OmemoVersion, Map<number, string>>;
}

const byJid = new Map<string, JidKeys>();

function keysOf(jid: string): JidKeys {
  let k = byJid.get(jid);
  if (k === undefined) {
    if (byJid.size >= ADDRESS_KEY_JIDS) byJid.clear();
    k = { lists: new Map(), sessions: new Map() };
    byJid.set(jid, k);
  }
  return k;
}

/** `deviceListKey(version, jid)`, the same string each time. */
export function listKeyOf(version: OmemoVersion, jid: string): string {
  const lists = keysOf(jid).lists;
  let key = lists.get(version);
  if (key === undefined) lists.set(version, (key = deviceListKey(version, jid)));
  return key;
}

/** `sessionKey(address)`, the same string each time. */
export function sessionKeyOf(address: SessionAddress): string {
  const sessions = keysOf(address.jid).sessions;
  let ids = sessions.get(address.version);
  if (ids === undefined) sessions.set(address.version, (ids = new Map()));
  let key = ids.get(address.deviceId);
  if (key === undefined) {
    if (ids.size >= ADDRESS_KEY_DEVICES_PER_JID) ids.clear();
    ids.set(address.deviceId, (key = sessionKey(address)));
  }
  return key;
}
