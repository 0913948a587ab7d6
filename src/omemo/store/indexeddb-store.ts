// The OmemoStore contract (store.ts; XEP-0384 §5 "Business rules" on what a client persists) on IndexedDB, for
// browsers: one database per account, one readwrite transaction per commit (all or nothing), one read
// transaction per batched read. Values are structured-cloned in and out, so callers never alias stored state.
import { OmemoError } from '../../crypto/errors';
import type { OmemoVersion } from '../versions/backend';
import type {
  OmemoStore,
  SessionAddress,
  StoreChanges,
  StoredDevice,
  StoredIdentity,
  StoredPreKey,
  StoredSignedPreKey,
} from './store';
import { bareJid } from '../stanzas/jid';
import { RECORD_CHECKS, type CheckedRecords, type RecordKind } from './indexeddb-values';

/** The schema version of the IndexedDB database (`IDBDatabase.version`); a newer database is refused. */
export const INDEXEDDB_SCHEMA_VERSION = 1;

/**
 * How long `open` waits for another store on the same database to close before failing with `store-locked`, in
 * milliseconds (a lock is released a moment after `close()`, so reopening at once must wait for it).
 */
export const INDEXEDDB_LOCK_TIMEOUT_MS = 2000;

/** Object stores: singletons (owner, identity), keys by id, device lists, devices and sessions by address. */
const META = 'meta';
const SIGNED_PRE_KEYS = 'signedPreKeys';
const PRE_KEYS = 'preKeys';
const DEVICE_LISTS = 'deviceLists';
const DEVICES = 'devices';
const SESSIONS = 'sessions';
const ALL = [META, SIGNED_PRE_KEYS, PRE_KEYS, DEVICE_LISTS, DEVICES, SESSIONS];

/** Options of `IndexedDbStore.open`. */
export interface IndexedDbStoreOptions {
  /** The account's JID (bare or full); the database belongs to its bare form. */
  jid: string;
  /** The IndexedDB factory (default `globalThis.indexedDB`); e.g. a worker's or a test double's. */
  indexedDB?: IDBFactory;
  /** How long to wait for another store on the database to close (default INDEXEDDB_LOCK_TIMEOUT_MS). */
  lockTimeoutMs?: number;
}

function failure(what: string, cause: unknown): OmemoError {
  if (cause instanceof OmemoError) return cause;
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new OmemoError('store-error', `IndexedDB store: ${what} failed (${detail})`, { cause });
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    tx.onerror = () => reject(tx.error);
  });
}

/** A record read back, checked: a corrupt one is a store-error. */
function out<K extends RecordKind>(kind: K, value: unknown): CheckedRecords[K] {
  const problem = RECORD_CHECKS[kind](value);
  if (problem !== undefined)
    throw new OmemoError('store-error', `the IndexedDB store holds a corrupt ${kind}: ${problem}`);
  return value as CheckedRecords[K];
}

/** A record about to be written, checked: a malformed one is the caller's error. */
function into(kind: RecordKind, value: unknown): void {
  const problem = RECORD_CHECKS[kind](value);
  if (problem !== undefined) throw new TypeError(`${kind}: ${problem}`);
}

/** Keys of devices of one JID: [jid, id] for every number id sorts between [jid] and [jid, []]. */
function devicesOf(jid: string): IDBKeyRange {
  return IDBKeyRange.bound([jid], [jid, []]);
}

/**
 * An OmemoStore in IndexedDB (browsers, web workers). Where the Web Locks API exists, the database is locked
 * until `close()`: a second store on the same account, in this tab or another, fails with `store-locked`
 * instead of racing the first one's ratchets.
 */
export class IndexedDbStore implements OmemoStore {
  /** The bare JID of the account this database belongs to. */
  readonly jid: string;
  /** The IndexedDB database name. */
  readonly name: string;
  private db: IDBDatabase | undefined;
  private readonly unlock: () => void;

  private constructor(db: IDBDatabase, name: string, jid: string, unlock: () => void) {
    this.db = db;
    this.name = name;
    this.jid = jid;
    this.unlock = unlock;
  }

