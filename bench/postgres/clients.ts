// The measurement behind the choice of PostgreSQL client for PostgresStore (issue #17): `pg` 8 and `postgres`
// (postgres.js) on the same private cluster, the three things the store does: a point read (an evicted account's
// next message reads its session), a fan-out read of 1000 sessions in one query (unnest join), and a fan-out commit
// of 1000 session records (~330 bytes each) in one transaction, checked by a fencing row under FOR UPDATE.
// `npx tsx bench/postgres/clients.ts` (starts and stops its own cluster).
import { readFileSync } from 'node:fs';
import pg from 'pg';
import postgres from 'postgres';
import { startPostgres } from '../../test/omemo/postgres-server';

const version = (name: string): string =>
  (
    JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;

const ROUNDS = { point: 2000, read: 100, commit: 60 };
const N = 1000;
const RECORD_BYTES = 330;

const SCHEMA = `
  CREATE TABLE fence (id int PRIMARY KEY, epoch bigint NOT NULL);
  INSERT INTO fence VALUES (1, 1);
  CREATE TABLE s (account int NOT NULL, version text NOT NULL, jid text NOT NULL, device_id bigint NOT NULL,
    record bytea NOT NULL, PRIMARY KEY (account, version, jid, device_id));`;

const jids = Array.from({ length: N }, (_, i) => `user${i % 200}@bench.example`);
const ids = Array.from({ length: N }, (_, i) => 100_000 + i);
const versions = Array.from({ length: N }, () => 'twomemo');
const records = () => Array.from({ length: N }, () => Buffer.alloc(RECORD_BYTES, Math.random() * 255));
const UPSERT = `INSERT INTO s (account, version, jid, device_id, record)
  SELECT 1, * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[])
  ON CONFLICT (account, version, jid, device_id) DO UPDATE SET record = excluded.record`;
const READ = `SELECT t.i, s.record FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS t(v, j, d, i)
  JOIN s ON s.account = 1 AND s.version = t.v AND s.jid = t.j AND s.device_id = t.d`;
const POINT = 'SELECT record FROM s WHERE account = 1 AND version = $1 AND jid = $2 AND device_id = $3';

async function time(name: string, rounds: number, fn: (i: number) => Promise<unknown>): Promise<string> {
  for (let i = 0; i < Math.min(20, rounds); i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => (samples[Math.floor(p * (samples.length - 1))]! * 1000).toFixed(0);
  return `${name}: median ${q(0.5)} µs, p90 ${q(0.9)} µs`;
}

const server = await startPostgres();
try {
  const out: string[] = [];
  {
    const url = server.createDatabase('bench_pg');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(SCHEMA);
    out.push(`pg ${version('pg')}`);
    out.push(
      await time('  commit 1000 records', ROUNDS.commit, async () => {
        await c.query('BEGIN');
        await c.query('SELECT epoch FROM fence WHERE id = 1 FOR UPDATE');
        await c.query(UPSERT, [versions, jids, ids, records()]);
        await c.query('COMMIT');
      }),
    );
    out.push(await time('  read 1000 records', ROUNDS.read, () => c.query(READ, [versions, jids, ids])));
    out.push(await time('  point read', ROUNDS.point, (i) => c.query(POINT, ['twomemo', jids[i % N], ids[i % N]])));
    await c.end();
  }
  {
    const url = server.createDatabase('bench_postgresjs');
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(SCHEMA).simple();
    out.push(`postgres ${version('postgres')}`);
    out.push(
      await time('  commit 1000 records', ROUNDS.commit, () =>
        sql.begin((tx) => [
          tx.unsafe('SELECT epoch FROM fence WHERE id = 1 FOR UPDATE'),
          tx.unsafe(UPSERT, [versions, jids, ids, records()] as never),
        ]),
      ),
    );
    out.push(await time('  read 1000 records', ROUNDS.read, () => sql.unsafe(READ, [versions, jids, ids] as never)));
    out.push(
      await time('  point read', ROUNDS.point, (i) => sql.unsafe(POINT, ['twomemo', jids[i % N]!, ids[i % N]!])),
    );
    await sql.end();
  }
  console.log(out.join('\n'));
} finally {
  await server.stop();
}
