// Child process of postgres-takeover.test.ts: one worker owning alice's and bob's accounts in PostgreSQL. Started
// ahead of its turn ("started"), on "open" it opens both stores; when another worker holds them it prints "locked"
// and waits for the lock (the parent SIGKILLs the holder), then prints "took over". The parent may then send
// "check <keys file>": the worker writes the hash of each listed value of its stores next to it and prints
// "checked". On "go" it opens the two OmemoManagers ("ready") and lets them talk until killed: every message goes
// through a durable mailbox table (a message counts as sent once its row is there), and every message in the
// mailbox is decrypted by whichever worker owns the accounts, in order. Everything is journaled synchronously in a
// file: commits (the hash of every value written, before and after), and the decryption attempts with their
// outcome (decrypted, or refused as a duplicate).
//
//   node --import tsx postgres-takeover-child.ts <url> <dir> <run> loop|final
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { InProcessRouter } from '../../examples/in-process-router';
import { OmemoError } from '../../src/crypto/errors';
import { cryptoReady } from '../../src/crypto/ready';
import { OmemoManager } from '../../src/omemo/manager/session-manager';
import { PostgresDatabase, type PostgresStore } from '../../src/omemo/store/postgres-store';
import type { OmemoStore, SessionAddress, StoreChanges } from '../../src/omemo/store/store';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { NODE_LEGACY_DEVICELIST } from '../../src/omemo/versions/oldmemo';
import { NODE_OMEMO2_DEVICES } from '../../src/omemo/versions/twomemo';
import { entriesOf, type Entry, readHash } from './sqlite-crash-child';

export const PARTIES = { alice: 'alice@takeover.example', bob: 'bob@takeover.example' } as const;
export type Party = keyof typeof PARTIES;
export const journalFile = (dir: string, run: number) => join(dir, `journal-${run}.log`);
/** Rounds of the final, unkilled run. */
const FINAL_ROUNDS = 12;
/** How long a standby worker waits for the accounts' locks (ms). */
const LOCK_WAIT_MS = 60_000;
/** A loop run that was never killed stops here (the parent kills far earlier). */
const MAX_LOOP_MS = 60_000;

export const MAILBOX_TABLE = `CREATE TABLE IF NOT EXISTS takeover_mailbox (
  id serial PRIMARY KEY, sender text NOT NULL, recipient text NOT NULL, text text NOT NULL, xml text NOT NULL,
  handled boolean NOT NULL DEFAULT false)`;

/** A journal line. */
export type JournalLine =
  | { t: 'begin'; party: Party; entries: Entry[] }
  | { t: 'end'; party: Party }
  | { t: 'attempt'; id: number }
  | { t: 'decrypted'; id: number }
  | { t: 'duplicate'; id: number }
  | { t: 'failed'; what: string; error: string };

let fd = -1;
const log = (line: JournalLine) => writeSync(fd, `${JSON.stringify(line)}\n`);

/** Journals every commit synchronously before and after it. */
class JournaledStore implements OmemoStore {
  constructor(
    readonly inner: PostgresStore,
    private readonly party: Party,
  ) {}
  loadIdentity = () => this.inner.loadIdentity();
  loadSignedPreKeys = () => this.inner.loadSignedPreKeys();
  loadPreKeys = () => this.inner.loadPreKeys();
  loadPreKey = (id: number) => this.inner.loadPreKey(id);
  loadDeviceList = (version: OmemoVersion, jid: string) => this.inner.loadDeviceList(version, jid);
  loadDevices = (jids: readonly string[]) => this.inner.loadDevices(jids);
  loadSessions = (addresses: readonly SessionAddress[]) => this.inner.loadSessions(addresses);
  async commit(changes: StoreChanges): Promise<void> {
    log({ t: 'begin', party: this.party, entries: entriesOf(changes) });
    try {
      await this.inner.commit(changes);
    } catch (e) {
      log({ t: 'failed', what: `${this.party} commit`, error: String(e) });
      throw e;
    }
    log({ t: 'end', party: this.party });
  }
}

