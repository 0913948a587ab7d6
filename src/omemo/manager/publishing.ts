// PEP publishing and fetching (XEP-0384 0.3.0 §4.2–4.3 and 0.9 §5.2–5.3, XEP-0163): our device lists and bundles,
// other devices' lists and bundles, through the host's OmemoTransport.
import { OmemoError } from '../../crypto/errors';
import { parseBundle, parseBundleChoosing } from '../versions/by-version';
import type { BundleData } from '../stanzas/bundle';
import { parseDeviceList, serializeDeviceList } from '../versions/by-version';
import { pepLocations } from '../versions/by-version';
import type { OmemoVersion } from '../versions/backend';
import { publishOptionsFor } from '../versions/by-version';
import type { StoreChanges } from '../store/store';

import type { ManagerCore } from './manager-core';
import { transportError } from './manager-core';
import { bundleXml } from './own-keys';
import { backendFor } from '../versions/backend';
import { withTimeout } from './bounded-fetch';

/** Publishes our bundle for a version. @throws OmemoError `transport-error`. */
export async function publishBundle(core: ManagerCore, version: OmemoVersion): Promise<void> {
  const loc = pepLocations(version, core.deviceId);
  try {
    await core.transport.publish(
      loc.bundleNode,
      loc.bundleItemId,
      bundleXml(core, version),
      publishOptionsFor(version, 'bundle'),
    );
  } catch (cause) {
    core.log('warn', `publishing the ${version} bundle failed`, { event: 'publish-failed', node: 'bundle', version });
    throw transportError(`publishing the ${version} bundle failed`, cause);
  }
  core.log('info', `published our ${version} bundle`, { event: 'bundle-published', version, deviceId: core.deviceId });
}

/** Publishes our device list with our device added; returns the ids published. */
export async function announce(core: ManagerCore, version: OmemoVersion, published: number[]): Promise<number[]> {
  const ids = published.includes(core.deviceId) ? published : [...published, core.deviceId];
  const loc = pepLocations(version, core.deviceId);
  const xml = ownDeviceListXml(core, version, ids);
  try {
    await core.transport.publish(
      loc.deviceListNode,
      loc.deviceListItemId,
      xml,
      publishOptionsFor(version, 'devicelist'),
    );
  } catch (cause) {
    core.log('warn', `publishing the ${version} device list failed`, {
      event: 'publish-failed',
      node: 'device-list',
      version,
    });
    throw transportError(`publishing the ${version} device list failed`, cause);
  }
  core.log('info', `published our ${version} device list`, {
    event: 'device-list-published',
    version,
    count: ids.length,
  });
  return ids;
}

/**
 * Fetches a JID's device list for a version (undefined: none published).
 * @throws OmemoError `transport-error`; `peer-timeout` after the manager's fetch timeout.
 */
export async function fetchDeviceList(
  core: ManagerCore,
  jid: string,
  version: OmemoVersion,
): Promise<number[] | undefined> {
  const loc = pepLocations(version, 1);
  let xml: string | undefined;
  try {
    const what = `fetching the ${version} device list of ${jid}`;
    xml = await withTimeout(core.transport.fetch(jid, loc.deviceListNode), core.fetchTimeoutMs, what);
  } catch (cause) {
    if (cause instanceof OmemoError && cause.code === 'peer-timeout') throw cause;
    throw transportError(`fetching the ${version} device list of ${jid} failed`, cause);
  }
  const ids = xml === undefined ? undefined : parseDeviceList(xml, version).map((d) => d.id);
  core.log('debug', `fetched the ${version} device list of ${jid}`, {
    event: 'device-list-fetched',
    jid,
    version,
    count: ids?.length ?? 0,
  });
  return ids;
}

/** Our device list with our device (and its OMEMO 2 label) added to `published`. */
export function ownDeviceListXml(core: ManagerCore, version: OmemoVersion, published: readonly number[]): string {
  const ids = published.includes(core.deviceId) ? published : [...published, core.deviceId];
  const label = backendFor(version).supportsLabels ? core.own.stored.label : undefined;
  return serializeDeviceList(
    ids.map((id) => (id === core.deviceId && label ? { id, label } : { id })),
    version,
  );
}

