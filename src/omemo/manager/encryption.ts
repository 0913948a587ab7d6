// Encryption to many devices at once (XEP-0384 0.3.0 §4.5 and 0.9 §4.4): every device of every recipient plus our
// own other devices, sessions built from bundles where missing, limits checked before anything is encrypted, one
// batched ratchet step per version and one commit.
import { createByteArena, utf8Encode } from '../../crypto/bytes';
import { OmemoError, type OmemoErrorCode } from '../../crypto/errors';
import { Session } from '../../protocol/session';
import { serializeSessionAfterSend } from '../../protocol/session-record';
import { MAX_KEYS_PER_MESSAGE } from '../stanzas/encrypted-element';
import type { IdentityChange } from '../policies/identity-trust';
import { isStale } from '../policies/stale-device';
import { encryptedElementBytes, keyElementBytes } from '../versions/by-version';
import { serializeEncrypted } from '../versions/by-version';
import type { EncryptedKey } from '../stanzas/encrypted-element';
import { bareJid, jidProblem } from '../stanzas/jid';
import { sealPayload } from '../versions/by-version';
import type { SealedPayload } from '../stanzas/payload';
import { buildEnvelope } from '../stanzas/sce';
import type { SessionAddress, StoreChanges, StoredDevice } from '../store/store';
import { isTrusted } from '../policies/trust';

import { listKeyOf, sessionKeyOf } from './address-keys';
import type { ManagerCore } from './manager-core';
import { PEP_FETCH_CONCURRENCY, forEachBounded } from './bounded-fetch';
import { fetchDeviceList } from './publishing';
import { initiate } from './session-builder';
import { repairAfterFailure } from './repair';
import {
  fetchFailure,
  invalidJid,
  logSend,
  recipientReports,
  unreachedError,
  type RecipientFailure,
} from './recipients';
import type { DeviceReport, EncryptedElementOut, EncryptOptions, EncryptResult } from './manager-types';
import { OMEMO_BACKENDS_BY_PREFERENCE, backendFor, type OmemoVersion } from '../versions/backend';

/** Reports a device this send leaves out, and why. */
function skipped(
  reports: DeviceReport[],
  a: { jid: string; deviceId: number; version: OmemoVersion },
  error: OmemoErrorCode,
  message: string,
  identityChanged?: IdentityChange,
): void {
  const { jid, deviceId, version } = a;
  reports.push({ jid, deviceId, version, ok: false, error, message, ...(identityChanged ? { identityChanged } : {}) });
}

/**
 * A device to encrypt to: its address, session key and record (the device cache's own: read, never written into);
 * its session once found or built.
 */
interface Target {
  address: SessionAddress;
  key: string;
  device: StoredDevice;
  session: Session | undefined;
  /** Set when the session was built for a new identity key of the device. */
  change: IdentityChange | undefined;
}

/** A target with its session. */
type Ready = Target & { session: Session };

/**
 * `d` after one more message it has not answered: a new record (`d` may be the device cache's own, which is never
 * written into) sharing `d`'s arrays, in copyStoredDevice's field order.
 */
function afterSend(d: StoredDevice, now: number): StoredDevice {
  const next: StoredDevice = {
    jid: d.jid,
    deviceId: d.deviceId,
    activeIn: d.activeIn,
    trust: d.trust,
    sentSinceLastReceived: d.sentSinceLastReceived + 1,
    lastReceivedAt: d.lastReceivedAt,
  };
  if (d.label !== undefined) next.label = d.label;
  if (d.identityKey !== undefined) next.identityKey = d.identityKey;
  if (d.previousIdentities !== undefined) next.previousIdentities = d.previousIdentities;
  const since = d.sentSinceLastReceived === 0 ? now : d.unansweredSince;
  if (since !== undefined) next.unansweredSince = since;
  return next;
}

/** Largest buffer a fan-out cuts its messages and records from. */
const ARENA_CHUNK_MAX_BYTES = 65536;

