// PostgresStore (src/omemo/store/postgres-store.ts) on a private PostgreSQL cluster (postgres-server.ts): the
// shared OmemoStore conformance suite (also behind a random 0–5 ms latency on every call), then what only a shared
// database has: many accounts in one schema, the single writer per account (advisory lock, `store-locked`, the
// epoch fence of a writer that lost its lock), two processes racing for one account and the survivor taking over,
// schema versions and the frozen schema-1 fixture, corrupt rows, and the entry that exports it.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OmemoError } from '../../src/crypto/errors';
import { cryptoReady } from '../../src/crypto/ready';
import * as mainEntry from '../../src/index';
import * as postgresEntry from '../../src/postgres';
import { POSTGRES_SCHEMA_VERSION, PostgresDatabase, type PostgresStore } from '../../src/omemo/store/postgres-store';
import { withLatency } from '../../src/testing/latency-store';
import { rngFor } from './manager-fixture';
import { type PostgresServer, startPostgres } from './postgres-server';
import {
  OWNER_JID,
  fullChanges,
  identity,
  runStoreConformance,
  secondChanges,
  assertSecondApplied,
} from './store-conformance';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./postgres-store-child.ts', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/postgres-schema-1.sql', import.meta.url));

// Started once, by the first case that needs it (uvu loads test files as CommonJS: no top-level await).
let server: PostgresServer;
let url: string;
let admin: pg.Client;
let started: Promise<void> | undefined;
const setup = () =>
  (started ??= (async () => {
    server = await startPostgres();
    url = server.createDatabase('omemo_store_test');
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  })());