/**
 * Fetches and parses a device's bundle; with `choosePreKey`, only the pre key it picks (see parseBundleChoosing).
 * @throws OmemoError `bundle-unavailable`, `malformed-stanza`; `peer-timeout` after the manager's fetch timeout.
 */
export async function fetchBundle(
  core: ManagerCore,
  jid: string,
  deviceId: number,
  version: OmemoVersion,
  choosePreKey?: (count: number) => number,
): Promise<BundleData> {
  const loc = pepLocations(version, deviceId);
  let xml: string | undefined;
  try {
    const what = `fetching the ${version} bundle of ${jid}/${deviceId}`;
    xml = await withTimeout(core.transport.fetch(jid, loc.bundleNode, loc.bundleItemId), core.fetchTimeoutMs, what);
  } catch (cause) {
    const timedOut = cause instanceof OmemoError && cause.code === 'peer-timeout';
    core.log('warn', `fetching the ${version} bundle of ${jid}/${deviceId} failed`, {
      event: 'bundle-unavailable',
      jid,
      deviceId,
      version,
      code: timedOut ? 'peer-timeout' : 'bundle-unavailable',
    });
    if (timedOut) throw cause;
    throw new OmemoError('bundle-unavailable', `fetching the ${version} bundle of ${jid}/${deviceId} failed`, {
      cause,
    });
  }
  if (xml === undefined) {
    core.log('warn', `${jid}/${deviceId} has no ${version} bundle`, {
      event: 'bundle-unavailable',
      jid,
      deviceId,
      version,
    });
    throw new OmemoError('bundle-unavailable', `${jid}/${deviceId} has no ${version} bundle`);
  }
  core.log('debug', `fetched the ${version} bundle of ${jid}/${deviceId}`, {
    event: 'bundle-fetched',
    jid,
    deviceId,
    version,
  });
  return choosePreKey === undefined ? parseBundle(xml, version) : parseBundleChoosing(xml, version, choosePreKey);
}

/**
 * Publishes, for every enabled version, our bundle and (if our device is missing from it) our device list, after
 * fetching the current list so no other device is dropped.
 */
export async function publishOwn(core: ManagerCore): Promise<void> {
  await core.settle(); // the pre keys we offer are durable
  const changes: StoreChanges = { putDeviceLists: [] };
  for (const version of core.versions) {
    const published = (await fetchDeviceList(core, core.jid, version)) ?? [];
    await publishBundle(core, version);
    const ids = published.includes(core.deviceId) ? published : await announce(core, version, published);
    changes.putDeviceLists!.push({ version, jid: core.jid, deviceIds: ids });
  }
  await core.commit(changes);
}

/** Our device list for a version containing at least our device, merged with what we know is published. */
export async function deviceListXml(core: ManagerCore, version: OmemoVersion): Promise<string> {
  return ownDeviceListXml(core, version, (await core.loadList(version, core.jid)) ?? []);
}

/**
 * Most operations that may run between a pre key leaving the bundle and the bundle's republication, in a burst that
 * keeps the queue busy (the last operation of a burst republishes anyway). Until then the used key is still offered;
 * the consumedPreKeys policy keeps it for such key exchanges (or, with `keepMs: 0`, they fail as with any bundle
 * fetched before a republication). Bounds the time a published bundle lags behind, never whether it is republished.
 */
export const REPUBLISH_DEFERRED_OPERATIONS_MAX = 100;

/**
 * Republishes our bundles after key exchanges used pre keys: once per burst of first messages, not once per message.
 * Waits until the new pre keys are durable first: a published pre key whose private part a crash loses would fail
 * the first message built on it. A failure is retried by the next consumption or publish().
 */
export async function republishBundles(core: ManagerCore): Promise<void> {
  core.republishDue = false;
  core.republishDeferred = 0;
  try {
    await core.settle();
  } catch {
    // Staged changes were lost: the keys are back at their last durable state, which may still hold used keys of an
    // earlier batch. The next operation republishes.
    core.republishDue = true;
    return;
  }
  try {
    for (const v of core.versions) await publishBundle(core, v);
  } catch {
    // publishBundle logged it; the next consumption or publish() publishes again.
  }
}
