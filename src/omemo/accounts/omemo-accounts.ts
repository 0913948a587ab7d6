// OmemoAccounts: many OMEMO accounts (XEP-0384 identities, one OmemoManager each) served by one process, as a
// bridge that puppets thousands of users needs. Managers are opened on demand from the host's factory (its store
// and transport), every operation is routed to its account's manager, and the least recently used idle managers
// are closed beyond a bound, so that memory follows the accounts in use, not the accounts that exist.
import { OmemoError } from '../../crypto/errors';
import type { OmemoManager } from '../manager/session-manager';

/**
 * Default bound of the managers kept open (`maxOpen`). An idle manager holds roughly 150–200 KiB of heap (its
 * keys and caches; see bench/postgres/accounts.ts), so 1000 of them stay well under 256 MiB.
 */
export const ACCOUNTS_MAX_OPEN_MANAGERS = 1000;

/** How the pool opens and closes the manager of one account. */
export interface OmemoAccountsOptions {
  /**
   * Opens the manager of `jid` (a bare JID): typically opens its store (e.g. `PostgresDatabase.open(jid)`, which
   * takes the account's lock) and calls `OmemoManager.open`. Never called twice at once for one account, nor
   * while the account's previous manager is still being closed.
   */
  open(jid: string): Promise<OmemoManager>;
  /**
   * Releases what `open` took when the manager is evicted or the pool closes (e.g. closes the account's store,
   * which releases its lock). Called once per manager, never while an operation of the account runs.
   */
  close?(jid: string, manager: OmemoManager): Promise<void> | void;
  /**
   * Most managers kept open (default ACCOUNTS_MAX_OPEN_MANAGERS); beyond it the least recently used idle ones are
   * closed. Managers that are in use are never closed, so the bound may be exceeded while more accounts than it
   * have operations running (memory, never liveness).
   */
  maxOpen?: number;
}

interface Entry {
  readonly jid: string;
  /** The manager, once `open` resolved. */
  manager: Promise<OmemoManager>;
  /** Operations running or waiting for the manager. */
  active: number;
  /** Called when `active` drops to 0 (close() waits for it). */
  onIdle?: () => void;
}

/**
 * A pool of OmemoManagers, one per account, opened on demand and evicted least recently used first. Every
 * operation of an account runs with that account's manager (which runs them one at a time); there is never more
 * than one manager of an account, and a manager is never closed while an operation of its account runs.
 */
export class OmemoAccounts {
  readonly #open: (jid: string) => Promise<OmemoManager>;
  readonly #close: ((jid: string, manager: OmemoManager) => Promise<void> | void) | undefined;
  readonly #maxOpen: number;
  /** Open (or opening) managers by bare JID, least recently used first. */
  readonly #entries = new Map<string, Entry>();
  /** Managers being closed, by JID: an account is opened again only after its close finished. */
  readonly #closing = new Map<string, Promise<void>>();
  #closed = false;
  #opened = 0;
  #evicted = 0;

  /**
   * @throws TypeError when `open` or `close` is not a function; RangeError when maxOpen is not an integer ≥ 1.
   */
  constructor(options: OmemoAccountsOptions) {
    if (typeof options?.open !== 'function') throw new TypeError('options.open must be a function');
    if (options.close !== undefined && typeof options.close !== 'function')
      throw new TypeError('options.close must be a function');
    const maxOpen = options.maxOpen ?? ACCOUNTS_MAX_OPEN_MANAGERS;
    if (!Number.isSafeInteger(maxOpen) || maxOpen < 1)
      throw new RangeError(`maxOpen must be an integer ≥ 1, got ${String(maxOpen)}`);
    this.#open = options.open;
    this.#close = options.close;
    this.#maxOpen = maxOpen;
  }

