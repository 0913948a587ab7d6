// Takeover of PostgresStore accounts, for real: a worker process (postgres-takeover-child.ts) owns alice's and
// bob's accounts and lets them talk through a durable mailbox; a second worker waits for the accounts (it got
// `store-locked`); this test SIGKILLs the owner at seeded random moments while it encrypts and decrypts, and the
// waiting worker takes over (the advisory locks die with the killed worker's connections). Before the new owner
// does anything, every commit the killed one saw return must be in the database, and a commit cut off by the kill
// must be there completely or not at all (every value, by hash). At the end every message put in the mailbox was
// decrypted exactly once: by one worker, or by a killed worker after whose death it was refused as a duplicate
// (never twice, never lost, no message key used for two messages).
//
// OMEMO_TAKEOVER_SEED (default below) picks the kill moments; OMEMO_TAKEOVER_KILLS how many (default 30).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { utf8Encode } from '../../src/crypto/bytes';
import { seededRng } from '../../src/crypto/random';
import { cryptoReady } from '../../src/crypto/ready';
import { startPostgres } from './postgres-server';
import { type JournalLine, MAILBOX_TABLE, type Party, journalFile } from './postgres-takeover-child';
import type { Entry } from './sqlite-crash-child';

const DEFAULT_SEED = 'omemo-wasm postgres takeover 1';
const DEFAULT_KILLS = 30;
/** The kill lands uniformly in this window after the owner reports "ready" (ms). */
const MAX_KILL_DELAY_MS = 400;
/** Workers started ahead of their turn. */
const SPARES = 2;
const SEED = process.env.OMEMO_TAKEOVER_SEED ?? DEFAULT_SEED;
const KILLS = Number(process.env.OMEMO_TAKEOVER_KILLS ?? DEFAULT_KILLS);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./postgres-takeover-child.ts', import.meta.url));
const PARTY_NAMES = ['alice', 'bob'] as const;

/** A worker process, its stdout lines awaited one by one. */
class Worker {
  readonly p: ChildProcess;
  private out = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { line: string; resolve: () => void }[] = [];

  constructor(
    url: string,
    dir: string,
    readonly run: number,
    mode: 'loop' | 'final',
  ) {
    this.p = spawn(process.execPath, ['--import', 'tsx', CHILD, url, dir, String(run), mode], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.p.stdout!.on('data', (d: Buffer) => {
      this.out += d.toString();
      this.waiters = this.waiters.filter((w) => (this.seen(w.line) ? (w.resolve(), false) : true));
    });
    this.p.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.p.on('exit', (code, signal) => resolve({ code, signal })));
  }

  seen(line: string): boolean {
    return this.out.split('\n').includes(line);
  }

  /** Resolves when the worker printed `line`; rejects when it exits first. */
  async line(line: string): Promise<void> {
    if (this.seen(line)) return;
    const printed = new Promise<void>((resolve) => this.waiters.push({ line, resolve }));
    const ended = this.exited.then((r) => {
      if (!this.seen(line))
        throw new Error(`worker exited (${r.code ?? r.signal}) before "${line}": ${this.stderr.slice(-2000)}`);
    });
    await Promise.race([printed, ended]);
  }

  send(line: string): void {
    this.p.stdin!.write(`${line}\n`);
  }
}

/** What each account must hold, and the fate of every decryption attempt. */
class Model {
  readonly committed: Record<Party, Map<string, string | null>> = { alice: new Map(), bob: new Map() };
  commits = 0;
  inFlight = 0;
  appliedInFlight = 0;
  /** Per message id: successful decryptions, duplicate refusals, attempts cut off by a kill. */
  readonly messages = new Map<number, { decrypted: number; duplicate: number; cut: number }>();

  replay(path: string): Record<Party, Entry[] | undefined> {
    const pending: Record<Party, Entry[] | undefined> = { alice: undefined, bob: undefined };
    if (!existsSync(path)) return pending;
    const text = readFileSync(path, 'utf8');
    let attempt: number | undefined;
    const msg = (id: number) => {
      let m = this.messages.get(id);
      if (m === undefined) this.messages.set(id, (m = { decrypted: 0, duplicate: 0, cut: 0 }));
      return m;
    };
    // A line cut by the kill is ignored (see sqlite-crash.test.ts).
    for (const raw of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
      if (raw === '') continue;
      const line = JSON.parse(raw) as JournalLine;
      switch (line.t) {
        case 'failed':
          assert.unreachable(`${line.what} failed in the worker: ${line.error}`);
          break;
        case 'begin':
          assert.is(pending[line.party], undefined, `${line.party}: two commits at once`);
          pending[line.party] = line.entries;
          break;
        case 'end': {
          const entries = pending[line.party];
          assert.ok(entries, `${line.party}: end without begin`);
          for (const [k, h] of entries) this.committed[line.party].set(k, h);
          pending[line.party] = undefined;
          this.commits++;
          break;
        }
        case 'attempt':
          assert.is(attempt, undefined, 'two decryptions at once');
          attempt = line.id;
          break;
        default:
          assert.is(attempt, line.id, `outcome of message ${line.id} without its attempt`);
          msg(line.id)[line.t]++;
          attempt = undefined;
      }
    }
    if (attempt !== undefined) msg(attempt).cut++;
    return pending;
  }

