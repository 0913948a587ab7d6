// SqliteStore: the persistent OmemoStore (store.ts) on better-sqlite3, one account per file. Group commit: the
// commits staged close together share one SQLite transaction (each in its own savepoint, their session and device
// rows written once each before the COMMIT) and one fsync; a versioned schema with forward migrations, an exclusive
// lock on the file.
//
// better-sqlite3 is an optional native dependency: it is imported lazily inside `open`, so loading the
// library's entry point never loads it (browsers, installs without it). Nothing of its types is part of
// the public declarations: the handle is typed with the small local interfaces below.
import { assertInt } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import { bareJid } from '../stanzas/jid';
import type { OmemoVersion } from '../versions/backend';
import type {
  OmemoStore,
  SessionAddress,
  StagedCommit,
  StoreChanges,
  StoredDevice,
  StoredIdentity,
  StoredPreKey,
  StoredSignedPreKey,
} from './store';
import { loadDriver, type SqlDatabase } from './sqlite-driver';
import { GroupCommit } from './sqlite-group-commit';
import { hasOtherChanges, PendingRows, stagedRows } from './sqlite-pending';
import { MIGRATIONS, SQLITE_SCHEMA_VERSION } from './sqlite-schema';
import {
  KEY_BYTES,
  SIGNATURE_BYTES,
  corrupt,
  rowOf,
  blobOut,
  intOut,
  textOut,
  optionalTextOut,
  jsonArrayOut,
  isBusy,
  storeFailure,
  prepareStatements,
  preKeyOut,
  type Statements,
  writeChanges,
} from './sqlite-rows';

/**
 * How long `open` waits for another connection to release the file before failing with `store-locked`
 * (ms). Only `open` can wait: once open, the store holds the file's lock exclusively until `close`.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 1000;

export { SQLITE_SCHEMA_VERSION } from './sqlite-schema';

export { SQLITE_GROUP_COMMIT_MAX_DELAY_MS, SQLITE_GROUP_COMMIT_MAX_OPERATIONS } from './sqlite-group-commit';

/** Canonical file names of the stores open in this process (the SQLite lock covers other processes). */
const openFiles = new Set<string>();

/**
 * An OmemoStore in a SQLite file (Node.js, needs the optional dependency better-sqlite3). One file holds
 * one account; while open, the store holds the file exclusively (no other process or SqliteStore can open
 * it). Every `commit` is atomic and durable when its promise resolves; commits (and `stage`s) arriving close
 * together share one SQLite transaction and one fsync (group commit), so that many small operations cost one write
 * to disk; a commit that fails (checked before anything is written, the rest in a savepoint) fails alone.
 */
export class SqliteStore implements OmemoStore {
  /** The bare JID of the account this file belongs to. */
  readonly jid: string;
  /** The canonical path of the database file (symbolic links resolved). */
  readonly path: string;
  private db: SqlDatabase | undefined;
  private readonly st: Statements;
  private readonly loadSessionsTx: (addresses: readonly SessionAddress[]) => (Uint8Array | undefined)[];
  private readonly loadDevicesTx: (jids: readonly string[]) => StoredDevice[];
  private readonly commitTx: (changes: StoreChanges) => void;
  private readonly group: GroupCommit;
  /** The session and device rows of the open group, written just before its COMMIT. */
  private readonly pending = new PendingRows();

