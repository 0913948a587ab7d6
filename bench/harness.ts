// Shared bits of the benchmark files (not a benchmark itself: bench/run.ts only loads `*.bench.ts`):
// the result type every `run()` returns, conversion from tinybench tasks, and the plain-text table.
import type { Bench, Task } from 'tinybench';

/** One benchmark result: the median time of one operation in µs and how many samples it rests on. */
export interface BenchResult {
  name: string;
  medianUs: number;
  samples: number;
}

/** What every `bench/*.bench.ts` exports. */
export type BenchRun = () => Promise<BenchResult[]>;

/**
 * The median of a finished tinybench task in µs, divided by `per` (e.g. the number of devices of a
 * fan-out, to report µs per device).
 * @throws Error when the task failed or has no statistics.
 */
export function resultOf(task: Task, per = 1, name = task.name): BenchResult {
  const r = task.result;
  if (r.state === 'errored') throw new Error(`benchmark "${task.name}" failed: ${r.error.message}`, { cause: r.error });
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics')
    throw new Error(`benchmark "${task.name}" did not complete (${r.state})`);
  return { name, medianUs: (r.latency.p50 * 1000) / per, samples: r.latency.samplesCount };
}

/** Runs a bench and returns one result per task. */
export async function runBench(bench: Bench, per: Record<string, number> = {}): Promise<BenchResult[]> {
  await bench.run();
  return bench.tasks.map((t) => resultOf(t, per[t.name] ?? 1));
}

function formatUs(us: number): string {
  if (us >= 100) return us.toFixed(0);
  if (us >= 10) return us.toFixed(1);
  return us.toFixed(2);
}

/** A plain-text table of results, optionally in titled groups. */
export function formatTable(groups: { title?: string; results: BenchResult[] }[]): string {
  const all = groups.flatMap((g) => g.results);
  const indent = groups.some((g) => g.title !== undefined) ? 2 : 0;
  const nameWidth = Math.max(9, ...all.map((r) => r.name.length + indent));
  const usCells = all.map((r) => formatUs(r.medianUs));
  const usWidth = Math.max(10, ...usCells.map((c) => c.length));
  const lines: string[] = [
    `${'benchmark'.padEnd(nameWidth)}  ${'median µs'.padStart(usWidth)}  ${'samples'.padStart(8)}`,
  ];
  const rule = '─'.repeat(nameWidth + usWidth + 12);
  lines.push(rule);
  for (const g of groups) {
    if (g.title !== undefined) lines.push(`${g.title}:`);
    for (const r of g.results) {
      lines.push(
        `${(' '.repeat(indent) + r.name).padEnd(nameWidth)}  ${formatUs(r.medianUs).padStart(usWidth)}  ${String(r.samples).padStart(8)}`,
      );
    }
  }
  return lines.join('\n');
}