  /** Checks the hashes the new owner read against the model; settles the commits cut off by the kill. */
  verify(
    actual: Record<Party, Record<string, string | null>>,
    pending: Record<Party, Entry[] | undefined>,
    context: string,
  ) {
    for (const party of PARTY_NAMES) {
      const committed = this.committed[party];
      const p = pending[party];
      const pendingKeys = new Set((p ?? []).map(([k]) => k));
      for (const [k, h] of committed)
        if (!pendingKeys.has(k)) assert.is(actual[party][k], h, `${context}: ${party} lost or changed committed ${k}`);
      if (p === undefined) continue;
      this.inFlight++;
      const applied = p.every(([k, h]) => actual[party][k] === h);
      const untouched = p.every(([k]) => actual[party][k] === (committed.get(k) ?? null));
      assert.ok(applied || untouched, `${context}: ${party}'s commit cut off by the kill is half there`);
      if (applied) {
        this.appliedInFlight++;
        for (const [k, h] of p) committed.set(k, h);
      }
    }
  }

  keys(pending: Record<Party, Entry[] | undefined>): Record<Party, string[]> {
    const out = {} as Record<Party, string[]>;
    for (const party of PARTY_NAMES)
      out[party] = [...new Set([...this.committed[party].keys(), ...(pending[party] ?? []).map(([k]) => k)])];
    return out;
  }
}

test(`a worker SIGKILLed ${KILLS} times while it encrypts and decrypts: the waiting one takes over, nothing lost`, async () => {
  assert.ok(Number.isInteger(KILLS) && KILLS > 0, `OMEMO_TAKEOVER_KILLS must be a positive integer`);
  await cryptoReady();
  const rng = seededRng(utf8Encode(SEED));
  const model = new Model();
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'omemo-pg-takeover-'));
  const server = await startPostgres();
  const workers: Worker[] = [];
  try {
    const url = server.createDatabase('takeover');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(MAILBOX_TABLE);
    await admin.end();
    // Workers start SPARES ahead of their turn (a start takes about a second), each opening on "open".
    const spawnWorker = (run: number) => {
      const w = new Worker(url, dir, run, run === KILLS + 1 ? 'final' : 'loop');
      workers.push(w);
      return w;
    };
    const spares: Worker[] = [];
    for (let run = 2; run <= Math.min(KILLS + 1, 1 + SPARES); run++) spares.push(spawnWorker(run));
    let owner = spawnWorker(1);
    owner.send('open');
    await owner.line('took over');
    for (let run = 1; run <= KILLS; run++) {
      // The next worker tries while this one owns the accounts: it must be refused, and wait.
      const next = spares.shift()!;
      assert.is(next.run, run + 1);
      if (run + 1 + SPARES <= KILLS + 1) spares.push(spawnWorker(run + 1 + SPARES));
      await next.line('started');
      next.send('open');
      await next.line('locked');
      owner.send('go');
      await owner.line('ready');
      const b = rng(4);
      const ms = (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % (MAX_KILL_DELAY_MS + 1);
      const context = `seed ${JSON.stringify(SEED)}, run ${run}, kill ${ms} ms after "ready"`;
      await new Promise((r) => setTimeout(r, ms));
      owner.p.kill('SIGKILL');
      const r = await owner.exited;
      assert.is(
        r.signal,
        'SIGKILL',
        `${context}: the worker ended by itself (${r.code}): ${owner.stderr.slice(-2000)}`,
      );
      await next.line('took over');
      const pending = model.replay(journalFile(dir, run));
      const file = join(dir, `check-${run}.json`);
      writeFileSync(file, JSON.stringify(model.keys(pending)));
      next.send(`check ${file}`);
      await next.line('checked');
      model.verify(JSON.parse(readFileSync(`${file}.hashes`, 'utf8')), pending, context);
      owner = next;
    }
    owner.send('go');
    const final = await owner.exited;
    assert.is(final.code, 0, `after ${KILLS} kills the conversation did not go on: ${owner.stderr.slice(-2000)}`);
    assert.ok(owner.seen('final ok'));
    model.replay(journalFile(dir, KILLS + 1));
    // Every message in the mailbox: decrypted once, or decrypted by a worker killed before it could note it.
    const admin2 = new pg.Client({ connectionString: url });
    await admin2.connect();
    const rows = (await admin2.query('SELECT id, handled FROM takeover_mailbox ORDER BY id')).rows as {
      id: number;
      handled: boolean;
    }[];
    await admin2.end();
    assert.ok(rows.length >= KILLS, `only ${rows.length} messages in ${KILLS} runs`);
    let cutThenDuplicate = 0;
    for (const { id, handled } of rows) {
      assert.ok(handled, `message ${id} was never handled`);
      const m = model.messages.get(id) ?? { decrypted: 0, duplicate: 0, cut: 0 };
      assert.ok(m.decrypted <= 1, `message ${id} decrypted ${m.decrypted} times`);
      if (m.decrypted === 0) {
        assert.ok(m.cut > 0 && m.duplicate > 0, `message ${id} never decrypted: ${JSON.stringify(m)}`);
        cutThenDuplicate++;
      }
    }
    assert.ok(model.inFlight > 0, 'no kill landed inside a commit: the test would prove nothing about atomicity');
    console.log(
      `postgres takeover test: seed ${JSON.stringify(SEED)}: ${KILLS} SIGKILLs, ${KILLS} takeovers (${model.inFlight} inside a commit: ` +
        `${model.appliedInFlight} complete, ${model.inFlight - model.appliedInFlight} absent), ${model.commits} commits verified, ` +
        `${rows.length} messages each decrypted once (${cutThenDuplicate} by a worker killed right after), ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    for (const w of workers) w.p.kill('SIGKILL');
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