  /**
   * Opens (creating it if needed) the IndexedDB database `name` of the account `options.jid`.
   * @param name Database name (one database per account, e.g. `omemo-wasm:` and the JID).
   * @param options `jid`: the account's JID (bare or full); `indexedDB`: the factory (default the global one);
   *   `lockTimeoutMs`: how long to wait for another store on the database to close (INDEXEDDB_LOCK_TIMEOUT_MS).
   * @throws OmemoError `store-owner-mismatch` when the database belongs to another JID; `store-locked` when it is
   *   open elsewhere (Web Locks) for longer than `lockTimeoutMs`; `store-error` when IndexedDB is missing,
   *   refuses to open, or the database's schema is newer than this code. TypeError for a bad name or JID,
   *   RangeError for a bad lockTimeoutMs.
   */
  static async open(name: string, options: IndexedDbStoreOptions): Promise<IndexedDbStore> {
    if (typeof name !== 'string' || name === '') throw new TypeError('name must be a non-empty string');
    if (typeof options?.jid !== 'string') throw new TypeError('options.jid must be a string');
    const jid = bareJid(options.jid);
    const dbName = name;
    const timeout = options.lockTimeoutMs ?? INDEXEDDB_LOCK_TIMEOUT_MS;
    if (typeof timeout !== 'number' || !(timeout >= 0) || !Number.isFinite(timeout))
      throw new RangeError(`lockTimeoutMs must be a finite number ≥ 0, got ${String(timeout)}`);
    const factory = options.indexedDB ?? globalThis.indexedDB;
    if (factory === undefined) throw new OmemoError('store-error', 'IndexedDB is not available here');
    const unlock = await lock(dbName, timeout);
    let db: IDBDatabase;
    try {
      const req = factory.open(dbName, INDEXEDDB_SCHEMA_VERSION);
      req.onupgradeneeded = () => {
        for (const s of ALL) if (!req.result.objectStoreNames.contains(s)) req.result.createObjectStore(s);
      };
      db = await request(req);
    } catch (e) {
      unlock();
      if (e instanceof DOMException && e.name === 'VersionError')
        throw failure(`opening ${dbName}: its schema is newer than this code`, e);
      throw failure(`opening ${dbName}`, e);
    }
    // Another tab upgrading the schema: let it, and fail here with store-error afterwards.
    db.onversionchange = () => db.close();
    const store = new IndexedDbStore(db, dbName, jid, unlock);
    try {
      const tx = db.transaction(META, 'readwrite');
      const meta = tx.objectStore(META);
      const owner = await request(meta.get('owner'));
      if (owner === undefined) meta.put(jid, 'owner');
      await done(tx);
      if (owner !== undefined && owner !== jid)
        throw new OmemoError('store-owner-mismatch', `the IndexedDB store ${dbName} belongs to ${owner}, not ${jid}`);
    } catch (e) {
      store.close();
      throw failure('claiming the database', e);
    }
    return store;
  }

  /** Closes the database and releases its lock. Idempotent; afterwards every method fails with `store-error`. */
  close(): void {
    const db = this.db;
    if (db === undefined) return;
    this.db = undefined;
    db.close();
    this.unlock();
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.db === undefined;
  }

  private async read<T>(what: string, stores: string[], fn: (tx: IDBTransaction) => Promise<T>): Promise<T> {
    if (this.db === undefined) throw new OmemoError('store-error', `IndexedDB store: ${what} after close()`);
    try {
      return await fn(this.db.transaction(stores, 'readonly'));
    } catch (e) {
      throw failure(what, e);
    }
  }

  loadIdentity(): Promise<StoredIdentity | undefined> {
    return this.read('loadIdentity', [META], async (tx) => {
      const v = await request(tx.objectStore(META).get('identity'));
      return v === undefined ? undefined : out('identity', v);
    });
  }

  loadSignedPreKeys(): Promise<StoredSignedPreKey[]> {
    return this.read('loadSignedPreKeys', [SIGNED_PRE_KEYS], async (tx) =>
      (await request(tx.objectStore(SIGNED_PRE_KEYS).getAll())).map((v) => out('signed pre key', v)),
    );
  }

  loadPreKeys(): Promise<StoredPreKey[]> {
    return this.read('loadPreKeys', [PRE_KEYS], async (tx) =>
      (await request(tx.objectStore(PRE_KEYS).getAll())).map((v) => out('pre key', v)),
    );
  }

  loadPreKey(id: number): Promise<StoredPreKey | undefined> {
    return this.read('loadPreKey', [PRE_KEYS], async (tx) => {
      const v = await request(tx.objectStore(PRE_KEYS).get(id));
      return v === undefined ? undefined : out('pre key', v);
    });
  }