async function main(url: string, dir: string, run: number, mode: 'loop' | 'final'): Promise<void> {
  await cryptoReady();
  fd = openSync(journalFile(dir, run), 'a');
  const db = await PostgresDatabase.connect({ connectionString: url, maxConnections: 2 });
  const mailbox = new pg.Client({ connectionString: url });
  await mailbox.connect();
  // Started ahead of its turn: tries the accounts when the parent says "open".
  process.stdout.write('started\n');
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('stdin closed');
    return value;
  };
  if ((await next()) !== 'open') throw new Error('expected "open"');
  const stores = {} as Record<Party, PostgresStore>;
  let waited = false;
  for (const party of ['alice', 'bob'] as const) {
    try {
      stores[party] = await db.open(PARTIES[party]);
    } catch (e) {
      if (!(e instanceof OmemoError && e.code === 'store-locked')) throw e;
      if (!waited) process.stdout.write('locked\n');
      waited = true;
      stores[party] = await db.open(PARTIES[party], { lockWaitMs: LOCK_WAIT_MS });
    }
  }
  process.stdout.write('took over\n');
  for (;;) {
    const value = await next();
    if (value === 'go') break;
    const file = value.replace(/^check /, '');
    const keys = JSON.parse(readFileSync(file, 'utf8')) as Record<Party, string[]>;
    const hashes = {} as Record<Party, Record<string, string | null>>;
    for (const party of ['alice', 'bob'] as const) {
      hashes[party] = {};
      for (const k of keys[party]) hashes[party][k] = await readHash(stores[party], k);
    }
    writeFileSync(`${file}.hashes`, JSON.stringify(hashes));
    process.stdout.write('checked\n');
  }

  const router = new InProcessRouter();
  const parties = {} as Record<Party, { m: OmemoManager; jid: string; inbox: string }>;
  for (const party of ['alice', 'bob'] as const) {
    const jid = PARTIES[party];
    const inbox = `${jid}/${party}`;
    const store = new JournaledStore(stores[party], party);
    const m = await OmemoManager.open({ jid, store, transport: router.connect(jid, inbox), label: party });
    parties[party] = { m, jid, inbox };
  }
  const nodes: Record<string, OmemoVersion> = { [NODE_OMEMO2_DEVICES]: 'twomemo', [NODE_LEGACY_DEVICELIST]: 'oldmemo' };
  for (const p of Object.values(parties)) {
    router.subscribe(p.inbox, Object.values(PARTIES), Object.keys(nodes));
    for (const n of router.drainNotifications(p.inbox)) await p.m.onDeviceListUpdate(n.jid, nodes[n.node]!, n.xml);
  }
  const byJid = (jid: string) => Object.values(parties).find((p) => p.jid === jid)!;
  process.stdout.write('ready\n');

  /** Automatic messages (heartbeats, session completion) over the in-memory router: losing them is harmless. */
  const pump = async () => {
    for (let any = true; any; ) {
      any = false;
      for (const p of Object.values(parties)) {
        for (const msg of router.drain(p.inbox)) {
          any = true;
          await p.m.decrypt(msg.from, msg.xml);
        }
      }
    }
  };
  /** Decrypts what waits in the durable mailbox, in order; a message already decrypted is refused as duplicate. */
  const deliver = async () => {
    const rows = (
      await mailbox.query('SELECT id, sender, recipient, text, xml FROM takeover_mailbox WHERE NOT handled ORDER BY id')
    ).rows as { id: number; sender: string; recipient: string; text: string; xml: string }[];
    for (const row of rows) {
      log({ t: 'attempt', id: row.id });
      try {
        const out = await byJid(row.recipient).m.decrypt(row.sender, row.xml);
        if (out.text !== row.text)
          throw new Error(`message ${row.id}: decrypted ${JSON.stringify(out.text)}, sent ${JSON.stringify(row.text)}`);
        log({ t: 'decrypted', id: row.id });
      } catch (e) {
        if (!(e instanceof OmemoError && e.code === 'duplicate-message')) throw e;
        log({ t: 'duplicate', id: row.id });
      }
      await mailbox.query('UPDATE takeover_mailbox SET handled = true WHERE id = $1', [row.id]);
      await pump();
    }
  };

  await deliver(); // what the killed worker left in the mailbox comes first
  const t0 = Date.now();
  const rounds = mode === 'final' ? FINAL_ROUNDS : Infinity;
  for (let r = 0; r < rounds && Date.now() - t0 < MAX_LOOP_MS; r++) {
    // Runs of several messages from one side (longer chains), both versions.
    const fromAlice = [0, 2, 3, 6].includes(r % 7);
    const version: OmemoVersion = (r >> 1) % 2 === 0 ? 'twomemo' : 'oldmemo';
    const [from, to] = fromAlice ? [parties.alice, parties.bob] : [parties.bob, parties.alice];
    const text = `run ${run} round ${r} ${version} from ${from.jid}`;
    const res = await from.m.encrypt([to.jid], text, { version });
    if (res.devices.length !== 1 || !res.devices[0]!.ok)
      throw new Error(`encrypt "${text}": ${JSON.stringify(res.devices)}`);
    await mailbox.query('INSERT INTO takeover_mailbox (sender, recipient, text, xml) VALUES ($1, $2, $3, $4)', [
      from.jid,
      to.jid,
      text,
      res.elements[0]!.xml,
    ]);
    await deliver();
  }
  if (mode === 'loop') throw new Error(`not killed within ${MAX_LOOP_MS} ms`);
  await mailbox.end();
  await db.close();
  closeSync(fd);
  process.stdout.write('final ok\n');
  process.exit(0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, dir, run, mode] = process.argv.slice(2);
  if (url === undefined || dir === undefined || (mode !== 'loop' && mode !== 'final')) {
    console.error('usage: postgres-takeover-child.ts <url> <dir> <run> loop|final');
    process.exit(2);
  }
  main(url, dir, Number(run), mode).catch((e: unknown) => {
    if (fd >= 0) log({ t: 'failed', what: 'worker', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  });
}
