// `npm run bench`: runs every bench/*.bench.ts (each exports `run(): Promise<BenchResult[]>`) and prints one
// table of medians grouped by file. Options: `--json` prints a JSON array of
// `{ file, name, medianUs, samples }` on stdout instead (progress goes to stderr either way); any other
// argument keeps only the files whose name contains it (`npm run bench -- crypto`).
// Exit code 1 when a benchmark file fails (the others still run).
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatTable, type BenchResult } from './harness';

interface FileResults {
  file: string;
  results: BenchResult[];
}

function isResult(r: unknown): r is BenchResult {
  const x = r as BenchResult;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.name === 'string' &&
    typeof x.medianUs === 'number' &&
    Number.isFinite(x.medianUs) &&
    typeof x.samples === 'number'
  );
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const filters = args.filter((a) => !a.startsWith('--'));
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts') && (filters.length === 0 || filters.some((x) => f.includes(x))))
    .sort();
  if (files.length === 0) {
    console.error(`no bench/*.bench.ts files${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
    return 1;
  }

  const done: FileResults[] = [];
  let failed = 0;
  const t0 = performance.now();
  for (const file of files) {
    const t = performance.now();
    process.stderr.write(`running ${file} … `);
    try {
      const mod = (await import(pathToFileURL(join(dir, file)).href)) as { run?: unknown };
      if (typeof mod.run !== 'function') throw new Error('does not export run()');
      const results: unknown = await (mod.run as () => Promise<unknown>)();
      if (!Array.isArray(results) || !results.every(isResult))
        throw new Error('run() did not return an array of { name, medianUs, samples }');
      done.push({ file, results });
      process.stderr.write(`${results.length} results in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    } catch (e) {
      failed++;
      process.stderr.write(
        `FAILED after ${((performance.now() - t) / 1000).toFixed(1)} s\n  ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
    }
  }
  process.stderr.write(
    `${files.length} file(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s${failed ? `, ${failed} failed` : ''}\n\n`,
  );

  if (json) {
    console.log(
      JSON.stringify(
        done.flatMap((d) =>
          d.results.map((r) => ({ file: d.file, name: r.name, medianUs: r.medianUs, samples: r.samples })),
        ),
        null,
        2,
      ),
    );
  } else if (done.length > 0) {
    console.log(formatTable(done.map((d) => ({ title: d.file, results: d.results }))));
    console.log(`\nNode ${process.version}, ${process.platform}/${process.arch}; medians of tinybench samples (µs).`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
