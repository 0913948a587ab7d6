// One bench:peers process per implementation (spawned by run.ts; results go back over IPC, progress to
// stderr): `child.ts cases <impl> [--cases a,b] [--quick] [--real-sessions]` measures the in-process cases,
// `child.ts memory <impl> [--quick]` (run with --expose-gc) measures stored record size and heap per session.
import { formatWithOptions } from 'node:util';
import { loadAdapter } from './registry';
import { measure, type SamplePolicy } from './sampler';
import {
  ALL_IMPLS,
  BURST_CASES,
  CASES,
  FANOUT_DEVICES,
  FANOUT_SMALL,
  HEARTBEAT_MS,
  check,
  makePayload,
  sameBytes,
  type CaseName,
  type CaseRow,
  type ChildMessage,
  type FanoutWorld,
  type ImplName,
  type MemoryRow,
  type PeerAdapter,
} from './types';

/** Sampling per case: fan-outs to 1000 devices are long (up to ~1 s each for privacyresearch), so fewer. */
const POLICIES: Record<Exclude<CaseName, 'cold-start'>, SamplePolicy> = {
  // Warmed up like the steady cases (a bot builds sessions for months). Before, no build ran untimed at all (the
  // sampler's warm-up skipped `run` for cases without a check): the samples were builds 1..400, while V8 was still
  // optimising the functions a build calls once (omemo-wasm's median of builds 6..405 was 444-512 µs, of builds
  // 2006..2405 387-437; libsignal-client's stayed at 414-441).
  'session-build': { warmup: 5, warmupMs: 1000, warmupMax: 5000, min: 15, max: 400, budgetMs: 2000 },
  'fanout-first-1000': { warmup: 1, min: 5, max: 40, budgetMs: 3000 },
  'fanout-steady-100': { warmup: 3, warmupMs: 1000, warmupMax: 1000, min: 10, max: 200, budgetMs: 2000 },
  'fanout-steady-1000': { warmup: 1, warmupMs: 1000, warmupMax: 100, min: 5, max: 40, budgetMs: 3000 },
  // Steady cases warm up for a second (at most warmupMax runs) before sampling: see SamplePolicy.warmupMs.
  'decrypt-steady': { warmup: 20, warmupMs: 1000, warmupMax: 5000, min: 30, max: 3000, budgetMs: 1500 },
  'decrypt-ratchet': { warmup: 5, warmupMs: 1000, warmupMax: 1000, min: 20, max: 1000, budgetMs: 1500 },
  // One sample is a whole burst (2000 / 100 messages); preparing one (new contacts) costs more than timing it.
  'receive-burst-sqlite': { warmup: 1, min: 5, max: 10, budgetMs: 2000 },
  'first-message-burst': { warmup: 1, min: 5, max: 10, budgetMs: 2000 },
  'fanout-burst-sqlite': { warmup: 2, min: 10, max: 40, budgetMs: 2000 },
};
const QUICK: SamplePolicy = { warmup: 1, min: 3, max: 3, budgetMs: 0 };

// libsignal logs with console.*; stdout belongs to run.ts's output, so everything printed here goes to stderr.
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  console[level] = (...args: unknown[]) => process.stderr.write(`${formatWithOptions({ depth: 2 }, ...args)}\n`);
}

/** IPC sends still in flight (awaited before the process exits). */
const inFlight: Promise<void>[] = [];

function send(m: ChildMessage): void {
  const channel = process.send?.bind(process);
  if (channel === undefined) throw new Error('child.ts must be spawned by bench/peers/run.ts (needs an IPC channel)');
  inFlight.push(
    new Promise((resolve, reject) => channel(m, undefined, {}, (err: Error | null) => (err ? reject(err) : resolve()))),
  );
}

// The heartbeat: fires only while the event loop turns, so the parent can tell a deadlocked process from a busy one.
setInterval(() => process.send?.({ type: 'alive' } satisfies ChildMessage), HEARTBEAT_MS).unref();

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function progress(impl: string, what: string): void {
  process.stderr.write(`  [${impl}] ${what}\n`);
}

