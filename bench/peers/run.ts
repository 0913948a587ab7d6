// `npm run bench:peers`: the same work with our library and with libsignal, @privacyresearch/libsignal-protocol-
// typescript and @signalapp/libsignal-client (devDependencies), in-memory stores, one run, one machine.
// Each implementation runs in its own child process (bench/peers/child.ts), one after the other, then the
// memory children (--expose-gc), then the cold starts (bench/peers/cold-start.ts).
// Options: --json (one JSON object on stdout; progress always on stderr), --only impl,… , --cases case,… ,
// --quick (few samples: a smoke test), --real-sessions (privacyresearch: 1000 real sessions, ~2 min more),
// --no-memory.
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { runColdStart } from './cold-start';
import { BUILD_FAILED_NOTE, DIST_DIR, PACKAGE_DIR_ENV, ROOT, ensureBuiltPackage } from './package-entry';
import {
  ALL_IMPLS,
  CASES,
  FANOUT_DEVICES,
  PAYLOAD_BYTES,
  REQUIRED_IMPLS,
  STALL_MS,
  type CaseName,
  type CaseRow,
  type ChildMessage,
  type ImplName,
  type MemoryRow,
} from './types';

const CHILD = join(ROOT, 'bench', 'peers', 'child.ts');
const COLD_START_SPAWNS = 7;
const QUICK_COLD_START_SPAWNS = 2;
const US = 'omemo-wasm';

interface Options {
  json: boolean;
  impls: ImplName[];
  cases: CaseName[];
  quick: boolean;
  realSessions: boolean;
  memory: boolean;
}

const USAGE = `usage: npm run bench:peers -- [--json] [--only ${ALL_IMPLS.join(',')}] [--cases ${CASES.join(',')}] [--quick] [--real-sessions] [--no-memory]`;

