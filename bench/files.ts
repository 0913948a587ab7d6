// `npm run bench:files`: XEP-0454 file encryption throughput (src/crypto/aes-gcm-stream.ts) for a 100 MiB file in
// 1 MiB chunks, encrypt and decrypt, against the floor: raw node:crypto AES-256-GCM over the same chunks (no
// stream plumbing). Medians of RUNS; then the peak RSS rise of streaming 200 MiB (the child of the memory test).
// Prints a table (MB/s = 10^6 bytes per second) and one JSON line.
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { aes256GcmDecryptStream, aes256GcmEncryptStream } from '../src/crypto/aes-gcm-stream';
import { randomBytes } from '../src/crypto/random';
import { cryptoReady } from '../src/crypto/ready';

const MIB = 1 << 20;
const FILE_MIB = 100;
const RUNS = 5;
const RSS_FILE_MIB = 200;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function* chunks(data: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* data;
}

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  await cryptoReady();
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const plain = Array.from({ length: FILE_MIB }, () => randomBytes(MIB));
  const sealed: Uint8Array[] = [];
  for await (const c of aes256GcmEncryptStream(key, iv, chunks(plain))) sealed.push(c);
  let sink = 0;
  const results: Record<string, number[]> = {
    'encrypt (aes256GcmEncryptStream)': [],
    'encrypt (raw node:crypto floor)': [],
    'decrypt (aes256GcmDecryptStream)': [],
    'decrypt (raw node:crypto floor)': [],
  };
  const all = Buffer.concat(sealed);
  for (let run = 0; run < RUNS; run++) {
    results['encrypt (aes256GcmEncryptStream)']!.push(
      await time(async () => {
        for await (const c of aes256GcmEncryptStream(key, iv, chunks(plain))) sink ^= c[0]!;
      }),
    );
    results['encrypt (raw node:crypto floor)']!.push(
      await time(() => {
        const c = createCipheriv('aes-256-gcm', key, iv);
        for (const p of plain) sink ^= c.update(p)[0]!;
        c.final();
        sink ^= c.getAuthTag()[0]!;
      }),
    );
    results['decrypt (aes256GcmDecryptStream)']!.push(
      await time(async () => {
        for await (const c of aes256GcmDecryptStream(key, iv, chunks(sealed))) sink ^= c[0]!;
      }),
    );
    results['decrypt (raw node:crypto floor)']!.push(
      await time(() => {
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.setAuthTag(all.subarray(all.length - 16));
        const body = all.subarray(0, all.length - 16);
        for (let at = 0; at < body.length; at += MIB) sink ^= d.update(body.subarray(at, at + MIB))[0] ?? 0;
        d.final();
      }),
    );
  }
  const bytes = FILE_MIB * MIB;
  const rows = Object.entries(results).map(([name, ms]) => ({
    name,
    medianMs: Number(median(ms).toFixed(1)),
    mbPerS: Number((bytes / 1e6 / (median(ms) / 1000)).toFixed(0)),
  }));
  const child = fileURLToPath(new URL('../test/crypto/file-stream-memory-child.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, String(RSS_FILE_MIB)], { encoding: 'utf8' });
  const rss = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
    rssBeforeKiB: number;
    rssPeakKiB: number;
  };
  const rise = (rss.rssPeakKiB - rss.rssBeforeKiB) / 1024;
  console.log(`XEP-0454 file cipher, ${FILE_MIB} MiB in 1 MiB chunks, median of ${RUNS} (sink ${sink & 1})`);
  for (const row of rows)
    console.log(`  ${row.name.padEnd(36)} ${String(row.mbPerS).padStart(6)} MB/s  ${row.medianMs} ms`);
  console.log(`  peak RSS rise streaming ${RSS_FILE_MIB} MiB (encrypt → decrypt): ${rise.toFixed(1)} MiB`);
  console.log(JSON.stringify({ fileMiB: FILE_MIB, runs: RUNS, rows, rssFileMiB: RSS_FILE_MIB, rssRiseMiB: rise }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
