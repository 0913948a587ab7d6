// omemo-wasm/sqlite: the persistent OmemoStore on SQLite (Node.js, optional dependency better-sqlite3) as an
// entry of its own, so that the main entry needs nothing Node-only and bundles for browsers.
export {
  SqliteStore,
  SQLITE_BUSY_TIMEOUT_MS,
  SQLITE_GROUP_COMMIT_MAX_DELAY_MS,
  SQLITE_GROUP_COMMIT_MAX_OPERATIONS,
  SQLITE_SCHEMA_VERSION,
} from './omemo/store/sqlite-store';
