// Crash safety of SqliteStore, for real: a child process (sqlite-crash-child.ts) runs two OmemoManagers on
// two SqliteStore files talking in a loop; this test SIGKILLs it at random moments (seeded), then checks
// that both files open (the lock died with the process), that every commit the child saw return is there,
// that the commits cut off by the kill (several when a group commit was in flight) are there as a prefix, each
// completely or not at all (every value, by hash), and restarts
// the child on the same files, which must carry on the conversation without a single failed decryption.
//
// OMEMO_CRASH_SEED (default below) picks the kill moments; OMEMO_CRASH_KILLS how many kills (default 30).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { utf8Encode } from '../../src/crypto/bytes';
import { seededRng } from '../../src/crypto/random';
import { cryptoReady } from '../../src/crypto/ready';
import { SqliteStore } from '../../src/omemo/store/sqlite-store';
import {
  PARTIES,
  journalFile,
  readHash,
  storeFile,
  type Entry,
  type JournalLine,
  type Party,
} from './sqlite-crash-child';

const DEFAULT_SEED = 'omemo-wasm sqlite crash 1';
const DEFAULT_KILLS = 30;
/**
 * Half of the kills land uniformly in this window after the child reports it is opening its stores (ms);
 * the other half in BULK_KILL_WINDOW_MS after it starts its first fan-out sized commit, where most of its
 * time is spent writing (before the commit frame: the commit must be absent; after: complete).
 */
const MAX_KILL_DELAY_MS = 300;
const BULK_KILL_WINDOW_MS = 8;
const SEED = process.env.OMEMO_CRASH_SEED ?? DEFAULT_SEED;
const KILLS = Number(process.env.OMEMO_CRASH_KILLS ?? DEFAULT_KILLS);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./sqlite-crash-child.ts', import.meta.url));

interface ChildRun {
  signal: NodeJS.Signals | null;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the child; with `kill`, SIGKILLs it `kill.ms` after it printed the line `kill.after`. */
function runChild(
  dir: string,
  run: number,
  mode: 'loop' | 'final',
  kill?: { after: 'opening' | 'bulk'; ms: number },
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(run), mode], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (kill !== undefined && timer === undefined && stdout.includes(`${kill.after}\n`))
        timer = setTimeout(() => p.kill('SIGKILL'), kill.ms);
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ signal, code, stdout, stderr });
    });
  });
}

/** What each party's store must hold: committed values by key, and the commit in flight at the kill. */
class Model {
  readonly committed: Record<Party, Map<string, string | null>> = { alice: new Map(), bob: new Map() };
  commits = 0;
  inFlight = 0;
  appliedInFlight = 0;
  /** Kills that cut off several commits of a party at once (a group commit in flight). */
  groupsInFlight = 0;

  /**
   * Replays one run's journal; returns each party's commits cut off by the kill (begin without end), oldest first:
   * several when a group commit was in flight.
   */
  replay(path: string): Record<Party, Entry[][]> {
    const pending: Record<Party, Entry[][]> = { alice: [], bob: [] };
    if (!existsSync(path)) return pending;
    const text = readFileSync(path, 'utf8');
    // A line cut by the kill is ignored: a cut "begin" means the commit had not started yet, and a cut
    // "end" leaves the commit pending, where both outcomes are accepted.
    for (const raw of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
      if (raw === '') continue;
      const line = JSON.parse(raw) as JournalLine;
      if (line.t === 'failed') assert.unreachable(`${line.party}: a commit failed in the child: ${line.error}`);
      if (line.t === 'begin') {
        pending[line.party].push(line.entries);
      } else {
        // Commits become durable in the order they began (a group commits its members together, in order).
        const entries = pending[line.party].shift();
        assert.ok(entries, `${line.party}: end without begin`);
        for (const [k, h] of entries) this.committed[line.party].set(k, h);
        this.commits++;
      }
    }
    return pending;
  }