  loadDeviceList(version: OmemoVersion, jid: string): Promise<number[] | undefined> {
    return this.read('loadDeviceList', [DEVICE_LISTS], async (tx) => {
      const v = await request(tx.objectStore(DEVICE_LISTS).get([version, jid]));
      return v === undefined ? undefined : out('device list', v);
    });
  }

  loadDevices(jids: readonly string[]): Promise<StoredDevice[]> {
    return this.read('loadDevices', [DEVICES], async (tx) => {
      const store = tx.objectStore(DEVICES);
      const lists = await Promise.all([...new Set(jids)].map((jid) => request(store.getAll(devicesOf(jid)))));
      return lists.flat().map((v) => out('device', v));
    });
  }

  loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]> {
    return this.read('loadSessions', [SESSIONS], async (tx) => {
      const store = tx.objectStore(SESSIONS);
      const records = await Promise.all(addresses.map((a) => request(store.get([a.version, a.jid, a.deviceId]))));
      return records.map((v) => (v === undefined ? undefined : out('session', v)));
    });
  }

  /**
   * Applies all changes in one readwrite transaction: a failing write aborts it, and nothing is visible.
   * @throws TypeError (rejects) for a record without the shape of store.ts (nothing is written); OmemoError
   *   `store-error` when IndexedDB refuses the transaction or a value, or after close().
   */
  async commit(changes: StoreChanges): Promise<void> {
    if (changes.identity !== undefined) into('identity', changes.identity);
    for (const k of changes.putSignedPreKeys ?? []) into('signed pre key', k);
    for (const k of changes.putPreKeys ?? []) into('pre key', k);
    for (const l of changes.putDeviceLists ?? []) into('device list', l.deviceIds);
    for (const d of changes.putDevices ?? []) into('device', d);
    for (const r of changes.putSessions ?? []) into('session', r.record);
    const db = this.db;
    if (db === undefined) throw new OmemoError('store-error', 'IndexedDB store: commit after close()');
    let tx: IDBTransaction | undefined;
    try {
      tx = db.transaction(ALL, 'readwrite');
      const finished = done(tx);
      // A failed request aborts the transaction; its rejection surfaces through `finished`.
      finished.catch(() => undefined);
      const os = (name: string) => tx!.objectStore(name);
      if (changes.identity !== undefined) os(META).put(changes.identity, 'identity');
      for (const k of changes.putSignedPreKeys ?? []) os(SIGNED_PRE_KEYS).put(k, k.id);
      for (const id of changes.deleteSignedPreKeys ?? []) os(SIGNED_PRE_KEYS).delete(id);
      for (const k of changes.putPreKeys ?? []) os(PRE_KEYS).put(k, k.id);
      for (const id of changes.deletePreKeys ?? []) os(PRE_KEYS).delete(id);
      for (const l of changes.putDeviceLists ?? []) os(DEVICE_LISTS).put([...l.deviceIds], [l.version, l.jid]);
      for (const d of changes.putDevices ?? []) os(DEVICES).put(d, [d.jid, d.deviceId]);
      for (const s of changes.putSessions ?? []) {
        const a = s.address;
        os(SESSIONS).put(s.record, [a.version, a.jid, a.deviceId]);
      }
      for (const a of changes.deleteSessions ?? []) os(SESSIONS).delete([a.version, a.jid, a.deviceId]);
      await finished;
    } catch (e) {
      try {
        tx?.abort();
      } catch {
        // Already finished or aborted: nothing was committed.
      }
      throw failure('commit', e);
    }
  }
}

/**
 * Holds an exclusive Web Lock named after the database until the returned function is called, waiting up to
 * `timeoutMs` for it; where the API is missing (older engines, Node.js) there is nothing to hold.
 */
async function lock(name: string, timeoutMs: number): Promise<() => void> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (locks === undefined) return () => undefined;
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      locks
        .request(`omemo-wasm:${name}`, { signal: AbortSignal.timeout(timeoutMs) }, () => {
          resolve();
          return held;
        })
        .catch(reject);
    });
  } catch (e) {
    if (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError'))
      throw new OmemoError('store-locked', `the IndexedDB store ${name} is open elsewhere`, { cause: e });
    throw failure('locking', e);
  }
  return release;
}