  private constructor(db: SqlDatabase, path: string, jid: string) {
    this.db = db;
    this.path = path;
    this.jid = jid;
    this.st = prepareStatements(db);
    // One read transaction around many point reads: measured against one json_each join for 1000
    // addresses, prepared point reads were as fast or faster (≈1.5–2 ms), so they stay. Inside an open group
    // transaction the reads need no savepoint of their own (they write nothing): they run bare.
    const loadSessions = (addresses: readonly SessionAddress[]) =>
      addresses.map((a) => {
        const staged = this.pending.session(a);
        if (staged !== undefined) return staged ?? undefined;
        const row = this.st.session.get(a.version, a.jid, a.deviceId);
        return row === undefined ? undefined : blobOut(rowOf(row, 'sessions').record, 'sessions', 'record');
      });
    const loadSessionsTx = db.transaction(loadSessions);
    this.loadSessionsTx = (addresses) => (db.inTransaction ? loadSessions(addresses) : loadSessionsTx(addresses));
    const loadDevices = (jids: readonly string[]) => {
      const out: StoredDevice[] = [];
      for (const jid of new Set(jids)) out.push(...this.pending.devicesOf(jid, this.st.devicesOf.all(jid)));
      return out;
    };
    const loadDevicesTx = db.transaction(loadDevices);
    this.loadDevicesTx = (jids) => (db.inTransaction ? loadDevices(jids) : loadDevicesTx(jids));
    this.commitTx = db.transaction((changes: StoreChanges) => writeChanges(this.st, this.jid, changes));
    this.group = new GroupCommit(db, (e) => storeFailure('commit', e), {
      write: () => this.pending.write(this.st),
      clear: () => this.pending.clear(),
    });
  }

  /**
   * Opens (creating it if needed) the store file of the account `options.jid`, migrating an older schema
   * forward. The file is locked until `close()`: SQLite's exclusive locking mode, which also keeps the WAL
   * index in memory (no `-shm` file); a process that dies releases it.
   * @param path File name of the database (created if missing; its directory must exist).
   * @param options `jid`: the account's JID (bare or full); `busyTimeoutMs`: how long to wait for another
   *   connection to release the file (default SQLITE_BUSY_TIMEOUT_MS).
   * @throws OmemoError `store-owner-mismatch` when the file belongs to another JID; `store-locked` when it
   *   is open elsewhere (this process or another); `store-error` when better-sqlite3 cannot be loaded, the
   *   file is no SQLite database or not an omemo-wasm store, its schema is newer than this code, or SQLite
   *   fails (see `cause`). TypeError/RangeError for a bad argument.
   */
  static async open(path: string, options: { jid: string; busyTimeoutMs?: number }): Promise<SqliteStore> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty file name');
    if (path === ':memory:' || path.startsWith('file:'))
      throw new RangeError(
        `path must be a file name, got ${JSON.stringify(path)} (use MemoryStore for a store in memory)`,
      );
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object with a jid');
    const jid = bareJid(options.jid);
    const timeout = options.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS;
    assertInt(timeout, 'options.busyTimeoutMs', 0, 2 ** 31 - 1);
    const Database = await loadDriver();

