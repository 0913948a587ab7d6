// SqliteStore: the persistent OmemoStore (store.ts) on better-sqlite3, one account per file. One SQLite
// transaction per `commit`, a versioned schema with forward migrations, an exclusive lock on the file.
//
// better-sqlite3 is an optional native dependency: it is imported lazily inside `open`, so loading the
// library's entry point never loads it (browsers, installs without it). Nothing of its types is part of
// the public declarations: the handle is typed with the small local interfaces below.
import { assertBytes, assertInt, concatBytes } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import { bareJid } from './jid';
import { OMEMO_VERSIONS, type OmemoVersion } from './namespaces';
import {
  sessionKey,
  type OmemoStore,
  type PreviousIdentity,
  type SessionAddress,
  type StoreChanges,
  type StoredDevice,
  type StoredIdentity,
  type StoredPreKey,
  type StoredSignedPreKey,
  type TrustLevel,
} from './store';

/**
 * How long `open` waits for another connection to release the file before failing with `store-locked`
 * (ms). Only `open` can wait: once open, the store holds the file's lock exclusively until `close`.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 1000;

/** Lengths of the stored keys (bytes): Curve25519 private and public keys, XEdDSA signatures. */
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const TRUST_LEVELS: readonly TrustLevel[] = ['undecided', 'blind', 'verified', 'distrusted'];

// ─── the part of better-sqlite3 used here ──────────────────────────────────────────────────────────────

interface SqlStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  exec(sql: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): unknown;
}

type SqlDatabaseClass = new (filename: string, options?: { timeout?: number }) => SqlDatabase;

let driver: SqlDatabaseClass | undefined;