function listArg(args: string[], flag: string): string[] | undefined {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a comma-separated list\n${USAGE}`);
  return v.split(',').filter(Boolean);
}

function parseOptions(args: string[]): Options {
  const known = new Set(['--json', '--only', '--cases', '--quick', '--real-sessions', '--no-memory', '--help']);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!known.has(a)) throw new Error(`unknown argument ${a}\n${USAGE}`);
    if (a === '--only' || a === '--cases') i++;
  }
  const impls = listArg(args, '--only') ?? [...ALL_IMPLS];
  for (const i of impls)
    if (!ALL_IMPLS.includes(i as ImplName)) throw new Error(`unknown impl ${i} (one of ${ALL_IMPLS.join(', ')})`);
  const cases = listArg(args, '--cases') ?? [...CASES];
  for (const c of cases)
    if (!CASES.includes(c as CaseName)) throw new Error(`unknown case ${c} (one of ${CASES.join(', ')})`);
  return {
    json: args.includes('--json'),
    impls: ALL_IMPLS.filter((i) => impls.includes(i)),
    cases: CASES.filter((c) => cases.includes(c)),
    quick: args.includes('--quick'),
    realSessions: args.includes('--real-sessions'),
    memory: !args.includes('--no-memory'),
  };
}

const log = (s: string) => process.stderr.write(s);

/**
 * Runs child.ts and collects its IPC messages; its stdout and stderr are forwarded to our stderr. A child
 * whose heartbeats stop for STALL_MS has a blocked main thread (a deadlock: busy work never blocks the event
 * loop that long) and is killed; `tail` then says so.
 */
function runChild(
  args: string[],
  nodeFlags: string[],
): Promise<{ messages: ChildMessage[]; code: number | null; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', CHILD, ...args], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const messages: ChildMessage[] = [];
    let tail = '';
    let lastBeat = performance.now();
    let stalled = false;
    const forward = (d: Buffer) => {
      process.stderr.write(d);
      tail = (tail + d.toString()).slice(-2000);
    };
    const watchdog = setInterval(() => {
      if (performance.now() - lastBeat < STALL_MS) return;
      stalled = true;
      log(`  the child process stopped responding for ${STALL_MS / 1000} s (main thread blocked): killing it\n`);
      child.kill('SIGKILL');
    }, 1000);
    child.stdout!.on('data', forward);
    child.stderr!.on('data', forward);
    child.on('message', (m) => {
      lastBeat = performance.now();
      if ((m as ChildMessage).type !== 'alive') messages.push(m as ChildMessage);
    });
    child.on('error', (e) => {
      clearInterval(watchdog);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(watchdog);
      if (stalled) tail += `\nits main thread stopped responding for ${STALL_MS / 1000} s (deadlock) and it was killed`;
      resolve({ messages, code, tail });
    });
  });
}

function lastLines(s: string, n: number): string {
  return s.trim().split('\n').slice(-n).join(' | ');
}

function fmtUs(us: number): string {
  if (us >= 10000) return us.toFixed(0);
  if (us >= 100) return us.toFixed(0);
  if (us >= 10) return us.toFixed(1);
  return us.toFixed(2);
}

function fmtBytes(b: number | null): string {
  if (b === null) return '—';
  if (Math.abs(b) >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(1)} MiB`;
  if (Math.abs(b) >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${b} B`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Cases that share one set-up in child.ts (the three fan-outs share a 1000-device world). */
function caseGroup(c: CaseName): string {
  return c.startsWith('fanout-') ? 'fanout' : c;
}

interface Collected {
  cases: CaseRow[];
  memory: MemoryRow[];
  info: Map<ImplName, { title: string; notes: string[] }>;
}

/** The environment of the children: which build of omemo-wasm its public-API rows load (package-entry.ts). */
let childEnv: NodeJS.ProcessEnv = process.env;

async function collect(o: Options): Promise<Collected> {
  const out: Collected = { cases: [], memory: [], info: new Map() };
  const inProcess = o.cases.filter((c) => c !== 'cold-start');
  if (inProcess.length > 0 && o.impls.some((i) => i === 'omemo-wasm' || i === 'omemo-wasm-0.3')) {
    const { built, rebuilt } = ensureBuiltPackage(log);
    const note = built ? `the built package, dist/${rebuilt ? ' (rebuilt for this run)' : ''}` : BUILD_FAILED_NOTE;
    log(`omemo-wasm public API: ${note}\n`);
    if (built) childEnv = { ...process.env, [PACKAGE_DIR_ENV]: DIST_DIR };
  }
  const flags = [...(o.quick ? ['--quick'] : []), ...(o.realSessions ? ['--real-sessions'] : [])];
  for (const impl of o.impls) {
    if (inProcess.length === 0) break;
    const t = performance.now();
    let remaining = inProcess;
    while (remaining.length > 0) {
      log(`${impl}: ${remaining.join(', ')}\n`);
      const r = await runChild(['cases', impl, '--cases', remaining.join(','), ...flags], []);
      for (const m of r.messages) {
        if (m.type === 'case') out.cases.push(m.row);
        if (m.type === 'info') out.info.set(m.impl, { title: m.title, notes: m.notes });
      }
      const unreported = remaining.filter((c) => !out.cases.some((x) => x.impl === impl && x.case === c));
      if (unreported.length === 0) break;
      // The process died in the first unreported case (cases run in order); that case and the cases sharing
      // its set-up fail, the others get a fresh process.
      const group = caseGroup(unreported[0]!);
      for (const c of unreported.filter((x) => caseGroup(x) === group)) {
        out.cases.push({
          case: c,
          impl,
          usPerDevice: null,
          samples: 0,
          skipped: `its bench process died (exit ${r.code}) during ${unreported[0]}: ${lastLines(r.tail, 2)}`,
        });
      }
      remaining = unreported.filter((x) => caseGroup(x) !== group);
    }
    log(`${impl}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  if (o.memory) {
    for (const impl of o.impls) {
      const t = performance.now();
      const r = await runChild(['memory', impl, ...flags], ['--expose-gc']);
      const m = r.messages.find((x): x is Extract<ChildMessage, { type: 'memory' }> => x.type === 'memory');
      out.memory.push(
        m?.row ?? {
          impl,
          bytesPerSession: null,
          recordFormat: '',
          sessionsBuilt: 0,
          heapBytesPer10k: null,
          rssBytesPer10k: null,
          skipped: `its process exited (code ${r.code}): ${lastLines(r.tail, 3)}`,
        },
      );
      log(`${impl}: memory in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    }
  }
  if (o.cases.includes('cold-start')) {
    log(`cold-start: ${o.quick ? QUICK_COLD_START_SPAWNS : COLD_START_SPAWNS} fresh processes per library\n`);
    out.cases.push(...(await runColdStart(o.impls, o.quick ? QUICK_COLD_START_SPAWNS : COLD_START_SPAWNS, log)));
  }
  out.cases.sort(
    (a, b) => CASES.indexOf(a.case) - CASES.indexOf(b.case) || ALL_IMPLS.indexOf(a.impl) - ALL_IMPLS.indexOf(b.impl),
  );
  return out;
}

function environment(): Record<string, string | number> {
  const cpu = cpus();
  return {
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    date: new Date().toISOString(),
  };
}

function human(o: Options, c: Collected, seconds: number): string {
  const lines: string[] = [];
  const env = environment();
  lines.push(`bench:peers — Node ${env.node}, ${env.platform}, ${env.cpus} × ${env.cpuModel}, ${env.date}`);
  lines.push(
    `Median µs per device for the fan-outs (${FANOUT_DEVICES} / 100 devices, one ${PAYLOAD_BYTES}-byte payload), µs per operation otherwise; cold-start in µs too.`,
  );
  lines.push(`×r = that implementation's time ÷ ${US}'s (above 1: ${US} is faster).`);
  lines.push('');
  const ours = new Map(c.cases.filter((r) => r.impl === US).map((r) => [r.case, r.usPerDevice]));
  const cell = (r: CaseRow | undefined): string => {
    if (r === undefined) return '';
    if (r.usPerDevice === null) return 'n/a*';
    const base = ours.get(r.case);
    return r.impl === US || base === undefined || base === null
      ? fmtUs(r.usPerDevice)
      : `${fmtUs(r.usPerDevice)} ×${(r.usPerDevice / base).toFixed(2)}`;
  };
  const rows = o.cases.map((k) => [k, ...o.impls.map((i) => cell(c.cases.find((r) => r.case === k && r.impl === i)))]);
  lines.push(table(['case', ...o.impls], rows));
  lines.push('');
  lines.push('samples:');
  lines.push(
    table(
      ['case', ...o.impls],
      o.cases.map((k) => [
        k,
        ...o.impls.map((i) => String(c.cases.find((r) => r.case === k && r.impl === i)?.samples ?? '')),
      ]),
    ),
  );

  const skipped = c.cases.filter((r) => r.skipped !== undefined);
  if (skipped.length) {
    lines.push('');
    lines.push('* not run:');
    for (const r of skipped) lines.push(`  ${r.impl} ${r.case}: ${r.skipped}`);
  }
  const noted = c.cases.filter((r) => r.note !== undefined);
  if (noted.length) {
    lines.push('');
    lines.push('notes on single numbers:');
    for (const r of noted) lines.push(`  ${r.impl} ${r.case}: ${r.note}`);
  }
  if (c.memory.length) {
    lines.push('');
    lines.push(
      'memory (one stored established session; heap and RSS growth for 10 000 sessions freshly built from bundles, after gc):',
    );
    lines.push(
      table(
        ['impl', 'record', 'heap/10k', 'rss/10k', 'built'],
        c.memory.map((m) => [
          m.impl,
          fmtBytes(m.bytesPerSession),
          fmtBytes(m.heapBytesPer10k),
          fmtBytes(m.rssBytesPer10k),
          String(m.sessionsBuilt || '—'),
        ]),
      ),
    );
    for (const m of c.memory) {
      const bits = [
        m.recordFormat && `record = ${m.recordFormat}`,
        m.note,
        m.skipped && `not measured: ${m.skipped}`,
      ].filter(Boolean);
      if (bits.length) lines.push(`  ${m.impl}: ${bits.join('; ')}`);
    }
    lines.push(
      '  heap = process.memoryUsage().heapUsed (JS objects); rss also counts native memory (libsignal-client keeps its records in Rust) and is coarse.',
    );
  }
  lines.push('');
  lines.push('what each implementation does:');
  for (const impl of o.impls) {
    const info = c.info.get(impl);
    if (info === undefined) continue;
    lines.push(`  ${impl} — ${info.title}`);
    for (const n of info.notes) lines.push(`    - ${n}`);
  }
  lines.push('');
  lines.push(
    `Each implementation ran in its own process, one after the other (the memory and cold-start processes after them). Sampling: medians; fan-out samples each advance every session by one message; decrypt samples get a fresh message (prepared outside the timing).${o.quick ? ' --quick: 3 samples per case, numbers are a smoke test only.' : ''}`,
  );
  lines.push(`total runtime ${seconds.toFixed(1)} s`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const o = parseOptions(args);
  const t0 = performance.now();
  const c = await collect(o);
  const seconds = (performance.now() - t0) / 1000;
  log(`\nbench:peers finished in ${seconds.toFixed(1)} s\n\n`);
  if (o.json) {
    const info = Object.fromEntries([...c.info].map(([k, v]) => [k, v]));
    console.log(
      JSON.stringify({
        cases: c.cases,
        memory: c.memory,
        impls: info,
        environment: environment(),
        runtimeSeconds: Math.round(seconds * 10) / 10,
      }),
    );
  } else {
    console.log(human(o, c, seconds));
  }
  const missing = REQUIRED_IMPLS.filter((i) => o.impls.includes(i)).flatMap((i) =>
    o.cases.filter((k) => !c.cases.some((r) => r.impl === i && r.case === k)).map((k) => `${i}/${k}`),
  );
  if (missing.length) {
    log(`missing rows: ${missing.join(', ')}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    log(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
