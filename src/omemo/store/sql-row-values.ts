// Reading the column values of an SQL store's rows back into the store model (store.ts): what SqliteStore and
// PostgresStore check alike. A value that is not what the schema allows is a corrupt row: OmemoError `store-error`
// naming the store, the table and the column, never a crash in the manager.
import { OmemoError } from '../../crypto/errors';
import { OMEMO_VERSIONS, type OmemoVersion } from '../versions/backend';

/** The column readers of one kind of SQL store, whose errors name it (`SQLite`, `PostgreSQL`). */
export function rowReaders(store: string) {
  /** The error for a row that does not hold what the schema allows. */
  const corrupt = (table: string, what: string): OmemoError =>
    new OmemoError('store-error', `the ${store} store holds a corrupt ${table} row: ${what}`);
  return {
    corrupt,
    textOut(value: unknown, table: string, column: string): string {
      if (typeof value !== 'string' || value.length === 0) throw corrupt(table, `${column} is not a non-empty string`);
      return value;
    },
    optionalTextOut(value: unknown, table: string, column: string): string | undefined {
      if (value === null) return undefined;
      if (typeof value !== 'string') throw corrupt(table, `${column} is not a string`);
      return value;
    },
    /** The base keys a used pre key accepted, stored as one column of `keyBytes`-byte keys end to end. */
    acceptedBaseKeysOut(blob: Uint8Array, table: string, keyBytes: number): Uint8Array[] {
      if (blob.length % keyBytes !== 0)
        throw corrupt(table, `accepted_base_keys is not a list of ${keyBytes}-byte keys`);
      const keys: Uint8Array[] = [];
      for (let i = 0; i < blob.length; i += keyBytes) keys.push(blob.slice(i, i + keyBytes));
      return keys;
    },
    versionOut(value: unknown, table: string): OmemoVersion {
      if (!OMEMO_VERSIONS.includes(value as OmemoVersion))
        throw corrupt(table, `unknown version ${JSON.stringify(String(value).slice(0, 20))}`);
      return value as OmemoVersion;
    },
  };
}
