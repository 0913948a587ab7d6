// PostgresStore: the OmemoStore (store.ts) in PostgreSQL, many accounts in one schema, shared by many worker
// processes on many machines, with exactly one writer per account: opening an account takes a session-level
// advisory lock on the worker's lock connection (it dies with the connection, hence with the process), and every
// commit is one transaction fenced by the account's epoch, so a writer that lost its lock can commit nothing.
//
// `pg` is an optional dependency: it is imported lazily inside `PostgresDatabase.connect`, so loading the
// library's other entries never loads it. Nothing of its types is part of the public declarations.
import { assertInt } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import { bareJid } from '../stanzas/jid';
import type { OmemoVersion } from '../versions/backend';
import { loadPg, type PgClient, type PgConfig, type PgPool, type PgPoolClient, type PgResult } from './postgres-driver';
import {
  DEVICE_COLUMNS,
  PRE_KEY_COLUMNS,
  arrayOut,
  bytesOut,
  commitStatements,
  deviceOut,
  intOut,
  optionalTextOut,
  preKeyOut,
} from './postgres-rows';
import { LOCK_NAMESPACE, migrate } from './postgres-schema';
import { KEY_BYTES, SIGNATURE_BYTES, assertAddress, assertJid, assertVersion } from './sqlite-rows';
import type {
  OmemoStore,
  SessionAddress,
  StoreChanges,
  StoredDevice,
  StoredIdentity,
  StoredPreKey,
  StoredSignedPreKey,
} from './store';

export { POSTGRES_SCHEMA_VERSION } from './postgres-schema';

/** Default size of a worker's pool of data connections (the lock connection comes on top). */
export const POSTGRES_POOL_CONNECTIONS = 10;
/** How often `open` with `lockWaitMs` tries the account's lock again while another worker holds it (ms). */
export const POSTGRES_LOCK_RETRY_MS = 50;

/** Options of `PostgresDatabase.connect`. */
export interface PostgresOptions {
  /** A `postgres://` URL; or give `config`. */
  connectionString?: string;
  /**
   * Connection settings for `pg` (host, port, user, password, database, ssl, …); merged over `connectionString`.
   * The tables (`omemo_*`) are created in the first schema of the search path: to keep them apart, give e.g.
   * `{ options: '-c search_path=omemo' }` (the schema must exist).
   */
  config?: Record<string, unknown>;
  /** Data connections of this worker (default POSTGRES_POOL_CONNECTIONS); one more holds the locks. */
  maxConnections?: number;
}

/** The error of a store or database whose lock connection is gone: another worker may own its accounts now. */
function lostLock(what: string): OmemoError {
  return new OmemoError(
    'store-locked',
    `PostgreSQL store: ${what}: the connection holding the account locks was lost, so another worker may have taken the account over (open it again)`,
  );
}

/** OmemoErrors and argument checks pass through; driver failures become `store-error`. */
function failure(what: string, e: unknown): Error {
  if (e instanceof OmemoError || e instanceof TypeError || e instanceof RangeError) return e;
  return new OmemoError('store-error', `PostgreSQL store: ${what} failed: ${String((e as Error)?.message ?? e)}`, {
    cause: e,
  });
}

/**
 * One worker's connection to the database of PostgresStores (Node.js, needs the optional dependency `pg`): a
 * pool of data connections shared by all its accounts, and one connection that holds their locks. Open the
 * stores of its accounts with `open`; many workers (processes, machines) may connect to one database.
 */
export class PostgresDatabase {
  private pool: PgPool | undefined;
  private readonly locks: PgClient;
  /** Account ids of the stores open here, by JID. */
  private readonly openAccounts = new Map<string, PostgresStore>();
  private lockLost = false;
  /** The lock connection runs one query at a time: opens and closes of many accounts queue here. */
  private lockQueue: Promise<unknown> = Promise.resolve();

  private constructor(pool: PgPool, locks: PgClient) {
    this.pool = pool;
    this.locks = locks;
    const lost = () => {
      this.lockLost = true;
    };
    locks.on('error', lost);
    locks.on('end', lost);
    // An idle pooled connection that breaks is dropped by the pool; without a listener it would crash the process.
    pool.on('error', () => {});
  }

