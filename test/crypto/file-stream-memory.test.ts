// Constant memory of the XEP-0454 file cipher (src/crypto/aes-gcm-stream.ts, node:crypto): 200 MiB streamed
// through encrypt and decrypt in a child process must raise its peak RSS by far less than the file's size. The
// rise is the collector's slack for the 1 MiB chunks (about 45–60 MiB here for 50 MiB and 1 GiB files alike).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const CHILD = fileURLToPath(new URL('./file-stream-memory-child.ts', import.meta.url));
const FILE_MIB = 200;
/** Peak RSS rise allowed: under half the file (buffering it whole would need at least the file's size). */
const MAX_RISE_MIB = FILE_MIB / 2;

test(`streaming ${FILE_MIB} MiB through encrypt and decrypt keeps the peak RSS rise under ${MAX_RISE_MIB} MiB`, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, String(FILE_MIB)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    bytes: number;
    rssBeforeKiB: number;
    rssPeakKiB: number;
    intact: boolean;
  };
  assert.is(out.bytes, FILE_MIB * 1024 * 1024);
  assert.ok(out.intact, 'the plaintext came back intact');
  const riseMib = (out.rssPeakKiB - out.rssBeforeKiB) / 1024;
  console.log(
    `  peak RSS rise for ${FILE_MIB} MiB: ${riseMib.toFixed(1)} MiB (peak ${(out.rssPeakKiB / 1024).toFixed(0)} MiB)`,
  );
  assert.ok(riseMib < MAX_RISE_MIB, `peak RSS rose by ${riseMib.toFixed(1)} MiB`);
});

test.run();