function fmt(us: number): string {
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

async function runCases(
  impl: ImplName,
  wanted: readonly CaseName[],
  quick: boolean,
  realSessions: boolean,
): Promise<void> {
  const policy = (c: Exclude<CaseName, 'cold-start'>) => (quick ? QUICK : POLICIES[c]);
  const row = (r: CaseRow) => {
    if (r.usPerDevice !== null) r.usPerDevice = Math.round(r.usPerDevice * 100) / 100;
    send({ type: 'case', row: r });
    progress(
      impl,
      r.skipped === undefined
        ? `${r.case}: ${fmt(r.usPerDevice!)} µs (${r.samples} samples)`
        : `${r.case}: skipped (${r.skipped})`,
    );
  };
  const skip = (c: CaseName, why: string) => row({ case: c, impl, usPerDevice: null, samples: 0, skipped: why });
  const want = (c: CaseName) => wanted.includes(c);

  let adapter: PeerAdapter;
  try {
    adapter = await loadAdapter(impl);
  } catch (e) {
    for (const c of wanted) if (c !== 'cold-start') skip(c, `the library failed to load: ${reason(e)}`);
    return;
  }
  send({ type: 'info', impl, title: adapter.title, notes: adapter.notes });
  const payload = makePayload();

  if (want('session-build')) {
    try {
      const t = performance.now();
      const b = await adapter.createBuilder();
      const m = await measure({ policy: policy('session-build'), prepare: () => b.prepare(), run: () => b.build() });
      const notes: string[] = [];
      for (const v of adapter.buildVariants ?? []) {
        const vb = await adapter.createBuilder(v.options);
        notes.push(
          `${v.label}: ${fmt((await measure({ policy: policy('session-build'), prepare: () => vb.prepare(), run: () => vb.build() })).medianUs)} µs`,
        );
      }
      row({
        case: 'session-build',
        impl,
        usPerDevice: m.medianUs,
        samples: m.samples,
        ...(notes.length ? { note: notes.join('; ') } : {}),
      });
      progress(impl, `session-build took ${((performance.now() - t) / 1000).toFixed(1)} s`);
    } catch (e) {
      skip('session-build', `failed: ${reason(e)}`);
    }
  }

  const fanoutCases = (['fanout-first-1000', 'fanout-steady-100', 'fanout-steady-1000'] as const).filter(want);
  if (fanoutCases.length > 0) {
    let world: FanoutWorld | undefined;
    try {
      const t = performance.now();
      world = await adapter.createWorld(FANOUT_DEVICES, realSessions ? { templates: FANOUT_DEVICES } : {});
      await world.buildAll();
      progress(
        impl,
        `${FANOUT_DEVICES} devices set up and sessions built in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    } catch (e) {
      for (const c of fanoutCases) skip(c, `setting up ${FANOUT_DEVICES} devices failed: ${reason(e)}`);
    }
    if (world !== undefined) {
      const w = world;
      const fan = async (c: (typeof fanoutCases)[number], count: number, keyExchange: boolean) => {
        const m = await measure({
          policy: policy(c),
          prepare: () => w.beforeFanout?.(count),
          run: () => w.fanout(payload, count),
          check: (out) => {
            check(out.count === count, `${c}: ${out.count}/${count} devices`);
            for (let i = 0; i < count; i++)
              check(
                out.isKeyExchange(i) === keyExchange,
                `${c}: device ${i} got a ${keyExchange ? 'plain' : 'key-exchange'} message`,
              );
          },
          per: count,
        });
        row({ case: c, impl, usPerDevice: m.medianUs, samples: m.samples });
      };
      let answered = false;
      for (const c of fanoutCases) {
        try {
          if (c === 'fanout-first-1000') {
            await fan(c, FANOUT_DEVICES, true);
            continue;
          }
          if (!answered) {
            const t = performance.now();
            await w.answerAll(payload);
            answered = true;
            progress(impl, `every device answered in ${((performance.now() - t) / 1000).toFixed(1)} s`);
          }
          await fan(c, c === 'fanout-steady-100' ? FANOUT_SMALL : FANOUT_DEVICES, false);
        } catch (e) {
          skip(c, `failed: ${reason(e)}`);
        }
      }
      w.dispose?.();
    }
  }

  for (const c of (['decrypt-steady', 'decrypt-ratchet'] as const).filter(want)) {
    try {
      const pair = await adapter.createPair();
      const m = await measure({
        policy: policy(c),
        prepare: () => (c === 'decrypt-steady' ? pair.prepareSteady(payload) : pair.prepareRatchet(payload)),
        run: () => pair.decrypt(),
        check: (plain) => check(sameBytes(plain, payload), `${c}: the plaintext differs`),
      });
      row({ case: c, impl, usPerDevice: m.medianUs, samples: m.samples });
    } catch (e) {
      skip(c, `failed: ${reason(e)}`);
    }
  }

  for (const c of BURST_CASES.filter(want)) {
    const create =
      c === 'receive-burst-sqlite'
        ? adapter.createReceiveBurst
        : c === 'first-message-burst'
          ? adapter.createFirstMessageBurst
          : adapter.createFanoutBurst;
    if (create === undefined) {
      skip(c, adapter.burstSkips?.[c] ?? 'no equivalent in this library');
      continue;
    }
    try {
      const burst = await create.call(adapter);
      const m = await measure({
        policy: policy(c),
        prepare: () => burst.prepare(),
        run: () => burst.run(),
        check: (n) => check(n === burst.messages, `${c}: ${n}/${burst.messages} messages decrypted`),
        per: burst.messages,
      });
      const note = burst.note?.();
      row({
        case: c,
        impl,
        usPerDevice: m.medianUs,
        samples: m.samples,
        note: `${burst.messages} ${burst.unit ?? 'messages'} per burst, ${Math.round(1e6 / m.medianUs)} ${burst.unit ?? 'messages'}/s${note ? `; ${note}` : ''}`,
      });
      burst.dispose?.();
    } catch (e) {
      skip(c, `failed: ${reason(e)}`);
    }
  }
}

/** Keeps the measured sessions reachable until the heap has been read. */
let keepAlive: unknown;

async function runMemory(impl: ImplName, quick: boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  let adapter: PeerAdapter;
  try {
    adapter = await loadAdapter(impl);
  } catch (e) {
    send({
      type: 'memory',
      row: {
        impl,
        bytesPerSession: null,
        recordFormat: '',
        sessionsBuilt: 0,
        heapBytesPer10k: null,
        rssBytesPer10k: null,
        skipped: `the library failed to load: ${reason(e)}`,
      },
    });
    return;
  }
  const row: MemoryRow = {
    impl,
    bytesPerSession: null,
    recordFormat: '',
    sessionsBuilt: 0,
    heapBytesPer10k: null,
    rssBytesPer10k: null,
  };
  const problems: string[] = [];
  try {
    const n = quick ? Math.min(200, adapter.memorySessions) : adapter.memorySessions;
    if (gc === undefined) throw new Error('needs node --expose-gc');
    // The signature check does not change what is stored; libsignal may skip it here (it is its slowest part).
    const b = await adapter.createBuilder({ verify: false });
    const collect = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
      return process.memoryUsage();
    };
    const before = await collect();
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      b.prepare();
      await b.build();
    }
    const after = await collect();
    keepAlive = b;
    row.sessionsBuilt = n;
    row.heapBytesPer10k = Math.round(((after.heapUsed - before.heapUsed) * 10000) / n);
    row.rssBytesPer10k = Math.round(((after.rss - before.rss) * 10000) / n);
    if (n !== 10000) row.note = `${n} sessions built, scaled linearly to 10 000`;
    progress(impl, `memory: ${n} sessions built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } catch (e) {
    problems.push(`heap: ${reason(e)}`);
  }
  try {
    const pair = await adapter.createPair();
    await pair.prepareSteady(makePayload());
    check(sameBytes(await pair.decrypt(), makePayload()), 'memory: pair works');
    row.bytesPerSession = await pair.recordBytes();
    row.recordFormat = pair.recordFormat;
  } catch (e) {
    problems.push(`record size: ${reason(e)}`);
  }
  if (problems.length) row.skipped = problems.join('; ');
  send({ type: 'memory', row });
  if (keepAlive === null) console.log(keepAlive);
}

async function main(): Promise<void> {
  const [mode, impl, ...rest] = process.argv.slice(2);
  if (!ALL_IMPLS.includes(impl as ImplName)) throw new Error(`unknown impl ${JSON.stringify(impl)}`);
  const quick = rest.includes('--quick');
  const casesArg = rest[rest.indexOf('--cases') + 1];
  const wanted = rest.includes('--cases') && casesArg !== undefined ? (casesArg.split(',') as CaseName[]) : [...CASES];
  if (mode === 'cases') await runCases(impl as ImplName, wanted, quick, rest.includes('--real-sessions'));
  else if (mode === 'memory') await runMemory(impl as ImplName, quick);
  else throw new Error(`unknown mode ${JSON.stringify(mode)}`);
}

// Exit explicitly once the results are delivered: some libraries keep handles open.
main().then(
  async () => {
    await Promise.all(inFlight);
    process.exit(0);
  },
  async (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await Promise.allSettled(inFlight);
    process.exit(1);
  },
);