  /**
   * Connects a worker to the database and migrates its schema forward (once, whichever worker comes first).
   * @throws OmemoError `store-error` when `pg` cannot be loaded, the database cannot be reached, or its schema is
   *   newer than this code; TypeError/RangeError for bad options.
   */
  static async connect(options: PostgresOptions): Promise<PostgresDatabase> {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (options.connectionString !== undefined && typeof options.connectionString !== 'string')
      throw new TypeError('options.connectionString must be a string');
    if (options.config !== undefined && (typeof options.config !== 'object' || options.config === null))
      throw new TypeError('options.config must be an object');
    const max = options.maxConnections ?? POSTGRES_POOL_CONNECTIONS;
    assertInt(max, 'options.maxConnections', 1, 10_000);
    const config: PgConfig = {
      ...(options.connectionString !== undefined ? { connectionString: options.connectionString } : {}),
      ...options.config,
      application_name: 'omemo-wasm',
    };
    const pg = await loadPg();
    const pool = new pg.Pool({ ...config, max });
    const locks = new pg.Client({ ...config, keepAlive: true });
    try {
      await locks.connect();
      await migrate(pool);
    } catch (e) {
      await Promise.allSettled([locks.end(), pool.end()]);
      throw failure('connecting', e);
    }
    return new PostgresDatabase(pool, locks);
  }

  /**
   * Opens the store of one account (created on first use): takes the account's lock, which this worker holds
   * until `store.close()`, `close()`, or its death (the lock belongs to its database connection).
   * @param jid The account's JID (bare or full).
   * @param options `lockWaitMs`: how long to keep trying while another worker holds the account (default 0).
   * @throws OmemoError `store-locked` when the account is open in this worker or held by another one (after
   *   `lockWaitMs`), or this worker's lock connection is lost; `store-error` when PostgreSQL fails or after
   *   `close()`. TypeError/RangeError for a bad argument.
   */
  async open(jid: string, options: { lockWaitMs?: number } = {}): Promise<PostgresStore> {
    const account = bareJid(jid);
    const waitMs = options.lockWaitMs ?? 0;
    assertInt(waitMs, 'options.lockWaitMs', 0, 2 ** 31 - 1);
    const pool = this.pool;
    if (pool === undefined) throw new OmemoError('store-error', 'PostgreSQL store: open after close()');
    if (this.lockLost) throw lostLock(`opening ${account}`);
    if (this.openAccounts.has(account))
      throw new OmemoError('store-locked', `the PostgreSQL store of ${account} is already open in this worker`);
    // Claimed before the first await: a second open of the account in this worker fails instead of racing.
    const pending = new PostgresStore(this, pool, account);
    this.openAccounts.set(account, pending);
    let locked = false;
    let id = 0;
    try {
      await pool.query('INSERT INTO omemo_accounts (jid) VALUES ($1) ON CONFLICT (jid) DO NOTHING', [account]);
      id = intOut(
        (await pool.query('SELECT id FROM omemo_accounts WHERE jid = $1', [account])).rows[0]?.id,
        'omemo_accounts',
        'id',
      );
      const deadline = Date.now() + waitMs;
      for (;;) {
        const r = await this.lockQuery('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_NAMESPACE, id]);
        if (r.rows[0]?.ok === true) break;
        if (Date.now() >= deadline)
          throw new OmemoError('store-locked', `the PostgreSQL store of ${account} is open in another worker`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(POSTGRES_LOCK_RETRY_MS, deadline - Date.now())));
      }
      locked = true;
      // The new epoch fences off every commit of an earlier holder (one that lost its lock but not its pool).
      const epoch = await pool.query('UPDATE omemo_accounts SET epoch = epoch + 1 WHERE id = $1 RETURNING epoch', [id]);
      pending.attach(id, String(epoch.rows[0]?.epoch));
      return pending;
    } catch (e) {
      this.openAccounts.delete(account);
      if (locked) await this.unlock(id).catch(() => {});
      throw this.lockLost ? lostLock(`opening ${account}`) : failure(`opening ${account}`, e);
    }
  }

  /**
   * Whether the lock connection is gone: every store of this worker then fails with `store-locked`, since other
   * workers may own its accounts now. Close this database and connect a new one to serve accounts again.
   */
  get lost(): boolean {
    return this.lockLost;
  }

  /** The JIDs of the accounts open in this worker. */
  get accounts(): string[] {
    return [...this.openAccounts.keys()];
  }

