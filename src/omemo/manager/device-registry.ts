// The devices we know (XEP-0384 0.9 §5.2 device lists): which device ids each JID publishes per version, their
// labels, trust and identity keys; every list update goes through here.
import { toHex } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import { MAX_DEVICES_PER_LIST } from '../stanzas/device-list';
import type { OmemoVersion } from '../versions/backend';
import type { StoreChanges, StoredDevice, TrustLevel } from '../store/store';
import { sessionKey } from '../store/store';

import type { ManagerCore } from './manager-core';
import { announce } from './publishing';
import type { DeviceInfo } from './manager-types';
import { backendFor } from '../versions/backend';

/** Adds to `changes` a JID's device list for a version and what it means for the known devices (new ones, labels). */
export async function recordDeviceList(
  core: ManagerCore,
  jid: string,
  version: OmemoVersion,
  entries: { id: number; label?: string }[],
  changes: StoreChanges,
): Promise<void> {
  const ids = entries.map((e) => e.id).slice(0, MAX_DEVICES_PER_LIST);
  (changes.putDeviceLists ??= []).push({ version, jid, deviceIds: ids });
  const known = await core.loadDevicesOf([jid]);
  const byId = new Map(known.map((d) => [d.deviceId, d]));
  const puts: StoredDevice[] = [];
  for (const d of known) {
    const entry = entries.find((e) => e.id === d.deviceId);
    const listed = ids.includes(d.deviceId);
    const active = d.activeIn.includes(version);
    // Only OMEMO 2 lists carry labels: there a device's label follows its list entry (set, changed, removed).
    const relabel = backendFor(version).supportsLabels && entry !== undefined && entry.label !== d.label;
    if (listed === active && !relabel) continue;
    const updated: StoredDevice = {
      ...d,
      activeIn:
        listed === active ? d.activeIn : listed ? [...d.activeIn, version] : d.activeIn.filter((v) => v !== version),
    };
    if (relabel) {
      if (entry.label === undefined) delete updated.label;
      else updated.label = entry.label;
    }
    puts.push(updated);
  }
  for (const e of entries) {
    if (byId.has(e.id) || (jid === core.jid && e.id === core.deviceId)) continue;
    const dev = await core.newDevice(jid, e.id, [...known, ...puts]);
    dev.activeIn = [version];
    if (e.label !== undefined) dev.label = e.label;
    puts.push(dev);
    byId.set(e.id, dev);
  }
  (changes.putDevices ??= []).push(...puts);
}

/**
 * Records the device list of `jid` for a version; for our own JID, re-announces our device when the list lacks it
 * (XEP-0384 §4.2: another client dropped us from our own list).
 */
export async function applyDeviceList(
  core: ManagerCore,
  jid: string,
  version: OmemoVersion,
  entries: { id: number; label?: string }[],
): Promise<void> {
  const changes: StoreChanges = {};
  await recordDeviceList(core, jid, version, entries, changes);
  await core.commit(changes);
  if (jid === core.jid && !entries.some((e) => e.id === core.deviceId)) {
    const ids = await announce(
      core,
      version,
      entries.map((e) => e.id),
    );
    await core.commit({ putDeviceLists: [{ version, jid, deviceIds: ids }] });
  }
}

/** The known devices of a JID (our own JID lists our other devices, not this one). */
export async function devicesOf(core: ManagerCore, jid: string): Promise<DeviceInfo[]> {
  return (await core.loadDevicesOf([jid]))
    .filter((d) => !(jid === core.jid && d.deviceId === core.deviceId))
    .map((d) => core.info(d));
}

/** Records a trust decision for the current identity key of a device (see OmemoManager.setTrust). */
export async function setTrust(
  core: ManagerCore,
  jid: string,
  deviceId: number,
  level: TrustLevel,
  fingerprint: string | undefined,
): Promise<void> {
  const device = (await core.loadDevicesOf([jid])).find((d) => d.deviceId === deviceId);
  if (device === undefined) throw new OmemoError('sender-not-found', `unknown device ${deviceId} of ${jid}`);
  const current = device.identityKey === undefined ? undefined : toHex(device.identityKey);
  if (fingerprint !== undefined && fingerprint.toLowerCase() !== current) {
    throw new OmemoError(
      'untrusted-device',
      `${jid}/${deviceId} has identity key ${current ?? '(unknown)'}, not ${fingerprint}`,
    );
  }
  await core.commit({ putDevices: [{ ...device, trust: level }] });
}

/** Whether our device id is in the last device list of our own JID we saw for `version`. */
export async function isOwnDevicePublished(core: ManagerCore, version: OmemoVersion): Promise<boolean> {
  return ((await core.loadList(version, core.jid)) ?? []).includes(core.deviceId);
}

/** Devices of `jid` (our own JID: our other devices) active in `version` that have no session yet. */
export async function devicesWithoutSession(core: ManagerCore, jid: string, version: OmemoVersion): Promise<number[]> {
  const listed = (await core.loadList(version, jid)) ?? [];
  const ids = listed.filter((id) => !(jid === core.jid && id === core.deviceId));
  const { sessions: have } = await core.sessionsFor(ids.map((deviceId) => ({ version, jid, deviceId })));
  return ids.filter((deviceId) => !have.has(sessionKey({ version, jid, deviceId })));
}