async function loadDriver(): Promise<SqlDatabaseClass> {
  if (driver !== undefined) return driver;
  let mod: unknown;
  try {
    // The comments keep browser bundlers from trying to resolve (and failing on) a Node-only module.
    mod = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'better-sqlite3');
  } catch (cause) {
    throw new OmemoError('store-error', `SqliteStore needs the optional dependency better-sqlite3, which could not be loaded (install it, or use another OmemoStore): ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
  const ctor = (mod as { default?: unknown }).default ?? mod;
  if (typeof ctor !== 'function') throw new OmemoError('store-error', 'the module better-sqlite3 does not export a Database class');
  driver = ctor as SqlDatabaseClass;
  return driver;
}

// ─── schema ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Forward migrations: `MIGRATIONS[i]` takes the schema from version i to i + 1 (0 is an empty file). Each
 * runs in its own transaction together with the update of `schema_version`. Append only: a released
 * migration never changes (test/omemo/fixtures/sqlite-schema-1.db is a file of version 1).
 *
 * Schema 1 has no foreign keys: sessions, devices and device lists are independent records keyed by
 * address, as in OmemoStore. Tables are STRICT, so SQLite itself refuses a value of the wrong type.
 */
const MIGRATIONS: readonly ((db: SqlDatabase) => void)[] = [
  (db) =>
    db.exec(`
      CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;
      CREATE TABLE owner (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        jid TEXT NOT NULL
      ) STRICT;
      CREATE TABLE identity (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        device_id INTEGER NOT NULL,
        identity_private_key BLOB NOT NULL CHECK (length(identity_private_key) = 32),
        next_pre_key_id INTEGER NOT NULL,
        next_signed_pre_key_id INTEGER NOT NULL,
        label TEXT
      ) STRICT;
      CREATE TABLE signed_pre_keys (
        id INTEGER PRIMARY KEY,
        private_key BLOB NOT NULL CHECK (length(private_key) = 32),
        public_key BLOB NOT NULL CHECK (length(public_key) = 32),
        signature_oldmemo BLOB NOT NULL CHECK (length(signature_oldmemo) = 64),
        signature_twomemo BLOB NOT NULL CHECK (length(signature_twomemo) = 64),
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE pre_keys (
        id INTEGER PRIMARY KEY,
        private_key BLOB NOT NULL CHECK (length(private_key) = 32),
        public_key BLOB NOT NULL CHECK (length(public_key) = 32),
        consumed INTEGER NOT NULL CHECK (consumed IN (0, 1))
      ) STRICT;
      -- device_ids: JSON array of integers ('[]' is a fetched empty list; no row: never fetched).
      CREATE TABLE device_lists (
        version TEXT NOT NULL CHECK (version IN ('oldmemo', 'twomemo')),
        jid TEXT NOT NULL,
        device_ids TEXT NOT NULL,
        PRIMARY KEY (version, jid)
      ) STRICT, WITHOUT ROWID;
      -- active_in: JSON array of versions, in the order given.
      CREATE TABLE devices (
        jid TEXT NOT NULL,
        device_id INTEGER NOT NULL,
        active_in TEXT NOT NULL,
        label TEXT,
        identity_key BLOB CHECK (identity_key IS NULL OR length(identity_key) = 32),
        trust TEXT NOT NULL CHECK (trust IN ('undecided', 'blind', 'verified', 'distrusted')),
        sent_since_last_received INTEGER NOT NULL,
        last_received_at INTEGER NOT NULL,
        PRIMARY KEY (jid, device_id)
      ) STRICT;
      -- Records are a few hundred bytes up to tens of KiB (skipped keys): a rowid table suits them.
      CREATE TABLE sessions (
        version TEXT NOT NULL CHECK (version IN ('oldmemo', 'twomemo')),
        jid TEXT NOT NULL,
        device_id INTEGER NOT NULL,
        record BLOB NOT NULL CHECK (length(record) > 0),
        PRIMARY KEY (version, jid, device_id)
      ) STRICT;
    `),
  // 2: trust per identity key (a device's earlier keys with their trust), the start of a device's silence
  // (stale-device rule by time), consumed pre keys kept for a while with the base keys they accepted.
  (db) =>
    db.exec(`
      -- previous_identities: 33-byte entries, newest first: 32-byte Curve25519 key ‖ trust (index in TRUST_LEVELS).
      ALTER TABLE devices ADD COLUMN previous_identities BLOB
        CHECK (previous_identities IS NULL OR (length(previous_identities) > 0 AND length(previous_identities) % 33 = 0));
      ALTER TABLE devices ADD COLUMN unanswered_since INTEGER NOT NULL DEFAULT 0;
      -- Devices we already wrote to without an answer: their silence is counted from this migration on.
      UPDATE devices SET unanswered_since = CAST(strftime('%s', 'now') AS INTEGER) * 1000
        WHERE sent_since_last_received > 0;
      ALTER TABLE pre_keys ADD COLUMN consumed_at INTEGER NOT NULL DEFAULT 0;
      -- accepted_base_keys: 32-byte X25519 base keys of the key exchanges accepted with a consumed pre key.
      ALTER TABLE pre_keys ADD COLUMN accepted_base_keys BLOB
        CHECK (accepted_base_keys IS NULL OR (length(accepted_base_keys) > 0 AND length(accepted_base_keys) % 32 = 0));
    `),
];

/** The schema version this code writes; files of older versions are migrated forward on open. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Canonical file names of the stores open in this process (the SQLite lock covers other processes). */
const openFiles = new Set<string>();

// ─── checks of what comes out of the file ──────────────────────────────────────────────────────────────

function corrupt(table: string, what: string): OmemoError {
  return new OmemoError('store-error', `the SQLite store holds a corrupt ${table} row: ${what}`);
}

function rowOf(row: unknown, table: string): Record<string, unknown> {
  if (typeof row !== 'object' || row === null) throw corrupt(table, 'not a row');
  return row as Record<string, unknown>;
}

/** A fresh Uint8Array copy of a BLOB column (callers may mutate what the store returns). */
function blobOut(value: unknown, table: string, column: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw corrupt(table, `${column} is not a BLOB`);
  if (length !== undefined ? value.length !== length : value.length === 0) {
    throw corrupt(table, `${column} is ${value.length} bytes${length !== undefined ? `, expected ${length}` : ''}`);
  }
  // better-sqlite3 copies every BLOB it returns into a new Buffer: when that Buffer owns its whole
  // ArrayBuffer (never a slice of Node's shared pool), a plain Uint8Array over it is already private.
  return value.byteOffset === 0 && value.buffer.byteLength === value.length ? new Uint8Array(value.buffer, 0, value.length) : new Uint8Array(value);
}

function intOut(value: unknown, table: string, column: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw corrupt(table, `${column} is not a non-negative integer`);
  return value;
}

function textOut(value: unknown, table: string, column: string): string {
  if (typeof value !== 'string' || value.length === 0) throw corrupt(table, `${column} is not a non-empty string`);
  return value;
}

function optionalTextOut(value: unknown, table: string, column: string): string | undefined {
  if (value === null) return undefined;
  if (typeof value !== 'string') throw corrupt(table, `${column} is not a string`);
  return value;
}

function versionOut(value: unknown, table: string): OmemoVersion {
  if (!OMEMO_VERSIONS.includes(value as OmemoVersion)) throw corrupt(table, `unknown version ${JSON.stringify(String(value).slice(0, 20))}`);
  return value as OmemoVersion;
}

function jsonArrayOut(value: unknown, table: string, column: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textOut(value, table, column));
  } catch {
    throw corrupt(table, `${column} is not JSON`);
  }
  if (!Array.isArray(parsed)) throw corrupt(table, `${column} is not a JSON array`);
  return parsed;
}

// ─── checks of what goes in (programmer errors: TypeError / RangeError) ────────────────────────────────

function assertCount(value: unknown, name: string): asserts value is number {
  assertInt(value, name, 0, Number.MAX_SAFE_INTEGER);
}

function assertVersion(value: unknown, name: string): asserts value is OmemoVersion {
  if (!OMEMO_VERSIONS.includes(value as OmemoVersion)) throw new TypeError(`${name} must be one of ${OMEMO_VERSIONS.join(', ')}, got ${JSON.stringify(value)}`);
}

function assertJid(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
}

function assertOptionalText(value: unknown, name: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${name} must be a string or absent`);
}

function assertAddress(a: SessionAddress, name: string): void {
  if (typeof a !== 'object' || a === null) throw new TypeError(`${name} must be a SessionAddress`);
  assertVersion(a.version, `${name}.version`);
  assertJid(a.jid, `${name}.jid`);
  assertCount(a.deviceId, `${name}.deviceId`);
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED');
}

/** OmemoErrors and our own argument checks pass through; SQLite failures become `store-error`. */
function storeFailure(what: string, e: unknown): Error {
  if (e instanceof OmemoError || e instanceof TypeError || e instanceof RangeError) return e;
  return new OmemoError('store-error', `SQLite store: ${what} failed: ${String((e as Error)?.message ?? e)}`, { cause: e });
}

const PRE_KEY_COLUMNS = 'id, private_key, public_key, consumed, consumed_at, accepted_base_keys';
const DEVICE_COLUMNS =
  'jid, device_id, active_in, label, identity_key, trust, sent_since_last_received, last_received_at, previous_identities, unanswered_since';
/** One entry of devices.previous_identities: key ‖ trust index. */
const PREVIOUS_IDENTITY_BYTES = KEY_BYTES + 1;

/** The prepared statements, made once per open store. */
function prepareStatements(db: SqlDatabase) {
  return {
    owner: db.prepare('SELECT jid FROM owner WHERE singleton = 1'),
    identity: db.prepare('SELECT device_id, identity_private_key, next_pre_key_id, next_signed_pre_key_id, label FROM identity WHERE singleton = 1'),
    putIdentity: db.prepare('INSERT OR REPLACE INTO identity (singleton, device_id, identity_private_key, next_pre_key_id, next_signed_pre_key_id, label) VALUES (1, ?, ?, ?, ?, ?)'),
    signedPreKeys: db.prepare('SELECT id, private_key, public_key, signature_oldmemo, signature_twomemo, created_at FROM signed_pre_keys ORDER BY id'),
    putSignedPreKey: db.prepare('INSERT OR REPLACE INTO signed_pre_keys (id, private_key, public_key, signature_oldmemo, signature_twomemo, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    deleteSignedPreKey: db.prepare('DELETE FROM signed_pre_keys WHERE id = ?'),
    preKeys: db.prepare(`SELECT ${PRE_KEY_COLUMNS} FROM pre_keys ORDER BY id`),
    preKey: db.prepare(`SELECT ${PRE_KEY_COLUMNS} FROM pre_keys WHERE id = ?`),
    putPreKey: db.prepare(`INSERT OR REPLACE INTO pre_keys (${PRE_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`),
    deletePreKey: db.prepare('DELETE FROM pre_keys WHERE id = ?'),
    deviceList: db.prepare('SELECT device_ids FROM device_lists WHERE version = ? AND jid = ?'),
    putDeviceList: db.prepare('INSERT OR REPLACE INTO device_lists (version, jid, device_ids) VALUES (?, ?, ?)'),
    devicesOf: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE jid = ? ORDER BY device_id`),
    putDevice: db.prepare(`INSERT OR REPLACE INTO devices (${DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    session: db.prepare('SELECT record FROM sessions WHERE version = ? AND jid = ? AND device_id = ?'),
    putSession: db.prepare('INSERT OR REPLACE INTO sessions (version, jid, device_id, record) VALUES (?, ?, ?, ?)'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE version = ? AND jid = ? AND device_id = ?'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * An OmemoStore in a SQLite file (Node.js, needs the optional dependency better-sqlite3). One file holds
 * one account; while open, the store holds the file exclusively (no other process or SqliteStore can open
 * it). Every `commit` is one SQLite transaction, durable when it returns.
 */
export class SqliteStore implements OmemoStore {
  /** The bare JID of the account this file belongs to. */
  readonly jid: string;
  /** The canonical path of the database file (symbolic links resolved). */
  readonly path: string;
  private db: SqlDatabase | undefined;
  private readonly st: Statements;
  private readonly loadSessionsTx: (addresses: readonly SessionAddress[]) => Map<string, Uint8Array>;
  private readonly loadDevicesTx: (jids: readonly string[]) => StoredDevice[];
  private readonly commitTx: (changes: StoreChanges) => void;

  private constructor(db: SqlDatabase, path: string, jid: string) {
    this.db = db;
    this.path = path;
    this.jid = jid;
    this.st = prepareStatements(db);
    // One read transaction around many point reads: measured against one json_each join for 1000
    // addresses, prepared point reads were as fast or faster (≈1.5–2 ms), so they stay.
    this.loadSessionsTx = db.transaction((addresses: readonly SessionAddress[]) => {
      const out = new Map<string, Uint8Array>();
      for (const a of addresses) {
        const row = this.st.session.get(a.version, a.jid, a.deviceId);
        if (row !== undefined) out.set(sessionKey(a), blobOut(rowOf(row, 'sessions').record, 'sessions', 'record'));
      }
      return out;
    });
    this.loadDevicesTx = db.transaction((jids: readonly string[]) => {
      const out: StoredDevice[] = [];
      for (const jid of new Set(jids)) for (const row of this.st.devicesOf.all(jid)) out.push(deviceOut(row));
      return out;
    });
    this.commitTx = db.transaction((changes: StoreChanges) => this.write(changes));
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
    if (path === ':memory:' || path.startsWith('file:')) throw new RangeError(`path must be a file name, got ${JSON.stringify(path)} (use MemoryStore for a store in memory)`);
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
      throw new OmemoError('store-error', `cannot open the SQLite store ${JSON.stringify(path)}: ${String((e as Error)?.message ?? e)}`, { cause: e });
    }
    let file: string | undefined;
    try {
      file = canonicalFile(db) ?? path;
      if (openFiles.has(file)) {
        file = undefined; // not ours to unregister
        throw new OmemoError('store-locked', `the SQLite store ${JSON.stringify(path)} is already open in this process`);
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
      if (mode !== 'wal') throw new OmemoError('store-error', `SQLite refused WAL mode for ${JSON.stringify(path)} (journal mode ${String(mode)})`);
      // FULL: the WAL is fsynced at every commit, so a commit that returned survives a killed process and
      // a power loss or OS crash too. NORMAL would survive a killed process (the data is in the OS by then)
      // but could lose the last commits on power loss, and a lost ratchet step means message keys used
      // again for new messages after the restart. One fsync per operation: a fan-out is a single commit.
      db.pragma('synchronous = FULL');
      // Take the lock now, before anything is read: a write transaction takes it exclusively, and in
      // exclusive locking mode it is kept until close. (In WAL mode the first read would already.)
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (e) {
      if (isBusy(e)) throw new OmemoError('store-locked', `the SQLite store ${JSON.stringify(path)} is in use by another process or connection`, { cause: e });
      throw e;
    }
  }

  private static migrate(db: SqlDatabase, path: string): void {
    const hasVersionTable = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'").get() !== undefined;
    let version = 0;
    if (hasVersionTable) {
      const rows = db.prepare('SELECT version FROM schema_version').all();
      const v = rows.length === 1 ? rowOf(rows[0], 'schema_version').version : undefined;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw corrupt('schema_version', `expected one version row, found ${rows.length} row(s)`);
      version = v;
    } else if (db.prepare("SELECT 1 FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' LIMIT 1").get() !== undefined) {
      throw new OmemoError('store-error', `${JSON.stringify(path)} is a SQLite database but no omemo-wasm store (it has tables but no schema_version)`);
    }
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new OmemoError('store-error', `the SQLite store ${JSON.stringify(path)} has schema version ${version}, newer than the ${SQLITE_SCHEMA_VERSION} this omemo-wasm knows: it was written by a newer release, and downgrades are not supported`);
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
      if (owner !== jid) throw new OmemoError('store-owner-mismatch', `the SQLite store ${JSON.stringify(path)} belongs to ${owner}, not ${jid}`);
    })();
  }

  /** Closes the file and releases its lock. Idempotent; afterwards every method fails with `store-error`. */
  close(): void {
    const db = this.db;
    if (db === undefined) return;
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
          signatures: { oldmemo: blobOut(r.signature_oldmemo, t, 'signature_oldmemo', SIGNATURE_BYTES), twomemo: blobOut(r.signature_twomemo, t, 'signature_twomemo', SIGNATURE_BYTES) },
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
      return jsonArrayOut(rowOf(row, 'device_lists').device_ids, 'device_lists', 'device_ids').map((id) => intOut(id, 'device_lists', 'device_ids'));
    });
  }

  async loadDevices(jids: readonly string[]): Promise<StoredDevice[]> {
    return this.run('loadDevices', () => this.loadDevicesTx(jids));
  }

  async loadSessions(addresses: readonly SessionAddress[]): Promise<Map<string, Uint8Array>> {
    return this.run('loadSessions', () => this.loadSessionsTx(addresses));
  }

  /**
   * Applies all changes in one transaction: after a throw none of them is visible.
   * @throws OmemoError `store-owner-mismatch` for an identity of another JID, `store-error` when SQLite
   *   fails; TypeError/RangeError for a malformed value (checked as it is written, so the transaction is
   *   rolled back).
   */
  async commit(changes: StoreChanges): Promise<void> {
    this.run('commit', () => this.commitTx(changes));
  }

  /** The body of the commit transaction, in MemoryStore's order (puts before deletes of each kind). */
  private write(c: StoreChanges): void {
    const st = this.st;
    if (c.identity !== undefined) {
      const i = c.identity;
      if (i.jid !== this.jid) throw new OmemoError('store-owner-mismatch', `this SQLite store belongs to ${this.jid}, not ${String(i.jid)}`);
      assertCount(i.deviceId, 'identity.deviceId');
      assertBytes(i.identityPrivateKey, 'identity.identityPrivateKey', KEY_BYTES);
      assertCount(i.nextPreKeyId, 'identity.nextPreKeyId');
      assertCount(i.nextSignedPreKeyId, 'identity.nextSignedPreKeyId');
      assertOptionalText(i.label, 'identity.label');
      st.putIdentity.run(i.deviceId, i.identityPrivateKey, i.nextPreKeyId, i.nextSignedPreKeyId, i.label ?? null);
    }
    for (const k of c.putSignedPreKeys ?? []) {
      assertCount(k.id, 'signed pre key id');
      assertBytes(k.privateKey, 'signed pre key privateKey', KEY_BYTES);
      assertBytes(k.publicKey, 'signed pre key publicKey', KEY_BYTES);
      assertBytes(k.signatures?.oldmemo, 'signed pre key signatures.oldmemo', SIGNATURE_BYTES);
      assertBytes(k.signatures?.twomemo, 'signed pre key signatures.twomemo', SIGNATURE_BYTES);
      assertCount(k.createdAt, 'signed pre key createdAt');
      st.putSignedPreKey.run(k.id, k.privateKey, k.publicKey, k.signatures.oldmemo, k.signatures.twomemo, k.createdAt);
    }
    for (const id of c.deleteSignedPreKeys ?? []) {
      assertCount(id, 'deleteSignedPreKeys id');
      st.deleteSignedPreKey.run(id);
    }
    for (const k of c.putPreKeys ?? []) {
      assertCount(k.id, 'pre key id');
      assertBytes(k.privateKey, 'pre key privateKey', KEY_BYTES);
      assertBytes(k.publicKey, 'pre key publicKey', KEY_BYTES);
      if (typeof k.consumed !== 'boolean') throw new TypeError('pre key consumed must be a boolean');
      if (k.consumedAt !== undefined) assertCount(k.consumedAt, 'pre key consumedAt');
      const accepted = k.acceptedBaseKeys ?? [];
      if (!Array.isArray(accepted)) throw new TypeError('pre key acceptedBaseKeys must be an array');
      for (const b of accepted) assertBytes(b, 'pre key accepted base key', KEY_BYTES);
      const acceptedBlob = accepted.length === 0 ? null : concatBytes(...accepted);
      st.putPreKey.run(k.id, k.privateKey, k.publicKey, k.consumed ? 1 : 0, k.consumedAt ?? 0, acceptedBlob);
    }
    for (const id of c.deletePreKeys ?? []) {
      assertCount(id, 'deletePreKeys id');
      st.deletePreKey.run(id);
    }
    for (const l of c.putDeviceLists ?? []) {
      assertVersion(l.version, 'device list version');
      assertJid(l.jid, 'device list jid');
      if (!Array.isArray(l.deviceIds)) throw new TypeError('device list deviceIds must be an array');
      for (const id of l.deviceIds) assertCount(id, 'device list device id');
      st.putDeviceList.run(l.version, l.jid, JSON.stringify(l.deviceIds));
    }
    for (const d of c.putDevices ?? []) {
      assertJid(d.jid, 'device jid');
      assertCount(d.deviceId, 'device deviceId');
      if (!Array.isArray(d.activeIn)) throw new TypeError('device activeIn must be an array');
      for (const v of d.activeIn) assertVersion(v, 'device activeIn entry');
      assertOptionalText(d.label, 'device label');
      if (d.identityKey !== undefined) assertBytes(d.identityKey, 'device identityKey', KEY_BYTES);
      if (!TRUST_LEVELS.includes(d.trust)) throw new TypeError(`device trust must be one of ${TRUST_LEVELS.join(', ')}, got ${JSON.stringify(d.trust)}`);
      assertCount(d.sentSinceLastReceived, 'device sentSinceLastReceived');
      assertCount(d.lastReceivedAt, 'device lastReceivedAt');
      if (d.unansweredSince !== undefined) assertCount(d.unansweredSince, 'device unansweredSince');
      const previous = d.previousIdentities ?? [];
      if (!Array.isArray(previous)) throw new TypeError('device previousIdentities must be an array');
      const previousBlob = previous.length === 0 ? null : new Uint8Array(previous.length * PREVIOUS_IDENTITY_BYTES);
      previous.forEach((p, i) => {
        assertBytes(p?.identityKey, 'device previous identity key', KEY_BYTES);
        if (!TRUST_LEVELS.includes(p.trust)) throw new TypeError(`device previous identity trust ${JSON.stringify(p.trust)}`);
        previousBlob!.set(p.identityKey, i * PREVIOUS_IDENTITY_BYTES);
        previousBlob![i * PREVIOUS_IDENTITY_BYTES + KEY_BYTES] = TRUST_LEVELS.indexOf(p.trust);
      });
      st.putDevice.run(
        d.jid,
        d.deviceId,
        JSON.stringify(d.activeIn),
        d.label ?? null,
        d.identityKey ?? null,
        d.trust,
        d.sentSinceLastReceived,
        d.lastReceivedAt,
        previousBlob,
        d.unansweredSince ?? 0,
      );
    }
    for (const s of c.putSessions ?? []) {
      assertAddress(s.address, 'session address');
      assertBytes(s.record, 'session record');
      if (s.record.length === 0) throw new RangeError('session record must not be empty');
      st.putSession.run(s.address.version, s.address.jid, s.address.deviceId, s.record);
    }
    for (const a of c.deleteSessions ?? []) {
      assertAddress(a, 'deleteSessions address');
      st.deleteSession.run(a.version, a.jid, a.deviceId);
    }
  }
}

/** The database file SQLite opened, as it names it (absolute, symbolic links resolved). */
function canonicalFile(db: SqlDatabase): string | undefined {
  const list = db.pragma('database_list');
  if (!Array.isArray(list)) return undefined;
  const main = list.find((r) => (r as { name?: unknown }).name === 'main') as { file?: unknown } | undefined;
  return typeof main?.file === 'string' && main.file.length > 0 ? main.file : undefined;
}

function preKeyOut(row: unknown): StoredPreKey {
  const t = 'pre_keys';
  const r = rowOf(row, t);
  if (r.consumed !== 0 && r.consumed !== 1) throw corrupt(t, 'consumed is not 0 or 1');
  const key: StoredPreKey = {
    id: intOut(r.id, t, 'id'),
    privateKey: blobOut(r.private_key, t, 'private_key', KEY_BYTES),
    publicKey: blobOut(r.public_key, t, 'public_key', KEY_BYTES),
    consumed: r.consumed === 1,
  };
  const consumedAt = intOut(r.consumed_at, t, 'consumed_at');
  if (consumedAt !== 0) key.consumedAt = consumedAt;
  if (r.accepted_base_keys !== null) {
    const blob = blobOut(r.accepted_base_keys, t, 'accepted_base_keys');
    if (blob.length % KEY_BYTES !== 0) throw corrupt(t, 'accepted_base_keys is not a list of 32-byte keys');
    key.acceptedBaseKeys = [];
    for (let i = 0; i < blob.length; i += KEY_BYTES) key.acceptedBaseKeys.push(blob.slice(i, i + KEY_BYTES));
  }
  return key;
}

function deviceOut(row: unknown): StoredDevice {
  const t = 'devices';
  const r = rowOf(row, t);
  const label = optionalTextOut(r.label, t, 'label');
  if (!TRUST_LEVELS.includes(r.trust as TrustLevel)) throw corrupt(t, `unknown trust ${JSON.stringify(String(r.trust).slice(0, 20))}`);
  return {
    jid: textOut(r.jid, t, 'jid'),
    deviceId: intOut(r.device_id, t, 'device_id'),
    activeIn: jsonArrayOut(r.active_in, t, 'active_in').map((v) => versionOut(v, t)),
    ...(label !== undefined ? { label } : {}),
    ...(r.identity_key !== null ? { identityKey: blobOut(r.identity_key, t, 'identity_key', KEY_BYTES) } : {}),
    trust: r.trust as TrustLevel,
    ...(r.previous_identities !== null ? { previousIdentities: previousIdentitiesOut(r.previous_identities) } : {}),
    sentSinceLastReceived: intOut(r.sent_since_last_received, t, 'sent_since_last_received'),
    lastReceivedAt: intOut(r.last_received_at, t, 'last_received_at'),
    ...(r.unanswered_since !== 0 ? { unansweredSince: intOut(r.unanswered_since, t, 'unanswered_since') } : {}),
  };
}

function previousIdentitiesOut(value: unknown): PreviousIdentity[] {
  const t = 'devices';
  const blob = blobOut(value, t, 'previous_identities');
  if (blob.length % PREVIOUS_IDENTITY_BYTES !== 0) throw corrupt(t, 'previous_identities has a partial entry');
  const out: PreviousIdentity[] = [];
  for (let i = 0; i < blob.length; i += PREVIOUS_IDENTITY_BYTES) {
    const trust = TRUST_LEVELS[blob[i + KEY_BYTES]!];
    if (trust === undefined) throw corrupt(t, `previous_identities has an unknown trust ${blob[i + KEY_BYTES]}`);
    out.push({ identityKey: blob.slice(i, i + KEY_BYTES), trust });
  }
  return out;
}
