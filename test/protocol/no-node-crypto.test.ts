// Without node:crypto (browsers): sessions encrypt and decrypt in both versions with the ratchet kernel's
// AES-256-CBC and libsodium's X25519, OMEMO 0.3 payloads with WebCrypto's AES-GCM, and two managers talk. Runs in a child process so node:crypto is never loaded.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const here = dirname(fileURLToPath(import.meta.url));

test('without node:crypto: a session pair both ways, payloads and two managers talking, in both versions', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'no-node-crypto-child.ts')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines[0], 'node:crypto loaded: false');
  assert.equal(lines.slice(1), [
    'oldmemo 0: ok',
    'oldmemo 1: ok',
    'oldmemo 2: ok',
    'twomemo 0: ok',
    'twomemo 1: ok',
    'twomemo 2: ok',
    'oldmemo payload: ok',
    'twomemo payload: ok',
    'oldmemo 0: ok',
    'oldmemo 1: ok',
    'twomemo 0: ok',
    'twomemo 1: ok',
    'node:crypto loaded at the end: false',
  ]);
});

test.run();