  /** @internal */
  async release(store: PostgresStore, id: number | undefined): Promise<void> {
    if (this.openAccounts.get(store.jid) !== store) return;
    this.openAccounts.delete(store.jid);
    if (id !== undefined && !this.lockLost && this.pool !== undefined) await this.unlock(id);
  }

  private async unlock(id: number): Promise<void> {
    await this.lockQuery('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, id]);
  }

  private lockQuery(text: string, values: unknown[]): Promise<PgResult> {
    const run = this.lockQueue.then(() => this.locks.query(text, values));
    this.lockQueue = run.catch(() => undefined);
    return run;
  }

  /** Closes every store, then the connections (which releases every lock). Idempotent. */
  async close(): Promise<void> {
    const pool = this.pool;
    if (pool === undefined) return;
    this.pool = undefined;
    for (const store of this.openAccounts.values()) store.detach();
    this.openAccounts.clear();
    await Promise.allSettled([this.locks.end(), pool.end()]);
  }
}

/**
 * The OmemoStore of one account in PostgreSQL, opened by `PostgresDatabase.open`. Reads go to the worker's
 * pool; every `commit` is one transaction that first checks this store still owns the account.
 */
export class PostgresStore implements OmemoStore {
  private id: number | undefined;
  private epoch = '';
  private closed_ = false;

  /** @internal */
  constructor(
    private readonly db: PostgresDatabase,
    private readonly pool: PgPool,
    /** The bare JID of the account. */
    readonly jid: string,
  ) {}

  /** @internal */
  attach(id: number, epoch: string): void {
    this.id = id;
    this.epoch = epoch;
  }

  /** @internal */
  detach(): void {
    this.closed_ = true;
  }

  /** Whether `close()` (or the database's) was called. */
  get closed(): boolean {
    return this.closed_;
  }

  /** Releases the account's lock: another worker may open it now. Idempotent. */
  async close(): Promise<void> {
    if (this.closed_) return;
    this.closed_ = true;
    await this.db.release(this, this.id);
  }

  private account(what: string): number {
    if (this.closed_ || this.id === undefined)
      throw new OmemoError('store-error', `PostgreSQL store of ${this.jid}: ${what} after close()`);
    if (this.db.lost) throw lostLock(`${what} for ${this.jid}`);
    return this.id;
  }

  private async read(what: string, text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    const id = this.account(what);
    try {
      return (await this.pool.query(text, [id, ...values])).rows;
    } catch (e) {
      throw failure(what, e);
    }
  }

