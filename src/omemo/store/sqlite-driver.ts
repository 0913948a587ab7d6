// The part of better-sqlite3 the SQLite store uses, typed locally (nothing of the driver's own types is part of
// the public declarations), and its lazy loading: an optional native dependency, loaded only by SqliteStore.open.
import { OmemoError } from '../../crypto/errors';

export interface SqlStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqlDatabase {
  prepare(sql: string): SqlStatement;
  exec(sql: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): unknown;
  /** Whether a transaction is open (SQLite may roll one back by itself after an I/O or disk-full error). */
  readonly inTransaction: boolean;
}

export type SqlDatabaseClass = new (filename: string, options?: { timeout?: number }) => SqlDatabase;

let driver: SqlDatabaseClass | undefined;

export async function loadDriver(): Promise<SqlDatabaseClass> {
  if (driver !== undefined) return driver;
  let mod: unknown;
  try {
    // The comments keep browser bundlers from trying to resolve (and failing on) a Node-only module.
    mod = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'better-sqlite3');
  } catch (cause) {
    throw new OmemoError(
      'store-error',
      `SqliteStore needs the optional dependency better-sqlite3, which could not be loaded (install it, or use another OmemoStore): ${String((cause as Error)?.message ?? cause)}`,
      { cause },
    );
  }
  const ctor = (mod as { default?: unknown }).default ?? mod;
  if (typeof ctor !== 'function')
    throw new OmemoError('store-error', 'the module better-sqlite3 does not export a Database class');
  driver = ctor as SqlDatabaseClass;
  return driver;
}
