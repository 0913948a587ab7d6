// The shared state of one account's session manager (XEP-0384 0.9 §4–§6): configuration, our own keys, the
// caches of sessions and device lists, and the commit that stores an operation's changes and refreshes them. Only
// the manager's queue (session-manager.ts) calls into it: one operation at a time.
import { toHex } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import type { Rng } from '../../crypto/random';
import { randomBytes } from '../../crypto/random';
import type { IdentityKeyPair } from '../../protocol/identity-key';
import type { Session } from '../../protocol/session';
import { deserializeSession } from '../../protocol/session-record';
import {
  checkConsumedPreKeyPolicy,
  DEFAULT_CONSUMED_PRE_KEY_POLICY,
  type ConsumedPreKeyPolicy,
} from '../policies/pre-key-policy';
import {
  checkStaleDevicePolicy,
  DEFAULT_STALE_DEVICE_POLICY,
  isStale,
  type StaleDevicePolicy,
} from '../policies/stale-device';
import { DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES } from '../stanzas/stanza-size';
import { bareJid } from '../stanzas/jid';
import { OMEMO_VERSIONS, type OmemoVersion } from '../versions/backend';
import type {
  OmemoStore,
  SessionAddress,
  StoreChanges,
  StoredDevice,
  StoredIdentity,
  StoredPreKey,
  StoredSignedPreKey,
  TrustLevel,
} from '../store/store';
import { copyStoredDevice, deviceListKey, sessionKey, updateStoredDeviceInPlace } from '../store/store';
import { createLog, logs, type Log } from './logger';
import type { OmemoTransport } from './transport';
import { initialTrust, type TrustPolicy } from '../policies/trust';

import type { DeviceInfo, OmemoManagerOptions } from './manager-types';
import { SIGNED_PRE_KEY_ROTATION_MS } from './own-keys';
import { SESSION_REPAIR_INTERVAL_MS } from './repair';
import { PEP_FETCH_TIMEOUT_MS } from './bounded-fetch';

/** Parsed sessions kept in memory between calls (bounded; evicted oldest first). */
export const SESSION_CACHE_ENTRIES = 20000;
/** Device lists (per version and JID) kept in memory by the manager. */
export const DEVICE_LIST_CACHE_ENTRIES = 20000;
/** JIDs whose device records the manager keeps in memory (each JID's records as the store returned them). */
export const DEVICE_CACHE_JIDS = 20000;

/** Our own key state as of a commit (records are replaced, never mutated, so a shallow copy suffices). */
export interface OwnSnapshot {
  stored: StoredIdentity;
  signedPreKeys: StoredSignedPreKey[];
  preKeys: Map<number, StoredPreKey>;
  catchingUp: boolean;
}

export interface OwnKeys {
  identity: IdentityKeyPair;
  stored: StoredIdentity;
  signedPreKeys: StoredSignedPreKey[];
  preKeys: Map<number, StoredPreKey>;
}

/** A store failure as OmemoError `store-error` (an OmemoError passes through). */
export function storeError(cause: unknown): OmemoError {
  return cause instanceof OmemoError
    ? cause
    : new OmemoError('store-error', `store operation failed: ${String((cause as Error)?.message ?? cause)}`, { cause });
}

/** A transport failure as OmemoError `transport-error`. */
export function transportError(what: string, cause: unknown): OmemoError {
  return new OmemoError('transport-error', `${what}: ${String((cause as Error)?.message ?? cause)}`, { cause });
}

/**
 * Sets `key` as the newest entry of an insertion-ordered map (a least-recently-used order) and forgets the oldest
 * entries beyond `max`: the bounded caches of the manager.
 */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}

/** Whether a commit stores any of our own keys (identity record, signed pre keys, pre keys). */
function touchesOwnKeys(c: StoreChanges): boolean {
  return (
    c.identity !== undefined ||
    c.putPreKeys !== undefined ||
    c.deletePreKeys !== undefined ||
    c.putSignedPreKeys !== undefined ||
    c.deleteSignedPreKeys !== undefined
  );
}

