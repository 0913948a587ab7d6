// Group commit for the SQLite store (OmemoStore.stage in store.ts): the commits staged close together are written
// into one open SQLite transaction, each in its own savepoint, and made durable by one COMMIT (one fsync of the WAL).
// Their session and device rows wait in memory (sqlite-pending.ts) and are written once each just before the COMMIT.
import type { StagedCommit } from './store';
import type { SqlDatabase } from './sqlite-driver';

/**
 * Most commits one group transaction takes (its WAL frames and the promises waiting on it are held until it
 * commits): a group that reaches it is committed at once.
 */
export const SQLITE_GROUP_COMMIT_MAX_OPERATIONS = 1000;
/**
 * Longest a staged commit waits for later ones to join its group (ms), bounding the latency group commit adds.
 * A group is committed as soon as a turn of the event loop stages nothing new, so an operation that waits for its
 * own commit costs about one turn, not this.
 */
export const SQLITE_GROUP_COMMIT_MAX_DELAY_MS = 4;

/** The commits of the open group transaction, waiting for it to be durable. */
interface Group {
  readonly members: { resolve: () => void; reject: (e: unknown) => void }[];
  readonly openedAt: number;
  /** Members staged since the last turn of the event loop (the group waits while they keep coming). */
  fresh: number;
}

/** The open group transaction of one connection (see the module comment). */
export class GroupCommit {
  #group: Group | undefined;

  /**
   * @param db the connection (its transactions are this object's alone while a group is open).
   * @param failure turns a SQLite error into the error reported to the members.
   */
  constructor(
    private readonly db: SqlDatabase,
    private readonly failure: (e: unknown) => unknown,
    private readonly pending: { write(): void; clear(): void } = { write() {}, clear() {} },
  ) {}

  /**
   * Runs `write` inside the open group transaction (opening one), in a savepoint when `write` is a better-sqlite3
   * transaction function: a throw undoes only its writes and is rethrown, the group stays. What `write` hands to the
   * pending rows is written before the group's COMMIT, or dropped with the group.
   */
  stage(write: () => void): StagedCommit {
    let group = this.#group;
    try {
      if (group === undefined) {
        this.db.exec('BEGIN IMMEDIATE');
        group = { members: [], openedAt: performance.now(), fresh: 0 };
        this.#group = group;
        const opened = group;
        setImmediate(() => this.#turn(opened));
      }
      write();
    } catch (e) {
      this.checkAfterError(e);
      throw e;
    }
    const g = group;
    const durable = new Promise<void>((resolve, reject) => g.members.push({ resolve, reject }));
    g.fresh++;
    if (g.members.length >= SQLITE_GROUP_COMMIT_MAX_OPERATIONS) this.flush();
    return { durable };
  }

  /**
   * After any error on the connection: disk full and I/O errors may make SQLite roll the whole transaction back,
   * and with it the group's members, which are then lost.
   */
  checkAfterError(e: unknown): void {
    if (this.#group !== undefined && !this.db.inTransaction) this.#fail(this.#group, this.failure(e));
  }

  /** Commits the open group (if any) now and settles its members. */
  flush(): void {
    const group = this.#group;
    if (group === undefined) return;
    this.#group = undefined;
    try {
      this.pending.write();
      this.db.exec('COMMIT');
    } catch (e) {
      this.#fail(group, this.failure(e));
      return;
    }
    for (const m of group.members) m.resolve();
  }

  /** A turn of the event loop: the group waits while commits keep arriving, within its bounds; else commits. */
  #turn(group: Group): void {
    if (this.#group !== group) return;
    if (group.fresh > 0 && performance.now() - group.openedAt < SQLITE_GROUP_COMMIT_MAX_DELAY_MS) {
      group.fresh = 0;
      setImmediate(() => this.#turn(group));
      return;
    }
    this.flush();
  }

  /** The group is lost: rolled back (unless SQLite already did), every member rejected. */
  #fail(group: Group, error: unknown): void {
    if (this.#group === group) this.#group = undefined;
    this.pending.clear();
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // The commit's own error is the one to report; SQLite rolls back on its own when it cannot.
    }
    for (const m of group.members) m.reject(error);
  }
}
