// One worker process of bench/postgres/accounts.ts: serves the accounts u<from>…u<to-1> from PostgreSQL through an
// OmemoAccounts pool holding all of them; on "start" (stdin) decrypts one message for each account, then encrypts
// one message from each account to the FANOUT_PEERS peers (twice: first right after the open, then steady),
// CONCURRENCY operations at a time, and prints its timings as JSON.
//   node --import tsx bench/postgres/worker.ts <url> <from> <to> <messages.json> <message index>
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cryptoReady } from '../../src/crypto/ready';
import { PostgresDatabase } from '../../src/omemo/store/postgres-store';
import { PEER, accountJid, accountPool, fanoutJids } from './fixture';
import { CONCURRENCY, parallel } from './parallel';

const [url, fromArg, toArg, messagesFile, indexArg] = process.argv.slice(2);
const from = Number(fromArg);
const to = Number(toArg);
const message = (JSON.parse(readFileSync(messagesFile!, 'utf8')) as string[])[Number(indexArg)]!;
await cryptoReady();
const db = await PostgresDatabase.connect({ connectionString: url!, maxConnections: CONCURRENCY });
const pool = accountPool(db, to - from);
// Opened before the clock starts: the timings are of serving open accounts.
await parallel(to - from, CONCURRENCY, (i) => pool.run(accountJid(from + i), () => undefined));
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await lines.next();
let t = performance.now();
await parallel(to - from, CONCURRENCY, async (i) => {
  const out = await pool.run(accountJid(from + i), (m) => m.decrypt(PEER, message));
  if (out.text === undefined) throw new Error('no text');
});
const decryptMs = performance.now() - t;
t = performance.now();
await parallel(to - from, CONCURRENCY, async (i) => {
  const r = await pool.run(accountJid(from + i), (m) => m.encrypt(fanoutJids, 'fan-out', { version: 'oldmemo' }));
  if (r.devices.length !== fanoutJids.length || !r.devices.every((d) => d.ok)) throw new Error('fan-out failed');
});
const fanoutMs = performance.now() - t;
// Again: the first fan-out after an open also read the 50 device lists one by one; now they are cached.
t = performance.now();
await parallel(to - from, CONCURRENCY, async (i) => {
  const r = await pool.run(accountJid(from + i), (m) => m.encrypt(fanoutJids, 'again', { version: 'oldmemo' }));
  if (!r.devices.every((d) => d.ok)) throw new Error('fan-out failed');
});
const steadyMs = performance.now() - t;
process.stdout.write(
  `${JSON.stringify({ accounts: to - from, decryptMs, fanoutMs, steadyMs, devices: fanoutJids.length })}\n`,
);
await pool.close();
await db.close();