/** The state and shared operations of one account's manager (see the module comment). */
export class ManagerCore {
  readonly jid: string;
  readonly versions: readonly OmemoVersion[];
  readonly store: OmemoStore;
  readonly transport: OmemoTransport;
  readonly trustPolicy: TrustPolicy;
  readonly onTrustDecision: OmemoManagerOptions['onTrustDecision'];
  readonly rng: Rng;
  readonly now: () => number;
  readonly rotationMs: number;
  readonly stalePolicy: StaleDevicePolicy;
  readonly preKeyPolicy: ConsumedPreKeyPolicy;
  /** Least time between automatic repairs per device; undefined when repair is off. */
  readonly repairIntervalMs: number | undefined;
  readonly maxElementBytes: number;
  /** Logs an event (a no-op without a logger; never throws). */
  readonly log: Log;
  /** Whether debug events are read (hot paths skip building them otherwise). */
  readonly logsDebug: boolean;
  /** Longest wait for one device-list or bundle fetch, in ms. */
  readonly fetchTimeoutMs: number;
  /** Time of the last automatic repair per session key (bounded by REPAIR_TRACKED_DEVICES). */
  readonly lastRepair = new Map<string, number>();
  own!: OwnKeys;
  readonly sessions = new Map<string, Session>();
  readonly listCache = new Map<string, readonly number[] | undefined>();
  /** Device records by JID (handed out as copies; commit keeps them current). */
  readonly deviceCache = new Map<string, StoredDevice[]>();
  /** Commits begun: a device read that one overtook is not cached (it may predate the commit). */
  commitsBegun = 0;
  queue: Promise<unknown> = Promise.resolve();
  catchingUp = false;
  committed: OwnSnapshot | undefined;
  /** Our keys as of the last durable commit (group commit: staged ones may still be lost). */
  durableOwn: OwnSnapshot | undefined;
  /** Counts losses of staged changes; an operation that began before one cannot commit. */
  epoch = 0;
  opEpoch = 0;
  ownLost = false;
  /** Durability of the current operation's staged commits, and the work waiting for it. */
  opDurables: Promise<void>[] = [];
  afterDurable: (() => Promise<void>)[] = [];
  lastDurable: Promise<void> = Promise.resolve();
  /** A consumed pre key left the bundle and it is not republished yet (once per burst: see session-manager). */
  republishDue = false;
  /** Operations run since republishDue was set. */
  republishDeferred = 0;

  constructor(options: OmemoManagerOptions) {
    this.jid = bareJid(options.jid);
    this.store = options.store;
    this.transport = options.transport;
    this.versions = options.versions?.length ? [...new Set(options.versions)] : [...OMEMO_VERSIONS];
    for (const v of this.versions)
      if (!OMEMO_VERSIONS.includes(v)) throw new TypeError(`unknown OMEMO version ${JSON.stringify(v)}`);
    this.trustPolicy = options.trustPolicy ?? 'btbv';
    if (!['btbv', 'blind', 'manual'].includes(this.trustPolicy))
      throw new TypeError(`unknown trust policy ${JSON.stringify(this.trustPolicy)}`);
    this.onTrustDecision = options.onTrustDecision;
    this.rng = options.rng ?? randomBytes;
    this.now = options.now ?? Date.now;
    this.rotationMs = options.signedPreKeyRotationMs ?? SIGNED_PRE_KEY_ROTATION_MS;
    this.stalePolicy =
      options.staleDevice === undefined ? DEFAULT_STALE_DEVICE_POLICY : checkStaleDevicePolicy(options.staleDevice);
    this.preKeyPolicy =
      options.consumedPreKeys === undefined
        ? DEFAULT_CONSUMED_PRE_KEY_POLICY
        : checkConsumedPreKeyPolicy(options.consumedPreKeys);
    const repair = options.repair ?? { minIntervalMs: SESSION_REPAIR_INTERVAL_MS };
    if (repair !== false && (typeof repair !== 'object' || !(repair.minIntervalMs >= 0)))
      throw new RangeError('repair must be false or { minIntervalMs ≥ 0 }');
    this.repairIntervalMs = repair === false ? undefined : repair.minIntervalMs;
    this.maxElementBytes = options.maxElementBytes ?? DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES;
    this.log = createLog(options.logger);
    this.logsDebug = logs(options.logger, 'debug');
    if (!(this.maxElementBytes > 0))
      throw new RangeError(`maxElementBytes must be a positive number, got ${String(options.maxElementBytes)}`);
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? PEP_FETCH_TIMEOUT_MS;
    if (!(this.fetchTimeoutMs > 0))
      throw new RangeError(`fetchTimeoutMs must be a positive number, got ${String(options.fetchTimeoutMs)}`);
  }