  async loadIdentity(): Promise<StoredIdentity | undefined> {
    const rows = await this.read(
      'loadIdentity',
      'SELECT device_id, identity_private_key, next_pre_key_id, next_signed_pre_key_id, label FROM omemo_identity WHERE account = $1',
      [],
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    const t = 'omemo_identity';
    const label = optionalTextOut(r.label, t, 'label');
    return {
      jid: this.jid,
      deviceId: intOut(r.device_id, t, 'device_id'),
      identityPrivateKey: bytesOut(r.identity_private_key, t, 'identity_private_key', KEY_BYTES),
      nextPreKeyId: intOut(r.next_pre_key_id, t, 'next_pre_key_id'),
      nextSignedPreKeyId: intOut(r.next_signed_pre_key_id, t, 'next_signed_pre_key_id'),
      ...(label !== undefined ? { label } : {}),
    };
  }

  async loadSignedPreKeys(): Promise<StoredSignedPreKey[]> {
    const rows = await this.read(
      'loadSignedPreKeys',
      'SELECT id, private_key, public_key, signature_oldmemo, signature_twomemo, created_at FROM omemo_signed_pre_keys WHERE account = $1 ORDER BY id',
      [],
    );
    const t = 'omemo_signed_pre_keys';
    return rows.map((r) => ({
      id: intOut(r.id, t, 'id'),
      privateKey: bytesOut(r.private_key, t, 'private_key', KEY_BYTES),
      publicKey: bytesOut(r.public_key, t, 'public_key', KEY_BYTES),
      signatures: {
        oldmemo: bytesOut(r.signature_oldmemo, t, 'signature_oldmemo', SIGNATURE_BYTES),
        twomemo: bytesOut(r.signature_twomemo, t, 'signature_twomemo', SIGNATURE_BYTES),
      },
      createdAt: intOut(r.created_at, t, 'created_at'),
    }));
  }

  async loadPreKeys(): Promise<StoredPreKey[]> {
    const sql = `SELECT ${PRE_KEY_COLUMNS} FROM omemo_pre_keys WHERE account = $1 ORDER BY id`;
    return (await this.read('loadPreKeys', sql, [])).map(preKeyOut);
  }

  async loadPreKey(id: number): Promise<StoredPreKey | undefined> {
    assertInt(id, 'id', 0, Number.MAX_SAFE_INTEGER);
    const sql = `SELECT ${PRE_KEY_COLUMNS} FROM omemo_pre_keys WHERE account = $1 AND id = $2`;
    const row = (await this.read('loadPreKey', sql, [String(id)]))[0];
    return row === undefined ? undefined : preKeyOut(row);
  }

  async loadDeviceList(version: OmemoVersion, jid: string): Promise<number[] | undefined> {
    assertVersion(version, 'version');
    assertJid(jid, 'jid');
    const sql = 'SELECT device_ids FROM omemo_device_lists WHERE account = $1 AND version = $2 AND jid = $3';
    const row = (await this.read('loadDeviceList', sql, [version, jid]))[0];
    if (row === undefined) return undefined;
    const t = 'omemo_device_lists';
    return arrayOut(row.device_ids, t, 'device_ids').map((id) => intOut(id, t, 'device_ids'));
  }

  async loadDevices(jids: readonly string[]): Promise<StoredDevice[]> {
    if (!Array.isArray(jids)) throw new TypeError('jids must be an array');
    for (const j of jids) assertJid(j, 'jid');
    if (jids.length === 0) return [];
    const unique = [...new Set(jids)];
    const sql =
      `SELECT ${DEVICE_COLUMNS} FROM omemo_devices WHERE account = $1 AND jid = ANY($2::text[]) ` +
      'ORDER BY array_position($2::text[], jid::text), device_id';
    return (await this.read('loadDevices', sql, [unique])).map(deviceOut);
  }

  async loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]> {
    if (!Array.isArray(addresses)) throw new TypeError('addresses must be an array');
    for (const [i, a] of addresses.entries()) assertAddress(a, `addresses[${i}]`);
    if (addresses.length === 0) return [];
    const sql =
      'SELECT a.i, s.record FROM unnest($2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS a(version, jid, device_id, i) ' +
      'JOIN omemo_sessions s ON s.account = $1 AND s.version = a.version AND s.jid = a.jid AND s.device_id = a.device_id';
    const rows = await this.read('loadSessions', sql, [
      addresses.map((a) => a.version),
      addresses.map((a) => a.jid),
      addresses.map((a) => String(a.deviceId)),
    ]);
    const out: (Uint8Array | undefined)[] = new Array(addresses.length).fill(undefined);
    for (const r of rows) {
      const i = intOut(r.i, 'omemo_sessions', 'ordinality') - 1;
      if (i < 0 || i >= out.length)
        throw new OmemoError('store-error', 'PostgreSQL store: loadSessions row out of range');
      out[i] = bytesOut(r.record, 'omemo_sessions', 'record');
    }
    return out;
  }

  /**
   * Applies all changes in one transaction, after checking (under a row lock) that no other worker opened the
   * account since this store did: after a throw none of them is visible.
   * @throws OmemoError `store-locked` when another worker took the account over (this store must be closed),
   *   `store-owner-mismatch` for an identity of another JID, `store-error` when PostgreSQL fails;
   *   TypeError/RangeError for a malformed value (checked before anything is sent).
   */
  async commit(changes: StoreChanges): Promise<void> {
    const statements = commitStatements(this.jid, changes);
    const id = this.account('commit');
    let client: PgPoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw failure('commit', e);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const fence = await client.query('SELECT epoch FROM omemo_accounts WHERE id = $1 FOR UPDATE', [id]);
        if (String(fence.rows[0]?.epoch) !== this.epoch)
          throw new OmemoError(
            'store-locked',
            `PostgreSQL store of ${this.jid}: another worker opened the account since this store did; nothing was committed`,
          );
        for (const s of statements) await client.query(s.text, [id, ...s.values]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch((r: Error) => (broken = r));
        throw e;
      }
    } catch (e) {
      broken ??=
        e instanceof OmemoError || e instanceof TypeError || e instanceof RangeError ? undefined : (e as Error);
      throw failure('commit', e);
    } finally {
      client.release(broken ?? false);
    }
  }
}
