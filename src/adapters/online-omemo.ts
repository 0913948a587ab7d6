// XEP-0384 §5.3 on every connect (RFC 6120 §7 'online'): the manager opened once per adapter (its store chosen by
// the bound JID), then XEP-0280 carbons, the initial presence with XEP-0115 caps, and the rooms we were in rejoined.
import { OmemoManager } from '../omemo/manager/session-manager';
import type { Log } from '../omemo/manager/logger';
import type { XmppClientOmemoOptions } from './xmpp-client-options';
import type { OmemoTransport } from '../omemo/manager/transport';
import { bareOf } from './stanza-jid';

/** What a connect sets up, injected by the adapter. */
export interface OnlineParts {
  jid: () => string | undefined;
  options: XmppClientOmemoOptions;
  transport: OmemoTransport;
  /** The manager opened by an earlier connect, if any. */
  opened: () => OmemoManager | undefined;
  /** Keeps the manager once opened (before anything later on this connect can fail). */
  keep: (manager: OmemoManager) => void;
  resetUpload: () => void;
  enableCarbons: () => Promise<void>;
  sendPresence: () => Promise<void>;
  rejoinRooms: () => void;
  log: Log;
}

/**
 * Sets OMEMO up on a connect and returns the manager.
 * @throws TypeError when the connection has no JID or is bound to another account than the manager's; what
 *   opening the manager, enabling carbons or sending presence throws.
 */
export async function setUpOnline(p: OnlineParts): Promise<OmemoManager> {
  const jid = bareOf(p.jid());
  if (jid === undefined) throw new TypeError('the client is online without a JID');
  p.resetUpload(); // a reconnect may reach another server of the cluster: discover again when needed
  let manager = p.opened();
  if (manager === undefined) {
    const { options } = p;
    const store = typeof options.store === 'function' ? await options.store(jid) : options.store;
    const logger = options.manager?.logger ?? options.logger;
    const managerOptions = { ...options.manager, jid, store, transport: p.transport };
    manager = await OmemoManager.open(logger === undefined ? managerOptions : { ...managerOptions, logger });
    p.keep(manager);
  } else if (manager.jid !== jid) {
    throw new TypeError(`reconnected as ${jid}, but OMEMO was set up for ${manager.jid}`);
  }
  if (p.options.carbons !== false) await p.enableCarbons();
  if (p.options.presence !== false) await p.sendPresence();
  p.rejoinRooms(); // after a reconnect: the rooms we were in
  p.log('info', `OMEMO ready for ${jid}: device ${manager.deviceId}`, {
    event: 'online',
    jid,
    deviceId: manager.deviceId,
  });
  return manager;
}