  /**
   * Runs `fn` with the manager of the account `jid`, opening it first when it is not open (after the close of
   * its previous manager, if one is being evicted). The account counts as in use until `fn` settles.
   * @param jid The account (bare or full JID; the pool keys by the bare JID).
   * @returns What `fn` returns.
   * @throws OmemoError `store-error` after `close()`; whatever the factory's `open` or `fn` throws (a failed open
   *   is tried again by the next operation). TypeError for a bad argument.
   */
  async run<T>(jid: string, fn: (manager: OmemoManager) => Promise<T> | T): Promise<T> {
    if (typeof jid !== 'string' || jid.length === 0) throw new TypeError('jid must be a non-empty string');
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    if (this.#closed) throw new OmemoError('store-error', 'OmemoAccounts: run after close()');
    const bare = jid.split('/')[0]!;
    let entry = this.#entries.get(bare);
    if (entry === undefined) {
      entry = { jid: bare, manager: this.#start(bare), active: 0 };
      this.#entries.set(bare, entry);
    } else {
      // Most recently used goes last.
      this.#entries.delete(bare);
      this.#entries.set(bare, entry);
    }
    entry.active++;
    try {
      let manager: OmemoManager;
      try {
        manager = await entry.manager;
      } catch (e) {
        // A failed open leaves no entry behind: the next operation tries again.
        if (this.#entries.get(bare) === entry) this.#entries.delete(bare);
        throw e;
      }
      return await fn(manager);
    } finally {
      entry.active--;
      if (entry.active === 0) entry.onIdle?.();
      this.#evict();
    }
  }

  async #start(jid: string): Promise<OmemoManager> {
    await this.#closing.get(jid);
    const manager = await this.#open(jid);
    this.#opened++;
    return manager;
  }

  /** Closes least recently used idle managers until at most maxOpen are open. */
  #evict(): void {
    if (this.#entries.size <= this.#maxOpen) return;
    for (const entry of this.#entries.values()) {
      if (this.#entries.size <= this.#maxOpen) break;
      if (entry.active > 0) continue;
      this.#entries.delete(entry.jid);
      this.#evicted++;
      this.#closeEntry(entry);
    }
  }

  #closeEntry(entry: Entry): Promise<void> {
    const previous = this.#closing.get(entry.jid) ?? Promise.resolve();
    const done = previous
      .then(() => entry.manager)
      .then(
        (m) => this.#close?.(entry.jid, m),
        () => undefined, // never opened: nothing to close
      )
      .catch(() => undefined) // a failing close must not keep the account from opening again
      .finally(() => {
        if (this.#closing.get(entry.jid) === done) this.#closing.delete(entry.jid);
      });
    this.#closing.set(entry.jid, done);
    return done;
  }

  /**
   * Closes the manager of `jid` now if it is open and idle (e.g. the account left the bridge).
   * @returns Whether a manager was closed; false when none is open or an operation of the account runs.
   */
  async evict(jid: string): Promise<boolean> {
    const bare = jid.split('/')[0]!;
    const entry = this.#entries.get(bare);
    if (entry === undefined || entry.active > 0) return false;
    this.#entries.delete(bare);
    this.#evicted++;
    await this.#closeEntry(entry);
    return true;
  }

  /** Whether the manager of `jid` is open (or opening). */
  isOpen(jid: string): boolean {
    return this.#entries.has(jid.split('/')[0]!);
  }

  /** Counters: managers open now, opened and evicted since the start, operations running or waiting. */
  get stats(): { open: number; opened: number; evicted: number; active: number } {
    let active = 0;
    for (const e of this.#entries.values()) active += e.active;
    return { open: this.#entries.size, opened: this.#opened, evicted: this.#evicted, active };
  }

  /**
   * Refuses new operations, waits for the running ones, then closes every manager. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#entries.size > 0) {
      const entries = [...this.#entries.values()];
      this.#entries.clear();
      await Promise.all(
        entries.map(async (e) => {
          if (e.active > 0) await new Promise<void>((resolve) => (e.onIdle = resolve));
          await this.#closeEntry(e);
        }),
      );
    }
    await Promise.all([...this.#closing.values()]);
  }
}