/** Encrypts to every device of `to` and our other devices (see OmemoManager.encrypt); `undefined`: an empty message. */
export async function encryptTo(
  core: ManagerCore,
  to: readonly string[],
  message: string | Uint8Array | undefined,
  options: EncryptOptions,
): Promise<EncryptResult> {
  if (!Array.isArray(to)) throw new TypeError('to must be an array of JIDs');
  if (options.version !== undefined) core.checkVersion(options.version);
  // Recipients that fail before their devices (not a JID, device list refused or absent), for their reports.
  const failures = new Map<string, RecipientFailure>();
  const given: string[] = [];
  for (const jid of to) {
    if (typeof jid !== 'string') throw new TypeError(`to must be an array of JIDs, got ${typeof jid}`);
    const problem = jidProblem(jid);
    if (problem === undefined) given.push(bareJid(jid));
    else if (!failures.has(jid)) {
      given.push(jid);
      failures.set(jid, invalidJid(jid, problem));
    }
  }
  const recipients = [...new Set(given)];
  const jids = [...new Set([...recipients.filter((jid) => !failures.has(jid)), core.jid])];
  const versions = options.version ? [options.version] : [...core.versions];
  const changes: StoreChanges = { putDevices: [], putSessions: [] };

  // Device lists: fetched once for JIDs we have never seen, then kept up to date by PEP events.
  // Cached lists are taken synchronously; only the others cost a store read (and maybe a fetch).
  // By version, then JID: the cache's string key is built once per JID and version, not again for each look-up.
  const lists = new Map<OmemoVersion, Map<string, readonly number[]>>(versions.map((v) => [v, new Map()]));
  const listOf = (version: OmemoVersion, jid: string) => lists.get(version)!.get(jid) ?? [];
  const uncached: { version: OmemoVersion; jid: string }[] = [];
  for (const jid of jids) {
    for (const version of versions) {
      const key = listKeyOf(version, jid);
      const ids = core.listCache.get(key);
      if (ids !== undefined || (jid === core.jid && core.listCache.has(key))) lists.get(version)!.set(jid, ids ?? []);
      else uncached.push({ version, jid });
    }
  }
  // Bounded: a first send to a big room asks for hundreds of lists; one that does not arrive in time is reported.
  // (Skipped when there is nothing to fetch: the steady send of a burst awaits no extra turn.)
  if (uncached.length > 0)
    await forEachBounded(uncached, PEP_FETCH_CONCURRENCY, async ({ version, jid }) => {
      let ids: readonly number[] | undefined = await core.loadList(version, jid);
      if (ids === undefined && jid !== core.jid) {
        let fetched: number[] | undefined;
        try {
          fetched = await fetchDeviceList(core, jid, version);
        } catch (e) {
          fetched = undefined;
          const failure = fetchFailure(jid, e); // not stored: the next send asks again
          failures.set(jid, failure);
          core.log('warn', failure.message, { event: 'device-list-unavailable', jid, version, code: failure.code });
        }
        if (fetched !== undefined) (changes.putDeviceLists ??= []).push({ version, jid, deviceIds: fetched });
        ids = fetched;
      }
      lists.get(version)!.set(jid, ids ?? []);
    });

  const known = await core.loadDevicesOf(jids, true); // shared records: read here, written as new ones (afterSend)
  const now = core.now();
  const reports: DeviceReport[] = [];
  const targets: Target[] = [];
  // Prefer OMEMO 2 for a device listed in both versions: one key per device.
  const preference = OMEMO_BACKENDS_BY_PREFERENCE.map((b) => b.version).filter((v) => versions.includes(v));
  const devicesOf = new Map<string, StoredDevice[]>();
  for (const d of known) {
    const list = devicesOf.get(d.jid);
    if (list === undefined) devicesOf.set(d.jid, [d]);
    else list.push(d);
  }
  // Per device, no string keys or maps of its own: a fan-out runs this for thousands. Indexed loops: the body
  // may await (a new device's trust decision), and for-of loops around an await allocate every iteration's result.
  const chosen = new Set<number>();
  for (let j = 0; j < jids.length; j++) {
    const jid = jids[j]!;
    chosen.clear();
    for (let v = 0; v < preference.length; v++) {
      const version = preference[v]!;
      const ids = listOf(version, jid);
      for (let i = 0; i < ids.length; i++) {
        const deviceId = ids[i]!;
        if ((jid === core.jid && deviceId === core.deviceId) || chosen.has(deviceId)) continue;
        chosen.add(deviceId);
        const sameJid = devicesOf.get(jid) ?? [];
        let device: StoredDevice | undefined;
        for (let k = 0; k < sameJid.length && device === undefined; k++)
          if (sameJid[k]!.deviceId === deviceId) device = sameJid[k];
        if (device === undefined) {
          device = await core.newDevice(jid, deviceId, sameJid);
          device.activeIn = versions.filter((v) => listOf(v, jid).includes(deviceId));
          devicesOf.set(jid, [...sameJid, device]);
          changes.putDevices!.push(device);
        }
        if (!isTrusted(device.trust)) {
          skipped(reports, { jid, deviceId, version }, 'untrusted-device', `trust is ${device.trust}`);
          continue;
        }
        if (isStale(device, core.stalePolicy, now)) {
          const silent = `${device.sentSinceLastReceived} messages without an answer since ${new Date(device.lastReceivedAt || device.unansweredSince || now).toISOString()}`;
          skipped(reports, { jid, deviceId, version }, 'stale-device', silent);
          continue;
        }
        const address = { version, jid, deviceId };
        targets.push({ address, key: sessionKeyOf(address), device, session: undefined, change: undefined });
      }
    }
  }

  // Sessions: one batched read; missing ones are built from bundles fetched concurrently. A corrupt record is
  // reported for its device alone, and repaired after the send.
  const { sessions, broken } = await core.sessionsFor(
    targets.map((t) => t.address),
    targets.map((t) => t.key),
  );
  // A target becomes a ready device when it has its session (one object per device all along).
  const ready: Ready[] = [];
  const unbuilt: Target[] = [];
  const repairs: SessionAddress[] = [];
  for (const t of targets) {
    const existing = sessions.get(t.key);
    if (existing !== undefined) {
      t.session = existing;
      ready.push(t as Ready);
    } else if (broken.has(t.key)) {
      skipped(reports, t.address, 'malformed-record', 'the stored session does not load; a new one is offered');
      repairs.push(t.address);
    } else unbuilt.push(t);
  }
  if (unbuilt.length > 0)
    await forEachBounded(unbuilt, PEP_FETCH_CONCURRENCY, async (t) => {
      const { jid } = t.address;
      try {
        const built = await initiate(core, t.address, t.device, devicesOf.get(jid) ?? []);
        if (!isTrusted(built.device.trust)) {
          changes.putDevices!.push(built.device); // its new key is recorded, for the user to decide
          const message = `trust in its ${built.change ? 'new ' : ''}identity key is ${built.device.trust}`;
          skipped(reports, t.address, 'untrusted-device', message, built.change);
          return;
        }
        t.device = built.device;
        t.session = built.session;
        t.change = built.change;
        ready.push(t as Ready);
      } catch (e) {
        const code = e instanceof OmemoError ? e.code : 'bundle-unavailable';
        skipped(reports, t.address, code, (e as Error).message);
      }
    });
  try {
    return await encryptReady(core, ready, reports, changes, { recipients, failures }, message, options, versions);
  } finally {
    for (const a of repairs) await repairAfterFailure(core, a);
  }
}

