#!/usr/bin/env node
// Proves the published package works as users install it: `npm pack`, install the tarball into a scratch
// project, then import it with ESM `import`, CommonJS `require`, and type-check a TypeScript consumer
// against the shipped declarations (both the import and the require condition).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'omemo-wasm-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`  ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`  FAIL ${name}\n${e.stdout ?? ''}${e.message}`);
  }
}

try {
  run('npm', ['pack', '--silent', '--pack-destination', scratch], root);
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(scratch, tarball)], scratch);

  const work = `
    const fp = m.fingerprint;
    if (!/^[0-9a-f]{64}$/.test(fp)) throw new Error('bad fingerprint ' + fp);
  `;
  const program = (load) => `
    ${load}
    (async () => {
      const items = new Map();
      const transport = {
        publish: async (node, id, xml) => { items.set(node + '#' + id, xml); },
        fetch: async (jid, node, id) => items.get(node + '#' + (id ?? 'current')),
        send: async () => {},
      };
      const m = await lib.OmemoManager.open({ jid: 'a@example.org', store: new lib.MemoryStore(), transport });
      ${work}
      if (!(new lib.OmemoError('bad-mac', 'x') instanceof Error)) throw new Error('OmemoError');
      console.log('loaded', m.deviceId > 0);
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  writeFileSync(join(scratch, 'esm.mjs'), program(`import * as lib from 'omemo-wasm';`));
  writeFileSync(join(scratch, 'cjs.cjs'), program(`const lib = require('omemo-wasm');`));
  check('ESM import from the installed tarball', () => {
    if (!run('node', ['esm.mjs'], scratch).includes('loaded true')) throw new Error('no output');
  });
  check('CommonJS require from the installed tarball', () => {
    if (!run('node', ['cjs.cjs'], scratch).includes('loaded true')) throw new Error('no output');
  });
  const ts = `
    import { OmemoManager, MemoryStore, type DecryptResult, type OmemoTransport } from 'omemo-wasm';
    const t: OmemoTransport = { publish: async () => {}, fetch: async () => undefined, send: async () => {} };
    export async function f(): Promise<string | undefined> {
      const m = await OmemoManager.open({ jid: 'a@b', store: new MemoryStore(), transport: t });
      const r: DecryptResult = await m.decrypt('b@c', '<encrypted/>');
      return r.text;
    }
    // @ts-expect-error: deviceId is a number, so the types really are checked
    const wrong: string = (null as unknown as OmemoManager).deviceId;
  `;
  writeFileSync(join(scratch, 'consumer.mts'), ts);
  writeFileSync(join(scratch, 'consumer.cts'), ts.replace(/^\s*import /m, 'import '));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [file, mod] of [['consumer.mts', 'esm'], ['consumer.cts', 'cjs']]) {
    check(`TypeScript declarations resolve (${mod})`, () => {
      run('node', [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), file], scratch);
    });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`package: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
