#!/usr/bin/env node
// The browser test (a step of scripts/test.sh, after the build): bundles the built main entry alone with esbuild's
// defaults for browsers (no flags, no externals) and reports its size, then bundles test/browser/page.ts with the
// package entries mapped to dist/, serves it on 127.0.0.1 (IndexedDB needs a real origin) and runs it in headless
// Chromium (Debian's /usr/bin/chromium, installed with apt-get when missing and root) through playwright-core.
// Prints one line per check and `browser: N passed, M failed`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.OMEMO_CHROMIUM ?? '/usr/bin/chromium';
/** How long the page may take for all its checks (they take a few seconds). */
const PAGE_TIMEOUT_MS = 90_000;
let passed = 0;
let failed = 0;
const report = (ok, name, detail = '') => {
  if (ok) passed++;
  else failed++;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
};
const finish = () => {
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
};

if (!existsSync(join(root, 'dist', 'index.js'))) {
  report(false, 'dist/index.js exists', 'run npm run build first');
  finish();
}

// 1. What a user's bundler does with the main entry: esbuild, platform browser, nothing marked external.
try {
  const r = await build({
    stdin: {
      contents: "export { OmemoManager, MemoryStore, IndexedDbStore, cryptoReady } from './dist/index.js';",
      resolveDir: root,
    },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const js = r.outputFiles[0].contents;
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  report(
    true,
    'the main entry bundles for browsers with no flags',
    `${kib(js.length)} minified, ${kib(gzipSync(js).length)} gzipped`,
  );
} catch (e) {
  report(false, 'the main entry bundles for browsers with no flags', e.message);
}

// 2. The page, on the built package entries.
const dist = { index: join(root, 'dist', 'index.js'), testing: join(root, 'dist', 'testing.js') };
const toDist = {
  name: 'package-entries-from-dist',
  setup(b) {
    b.onResolve({ filter: /\/src\/(index|testing)$/ }, (args) => ({ path: dist[args.path.split('/').pop()] }));
  },
};
let bundle;
try {
  const r = await build({
    entryPoints: [join(root, 'test', 'browser', 'page.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    plugins: [toDist],
    logLevel: 'silent',
  });
  bundle = r.outputFiles[0].contents;
} catch (e) {
  report(false, 'the test page bundles', e.message);
  finish();
}

if (!existsSync(CHROMIUM) && process.getuid?.() === 0) {
  console.log(`installing chromium (apt-get) for the browser test`);
  const apt = (args) =>
    execFileSync('apt-get', args, { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    apt(['install', '-y', 'chromium']);
  } catch {
    try {
      apt(['update']);
      apt(['install', '-y', 'chromium']);
    } catch {}
  }
}
if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') {
    report(false, `Chromium at ${CHROMIUM}`, 'missing (apt-get install -y chromium)');
  } else {
    console.log(`!!! SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium as root), the page did not run`);
  }
  finish();
}

const html =
  '<!doctype html><meta charset="utf-8"><title>omemo-wasm</title><script type="module" src="/page.js"></script>';
const server = createServer((req, res) => {
  if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  else if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
  else res.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const handle = await page
    .waitForFunction(() => globalThis.omemoResults, undefined, { timeout: PAGE_TIMEOUT_MS })
    .catch((e) => {
      report(false, 'the page finished', `${e.message}; page errors: ${errors.join('; ')}`);
      return undefined;
    });
  const results = handle === undefined ? [] : await handle.jsonValue();
  for (const r of results) report(r.ok, r.name, r.ok && r.name.startsWith('conformance') ? '' : r.detail);
  if (handle !== undefined && results.length < 20) report(false, 'the page ran every check', `${results.length}`);
  for (const e of errors) report(false, 'page error', e);
} finally {
  await browser.close();
  server.close();
}
finish();