  /**
   * Stores an operation's changes. With a group-commit store (`stage`) and `pipelined`, returns once they are staged:
   * the manager's queue moves on while they become durable with the next operations' changes, and the operation's
   * caller is answered (and `afterDurable` work runs) only once they are durable. Otherwise returns once durable.
   */
  async commit(changes: StoreChanges, touched: readonly string[] = [], pipelined = false): Promise<void> {
    let durable: Promise<void> | undefined;
    this.commitsBegun++;
    try {
      if (this.opEpoch !== this.epoch)
        throw new OmemoError('store-error', 'an earlier commit was lost after this operation had read its state');
      if (this.store.stage !== undefined) durable = this.store.stage(changes).durable;
      else await this.store.commit(changes);
      for (const l of changes.putDeviceLists ?? []) this.cacheList(deviceListKey(l.version, l.jid), l.deviceIds);
      for (const d of changes.putDevices ?? []) this.cacheDevice(d);
      // Our keys change only with a commit that stores them: copy them for rollbacks only then (a copy of 100+ pre
      // keys per operation was a tenth of a steady decrypt).
      if (this.own !== undefined) {
        if (touchesOwnKeys(changes) || this.committed === undefined) this.committed = this.snapshotOwn();
        else this.flagCommitted();
      }
    } catch (cause) {
      // Sessions in the cache may have advanced for this commit: forget them, the store is the truth.
      for (const k of touched) this.sessions.delete(k);
      throw storeError(cause);
    }
    if (durable === undefined) return;
    const epoch = this.epoch;
    const snapshot = this.committed;
    const tracked = durable.then(
      () => {
        if (this.epoch === epoch) this.durableOwn = snapshot;
      },
      (cause) => {
        this.lose(epoch);
        throw storeError(cause);
      },
    );
    tracked.catch(() => undefined); // awaited by the operation's caller, or by settle()
    this.opDurables.push(tracked);
    this.lastDurable = tracked;
    if (!pipelined) await tracked;
  }

  /** Staged changes were lost: back to the last durable state (caches forgotten, own keys at the next operation). */
  private lose(epoch: number): void {
    if (this.epoch !== epoch) return;
    this.epoch++;
    this.sessions.clear();
    this.listCache.clear();
    this.deviceCache.clear();
    if (this.durableOwn !== undefined) {
      this.committed = { ...this.durableOwn };
      // Now, for readers between operations (preKeyIds, bundleXml); again when the next operation begins, in case
      // one running now changes them before it fails at its commit.
      this.restoreOwn(this.committed);
    }
    this.ownLost = true;
  }

  /** Called by the queue before each operation: its durability bookkeeping starts empty. */
  beginOperation(): void {
    if (this.ownLost && this.committed !== undefined) this.restoreOwn(this.committed);
    this.ownLost = false;
    this.opEpoch = this.epoch;
    this.opDurables = [];
    this.afterDurable = [];
  }

  /**
   * Runs `fn` (transport I/O that reveals this operation's staged changes, e.g. a message on an advanced session) once
   * they are durable: now if nothing is pending, else after the operation's commits are durable, outside the queue.
   */
  async whenDurable(fn: () => Promise<void>): Promise<void> {
    if (this.opDurables.length === 0) await fn();
    else this.afterDurable.push(fn);
  }

  /**
   * Waits until everything staged so far is durable (before publishing keys written by earlier operations).
   * @throws OmemoError `store-error` when staged changes were lost.
   */
  async settle(): Promise<void> {
    try {
      await this.lastDurable;
    } catch {
      // A loss before this operation began was already undone (beginOperation); one since is caught below.
    }
    if (this.opEpoch !== this.epoch) throw new OmemoError('store-error', 'staged changes were lost');
  }

