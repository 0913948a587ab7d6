// Many accounts on PostgreSQL (issue #17), on a private cluster (test/omemo/postgres-server.ts):
//  1. memory: heap per open idle manager and per open manager that handled a message (OmemoAccounts, PostgresStore);
//  2. ACCOUNTS accounts (default 10 000) served by one process with the pool bounded at MAX_OPEN managers: every
//     account gets a message (RSS sampled throughout), then SAMPLE random accounts, evicted, get one more each, one
//     at a time: the time from its arrival to its decryption (manager opened from the store included);
//  3. throughput of 1 and 2 worker processes (bench/postgres/worker.ts) over the same database, WORKER_ACCOUNTS
//     accounts split between them: messages/s decrypted and µs per device fanned out (FANOUT_PEERS devices).
//   node --expose-gc --import tsx bench/postgres/accounts.ts [accounts]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostgresDatabase } from '../../src/omemo/store/postgres-store';
import { startPostgres } from '../../test/omemo/postgres-server';
import { FANOUT_PEERS, PEER, accountJid, accountPool, buildAccounts } from './fixture';
import { CONCURRENCY, parallel } from './parallel';

const ACCOUNTS = Number(process.argv[2] ?? 10_000);
const MAX_OPEN = Math.min(1000, Math.ceil(ACCOUNTS / 10));
const SAMPLE = Math.min(2000, ACCOUNTS / 2);
const MEMORY_ACCOUNTS = Math.min(1000, ACCOUNTS);
const WORKER_ACCOUNTS = Math.min(1000, ACCOUNTS);
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

const server = await startPostgres({ settings: { shared_buffers: '256MB' } });
const dir = mkdtempSync(join(tmpdir(), 'omemo-pg-bench-'));
try {
  const url = server.createDatabase('accounts');
  let t = performance.now();
  const { messages } = await buildAccounts(url, ACCOUNTS, 6);
  console.log(`set-up: ${ACCOUNTS} accounts cloned in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const db = await PostgresDatabase.connect({ connectionString: url, maxConnections: CONCURRENCY });

  // 1. Memory per open account.
  {
    const pool = accountPool(db, MEMORY_ACCOUNTS);
    const h0 = heap();
    await parallel(MEMORY_ACCOUNTS, CONCURRENCY, (i) => pool.run(accountJid(i), () => undefined));
    const h1 = heap();
    await parallel(MEMORY_ACCOUNTS, CONCURRENCY, (i) => pool.run(accountJid(i), (m) => m.decrypt(PEER, messages[0]!)));
    const h2 = heap();
    await pool.close();
    const h3 = heap();
    console.log(
      `memory: ${kib((h1 - h0) / MEMORY_ACCOUNTS)} of heap per open idle account, ${kib((h2 - h0) / MEMORY_ACCOUNTS)} ` +
        `per open account that handled a message (its session and devices cached); after close ${kib(Math.max(0, h3 - h0) / MEMORY_ACCOUNTS)} per account`,
    );
  }

  // 2. ACCOUNTS accounts through a pool of MAX_OPEN.
  {
    const pool = accountPool(db, MAX_OPEN);
    let maxRss = 0;
    const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 50);
    t = performance.now();
    await parallel(ACCOUNTS, CONCURRENCY, (i) =>
      pool.run(accountJid(i), (m) => m.decrypt(PEER, messages[i < MEMORY_ACCOUNTS ? 1 : 0]!)),
    );
    const sweepS = (performance.now() - t) / 1000;
    const latencies: number[] = [];
    // Distinct accounts in a scattered order (a stride prime to ACCOUNTS), each evicted when its message arrives.
    const STRIDE = 7919;
    for (let k = 0, n = 0; n < SAMPLE && k < ACCOUNTS; k++) {
      const jid = accountJid((k * STRIDE) % ACCOUNTS);
      if (pool.isOpen(jid)) continue;
      const arrival = performance.now();
      await pool.run(jid, (m) => m.decrypt(PEER, messages[2]!));
      latencies.push(performance.now() - arrival);
      n++;
    }
    clearInterval(sampler);
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    latencies.sort((a, b) => a - b);
    console.log(
      `${ACCOUNTS} accounts, at most ${MAX_OPEN} managers open: one message each in ${sweepS.toFixed(1)} s ` +
        `(${(ACCOUNTS / sweepS).toFixed(0)} messages/s with ${CONCURRENCY} at a time, ${pool.stats.evicted} evictions), peak RSS ${mib(maxRss)}`,
    );
    console.log(
      `evicted account's next message, arrival to plaintext (${SAMPLE} samples, store read included): ` +
        `median ${pct(latencies, 0.5).toFixed(2)} ms, p99 ${pct(latencies, 0.99).toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`,
    );
    await pool.close();
  }
  await db.close();

  // 3. One and two worker processes over the same database.
  const messagesFile = join(dir, 'messages.json');
  writeFileSync(messagesFile, JSON.stringify(messages));
  for (const [workers, index] of [
    [1, 3],
    [2, 4],
  ] as const) {
    const per = WORKER_ACCOUNTS / workers;
    const procs = Array.from({ length: workers }, (_, w) => {
      const p = spawn(
        process.execPath,
        ['--import', 'tsx', WORKER, url, String(w * per), String((w + 1) * per), messagesFile, String(index)],
        { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      let out = '';
      const ready = new Promise<void>((resolve) =>
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready\n')) resolve();
        }),
      );
      const done = new Promise<{ decryptMs: number; fanoutMs: number; steadyMs: number }>((resolve, reject) =>
        p.on('exit', (code) =>
          code === 0 ? resolve(JSON.parse(out.split('\n').at(-2)!)) : reject(new Error(`worker exit ${code}`)),
        ),
      );
      return { p, ready, done };
    });
    await Promise.all(procs.map((w) => w.ready));
    for (const w of procs) w.p.stdin.end('start\n');
    const results = await Promise.all(procs.map((w) => w.done));
    const decryptS = Math.max(...results.map((r) => r.decryptMs)) / 1000;
    const fanoutMs = Math.max(...results.map((r) => r.fanoutMs));
    const steadyMs = Math.max(...results.map((r) => r.steadyMs));
    const perDevice = (ms: number) => ((ms * 1000) / (WORKER_ACCOUNTS * FANOUT_PEERS)).toFixed(1);
    console.log(
      `${workers} worker${workers > 1 ? 's' : ''}, ${WORKER_ACCOUNTS} accounts: ${(WORKER_ACCOUNTS / decryptS).toFixed(0)} messages/s decrypted, ` +
        `${perDevice(steadyMs)} µs per device fanned out (${perDevice(fanoutMs)} for the first after an open) ` +
        `(${WORKER_ACCOUNTS} messages to ${FANOUT_PEERS} devices each, ${CONCURRENCY} at a time per worker)`,
    );
  }
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
