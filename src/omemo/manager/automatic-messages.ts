// Empty OMEMO messages the manager sends on its own (XEP-0384 0.9 §4.6 and 0.3.0 §4.6: session completion,
// heartbeat, repair, reset).
import type { Session } from '../../protocol/session';
import { serializeEncrypted } from '../versions/by-version';
import { sealPayload } from '../versions/by-version';
import type { SessionAddress } from '../store/store';
import type { AutomaticMessageKind } from './transport';

import type { ManagerCore } from './manager-core';
import type { AutomaticMessage } from './manager-types';
import { backendFor } from '../versions/backend';

/** An empty message on `session` (advanced by it) to the device at `address`. */
export async function emptyMessageOn(
  core: ManagerCore,
  session: Session,
  address: SessionAddress,
  kind: AutomaticMessageKind,
): Promise<AutomaticMessage> {
  const { version, jid, deviceId } = address;
  const sealed = await sealPayload(version, undefined, core.rng);
  const out = session.encrypt(sealed.keyMaterial);
  const keys = [backendFor(version).keyFor(jid, deviceId, out.keyExchange, out.data)];
  const xml = serializeEncrypted({ sid: core.deviceId, keys, ...(sealed.iv ? { iv: sealed.iv } : {}) }, version);
  return { to: jid, version, kind, xml };
}