  /**
   * Gives the rollback point the catch-up flag as it is now: the same snapshot when it already has it (snapshots are
   * never written into), else a copy with the flag.
   */
  flagCommitted(): void {
    const c = this.committed!;
    if (c.catchingUp !== this.catchingUp) this.committed = { ...c, catchingUp: this.catchingUp };
  }

  snapshotOwn(): OwnSnapshot {
    return {
      stored: this.own.stored,
      signedPreKeys: [...this.own.signedPreKeys],
      preKeys: new Map(this.own.preKeys),
      catchingUp: this.catchingUp,
    };
  }

  /** Puts our keys back as `s` holds them (copies: `s` stays the rollback point however they change next). */
  restoreOwn(s: OwnSnapshot): void {
    this.own.stored = s.stored;
    this.own.signedPreKeys = [...s.signedPreKeys];
    this.own.preKeys = new Map(s.preKeys);
    this.catchingUp = s.catchingUp;
  }

  checkVersion(version: OmemoVersion): void {
    if (!this.versions.includes(version))
      throw new TypeError(`OMEMO version ${JSON.stringify(version)} is not enabled`);
  }

  /**
   * A device list from the cache or the store. The manager is the only writer of its store (one account per
   * store), and every write goes through `commit`, which refreshes the cache: a fan-out to 1000 accounts then
   * reads no list from the store. Callers must not modify the returned array.
   */
  async loadList(version: OmemoVersion, jid: string): Promise<readonly number[] | undefined> {
    const key = deviceListKey(version, jid);
    if (this.listCache.has(key)) return this.listCache.get(key);
    let ids: number[] | undefined;
    try {
      ids = await this.store.loadDeviceList(version, jid);
    } catch (cause) {
      throw storeError(cause);
    }
    this.cacheList(key, ids);
    return ids;
  }

  cacheList(key: string, ids: readonly number[] | undefined): void {
    setNewest(this.listCache, key, ids === undefined ? undefined : Object.freeze([...ids]), DEVICE_LIST_CACHE_ENTRIES);
  }

  /** Copies of the cached device records of `jid` (as loadDevicesOf), or undefined when they are not cached. */
  cachedDevicesOf(jid: string): StoredDevice[] | undefined {
    return this.deviceCache.get(jid)?.map(copyStoredDevice);
  }

  /**
   * The device records of `jids` (copies: callers may change them), from the cache or one store read. The manager is
   * the only writer of its store and `commit` updates the cache, as for device lists. With `shared`, cached records
   * are handed out as they are, for a caller that never changes a record or its arrays (a fan-out reads thousands
   * and writes changed ones as new records: afterSend in encryption.ts). Cached records are replaced field by field
   * and array by array (updateStoredDeviceInPlace), never written into, so a shared record's arrays stay as read.
   */
  async loadDevicesOf(jids: readonly string[], shared = false): Promise<StoredDevice[]> {
    const copy = shared ? (d: StoredDevice) => d : copyStoredDevice;
    if (jids.length === 1) {
      // One JID (every decryption): no sets or maps when its records are cached.
      const cached = this.deviceCache.get(jids[0]!);
      if (cached !== undefined) return cached.map(copy);
    }
    const wanted = [...new Set(jids)];
    const missing = wanted.filter((jid) => !this.deviceCache.has(jid));
    const loaded = new Map<string, StoredDevice[]>();
    if (missing.length > 0) {
      const begun = this.commitsBegun;
      let records: StoredDevice[];
      try {
        records = await this.store.loadDevices(missing);
      } catch (cause) {
        throw storeError(cause);
      }
      for (const jid of missing) loaded.set(jid, []);
      for (const d of records) loaded.get(d.jid)?.push(d);
      if (begun === this.commitsBegun)
        for (const jid of missing)
          setNewest(this.deviceCache, jid, loaded.get(jid)!.map(copyStoredDevice), DEVICE_CACHE_JIDS);
    }
    const out: StoredDevice[] = [];
    for (const jid of wanted) {
      const fresh = loaded.get(jid);
      if (fresh !== undefined) out.push(...fresh);
      else for (const d of this.deviceCache.get(jid) ?? []) out.push(copy(d));
    }
    return out;
  }

