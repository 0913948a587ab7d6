// Starting sessions (X3DH §3.3 through XEP-0384 0.9 §5.3 bundles): a fresh session from a device's bundle, the
// bundle's identity key adopted with its own trust, earlier states kept behind the new one.
import { OmemoError } from '../../crypto/errors';
import { Session } from '../../protocol/session';
import { x3dhInitiateVerified } from '../../protocol/x3dh';
import { serializeSession } from '../../protocol/session-record';
import { adoptIdentityKey, type IdentityChange } from '../policies/identity-trust';
import type { SessionAddress, StoredDevice } from '../store/store';
import { sessionKey } from '../store/store';
import { initialTrust, isTrusted } from '../policies/trust';

import type { ManagerCore } from './manager-core';
import { emptyMessageOn } from './automatic-messages';
import type { AutomaticMessage } from './manager-types';
import { fetchBundle } from './publishing';
import type { AutomaticMessageKind } from './transport';

/**
 * `fresh` as the current state, with `previous`'s states kept behind it (Session.withArchiveFrom): messages still
 * in flight on them decrypt, crossed key exchanges converge, and a device's old identity key keeps its session.
 */
export function replaceSession(previous: Session | undefined, fresh: Session): Session {
  return previous === undefined ? fresh : fresh.withArchiveFrom(previous);
}

/**
 * A new session (X3DH as initiator) from the device's current bundle. The bundle's signature is verified before
 * anything else; then its identity key becomes the device's (a new key starts with its own trust, reported as
 * `change`). The caller checks the returned device's trust before using the session.
 */
export async function initiate(
  core: ManagerCore,
  address: SessionAddress,
  device: StoredDevice,
  devicesOfJid: readonly StoredDevice[],
): Promise<{ session: Session; device: StoredDevice; change: IdentityChange | undefined }> {
  // One pre key at random (only that one is decoded).
  const random = (count: number) => core.rng(4).reduce((a, b) => a * 256 + b, 0) % count;
  const bundle = await fetchBundle(core, address.jid, address.deviceId, address.version, random);
  const pick = bundle.preKeys[0]!;
  const { state, remoteIdentityCurve: curve } = x3dhInitiateVerified(
    address.version,
    core.own.identity,
    { ...bundle, preKeyId: pick.id, preKey: pick.publicKey },
    core.rng,
  );
  const session = new Session(state);
  const adopted = adoptIdentityKey(device, curve, () => initialTrust(core.trustPolicy, devicesOfJid));
  let updated = adopted.device;
  if (adopted.change !== undefined && updated.trust === 'undecided')
    updated = { ...updated, trust: await core.decideTrust(updated) };
  const { jid, deviceId, version } = address;
  if (adopted.change !== undefined)
    core.log('warn', `${jid}/${deviceId} shows a new identity key`, {
      event: 'identity-changed',
      jid,
      deviceId,
      version,
      fingerprint: adopted.change.fingerprint,
      trust: updated.trust,
    });
  core.log('info', `built a ${version} session with ${jid}/${deviceId}`, {
    event: 'session-built',
    jid,
    deviceId,
    version,
    by: 'us',
    trust: updated.trust,
  });
  return { session, device: updated, change: adopted.change && { ...adopted.change, trust: updated.trust } };
}

/**
 * Builds (or replaces) the session with a device from its bundle (see OmemoManager.buildSession). With `kind`, an
 * empty key-exchange message is encrypted on the new session and committed with it, for the caller to send.
 * @throws OmemoError `untrusted-device` (the device's new key is recorded), and what fetching a bundle throws.
 */
export async function buildSession(
  core: ManagerCore,
  address: SessionAddress,
  kind?: AutomaticMessageKind,
): Promise<AutomaticMessage | undefined> {
  const { jid, deviceId } = address;
  const others = await core.loadDevicesOf([jid]);
  const device = others.find((d) => d.deviceId === deviceId) ?? (await core.newDevice(jid, deviceId, others));
  const k = sessionKey(address);
  const previous = (await core.sessionsFor([address], [k])).sessions.get(k);
  const built = await initiate(core, address, device, others);
  if (!isTrusted(built.device.trust)) {
    await core.commit({ putDevices: [built.device] });
    throw new OmemoError('untrusted-device', `${jid}/${deviceId}: trust in its identity key is ${built.device.trust}`);
  }
  const session = replaceSession(previous?.clone(), built.session);
  const message = kind === undefined ? undefined : await emptyMessageOn(core, session, address, kind);
  await core.commit({ putSessions: [{ address, record: serializeSession(session) }], putDevices: [built.device] }, [k]);
  core.cacheSession(k, session);
  return message;
}