/** A worker on its own fresh schema (search_path), so that each conformance store starts empty. */
let schemas = 0;
async function freshDatabase(): Promise<PostgresDatabase> {
  await setup();
  const schema = `conformance_${++schemas}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  return PostgresDatabase.connect({
    connectionString: url,
    config: { options: `-c search_path=${schema}` },
    maxConnections: 2,
  });
}
const databaseOf = new WeakMap<object, PostgresDatabase>();
async function openFresh(): Promise<PostgresStore> {
  const db = await freshDatabase();
  const store = await db.open(OWNER_JID);
  databaseOf.set(store, db);
  return store;
}
const dispose = async (s: object) => {
  await databaseOf.get(s)?.close();
};

runStoreConformance('PostgresStore', { open: openFresh, dispose });
let latencySeed = 0;
runStoreConformance('PostgresStore with latency', {
  open: async () => {
    await cryptoReady(); // the seeded RNG hashes with libsodium
    const store = await openFresh();
    const slow = withLatency(store, { maxDelayMs: 5, rng: rngFor(`postgres latency ${++latencySeed}`) });
    databaseOf.set(slow, databaseOf.get(store)!);
    return slow;
  },
  dispose,
});

test.before(setup);

test.after(async () => {
  await admin.end();
  await server.stop();
});

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<OmemoError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, OmemoError, String(e));
    assert.is((e as OmemoError).code, code, String(e));
    if (message) assert.match((e as Error).message, message);
    return e as OmemoError;
  }
  assert.unreachable(`expected an OmemoError ${code}`);
  throw new Error('unreachable');
}

test('many accounts share one schema, each sees only its own records', async () => {
  const db = await freshDatabase();
  try {
    const a = await db.open('a@example.org/phone');
    const b = await db.open('b@example.org');
    assert.is(a.jid, 'a@example.org', 'the bare JID');
    await a.commit({ ...fullChanges(), identity: { ...identity(), jid: 'a@example.org' } });
    assert.equal(await b.loadIdentity(), undefined);
    assert.equal(await b.loadPreKeys(), []);
    assert.equal((await a.loadIdentity())?.jid, 'a@example.org');
    await rejectsWith(b.commit({ identity: identity() }), 'store-owner-mismatch');
    assert.equal(db.accounts.sort(), ['a@example.org', 'b@example.org']);
  } finally {
    await db.close();
  }
});

test('one writer per account: a second open in this worker or another one gets store-locked until close', async () => {
  const w1 = await freshDatabase();
  const w2 = await PostgresDatabase.connect({
    connectionString: url,
    config: { options: `-c search_path=conformance_${schemas}` },
    maxConnections: 1,
  });
  try {
    const s1 = await w1.open('x@example.org');
    await rejectsWith(w1.open('x@example.org'), 'store-locked', /already open in this worker/);
    await rejectsWith(w2.open('x@example.org'), 'store-locked', /open in another worker/);
    // Another account is free; a waiting open takes over as soon as the holder closes.
    (await w2.open('y@example.org')).close();
    const waiting = w2.open('x@example.org', { lockWaitMs: 5000 });
    await new Promise((r) => setTimeout(r, 120));
    await s1.commit({ identity: { ...identity(), jid: 'x@example.org' } });
    await s1.close();
    const s2 = await waiting;
    assert.is((await s2.loadIdentity())?.deviceId, identity().deviceId, 'what the first writer committed is there');
    await rejectsWith(s1.loadIdentity(), 'store-error', /after close/);
    await rejectsWith(w1.open('x@example.org'), 'store-locked');
  } finally {
    await w1.close();
    await w2.close();
  }
});

test('a writer fenced off by a newer open commits nothing (store-locked), also when its lock connection died', async () => {
  const w1 = await freshDatabase();
  const schema = `conformance_${schemas}`;
  try {
    const s1 = await w1.open(OWNER_JID);
    await s1.commit(fullChanges());
    // Another opener's epoch bump, as after a takeover whose news has not reached this worker yet.
    await admin.query(`UPDATE ${schema}.omemo_accounts SET epoch = epoch + 1 WHERE jid = $1`, [OWNER_JID]);
    await rejectsWith(s1.commit(secondChanges()), 'store-locked', /another worker opened the account/);
    const w2 = await PostgresDatabase.connect({
      connectionString: url,
      config: { options: `-c search_path=${schema}` },
    });
    try {
      // The lock connection of w1 is killed by the server: the lock is gone, w2 takes the account over.
      const pids = await admin.query(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid",
        [0x4f4d454d],
      );
      assert.is(pids.rows.length, 1, 'one advisory lock held');
      await admin.query('SELECT pg_terminate_backend($1)', [pids.rows[0]!.pid]);
      const s2 = await w2.open(OWNER_JID, { lockWaitMs: 5000 });
      await rejectsWith(s1.commit(secondChanges()), 'store-locked');
      assert.ok(w1.lost, 'the worker knows its locks are gone');
      await rejectsWith(w1.open('other@example.org'), 'store-locked', /lost/);
      await s2.commit(secondChanges());
      await assertSecondApplied(s2);
    } finally {
      await w2.close();
    }
  } finally {
    await w1.close();
  }
});

/** Runs postgres-store-child.ts; resolves with its stdout lines when it exits. */
function child(args: string[], onLine?: (line: string, kill: () => void) => void) {
  return new Promise<{ lines: string[]; code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      let buf = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          lines.push(line);
          onLine?.(line, () => p.kill('SIGKILL'));
        }
      });
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('error', reject);
      p.on('exit', (code, signal) => resolve({ lines, code, signal, stderr }));
    },
  );
}

test('two processes race for one account: exactly one wins, the other takes over when the winner is SIGKILLed', async () => {
  await admin.query('CREATE SCHEMA race');
  const target = `${url}?options=${encodeURIComponent('-c search_path=race')}`;
  const holders: (() => void)[] = [];
  const run = (name: string) =>
    child([target, 'race@example.org', name], (line, kill) => {
      if (line === 'holding') holders.push(kill);
    });
  const [a, b] = [run('a'), run('b')];
  // The winner holds the account until it is killed; the loser reports store-locked, then waits and takes over.
  const deadline = Date.now() + 20_000;
  while (holders.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(holders.length, 1, 'exactly one process holds the account');
  await new Promise((r) => setTimeout(r, 300));
  assert.is(holders.length, 1, 'still exactly one');
  holders[0]!();
  const results = await Promise.all([a, b]);
  const killed = results.filter((r) => r.signal === 'SIGKILL');
  const survivor = results.filter((r) => r.code === 0);
  assert.is(killed.length, 1, results.map((r) => r.stderr).join('\n'));
  assert.is(survivor.length, 1, results.map((r) => r.stderr).join('\n'));
  assert.ok(survivor[0]!.lines.includes('locked'), `the loser saw store-locked first: ${survivor[0]!.lines}`);
  assert.ok(survivor[0]!.lines.includes('took over 2 commits'), survivor[0]!.lines.join(','));
});

test('the frozen schema-1 fixture opens with the current code; a newer schema is refused', async () => {
  await admin.query('CREATE SCHEMA fixture_1');
  await admin.query(`SET search_path = fixture_1; ${readFileSync(FIXTURE, 'utf8')}; RESET search_path`);
  const schema1 = await admin.query('SELECT version FROM fixture_1.omemo_schema_version');
  assert.equal(schema1.rows, [{ version: 1 }], 'the fixture really is schema 1');
  const db = await PostgresDatabase.connect({ connectionString: url, config: { options: '-c search_path=fixture_1' } });
  try {
    const store = await db.open(OWNER_JID);
    await assertSecondApplied(store);
    const version = await admin.query('SELECT version FROM fixture_1.omemo_schema_version');
    assert.equal(version.rows, [{ version: POSTGRES_SCHEMA_VERSION }]);
  } finally {
    await db.close();
  }
  await admin.query(`UPDATE fixture_1.omemo_schema_version SET version = ${POSTGRES_SCHEMA_VERSION + 1}`);
  await rejectsWith(
    PostgresDatabase.connect({ connectionString: url, config: { options: '-c search_path=fixture_1' } }),
    'store-error',
    /newer than/,
  );
});

test('a corrupt row is a store-error, never a crash; a bad value is refused before anything is written', async () => {
  const db = await freshDatabase();
  const schema = `conformance_${schemas}`;
  try {
    const s = await db.open(OWNER_JID);
    await s.commit(fullChanges());
    await admin.query(`ALTER TABLE ${schema}.omemo_devices DROP CONSTRAINT omemo_devices_trust_check`);
    await admin.query(`UPDATE ${schema}.omemo_devices SET trust = 'maybe'`);
    await rejectsWith(s.loadDevices(['bob@example.org', 'carol@example.org']), 'store-error', /corrupt omemo_devices/);
    const before = await s.loadPreKeys();
    try {
      await s.commit({
        putPreKeys: [{ ...before[0]!, id: 99 }],
        putSessions: [{ address: { version: 'twomemo', jid: 'z@x', deviceId: 1 }, record: new Uint8Array(0) }],
      });
      assert.unreachable('an empty record is refused');
    } catch (e) {
      assert.instance(e, RangeError);
    }
    assert.equal(await s.loadPreKeys(), before, 'nothing of the refused commit was written');
  } finally {
    await db.close();
  }
});

test('omemo-wasm/postgres exports the store; the main entry does not', () => {
  assert.equal(Object.keys(postgresEntry).sort(), [
    'POSTGRES_LOCK_RETRY_MS',
    'POSTGRES_POOL_CONNECTIONS',
    'POSTGRES_SCHEMA_VERSION',
    'PostgresDatabase',
    'PostgresStore',
  ]);
  assert.not.ok('PostgresDatabase' in mainEntry);
});

test.run();