  /**
   * Opens a party's file and checks it holds the committed values plus, of the commits cut off by the kill, the
   * first k complete and nothing of the rest, for some k (each commit all or nothing, none after a missing one).
   */
  async verify(dir: string, party: Party, pending: Entry[][], context: string): Promise<void> {
    const store = await SqliteStore.open(storeFile(dir, party), { jid: PARTIES[party] });
    try {
      const committed = this.committed[party];
      const keys = new Set([...committed.keys(), ...pending.flat().map(([k]) => k)]);
      const actual = new Map<string, string | null>();
      for (const k of keys) actual.set(k, await readHash(store, k));
      const expected = new Map(committed);
      const matches = () => [...keys].every((k) => actual.get(k) === (expected.get(k) ?? null));
      let applied = -1;
      for (let k = 0; k <= pending.length; k++) {
        if (k > 0) for (const [key, h] of pending[k - 1]!) expected.set(key, h);
        if (matches()) applied = k;
      }
      if (applied < 0) {
        const lost = [...committed].filter(([k, h]) => actual.get(k) !== h).map(([k]) => k);
        assert.unreachable(
          `${context}: ${party}'s file is no prefix of its ${pending.length} commit(s) cut off by the kill (keys differing from the committed state: ${lost.slice(0, 3).join(', ')}${lost.length > 3 ? ', …' : ''})`,
        );
      }
      if (pending.length === 0) return;
      this.inFlight += pending.length;
      this.appliedInFlight += applied;
      if (pending.length > 1) this.groupsInFlight++;
      for (const commit of pending.slice(0, applied)) for (const [k, h] of commit) committed.set(k, h);
    } finally {
      store.close();
    }
  }
}

test(`SqliteStore survives SIGKILL at random moments (${KILLS} kills) and the conversation goes on`, async () => {
  assert.ok(
    Number.isInteger(KILLS) && KILLS > 0,
    `OMEMO_CRASH_KILLS must be a positive integer, got ${process.env.OMEMO_CRASH_KILLS}`,
  );
  await cryptoReady();
  const rng = seededRng(utf8Encode(SEED));
  const model = new Model();
  const t0 = performance.now();
  let killedBeforeReady = 0;
  const dir = mkdtempSync(join(tmpdir(), 'omemo-sqlite-crash-'));
  try {
    for (let run = 1; run <= KILLS; run++) {
      const b = rng(5);
      const after = b[4]! & 1 ? 'bulk' : 'opening';
      const ms =
        (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) %
        ((after === 'bulk' ? BULK_KILL_WINDOW_MS : MAX_KILL_DELAY_MS) + 1);
      const context = `seed ${JSON.stringify(SEED)}, run ${run}, kill ${ms} ms after "${after}"`;
      const r = await runChild(dir, run, 'loop', { after, ms });
      assert.is(r.signal, 'SIGKILL', `${context}: the child ended by itself (code ${r.code}): ${r.stderr}`);
      if (!r.stdout.includes('ready\n')) killedBeforeReady++;
      const pending = model.replay(journalFile(dir, run));
      for (const party of ['alice', 'bob'] as const) await model.verify(dir, party, pending[party], context);
    }
    const final = await runChild(dir, KILLS + 1, 'final');
    assert.is(final.code, 0, `after ${KILLS} kills the conversation did not go on: ${final.stderr}`);
    assert.match(final.stdout, /final ok/);
    const pending = model.replay(journalFile(dir, KILLS + 1));
    for (const party of ['alice', 'bob'] as const) {
      assert.equal(pending[party], []);
      await model.verify(dir, party, [], 'after the final run');
    }
    assert.ok(model.inFlight > 0, 'no kill landed inside a commit: the test would prove nothing about atomicity');
    console.log(
      `sqlite crash test: seed ${JSON.stringify(SEED)}: ${KILLS} SIGKILLs survived (${killedBeforeReady} while opening, ${model.inFlight} inside a commit: ` +
        `${model.appliedInFlight} complete, ${model.inFlight - model.appliedInFlight} absent; ${model.groupsInFlight} kills inside a group), ${model.commits} commits verified, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