/**
 * The hot path of `encrypt`: the size limits checked, then one batched ratchet step per version over every
 * device (no promise per device), one commit. Nothing is encrypted when a limit is exceeded.
 */
export async function encryptReady(
  core: ManagerCore,
  ready: Ready[],
  reports: DeviceReport[],
  changes: StoreChanges,
  { recipients, failures }: { recipients: string[]; failures: ReadonlyMap<string, RecipientFailure> },
  message: string | Uint8Array | undefined,
  options: EncryptOptions,
  versions: readonly OmemoVersion[],
): Promise<EncryptResult> {
  const groups = new Map<OmemoVersion, { group: typeof ready; plaintext: Uint8Array | undefined }>();
  for (const version of versions) {
    const group = ready.filter((r) => r.address.version === version);
    if (group.length === 0) continue;
    const plaintext = payloadBytes(core, version, message, recipients, options);
    groups.set(version, { group, plaintext });
  }
  // Both elements travel in one stanza: the limit is on their sum (each alone may fit while both do not).
  checkStanzaSize(
    core,
    [...groups].map(([version, { group, plaintext }]) => ({ version, group, plaintext })),
  );
  const byVersion = new Map<OmemoVersion, { sealed: SealedPayload; keys: EncryptedKey[] }>();
  const touched: string[] = [];
  const now = core.now();
  for (const [version, { group, plaintext }] of groups) {
    const backend = backendFor(version);
    const sealed = await sealPayload(version, plaintext, core.rng);
    const keys: EncryptedKey[] = [];
    byVersion.set(version, { sealed, keys });
    // The messages of a fan-out come out of shared buffers (see createByteArena), ~130 B each; nothing keeps
    // them once they are in the XML. Records get their own arrays: a store may keep what it is given.
    const arena = createByteArena(Math.min(ARENA_CHUNK_MAX_BYTES, 160 * group.length));
    const results = Session.encryptMany(
      group.map((r) => r.session),
      sealed.keyMaterial,
      arena,
    );
    for (let i = 0; i < results.length; i++) {
      const out = results[i]!;
      const r = group[i]!;
      const { jid, deviceId } = r.address;
      const k = r.key;
      if (out instanceof OmemoError) {
        core.sessions.delete(k);
        skipped(reports, r.address, out.code, out.message);
        continue;
      }
      // Plain literals, no spreads: this runs once per device of a fan-out.
      keys.push(backend.keyFor(jid, deviceId, out.keyExchange, out.data));
      core.cacheSession(k, r.session);
      touched.push(k);
      changes.putSessions!.push({ address: r.address, record: serializeSessionAfterSend(r.session) });
      changes.putDevices!.push(afterSend(r.device, now));
      reports.push(
        r.change === undefined
          ? { jid, deviceId, version, ok: true, keyExchange: out.keyExchange }
          : { jid, deviceId, version, ok: true, keyExchange: out.keyExchange, identityChanged: r.change },
      );
    }
  }

  // Our own JID among the recipients means our other devices: none is not a failure.
  const recipientReportsOut = recipientReports(recipients, failures, reports).map((r) =>
    r.jid === core.jid && !r.ok ? { jid: r.jid, ok: true, devices: 0 } : r,
  );
  logSend(core, reports, recipientReportsOut);
  if (!options.partial) {
    const unreached = recipientReportsOut.filter((r) => !r.ok);
    if (unreached.length > 0) {
      for (const k of touched) core.sessions.delete(k);
      throw unreachedError(unreached);
    }
  }
  await core.commit(changes, touched, true); // the caller gets the stanza once it is durable
  const elements: EncryptedElementOut[] = [];
  for (const [version, { sealed, keys }] of byVersion) {
    if (keys.length === 0) continue; // every device of this version failed: reported above
    elements.push({
      version,
      xml: serializeEncrypted(
        {
          sid: core.deviceId,
          keys,
          ...(sealed.iv ? { iv: sealed.iv } : {}),
          ...(sealed.payload ? { payload: sealed.payload } : {}),
        },
        version,
      ),
    });
  }
  return { elements, devices: reports, recipients: recipientReportsOut };
}

