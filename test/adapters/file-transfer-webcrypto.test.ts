// The file path where node:crypto is absent (browsers), in a child process (file-transfer-webcrypto-child.ts):
// the WebCrypto back end is chosen, the upload body is one Uint8Array of plaintext + 16 bytes, it decrypts and
// downloads back, and a tampered byte is authentication-failed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const CHILD = fileURLToPath(new URL('./file-transfer-webcrypto-child.ts', import.meta.url));

test('without node:crypto: WebCrypto encrypts, the PUT body is bytes, download and tamper check work', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out, {
    backend: 'webcrypto',
    bodyIsBytes: true,
    putSize: 100_016,
    sealedLength: 100_016,
    roundTrip: true,
    tamperedCode: 'authentication-failed',
  });
});

test.run();
