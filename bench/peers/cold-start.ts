// The cold-start case of bench:peers: a fresh `node` process per sample imports the library and gets ready to
// encrypt as a freshly installed bot would (identity, signed pre key, 100 pre keys: what OmemoManager.open
// does on an empty store). The number is the child's performance.now() when ready, i.e. ms since its
// process started (Node's time origin); process teardown is not included. Plain node, no tsx: our library
// is loaded from the built dist/index.js, rebuilt first when missing or older than src/.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_FAILED_NOTE, DIST_DIR, ROOT, ensureBuiltPackage } from './package-entry';
import { median } from './sampler';
import type { CaseRow, ImplName } from './types';

const DIST = join(DIST_DIR, 'index.js');

/** What the child prints: ms since its process start when ready, and the split into load and key generation. */
interface ChildTiming {
  readyMs: number;
  loadMs: number;
  keysMs: number;
}

const PRE_KEYS = 100;
/** A cold start taking longer than this is killed (a hung process must not hang the bench). */
const CHILD_TIMEOUT_MS = 60_000;
const report = 'console.log(JSON.stringify({ readyMs: t2, loadMs: t1 - t0, keysMs: t2 - t1 }));';

function ours(url: string): string {
  return `const t0 = performance.now();
const m = await import(${JSON.stringify(url)});
await m.cryptoReady();
const t1 = performance.now();
const transport = { publish: async () => {}, fetch: async () => undefined, send: async () => {} };
await m.OmemoManager.open({ jid: 'bot@cold.example', store: new m.MemoryStore(), transport, publish: false });
const t2 = performance.now();
${report}`;
}

const SOURCES: Partial<Record<ImplName, string>> = {
  libsignal: `const t0 = performance.now();
const L = (await import('libsignal')).default;
const t1 = performance.now();
const id = L.keyhelper.generateIdentityKeyPair();
L.keyhelper.generateRegistrationId();
L.keyhelper.generateSignedPreKey(id, 1);
for (let i = 1; i <= ${PRE_KEYS}; i++) L.keyhelper.generatePreKey(i);
const t2 = performance.now();
${report}`,
  privacyresearch: `const t0 = performance.now();
const pr = await import('@privacyresearch/libsignal-protocol-typescript');
const KeyHelper = pr.KeyHelper ?? pr.default.KeyHelper;
const t1 = performance.now();
const id = await KeyHelper.generateIdentityKeyPair();
KeyHelper.generateRegistrationId();
await KeyHelper.generateSignedPreKey(id, 1);
for (let i = 1; i <= ${PRE_KEYS}; i++) await KeyHelper.generatePreKey(i);
const t2 = performance.now();
${report}`,
  'libsignal-client': `const t0 = performance.now();
const S = await import('@signalapp/libsignal-client');
const t1 = performance.now();
const id = S.IdentityKeyPair.generate();
const spk = S.PrivateKey.generate();
S.SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, id.privateKey.sign(spk.getPublicKey().serialize()));
for (let i = 1; i <= ${PRE_KEYS}; i++) { const k = S.PrivateKey.generate(); S.PreKeyRecord.new(i, k.getPublicKey(), k); }
const kem = S.KEMKeyPair.generate();
S.KyberPreKeyRecord.new(1, Date.now(), kem, id.privateKey.sign(kem.getPublicKey().serialize()));
const t2 = performance.now();
${report}`,
};

const SKIP: Partial<Record<ImplName, string>> = {
  'omemo-wasm-raw':
    'not a package entry point: the raw layer is loaded by the same dist/index.js as omemo-wasm (see that row)',
  'omemo-wasm-0.3': 'same process work as omemo-wasm (one library, open() prepares both versions; see that row)',
};

/**
 * The module our cold start imports: dist/index.js (see ensureBuiltPackage). When the build fails, src/index.ts
 * through tsx (then transpilation is included: said in the note).
 */
function ourEntry(log: (s: string) => void): { url: string; nodeArgs: string[]; note: string } {
  const { built, rebuilt } = ensureBuiltPackage(log);
  if (!built) {
    return {
      url: pathToFileURL(join(ROOT, 'src', 'index.ts')).href,
      nodeArgs: ['--import', 'tsx'],
      note: BUILD_FAILED_NOTE,
    };
  }
  return {
    url: pathToFileURL(DIST).href,
    nodeArgs: [],
    note: `dist/index.js${rebuilt ? ' (rebuilt for this run)' : ''}`,
  };
}

function runChild(source: string, nodeArgs: string[]): Promise<ChildTiming> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, '--input-type=module', '-e', source], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      err += `\nkilled after ${CHILD_TIMEOUT_MS / 1000} s`;
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(line) as ChildTiming);
      } catch (e) {
        reject(
          new Error(
            `cold-start child failed (${(e as Error).message}): ${err.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
      }
    });
  });
}

/** Runs `spawns` cold starts per implementation, interleaved so machine noise spreads evenly. */
export async function runColdStart(
  impls: readonly ImplName[],
  spawns: number,
  log: (s: string) => void,
): Promise<CaseRow[]> {
  const rows: CaseRow[] = [];
  const jobs: {
    impl: ImplName;
    source: string;
    nodeArgs: string[];
    note: string;
    timings: ChildTiming[];
    error?: string;
  }[] = [];
  for (const impl of impls) {
    const skip = SKIP[impl];
    if (skip !== undefined) {
      rows.push({ case: 'cold-start', impl, usPerDevice: null, samples: 0, skipped: skip });
      continue;
    }
    if (impl === 'omemo-wasm') {
      const e = ourEntry(log);
      jobs.push({ impl, source: ours(e.url), nodeArgs: e.nodeArgs, note: e.note, timings: [] });
    } else {
      jobs.push({ impl, source: SOURCES[impl]!, nodeArgs: [], note: 'the npm package', timings: [] });
    }
  }
  for (let s = 0; s < spawns; s++) {
    for (const j of jobs) {
      if (j.error !== undefined) continue;
      try {
        j.timings.push(await runChild(j.source, j.nodeArgs));
      } catch (e) {
        j.error = (e as Error).message;
      }
    }
  }
  for (const j of jobs) {
    if (j.timings.length === 0) {
      rows.push({ case: 'cold-start', impl: j.impl, usPerDevice: null, samples: 0, skipped: j.error ?? 'no sample' });
      continue;
    }
    const ready = median(j.timings.map((t) => t.readyMs));
    const load = median(j.timings.map((t) => t.loadMs));
    const keys = median(j.timings.map((t) => t.keysMs));
    log(`  [${j.impl}] cold-start: ${ready.toFixed(0)} ms (${j.timings.length} processes)\n`);
    rows.push({
      case: 'cold-start',
      impl: j.impl,
      usPerDevice: Math.round(ready * 1000),
      samples: j.timings.length,
      note: `process start → ready; medians: import ${load.toFixed(0)} ms + keys ${keys.toFixed(0)} ms; ${j.note}${j.error ? `; a later spawn failed: ${j.error}` : ''}`,
    });
  }
  return rows;
}
