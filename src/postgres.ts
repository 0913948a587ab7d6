// omemo-wasm/postgres: the OmemoStore on PostgreSQL for many accounts and many worker processes (Node.js, optional
// dependency pg) as an entry of its own, so that no other entry needs anything Node-only.
export {
  PostgresDatabase,
  PostgresStore,
  POSTGRES_LOCK_RETRY_MS,
  POSTGRES_POOL_CONNECTIONS,
  POSTGRES_SCHEMA_VERSION,
  type PostgresOptions,
} from './omemo/store/postgres-store';
