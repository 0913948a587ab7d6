// Session repair (XEP-0384 0.9 §4.5 asks for a way to replace a broken session): after a message we cannot
// decrypt for want of a usable session, a fresh key exchange, rate-limited per device; and resetSession.
import type { OmemoErrorCode } from '../../crypto/errors';
import type { OmemoVersion } from '../versions/backend';
import type { SessionAddress } from '../store/store';
import { sessionKey } from '../store/store';
import type { AutomaticMessageKind } from './transport';

import type { ManagerCore } from './manager-core';
import { setNewest, transportError } from './manager-core';
import { buildSession } from './session-builder';
import type { AutomaticMessage } from './manager-types';

/** Default least time between two automatic repairs of the session with one device (ms): one hour. */
export const SESSION_REPAIR_INTERVAL_MS = 3600 * 1000;
/** Devices whose last repair time is remembered (bounded; the oldest are forgotten). */
const REPAIR_TRACKED_DEVICES = 10000;
/**
 * Failures of a normal message that a fresh session repairs: we hold no usable session for what the sender uses
 * (none, a corrupt record, a chain we cannot follow). `bad-mac` counts only for a message that opens a chain we do
 * not know (a device restored from a backup, a lost ratchet step): on a known chain it is a tampered message.
 */
export const REPAIRABLE: ReadonlySet<OmemoErrorCode> = new Set<OmemoErrorCode>([
  'no-session',
  'sender-not-found',
  'malformed-record',
  'bad-mac',
  'too-many-skipped',
]);

/**
 * After a normal message failed because we have no usable session with its sender: builds a fresh session from
 * the sender's bundle and sends it an empty key-exchange message, at most once per repair interval per device.
 * Failures of the repair itself are swallowed: the message's own error is what the caller gets.
 */
export async function repairAfterFailure(core: ManagerCore, address: SessionAddress): Promise<void> {
  if (core.repairIntervalMs === undefined) return;
  const k = sessionKey(address);
  const last = core.lastRepair.get(k);
  const now = core.now();
  if (last !== undefined && now - last < core.repairIntervalMs) return;
  setNewest(core.lastRepair, k, now, REPAIR_TRACKED_DEVICES);
  const { jid, deviceId, version } = address;
  const fields = { event: 'session-repair', jid, deviceId, version };
  try {
    await rebuildSession(core, address, 'session-repair');
    core.log('info', `repaired the ${version} session with ${jid}/${deviceId}: a new key exchange was sent`, fields);
  } catch (e) {
    // No bundle, an untrusted key, a store failure: nothing was changed; the next failure tries again later.
    const code = (e as { code?: string }).code ?? 'transport-error';
    core.log('warn', `repairing the ${version} session with ${jid}/${deviceId} failed`, { ...fields, code });
  }
}

/**
 * Replaces the session with `address` by a fresh one from the device's current bundle (earlier states are
 * kept for messages still in flight) and sends the device an empty key-exchange message.
 */
export async function rebuildSession(
  core: ManagerCore,
  address: SessionAddress,
  kind: AutomaticMessageKind,
): Promise<AutomaticMessage> {
  const message = (await buildSession(core, address, kind))!;
  try {
    await core.transport.send(message.to, message.xml, kind);
  } catch (cause) {
    throw transportError(`sending the ${kind} message to ${address.jid}/${address.deviceId} failed`, cause);
  }
  return message;
}

/** Rebuilds the sessions with a device in the given versions (default: those it is listed in, else all). */
export async function resetSessions(
  core: ManagerCore,
  jid: string,
  deviceId: number,
  versions: readonly OmemoVersion[] | undefined,
): Promise<AutomaticMessage[]> {
  const device = (await core.loadDevicesOf([jid])).find((d) => d.deviceId === deviceId);
  const listed = core.versions.filter((v) => device?.activeIn.includes(v));
  const chosen = versions ?? (listed.length > 0 ? listed : core.versions);
  const sent: AutomaticMessage[] = [];
  for (const version of chosen) sent.push(await rebuildSession(core, { version, jid, deviceId }, 'session-reset'));
  return sent;
}