    // From here on everything is synchronous: no other open in this process can interleave.
    let db: SqlDatabase;
    try {
      db = new Database(path, { timeout });
    } catch (e) {
      throw new OmemoError(
        'store-error',
        `cannot open the SQLite store ${JSON.stringify(path)}: ${String((e as Error)?.message ?? e)}`,
        { cause: e },
      );
    }
    let file: string | undefined;
    try {
      file = canonicalFile(db) ?? path;
      if (openFiles.has(file)) {
        file = undefined; // not ours to unregister
        throw new OmemoError(
          'store-locked',
          `the SQLite store ${JSON.stringify(path)} is already open in this process`,
        );
      }
      openFiles.add(file);
      SqliteStore.lock(db, path);
      SqliteStore.migrate(db, path);
      SqliteStore.claim(db, path, jid);
      return new SqliteStore(db, file, jid);
    } catch (e) {
      if (file !== undefined) openFiles.delete(file);
      try {
        db.close();
      } catch {
        // The original error is the one to report.
      }
      throw storeFailure(`opening ${JSON.stringify(path)}`, e);
    }
  }

  /** Takes the file for this connection alone, in WAL mode. */
  private static lock(db: SqlDatabase, path: string): void {
    try {
      // Before the first access: the lock, once taken, is kept until close, and WAL then needs no -shm.
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal')
        throw new OmemoError(
          'store-error',
          `SQLite refused WAL mode for ${JSON.stringify(path)} (journal mode ${String(mode)})`,
        );
      // FULL: the WAL is fsynced at every commit, so a commit that returned survives a killed process and
      // a power loss or OS crash too. NORMAL would survive a killed process (the data is in the OS by then)
      // but could lose the last commits on power loss, and a lost ratchet step means message keys used
      // again for new messages after the restart. One fsync per group of commits (sqlite-group-commit.ts).
      db.pragma('synchronous = FULL');
      // Take the lock now, before anything is read: a write transaction takes it exclusively, and in
      // exclusive locking mode it is kept until close. (In WAL mode the first read would already.)
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (e) {
      if (isBusy(e))
        throw new OmemoError(
          'store-locked',
          `the SQLite store ${JSON.stringify(path)} is in use by another process or connection`,
          { cause: e },
        );
      throw e;
    }
  }

  private static migrate(db: SqlDatabase, path: string): void {
    const hasVersionTable =
      db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'").get() !== undefined;
    let version = 0;
    if (hasVersionTable) {
      const rows = db.prepare('SELECT version FROM schema_version').all();
      const v = rows.length === 1 ? rowOf(rows[0], 'schema_version').version : undefined;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
        throw corrupt('schema_version', `expected one version row, found ${rows.length} row(s)`);
      version = v;
    } else if (db.prepare("SELECT 1 FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' LIMIT 1").get() !== undefined) {
      throw new OmemoError(
        'store-error',
        `${JSON.stringify(path)} is a SQLite database but no omemo-wasm store (it has tables but no schema_version)`,
      );
    }
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new OmemoError(
        'store-error',
        `the SQLite store ${JSON.stringify(path)} has schema version ${version}, newer than the ${SQLITE_SCHEMA_VERSION} this omemo-wasm knows: it was written by a newer release, and downgrades are not supported`,
      );
    }
    for (let v = version; v < SQLITE_SCHEMA_VERSION; v++) {
      db.transaction(() => {
        MIGRATIONS[v]!(db);
        db.prepare('DELETE FROM schema_version').run();
        db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v + 1);
      })();
    }
  }

  /** Records the owner of a new file; refuses a file that belongs to another account. */
  private static claim(db: SqlDatabase, path: string, jid: string): void {
    db.transaction(() => {
      const row = db.prepare('SELECT jid FROM owner WHERE singleton = 1').get();
      if (row === undefined) {
        db.prepare('INSERT INTO owner (singleton, jid) VALUES (1, ?)').run(jid);
        return;
      }
      const owner = textOut(rowOf(row, 'owner').jid, 'owner', 'jid');
      if (owner !== jid)
        throw new OmemoError(
          'store-owner-mismatch',
          `the SQLite store ${JSON.stringify(path)} belongs to ${owner}, not ${jid}`,
        );
    })();
  }

  /** Closes the file and releases its lock. Idempotent; afterwards every method fails with `store-error`. */
  close(): void {
    const db = this.db;
    if (db === undefined) return;
    this.group.flush();
    this.db = undefined;
    try {
      db.close();
    } finally {
      openFiles.delete(this.path);
    }
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.db === undefined;
  }

  private run<T>(what: string, fn: () => T): T {
    if (this.db === undefined) throw new OmemoError('store-error', `SQLite store: ${what} after close()`);
    try {
      return fn();
    } catch (e) {
      this.group.checkAfterError(e);
      throw storeFailure(what, e);
    }
  }

  async loadIdentity(): Promise<StoredIdentity | undefined> {
    return this.run('loadIdentity', () => {
      const row = this.st.identity.get();
      if (row === undefined) return undefined;
      const r = rowOf(row, 'identity');
      const label = optionalTextOut(r.label, 'identity', 'label');
      return {
        jid: this.jid,
        deviceId: intOut(r.device_id, 'identity', 'device_id'),
        identityPrivateKey: blobOut(r.identity_private_key, 'identity', 'identity_private_key', KEY_BYTES),
        nextPreKeyId: intOut(r.next_pre_key_id, 'identity', 'next_pre_key_id'),
        nextSignedPreKeyId: intOut(r.next_signed_pre_key_id, 'identity', 'next_signed_pre_key_id'),
        ...(label !== undefined ? { label } : {}),
      };
    });
  }

  async loadSignedPreKeys(): Promise<StoredSignedPreKey[]> {
    return this.run('loadSignedPreKeys', () =>
      this.st.signedPreKeys.all().map((row) => {
        const r = rowOf(row, 'signed_pre_keys');
        const t = 'signed_pre_keys';
        return {
          id: intOut(r.id, t, 'id'),
          privateKey: blobOut(r.private_key, t, 'private_key', KEY_BYTES),
          publicKey: blobOut(r.public_key, t, 'public_key', KEY_BYTES),
          signatures: {
            oldmemo: blobOut(r.signature_oldmemo, t, 'signature_oldmemo', SIGNATURE_BYTES),
            twomemo: blobOut(r.signature_twomemo, t, 'signature_twomemo', SIGNATURE_BYTES),
          },
          createdAt: intOut(r.created_at, t, 'created_at'),
        };
      }),
    );
  }

  async loadPreKeys(): Promise<StoredPreKey[]> {
    return this.run('loadPreKeys', () => this.st.preKeys.all().map(preKeyOut));
  }

  async loadPreKey(id: number): Promise<StoredPreKey | undefined> {
    return this.run('loadPreKey', () => {
      const row = this.st.preKey.get(id);
      return row === undefined ? undefined : preKeyOut(row);
    });
  }

  async loadDeviceList(version: OmemoVersion, jid: string): Promise<number[] | undefined> {
    return this.run('loadDeviceList', () => {
      const row = this.st.deviceList.get(version, jid);
      if (row === undefined) return undefined;
      return jsonArrayOut(rowOf(row, 'device_lists').device_ids, 'device_lists', 'device_ids').map((id) =>
        intOut(id, 'device_lists', 'device_ids'),
      );
    });
  }

  async loadDevices(jids: readonly string[]): Promise<StoredDevice[]> {
    return this.run('loadDevices', () => this.loadDevicesTx(jids));
  }

  async loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]> {
    return this.run('loadSessions', () => this.loadSessionsTx(addresses));
  }

  /**
   * Applies all changes in one transaction: after a throw none of them is visible.
   * @throws OmemoError `store-owner-mismatch` for an identity of another JID, `store-error` when SQLite
   *   fails; TypeError/RangeError for a malformed value (checked as it is written, so the transaction is
   *   rolled back).
   */
  async commit(changes: StoreChanges): Promise<void> {
    return this.stage(changes).durable;
  }

  /**
   * Group commit (see OmemoStore.stage): writes the changes into the open group transaction (in a savepoint, so
   * that a failure undoes only them) and returns at once; `durable` resolves when the group has committed (at the
   * latest SQLITE_GROUP_COMMIT_MAX_DELAY_MS later, or when `close()` is called).
   * @throws OmemoError as `commit`, synchronously, with nothing applied.
   */
  stage(changes: StoreChanges): StagedCommit {
    return this.run('commit', () => {
      // Sessions and device records are checked and copied now, kept in memory and written before the group's COMMIT
      // (sqlite-pending.ts); the rest is written now, in a savepoint. Nothing is kept when either part throws.
      const rows = stagedRows(changes);
      const rest = hasOtherChanges(changes);
      return this.group.stage(() => {
        if (rest)
          this.commitTx({ ...changes, putDevices: undefined, putSessions: undefined, deleteSessions: undefined });
        this.pending.apply(rows);
      });
    });
  }
}

/** The database file SQLite opened, as it names it (absolute, symbolic links resolved). */
function canonicalFile(db: SqlDatabase): string | undefined {
  const list = db.pragma('database_list');
  if (!Array.isArray(list)) return undefined;
  const main = list.find((r) => (r as { name?: unknown }).name === 'main') as { file?: unknown } | undefined;
  return typeof main?.file === 'string' && main.file.length > 0 ? main.file : undefined;
}
