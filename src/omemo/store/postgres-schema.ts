// The PostgreSQL store's schema (store.ts's records as tables, one set of tables for many accounts) and its
// forward migrations: append only, a released migration never changes; test/omemo/fixtures/postgres-schema-1.sql
// is a database of version 1 (pg_dump).
import { OmemoError } from '../../crypto/errors';
import type { PgPool } from './postgres-driver';

/**
 * The first half of every advisory lock key of the store (`pg_try_advisory_lock(int, int)`): "OMEM" in ASCII.
 * The second half is an account id (1, 2, …), or 0 for the schema migration lock.
 */
export const LOCK_NAMESPACE = 0x4f4d454d;

/**
 * Forward migrations: `MIGRATIONS[i]` takes the schema from version i to i + 1 (0 is a database without our
 * tables). Each runs in its own transaction together with the update of `omemo_schema_version`, under the
 * migration lock, so that workers starting together migrate once.
 *
 * Every record carries its account (the id of its `omemo_accounts` row). `epoch` is the fencing token of the
 * single writer: every open of an account increments it under the account's advisory lock, and every commit
 * checks it under `FOR UPDATE`, so a writer whose lock was lost (another worker took over) can commit nothing.
 * JIDs compare byte for byte (`COLLATE "C"`), as in OmemoStore. Integers are bigint (ids and ms timestamps).
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE omemo_schema_version (version integer NOT NULL);
  CREATE TABLE omemo_accounts (
    id serial PRIMARY KEY,
    jid text COLLATE "C" NOT NULL UNIQUE,
    epoch bigint NOT NULL DEFAULT 0
  );
  CREATE TABLE omemo_identity (
    account integer PRIMARY KEY REFERENCES omemo_accounts (id) ON DELETE CASCADE,
    device_id bigint NOT NULL CHECK (device_id >= 0),
    identity_private_key bytea NOT NULL CHECK (octet_length(identity_private_key) = 32),
    next_pre_key_id bigint NOT NULL CHECK (next_pre_key_id >= 0),
    next_signed_pre_key_id bigint NOT NULL CHECK (next_signed_pre_key_id >= 0),
    label text
  );
  CREATE TABLE omemo_signed_pre_keys (
    account integer NOT NULL REFERENCES omemo_accounts (id) ON DELETE CASCADE,
    id bigint NOT NULL CHECK (id >= 0),
    private_key bytea NOT NULL CHECK (octet_length(private_key) = 32),
    public_key bytea NOT NULL CHECK (octet_length(public_key) = 32),
    signature_oldmemo bytea NOT NULL CHECK (octet_length(signature_oldmemo) = 64),
    signature_twomemo bytea NOT NULL CHECK (octet_length(signature_twomemo) = 64),
    created_at bigint NOT NULL CHECK (created_at >= 0),
    PRIMARY KEY (account, id)
  );
  -- accepted_base_keys: 32-byte X25519 base keys of the key exchanges accepted with a consumed pre key.
  CREATE TABLE omemo_pre_keys (
    account integer NOT NULL REFERENCES omemo_accounts (id) ON DELETE CASCADE,
    id bigint NOT NULL CHECK (id >= 0),
    private_key bytea NOT NULL CHECK (octet_length(private_key) = 32),
    public_key bytea NOT NULL CHECK (octet_length(public_key) = 32),
    consumed boolean NOT NULL,
    consumed_at bigint NOT NULL DEFAULT 0 CHECK (consumed_at >= 0),
    accepted_base_keys bytea
      CHECK (accepted_base_keys IS NULL OR (octet_length(accepted_base_keys) > 0 AND octet_length(accepted_base_keys) % 32 = 0)),
    PRIMARY KEY (account, id)
  );
  -- An empty array is a fetched empty list; no row: never fetched.
  CREATE TABLE omemo_device_lists (
    account integer NOT NULL REFERENCES omemo_accounts (id) ON DELETE CASCADE,
    version text NOT NULL CHECK (version IN ('oldmemo', 'twomemo')),
    jid text COLLATE "C" NOT NULL,
    device_ids bigint[] NOT NULL,
    PRIMARY KEY (account, version, jid)
  );
  -- previous_identities: 33-byte entries, newest first: 32-byte Curve25519 key ‖ trust (index in TRUST_LEVELS).
  CREATE TABLE omemo_devices (
    account integer NOT NULL REFERENCES omemo_accounts (id) ON DELETE CASCADE,
    jid text COLLATE "C" NOT NULL,
    device_id bigint NOT NULL CHECK (device_id >= 0),
    active_in text[] NOT NULL,
    label text,
    identity_key bytea CHECK (identity_key IS NULL OR octet_length(identity_key) = 32),
    trust text NOT NULL CHECK (trust IN ('undecided', 'blind', 'verified', 'distrusted')),
    previous_identities bytea
      CHECK (previous_identities IS NULL OR (octet_length(previous_identities) > 0 AND octet_length(previous_identities) % 33 = 0)),
    sent_since_last_received bigint NOT NULL CHECK (sent_since_last_received >= 0),
    last_received_at bigint NOT NULL CHECK (last_received_at >= 0),
    unanswered_since bigint NOT NULL DEFAULT 0 CHECK (unanswered_since >= 0),
    PRIMARY KEY (account, jid, device_id)
  );
  CREATE TABLE omemo_sessions (
    account integer NOT NULL REFERENCES omemo_accounts (id) ON DELETE CASCADE,
    version text NOT NULL CHECK (version IN ('oldmemo', 'twomemo')),
    jid text COLLATE "C" NOT NULL,
    device_id bigint NOT NULL CHECK (device_id >= 0),
    record bytea NOT NULL CHECK (octet_length(record) > 0),
    PRIMARY KEY (account, version, jid, device_id)
  );
  `,
];

/** The schema version this code writes; databases of older versions are migrated forward on connect. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to POSTGRES_SCHEMA_VERSION, one transaction per migration under the migration lock.
 * @throws OmemoError `store-error` when the database's schema is newer than this code or corrupt.
 */
export async function migrate(pool: PgPool): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    for (;;) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_NAMESPACE]);
        const exists = await client.query("SELECT to_regclass('omemo_schema_version') IS NOT NULL AS e");
        let version = 0;
        if (exists.rows[0]?.e === true) {
          const rows = (await client.query('SELECT version FROM omemo_schema_version')).rows;
          const v = rows.length === 1 ? rows[0]!.version : undefined;
          if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
            throw new OmemoError(
              'store-error',
              `the PostgreSQL store is corrupt: omemo_schema_version has ${rows.length} row(s), expected one version`,
            );
          version = v;
        }
        if (version > POSTGRES_SCHEMA_VERSION)
          throw new OmemoError(
            'store-error',
            `the PostgreSQL store has schema version ${version}, newer than the ${POSTGRES_SCHEMA_VERSION} this omemo-wasm knows: it was written by a newer release, and downgrades are not supported`,
          );
        if (version === POSTGRES_SCHEMA_VERSION) {
          await client.query('COMMIT');
          return version;
        }
        await client.query(MIGRATIONS[version]!);
        await client.query('DELETE FROM omemo_schema_version');
        await client.query('INSERT INTO omemo_schema_version (version) VALUES ($1)', [version + 1]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch((r: Error) => (broken = r));
        throw e;
      }
    }
  } finally {
    client.release(broken ?? false);
  }
}
