// The SQLite store's schema (store.ts's records as tables) and its forward migrations: append only, a released
// migration never changes; test/omemo/fixtures/sqlite-schema-1.db is a file of version 1.
import type { SqlDatabase } from './sqlite-driver';

/**
 * Forward migrations: `MIGRATIONS[i]` takes the schema from version i to i + 1 (0 is an empty file). Each
 * runs in its own transaction together with the update of `schema_version`. Append only: a released
 * migration never changes (test/omemo/fixtures/sqlite-schema-1.db is a file of version 1).
 *
 * Schema 1 has no foreign keys: sessions, devices and device lists are independent records keyed by
 * address, as in OmemoStore. Tables are STRICT, so SQLite itself refuses a value of the wrong type.
 */
export const MIGRATIONS: readonly ((db: SqlDatabase) => void)[] = [
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
