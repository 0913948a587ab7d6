// scripts/check-layers.mjs, the layering check of `npm test`: it passes on this repository and on a clean
// temporary tree, and catches each kind of violation planted in such a tree (exit status 1, one line each).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PROJECT_ROOT } from '../shared-dir';

const CHECKER = join(PROJECT_ROOT, 'scripts', 'check-layers.mjs');
const dirs: string[] = [];

/** A clean tree: every layer imports only from below; comments and strings that look like imports. */
const CLEAN: Record<string, string> = {
  'src/crypto/bytes.ts': [
    `import sodium from 'libsodium-wrappers-sumo';`,
    `export const x = (): unknown => globalThis.crypto.subtle ?? sodium;`,
  ].join('\n'),
  'src/crypto/node.ts': [
    `export type C = typeof import('node:crypto');`,
    `export const load = () => import('node:crypto');`,
  ].join('\n'),
  'src/protocol/session.ts': `import { x } from '../crypto/bytes';\nexport const y = x;\n`,
  'src/omemo/manager.ts': [
    `import { y } from '../protocol/session';`,
    `import type { C } from '../crypto/node';`,
    `// import { z } from '../adapters/client'; (a comment, not an import)`,
    `export const s = "import('../adapters/client') from '../index'";`,
    `export const m = (c?: C) => [y, c, { crypto: 1 }.crypto];`,
  ].join('\n'),
  'src/adapters/client.ts': `export * from '../omemo/manager';\nexport { x } from '../crypto/bytes';\n`,
  'src/testing/suite.ts': [
    `import { s } from '../omemo/manager';`,
    `import type { C } from '../crypto/node';`,
    `export const t = (c?: C) => [s, c];`,
  ].join('\n'),
  'src/index.ts': `export * from './adapters/client';\nexport * from './omemo/manager';\n`,
  'src/testing.ts': `export { t } from './testing/suite';\n`,
};

function tree(extra: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'omemo-layers-'));
  dirs.push(root);
  for (const [path, text] of Object.entries({ ...CLEAN, ...extra })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function check(root: string): { status: number | null; lines: string[] } {
  const r = spawnSync(process.execPath, [CHECKER, root], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.stderr, '', 'nothing on stderr');
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== '') };
}

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('this repository passes', () => {
  const r = check(PROJECT_ROOT);
  assert.equal(r.lines, []);
  assert.is(r.status, 0);
});

test('a clean tree passes (downward imports, type imports, comments and strings that look like imports)', () => {
  const r = check(tree());
  assert.equal(r.lines, []);
  assert.is(r.status, 0);
});

test('an upward import is caught, also as a type import, a re-export or a dynamic import', () => {
  const cases: Record<string, string> = {
    'src/crypto/bad.ts': `import { y } from '../protocol/session';\nexport const b = y;\n`,
    'src/protocol/bad.ts': `import type { m } from '../omemo/manager';\nexport type B = typeof m;\n`,
    'src/omemo/bad.ts': `export * from '../adapters/client';\n`,
    'src/adapters/bad.ts': `export const b = () => import('../index');\n`,
    'src/omemo/uses-testing.ts': `import { t } from '../testing/suite';\nexport const u = t;\n`,
    'src/adapters/uses-testing.ts': `export type T = typeof import('../testing/suite');\n`,
    'src/testing/bad.ts': `export { t } from '../testing';\n`,
  };
  const r = check(tree(cases));
  assert.is(r.status, 1);
  assert.equal(r.lines.sort(), [
    `src/adapters/bad.ts: imports upward ../index (adapters → index)`,
    `src/adapters/uses-testing.ts: imports upward ../testing/suite (adapters → testing)`,
    `src/crypto/bad.ts: imports upward ../protocol/session (crypto → protocol)`,
    `src/omemo/bad.ts: imports upward ../adapters/client (omemo → adapters)`,
    `src/omemo/uses-testing.ts: imports upward ../testing/suite (omemo → testing)`,
    `src/protocol/bad.ts: imports upward ../omemo/manager (protocol → omemo)`,
    `src/testing/bad.ts: imports upward ../testing (testing → index)`,
  ]);
});

test('crypto primitives outside src/crypto are caught: libsodium, node:crypto, require("crypto"), WebCrypto', () => {
  const r = check(
    tree({
      'src/protocol/a.ts': `import sodium from 'libsodium-wrappers';\nexport const a = sodium;\n`,
      'src/omemo/b.ts': `export const b = () => import('node:crypto');\n`,
      'src/adapters/c.ts': `// eslint-disable-next-line\nexport const c = require('crypto');\n`,
      'src/omemo/d.ts': `export const d = () => crypto.getRandomValues(new Uint8Array(4));\n`,
      'src/protocol/e.ts': `export const e = globalThis['crypto'];\n`,
    }),
  );
  assert.is(r.status, 1);
  assert.equal(r.lines.sort(), [
    'src/adapters/c.ts: imports crypto outside src/crypto',
    'src/omemo/b.ts: imports node:crypto outside src/crypto',
    'src/omemo/d.ts: uses WebCrypto outside src/crypto',
    'src/protocol/a.ts: imports libsodium-wrappers outside src/crypto',
    'src/protocol/e.ts: uses WebCrypto outside src/crypto',
  ]);
});

test('imports leaving src/ and files outside the layers are caught', () => {
  const r = check(
    tree({
      'src/omemo/out.ts': `import { r } from '../../examples/router';\nexport const o = r;\n`,
      'src/util/helper.ts': `export const h = 1;\n`,
      'src/omemo/uses-util.ts': `import { h } from '../util/helper';\nexport const u = h;\n`,
    }),
  );
  assert.is(r.status, 1);
  assert.equal(r.lines.sort(), [
    'src/omemo/out.ts: imports ../../examples/router, outside src/',
    'src/omemo/uses-util.ts: imports ../util/helper, which is in no layer',
    'src/util/helper.ts: not in a layer (src/{crypto,protocol,omemo,adapters,testing}/ or src/ itself)',
  ]);
});

test('a root without src/ fails', () => {
  const root = mkdtempSync(join(tmpdir(), 'omemo-layers-'));
  dirs.push(root);
  const r = check(root);
  assert.is(r.status, 1);
  assert.match(r.lines.join('\n'), /cannot be read/);
});

test.run();