  /** Puts a committed device record into the cache of its JID, if that JID's records are cached. */
  private cacheDevice(d: StoredDevice): void {
    const of = this.deviceCache.get(d.jid);
    if (of === undefined) return;
    let i = of.length - 1; // a plain search, no closure: a fan-out's commit runs this for every device
    while (i >= 0 && of[i]!.deviceId !== d.deviceId) i--;
    if (i >= 0) {
      if (!updateStoredDeviceInPlace(of[i]!, d)) of[i] = copyStoredDevice(d);
    } else of.push(copyStoredDevice(d));
  }

  async newDevice(jid: string, deviceId: number, others: readonly StoredDevice[]): Promise<StoredDevice> {
    const device: StoredDevice = {
      jid,
      deviceId,
      activeIn: [],
      trust: initialTrust(
        this.trustPolicy,
        others.filter((d) => d.jid === jid),
      ),
      sentSinceLastReceived: 0,
      lastReceivedAt: 0,
    };
    if (device.trust === 'undecided') device.trust = await this.decideTrust(device);
    return device;
  }

  info(d: StoredDevice): DeviceInfo {
    return {
      jid: d.jid,
      deviceId: d.deviceId,
      activeIn: [...d.activeIn],
      ...(d.label !== undefined ? { label: d.label } : {}),
      trust: d.trust,
      ...(d.identityKey !== undefined ? { fingerprint: toHex(d.identityKey) } : {}),
      stale: isStale(d, this.stalePolicy, this.now()),
    };
  }

  /** Asks `onTrustDecision` about an undecided key; its answer or 'undecided'. */
  async decideTrust(device: StoredDevice): Promise<TrustLevel> {
    if (!this.onTrustDecision) return device.trust;
    const decided = await this.onTrustDecision(this.info(device));
    return decided ?? device.trust;
  }

  /**
   * Sessions of `addresses` from the cache or one batched store read. A record that does not load is listed in
   * `broken` (and is no session): one corrupt record must not stop a fan-out or a key exchange replacing it. `keys`,
   * when the caller has them, are the addresses' sessionKey strings (not built a second time).
   */
  async sessionsFor(
    addresses: SessionAddress[],
    keys?: readonly string[],
  ): Promise<{ sessions: Map<string, Session>; broken: Set<string> }> {
    const out = new Map<string, Session>();
    const broken = new Set<string>();
    const missing: SessionAddress[] = [];
    for (let i = 0; i < addresses.length; i++) {
      const a = addresses[i]!;
      const k = keys?.[i] ?? sessionKey(a);
      const s = this.sessions.get(k);
      if (s !== undefined) out.set(k, s);
      else missing.push(a);
    }
    if (missing.length > 0) {
      let records: (Uint8Array | undefined)[];
      try {
        records = await this.store.loadSessions(missing);
      } catch (cause) {
        throw storeError(cause);
      }
      for (let i = 0; i < missing.length; i++) {
        const r = records[i];
        if (r === undefined) continue;
        const k = sessionKey(missing[i]!);
        let s: Session;
        try {
          s = deserializeSession(r);
        } catch (e) {
          if (!(e instanceof OmemoError)) throw e;
          broken.add(k);
          continue;
        }
        this.cacheSession(k, s);
        out.set(k, s);
      }
    }
    return { sessions: out, broken };
  }

  cacheSession(key: string, session: Session): void {
    // Every decryption and send puts its session back. While the cache is under half its bound, a session already in
    // it is replaced where it stands (no delete and insert, ~0.4 µs a message): the order only decides what goes
    // first once the bound is reached, and from half of it on every session put back moves to the end again.
    if (this.sessions.size < SESSION_CACHE_ENTRIES / 2 && this.sessions.has(key)) this.sessions.set(key, session);
    else setNewest(this.sessions, key, session, SESSION_CACHE_ENTRIES);
  }

  /** Our device id. */
  get deviceId(): number {
    return this.own.stored.deviceId;
  }
}
