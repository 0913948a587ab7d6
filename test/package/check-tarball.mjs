#!/usr/bin/env node
// Proves the published package works as users install it: `npm pack`, install the tarball into a scratch
// project, then import it (and its entries `omemo-wasm/xmpp-client`, `omemo-wasm/sqlite` and `omemo-wasm/testing`)
// with ESM `import`, CommonJS `require`, and type-check a TypeScript consumer against the shipped declarations
// (both the import and the require condition), including the documentation of every error code in the shipped
// declarations; type-checks every TypeScript block of the README in an ESM consumer (readme-snippets.mjs).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TSC_STRICT_FLAGS, checkReadmeSnippets } from './readme-snippets.mjs';

/** The @types/xmpp__client release that matches @xmpp/client 0.14 (the README's TypeScript users install it). */
const XMPP_CLIENT_TYPES = '0.14.1';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'omemo-wasm-pack-'));
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
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
  // As from a clean checkout: no dist/. `npm pack` must build it (the prepack script).
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  run('npm', ['pack', '--silent', '--pack-destination', scratch], root);
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
  check('npm pack without dist/ builds it (prepack) and ships every entry with its declarations', () => {
    const listed = new Set(run('tar', ['-tzf', join(scratch, tarball)], scratch).split('\n'));
    const missing = ['index', 'xmpp-client', 'sqlite', 'testing']
      .flatMap((e) => [`${e}.js`, `${e}.cjs`, `${e}.d.ts`, `${e}.d.cts`])
      .map((f) => `package/dist/${f}`)
      .filter((f) => !listed.has(f));
    if (missing.length > 0) throw new Error(`missing from the tarball: ${missing.join(', ')}`);
    if ([...listed].some((f) => f.startsWith('package/src/'))) throw new Error('the tarball ships src/');
  });
  check('package.json names the repository, homepage and issue tracker', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const url = 'https://github.com/omemo-wasm/omemo-wasm';
    if (!pkg.repository?.url?.includes('github.com/omemo-wasm/omemo-wasm')) throw new Error('repository');
    if (!pkg.homepage?.startsWith(url) || !pkg.bugs?.url?.startsWith(url)) throw new Error('homepage or bugs');
  });
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  // @xmpp/client is an optional peer dependency (only `omemo-wasm/xmpp-client` needs it): install the version
  // this checkout was tested with, as a user of the adapter would, with the types the README tells TypeScript
  // users to install (@xmpp/client ships none).
  const xmppClient = JSON.parse(
    readFileSync(join(root, 'node_modules', '@xmpp', 'client', 'package.json'), 'utf8'),
  ).version;
  // pg: the optional dependency of `omemo-wasm/postgres`, the version this checkout was tested with.
  const pgVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'pg', 'package.json'), 'utf8')).version;
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--silent',
      join(scratch, tarball),
      `@xmpp/client@${xmppClient}`,
      `@types/xmpp__client@${XMPP_CLIENT_TYPES}`,
      `pg@${pgVersion}`,
    ],
    scratch,
  );

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
  // The adapter entry: builds a stanza with @xmpp/client's xml, attaches to a client-shaped object, and throws
  // the same OmemoError class as the main entry (one shared chunk, not two copies).
  const adapterProgram = (load) => `
    ${load}
    (async () => {
      const el = '<encrypted xmlns="urn:xmpp:omemo:2"><header sid="1"/></encrypted>';
      const msg = adapter.buildOmemoMessage({ to: 'b@example.org', elements: [{ version: 'twomemo', xml: el }], body: adapter.DEFAULT_FALLBACK_BODY }).toString();
      if (!msg.includes('<store xmlns="urn:xmpp:hints"/>') || !msg.includes('urn:xmpp:omemo:2')) throw new Error('bad message ' + msg);
      const client = { on() {}, removeListener() {}, send: async () => {}, iqCaller: { request: async () => { throw new Error('offline'); } }, iqCallee: { get() {} } };
      const omemo = adapter.createXmppClientOmemo({ client, store: new lib.MemoryStore() });
      if (typeof omemo.ready !== 'function') throw new Error('no ready()');
      const err = await adapter.createPepTransport(client).send('b@example.org', '<not-omemo/>').then(() => undefined, (e) => e);
      if (!(err instanceof lib.OmemoError) || !lib.isOmemoError(err, 'malformed-stanza')) throw new Error('OmemoError differs between entries: ' + err);
      console.log('adapter loaded');
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  writeFileSync(
    join(scratch, 'adapter-esm.mjs'),
    adapterProgram(`import * as lib from 'omemo-wasm'; import * as adapter from 'omemo-wasm/xmpp-client';`),
  );
  writeFileSync(
    join(scratch, 'adapter-cjs.cjs'),
    adapterProgram(`const lib = require('omemo-wasm'); const adapter = require('omemo-wasm/xmpp-client');`),
  );
  // The SQLite entry (better-sqlite3, an optional dependency, came with the tarball): a store in a file (the main
  // entry has none: it bundles for browsers), and the same OmemoError class as the main entry.
  const sqliteProgram = (load) => `
    ${load}
    (async () => {
      if ('SqliteStore' in lib) throw new Error('the main entry still exports SqliteStore (it cannot bundle for browsers)');
      if (!(sqlite.SQLITE_BUSY_TIMEOUT_MS > 0) || !(sqlite.SQLITE_SCHEMA_VERSION >= 1)) throw new Error('constants');
      const file = require('node:path').join(require('node:os').tmpdir(), 'omemo-wasm-pack-' + process.pid + '.db');
      const store = await sqlite.SqliteStore.open(file, { jid: 'a@example.org' });
      try {
        const items = new Map();
        const transport = {
          publish: async (node, id, xml) => { items.set(node + '#' + id, xml); },
          fetch: async (jid, node, id) => items.get(node + '#' + (id ?? 'current')),
          send: async () => {},
        };
        const m = await lib.OmemoManager.open({ jid: 'a@example.org', store, transport });
        if ((await store.loadIdentity()).deviceId !== m.deviceId) throw new Error('identity not stored');
        const opened = lib.OmemoManager.open({ jid: 'b@example.org', store, transport });
        const err = await opened.then(() => undefined, (e) => e);
        if (!lib.isOmemoError(err, 'store-owner-mismatch')) throw new Error('OmemoError differs: ' + err);
      } finally {
        store.close();
        require('node:fs').rmSync(file, { force: true });
      }
      console.log('sqlite loaded');
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const esmRequire = `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);`;
  const sqliteEsm = `import * as lib from 'omemo-wasm'; import * as sqlite from 'omemo-wasm/sqlite';`;
  writeFileSync(join(scratch, 'sqlite-esm.mjs'), sqliteProgram(`${esmRequire} ${sqliteEsm}`));
  const sqliteCjs = `const lib = require('omemo-wasm'); const sqlite = require('omemo-wasm/sqlite');`;
  writeFileSync(join(scratch, 'sqlite-cjs.cjs'), sqliteProgram(sqliteCjs));
  // The PostgreSQL entry (pg, an optional dependency): its classes load without a database, share the main
  // entry's OmemoError, and a connection refused is an OmemoError `store-error` (no server is started here).
  const postgresProgram = (load) => `
    ${load}
    (async () => {
      if (typeof postgres.PostgresDatabase !== 'function' || !(postgres.POSTGRES_SCHEMA_VERSION >= 1)) {
        throw new Error('exports');
      }
      if ('PostgresDatabase' in lib) throw new Error('the main entry must not export the PostgreSQL store');
      const err = await postgres.PostgresDatabase.connect({
        connectionString: 'postgres://nobody@127.0.0.1:1/none', config: { connectionTimeoutMillis: 2000 },
      }).then(() => undefined, (e) => e);
      if (!lib.isOmemoError(err, 'store-error')) throw new Error('OmemoError differs: ' + err);
      if (/optional dependency pg/.test(err.message)) throw new Error('pg did not load: ' + err.message);
      console.log('postgres loaded');
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  writeFileSync(
    join(scratch, 'postgres-esm.mjs'),
    postgresProgram(`import * as lib from 'omemo-wasm'; import * as postgres from 'omemo-wasm/postgres';`),
  );
  writeFileSync(
    join(scratch, 'postgres-cjs.cjs'),
    postgresProgram(`const lib = require('omemo-wasm'); const postgres = require('omemo-wasm/postgres');`),
  );
  // The testing entry, where no test framework is installed: the conformance cases pass on MemoryStore, plain and
  // with latency, and fail on a store whose loadSessions forgets everything, with the entry's ConformanceError.
  const testingProgram = (load) => `
    ${load}
    (async () => {
      const plain = { open: async () => new lib.MemoryStore() };
      const slow = { open: async () => testing.withLatency(new lib.MemoryStore(), { maxDelayMs: 2 }) };
      for (const factory of [plain, slow]) {
        for (const c of testing.storeConformanceCases(factory)) await c.run();
      }
      class Forgetful extends lib.MemoryStore {
        async loadSessions(addresses) { return addresses.map(() => undefined); }
      }
      let failed = 0;
      for (const c of testing.storeConformanceCases({ open: async () => new Forgetful() })) {
        const e = await c.run().then(() => undefined, (e) => e);
        if (e === undefined) continue;
        if (!(e instanceof testing.ConformanceError)) throw e;
        failed++;
      }
      if (failed === 0) throw new Error('a broken store passed');
      console.log('testing loaded');
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const testingEsm = `import * as lib from 'omemo-wasm'; import * as testing from 'omemo-wasm/testing';`;
  writeFileSync(join(scratch, 'testing-esm.mjs'), testingProgram(testingEsm));
  const testingCjs = `const lib = require('omemo-wasm'); const testing = require('omemo-wasm/testing');`;
  writeFileSync(join(scratch, 'testing-cjs.cjs'), testingProgram(testingCjs));
  check('ESM import from the installed tarball', () => {
    if (!run('node', ['esm.mjs'], scratch).includes('loaded true')) throw new Error('no output');
  });
  check('CommonJS require from the installed tarball', () => {
    if (!run('node', ['cjs.cjs'], scratch).includes('loaded true')) throw new Error('no output');
  });
  check('ESM import of omemo-wasm/xmpp-client', () => {
    if (!run('node', ['adapter-esm.mjs'], scratch).includes('adapter loaded')) throw new Error('no output');
  });
  check('CommonJS require of omemo-wasm/xmpp-client', () => {
    if (!run('node', ['adapter-cjs.cjs'], scratch).includes('adapter loaded')) throw new Error('no output');
  });
  check('ESM import of omemo-wasm/sqlite', () => {
    if (!run('node', ['sqlite-esm.mjs'], scratch).includes('sqlite loaded')) throw new Error('no output');
  });
  check('CommonJS require of omemo-wasm/sqlite', () => {
    if (!run('node', ['sqlite-cjs.cjs'], scratch).includes('sqlite loaded')) throw new Error('no output');
  });
  check('ESM import of omemo-wasm/postgres', () => {
    if (!run('node', ['postgres-esm.mjs'], scratch).includes('postgres loaded')) throw new Error('no output');
  });
  check('CommonJS require of omemo-wasm/postgres', () => {
    if (!run('node', ['postgres-cjs.cjs'], scratch).includes('postgres loaded')) throw new Error('no output');
  });
  check('ESM import of omemo-wasm/testing (no test framework installed)', () => {
    if (!run('node', ['testing-esm.mjs'], scratch).includes('testing loaded')) throw new Error('no output');
  });
  check('CommonJS require of omemo-wasm/testing (no test framework installed)', () => {
    if (!run('node', ['testing-cjs.cjs'], scratch).includes('testing loaded')) throw new Error('no output');
  });
  const ts = `
    import { OmemoManager, MemoryStore, type DecryptResult, type OmemoTransport } from 'omemo-wasm';
    import { createXmppClientOmemo, type OmemoChatMessage, type XmppClientOmemo } from 'omemo-wasm/xmpp-client';
    import { SqliteStore, SQLITE_SCHEMA_VERSION } from 'omemo-wasm/sqlite';
    import { storeConformanceCases, withLatency } from 'omemo-wasm/testing';
    import type { StoreConformanceCase, StoreFactory } from 'omemo-wasm/testing';
    const t: OmemoTransport = { publish: async () => {}, fetch: async () => undefined, send: async () => {} };
    export async function f(): Promise<string | undefined> {
      const m = await OmemoManager.open({ jid: 'a@b', store: new MemoryStore(), transport: t });
      const r: DecryptResult = await m.decrypt('b@c', '<encrypted/>');
      return r.text;
    }
    // @ts-expect-error: deviceId is a number, so the types really are checked
    const wrong: string = (null as unknown as OmemoManager).deviceId;
    export function onMessage(m: OmemoChatMessage, omemo: XmppClientOmemo): Promise<unknown> {
      // @ts-expect-error: via is a union of literals
      const via: number = m.via;
      return omemo.send(m.from, m.text ?? '');
    }
    export const make = createXmppClientOmemo;
    export async function openSqlite(path: string): Promise<SqliteStore> {
      // @ts-expect-error: the schema version is a number
      const v: string = SQLITE_SCHEMA_VERSION;
      return SqliteStore.open(path, { jid: 'a@b' });
    }
    const factory: StoreFactory = {
      open: async (jid) => withLatency(await SqliteStore.open(jid + '.db', { jid }), { maxDelayMs: 5 }),
      dispose: (store) => (store as SqliteStore).close(),
    };
    export const cases: StoreConformanceCase[] = storeConformanceCases(factory);
    // @ts-expect-error: a case's run takes no test context and returns a promise
    export const wrong: (t: unknown) => string = cases[0]!.run;
  `;
  writeFileSync(join(scratch, 'consumer.mts'), ts);
  writeFileSync(join(scratch, 'consumer.cts'), ts.replace(/^\s*import /m, 'import '));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [file, mod] of [
    ['consumer.mts', 'esm'],
    ['consumer.cts', 'cjs'],
  ]) {
    check(`TypeScript declarations resolve (${mod})`, () => {
      run(
        'node',
        [tsc, ...TSC_STRICT_FLAGS, '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), file],
        scratch,
      );
    });
  }
  // What an editor shows on hover: every code of OMEMO_ERROR_CODES with its meaning, in the TSDoc that survived
  // the build, for both the import and the require condition.
  const typescript = createRequire(import.meta.url)(join(root, 'node_modules', 'typescript'));
  const codes = createRequire(join(scratch, 'cjs.cjs'))('omemo-wasm').OMEMO_ERROR_CODES;
  for (const [ext, mod] of [
    ['mts', 'esm'],
    ['cts', 'cjs'],
  ]) {
    check(`every error code is documented in the shipped declarations (${mod})`, () => {
      const file = join(scratch, `codes.${ext}`);
      writeFileSync(
        file,
        `import { OMEMO_ERROR_CODES, type OmemoErrorCode } from 'omemo-wasm';\nexport { OMEMO_ERROR_CODES };\n`,
      );
      const program = typescript.createProgram([file], {
        strict: true,
        module: typescript.ModuleKind.NodeNext,
        moduleResolution: typescript.ModuleResolutionKind.NodeNext,
        noEmit: true,
        skipLibCheck: true,
      });
      const checker = program.getTypeChecker();
      const docs = {};
      typescript.forEachChild(program.getSourceFile(file), (node) => {
        if (!typescript.isImportDeclaration(node)) return;
        for (const spec of node.importClause.namedBindings.elements) {
          const symbol = checker.getAliasedSymbol(checker.getSymbolAtLocation(spec.name));
          docs[spec.name.text] = typescript.displayPartsToString(symbol.getDocumentationComment(checker));
        }
      });
      if (!(codes.length > 20)) throw new Error(`OMEMO_ERROR_CODES has ${codes.length} codes`);
      const undocumented = codes.filter((c) => !new RegExp(`^- \`${c}\`: \\S`, 'm').test(docs.OMEMO_ERROR_CODES));
      if (undocumented.length > 0)
        throw new Error(`undocumented in the .d.${ext.slice(0, 2)}: ${undocumented.join(', ')}`);
      if (!/OMEMO_ERROR_CODES/.test(docs.OmemoErrorCode)) throw new Error('OmemoErrorCode does not point at the list');
    });
  }
  checkReadmeSnippets({ root, scratch, check, run });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`package: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
