// The part of the `pg` client (node-postgres 8) the PostgreSQL store uses, typed locally (nothing of the driver's
// own types is part of the public declarations), and its lazy loading: an optional dependency, loaded only by
// PostgresDatabase.connect, so that no other entry ever imports it.
import { OmemoError } from '../../crypto/errors';

export interface PgResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<PgResult>;
}

export interface PgPoolClient extends PgQueryable {
  /** Returns the connection to the pool; with an error, the pool discards it. */
  release(err?: Error | boolean): void;
}

export interface PgClient extends PgQueryable {
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error' | 'end', listener: (e?: Error) => void): unknown;
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  on(event: 'error', listener: (e: Error) => void): unknown;
}

/** The connection settings handed to `pg` as they are (see node-postgres' ClientConfig). */
export type PgConfig = Record<string, unknown>;

export interface PgModule {
  Client: new (config: PgConfig) => PgClient;
  Pool: new (config: PgConfig) => PgPool;
}

let driver: PgModule | undefined;

export async function loadPg(): Promise<PgModule> {
  if (driver !== undefined) return driver;
  let mod: unknown;
  try {
    // The comments keep browser bundlers from trying to resolve (and failing on) a Node-only module.
    mod = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'pg');
  } catch (cause) {
    throw new OmemoError(
      'store-error',
      `PostgresStore needs the optional dependency pg, which could not be loaded (install it, or use another OmemoStore): ${String((cause as Error)?.message ?? cause)}`,
      { cause },
    );
  }
  const m = ((mod as { default?: unknown }).default ?? mod) as Partial<PgModule>;
  if (typeof m.Client !== 'function' || typeof m.Pool !== 'function')
    throw new OmemoError('store-error', 'the module pg exports no Client and Pool classes');
  driver = m as PgModule;
  return driver;
}