/**
 * Refuses the `<encrypted>` elements of one stanza (one per version) when together they would have more bytes
 * than `maxElementBytes`, or one of them more keys than MAX_KEYS_PER_MESSAGE, saying how many devices would fit
 * (devices in the order given, the first version's first).
 * @throws OmemoError `stanza-too-large`.
 */
export function checkStanzaSize(
  core: ManagerCore,
  elements: readonly {
    version: OmemoVersion;
    group: readonly { address: SessionAddress; session: Session }[];
    plaintext: Uint8Array | undefined;
  }[],
): void {
  let bytes = 0;
  for (const { version, group, plaintext } of elements) {
    const jids = new Set<string>();
    for (let i = 0; i < group.length; i++) jids.add(group[i]!.address.jid);
    bytes += encryptedElementBytes(version, 0, [...jids], plaintext?.length);
  }
  let fit = 0;
  let total = 0;
  for (const { version, group } of elements) {
    let keys = 0;
    for (let i = 0; i < group.length; i++) {
      bytes += keyElementBytes(version, group[i]!.session.hasPendingKeyExchange);
      keys += 1;
      if (bytes <= core.maxElementBytes && keys <= MAX_KEYS_PER_MESSAGE && fit === total) fit += 1;
      total += 1;
    }
  }
  if (fit === total) return;
  const what = elements.map((e) => `${e.version} element`).join(' and ');
  throw new OmemoError(
    'stanza-too-large',
    `a ${what} for ${total} devices would be up to ${bytes} bytes (limit ${core.maxElementBytes}, at most ${MAX_KEYS_PER_MESSAGE} keys per element): ${fit} devices fit`,
  );
}

/** The payload bytes of a message for a version: the text as UTF-8, in an SCE envelope where the version wraps text. */
export function payloadBytes(
  core: ManagerCore,
  version: OmemoVersion,
  message: string | Uint8Array | undefined,
  recipients: string[],
  options: EncryptOptions,
): Uint8Array | undefined {
  if (message === undefined || message instanceof Uint8Array) return message;
  if (!backendFor(version).wrapsText || options.sce === false) return utf8Encode(message);
  return utf8Encode(
    buildEnvelope(
      {
        body: message,
        from: core.jid,
        ...(options.room !== undefined
          ? { to: bareJid(options.room) }
          : recipients.length === 1
            ? { to: recipients[0]! }
            : {}),
      },
      core.rng,
    ),
  );
}
