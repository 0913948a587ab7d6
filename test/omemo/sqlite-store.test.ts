// SqliteStore (src/omemo/sqlite-store.ts): the shared OmemoStore conformance suite on real files (also
// behind a random 0–5 ms latency on every call, src/testing/latency-store.ts), then what only a file store has:
// persistence across close/reopen, rollback of a commit that fails inside SQLite,
// the owner JID, the in-process and cross-process lock, schema versions and migration from the frozen
// schema-1 fixture, checks of corrupt rows, a missing better-sqlite3, and the entries that export it
// (omemo-wasm/sqlite, and the main entry's deprecated re-export).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { OmemoManager, PRE_KEY_COUNT } from '../../src/omemo/manager/session-manager';
import { SQLITE_SCHEMA_VERSION, SqliteStore } from '../../src/omemo/store/sqlite-store';
import * as mainEntry from '../../src/index';
import * as sqliteEntry from '../../src/sqlite';
import type { OmemoStore, SessionAddress } from '../../src/omemo/store/store';
import type { SqliteFixtureInfo } from './fixtures/make-sqlite-schema-1';
import { withLatency } from '../../src/testing/latency-store';
import { InProcessRouter, rejectsWith, rngFor, snapshot } from './manager-fixture';
import {
  ADDRS,
  JIDS,
  OWNER_JID,
  bytes,
  device,
  fullChanges,
  identity,
  pk,
  runStoreConformance,
  secondChanges,
  spk,
} from './store-conformance';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./sqlite-store-child.ts', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'omemo-sqlite-store-'));
let n = 0;
const freshPath = () => join(dir, `store-${++n}.db`);

runStoreConformance('SqliteStore', {
  open: () => SqliteStore.open(freshPath(), { jid: OWNER_JID }),
  dispose: (s) => (s as SqliteStore).close(),
});
let latencySeed = 0;
runStoreConformance('SqliteStore with latency', {
  open: async () => {
    await cryptoReady(); // the seeded RNG hashes with libsodium
    const store = await SqliteStore.open(freshPath(), { jid: OWNER_JID });
    return withLatency(store, { maxDelayMs: 5, rng: rngFor(`sqlite latency ${++latencySeed}`) });
  },
  dispose: (s) => (s as SqliteStore).close(),
});

test.before(async () => {
  await cryptoReady();
});

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The store's own connection, to plant SQL-level failures and corruption (nothing else can open the file). */
function rawHandle(s: SqliteStore): {
  exec(sql: string): void;
  prepare(sql: string): { run(...p: unknown[]): unknown };
} {
  return (s as unknown as { db: ReturnType<typeof rawHandle> }).db;
}

/** Runs the child script to completion and returns its one JSON line. */
function child(...args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(r.status, 0, `child ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

test('data survives close and reopen; the WAL needs no -shm file and is folded in on close', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  await s.commit(fullChanges());
  await s.commit(secondChanges());
  const before = await snapshot(s, JIDS, ADDRS);
  const files = readdirSync(dir).filter((f) => f.startsWith(path.split('/').pop()!));
  assert.not.ok(
    files.some((f) => f.endsWith('-shm')),
    `exclusive locking mode keeps the WAL index in memory: ${files.join(', ')}`,
  );
  s.close();
  assert.ok(s.closed);
  assert.not.ok(existsSync(`${path}-wal`), 'the WAL is checkpointed and removed on close');
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  assert.is(await snapshot(again, JIDS, ADDRS), before);
  again.close();
});

test('a commit that fails inside SQLite midway is rolled back completely, also on disk', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  await s.commit(fullChanges());
  const before = await snapshot(s, JIDS, ADDRS);
  // A trigger that aborts the 1000th session insert, after identity, keys, lists, devices and 999 sessions.
  rawHandle(s).exec(
    `CREATE TEMP TRIGGER fail_late BEFORE INSERT ON main.sessions WHEN NEW.device_id = 1000 BEGIN SELECT RAISE(ABORT, 'forced failure'); END`,
  );
  const many: { address: SessionAddress; record: Uint8Array }[] = [];
  for (let i = 1; i <= 1000; i++)
    many.push({
      address: { version: 'twomemo', jid: `u${i % 50}@example.org`, deviceId: i },
      record: bytes(330, i & 255),
    });
  const changes = { ...secondChanges(), putSessions: [...secondChanges().putSessions!, ...many] };
  const e = await rejectsWith(s.commit(changes), 'store-error');
  assert.match(String((e.cause as Error).message), /forced failure/);
  assert.is(await snapshot(s, JIDS, ADDRS), before);
  assert.ok((await s.loadSessions(many.map((m) => m.address))).every((r) => r === undefined));
  rawHandle(s).exec('DROP TRIGGER fail_late');
  s.close();
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  assert.is(await snapshot(again, JIDS, ADDRS), before, 'nothing of the failed commit reached the file');
  // The same commit succeeds without the trigger: 1000 sessions in one transaction, read back in one call.
  await again.commit(changes);
  const got = await again.loadSessions(many.map((m) => m.address));
  assert.is(got.length, 1000);
  many.forEach((m, i) => {
    assert.equal(got[i], m.record);
  });
  again.close();
});

test('malformed values are TypeError/RangeError and roll back what the commit wrote before them', async () => {
  const s = await SqliteStore.open(freshPath(), { jid: OWNER_JID });
  await s.commit(fullChanges());
  const before = await snapshot(s, JIDS, ADDRS);
  const cases: [string, unknown, typeof TypeError | typeof RangeError][] = [
    ['short key', { putPreKeys: [pk(9), { ...pk(10), privateKey: bytes(31, 1) }] }, RangeError],
    ['consumed not boolean', { putPreKeys: [{ ...pk(9), consumed: 1 }] }, TypeError],
    [
      'unknown trust',
      { putPreKeys: [pk(9)], putDevices: [{ ...device('bob@example.org', 3), trust: 'maybe' }] },
      TypeError,
    ],
    [
      'unknown version',
      {
        putPreKeys: [pk(9)],
        putSessions: [{ address: { version: 'omemo3', jid: 'bob@example.org', deviceId: 1 }, record: bytes(4, 1) }],
      },
      TypeError,
    ],
    [
      'fractional id',
      { putPreKeys: [pk(9)], deleteSessions: [{ version: 'twomemo', jid: 'bob@example.org', deviceId: 1.5 }] },
      TypeError,
    ],
    [
      'empty record',
      { putPreKeys: [pk(9)], putSessions: [{ address: ADDRS[2], record: new Uint8Array(0) }] },
      RangeError,
    ],
    [
      'bad device list',
      { putPreKeys: [pk(9)], putDeviceLists: [{ version: 'twomemo', jid: 'bob@example.org', deviceIds: [1, -2] }] },
      RangeError,
    ],
    [
      'signature missing',
      { putPreKeys: [pk(9)], putSignedPreKeys: [{ ...spk(4), signatures: { oldmemo: bytes(64, 1) } }] },
      TypeError,
    ],
  ];
  for (const [name, changes, type] of cases) {
    let caught: unknown;
    try {
      await s.commit(changes as never);
    } catch (e) {
      caught = e;
    }
    assert.instance(caught, type, `${name}: ${String(caught)}`);
    assert.is(await snapshot(s, JIDS, ADDRS), before, `${name}: nothing written`);
  }
  s.close();
});

test('one account per file: the owner JID is recorded and checked (bare JID), also for a committed identity', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: `${OWNER_JID}/phone` });
  assert.is(s.jid, OWNER_JID);
  await s.commit({ putPreKeys: [pk(1)] });
  await rejectsWith(
    s.commit({ putPreKeys: [pk(2)], identity: { ...identity(), jid: 'mallory@example.org' } }),
    'store-owner-mismatch',
  );
  assert.is(await s.loadPreKey(2), undefined, 'the commit with a foreign identity wrote nothing');
  await s.commit({ identity: identity() });
  s.close();
  const e = await rejectsWith(SqliteStore.open(path, { jid: 'bob@example.org' }), 'store-owner-mismatch');
  assert.match(e.message, /belongs to alice@example\.org, not bob@example\.org/);
  // The refused open released the file.
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  assert.equal(await again.loadIdentity(), identity());
  again.close();
});

test('OmemoManager refuses a SqliteStore of another account too', async () => {
  const path = freshPath();
  const router = new InProcessRouter();
  const s = await SqliteStore.open(path, { jid: 'bob@example.org' });
  await rejectsWith(
    OmemoManager.open({ jid: OWNER_JID, store: s, transport: router.connect(OWNER_JID, `${OWNER_JID}/a`) }),
    'store-owner-mismatch',
  );
  s.close();
});

test('in this process, a file is open at most once: same path, a symbolic link, a hard link', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  await s.commit(fullChanges());
  const e = await rejectsWith(SqliteStore.open(path, { jid: OWNER_JID }), 'store-locked');
  assert.match(e.message, /already open in this process/);
  const sym = join(dir, 'symlink.db');
  symlinkSync(path, sym);
  await rejectsWith(SqliteStore.open(sym, { jid: OWNER_JID }), 'store-locked');
  // A hard link has another name: SQLite's own lock refuses it (and keeps it from using another WAL file).
  const hard = join(dir, 'hardlink.db');
  linkSync(path, hard);
  const h = await rejectsWith(SqliteStore.open(hard, { jid: OWNER_JID, busyTimeoutMs: 0 }), 'store-locked');
  assert.match(h.message, /in use by another process or connection/);
  // The refused opens did not disturb the open store, nor did they release its lock.
  await s.commit(secondChanges());
  await rejectsWith(SqliteStore.open(path, { jid: OWNER_JID }), 'store-locked');
  s.close();
  const again = await SqliteStore.open(sym, { jid: OWNER_JID });
  assert.is(again.path, path, 'the canonical path resolves the link');
  assert.is((await again.loadIdentity())!.nextPreKeyId, 99);
  again.close();
});

test('another process cannot open a held file; a SIGKILLed holder releases it', async () => {
  const path = freshPath();
  // This process holds it: the child is refused.
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  const refused = child('try', path, OWNER_JID);
  assert.is(refused.code, 'store-locked', JSON.stringify(refused));
  s.close();
  assert.equal(child('try', path, OWNER_JID), { ok: true });
  // A child holds it: this process is refused until the child is killed.
  const holder = spawn(process.execPath, ['--import', 'tsx', CHILD, 'hold', path, OWNER_JID], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  holder.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => holder.on('exit', (_code, signal) => resolve(signal)));
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
      holder.on('exit', () => reject(new Error(`holder exited early: ${stderr}`)));
    });
    await rejectsWith(SqliteStore.open(path, { jid: OWNER_JID, busyTimeoutMs: 50 }), 'store-locked');
  } finally {
    holder.kill('SIGKILL');
  }
  assert.is(await exited, 'SIGKILL');
  const after = await SqliteStore.open(path, { jid: OWNER_JID });
  after.close();
});

test('schema versions: a new file gets the current one; a newer file is refused; foreign files are refused', async () => {
  const path = freshPath();
  (await SqliteStore.open(path, { jid: OWNER_JID })).close();
  const raw = new Database(path);
  assert.equal(raw.prepare('SELECT version FROM schema_version').all(), [{ version: SQLITE_SCHEMA_VERSION }]);
  raw.prepare('UPDATE schema_version SET version = ?').run(SQLITE_SCHEMA_VERSION + 1);
  raw.close();
  const e = await rejectsWith(SqliteStore.open(path, { jid: OWNER_JID }), 'store-error');
  const newer = new RegExp(
    `schema version ${SQLITE_SCHEMA_VERSION + 1}, newer than the ${SQLITE_SCHEMA_VERSION} .*downgrades are not supported`,
  );
  assert.match(e.message, newer);

  const foreign = freshPath();
  const f = new Database(foreign);
  f.exec('CREATE TABLE contacts (jid TEXT)');
  f.close();
  assert.match(
    (await rejectsWith(SqliteStore.open(foreign, { jid: OWNER_JID }), 'store-error')).message,
    /no omemo-wasm store/,
  );

  const text = freshPath();
  writeFileSync(text, 'this is not a database, but it is long enough to have a header of sorts...'.repeat(20));
  const t = await rejectsWith(SqliteStore.open(text, { jid: OWNER_JID }), 'store-error');
  assert.ok(t.cause !== undefined, 'the SQLite error is the cause');
  await rejectsWith(SqliteStore.open(join(dir, 'no-such-dir', 'x.db'), { jid: OWNER_JID }), 'store-error');
});

test('bad arguments to open are TypeError/RangeError', async () => {
  for (const [path, jid, type] of [
    ['', OWNER_JID, TypeError],
    [':memory:', OWNER_JID, RangeError],
    [freshPath(), '', TypeError],
  ] as const) {
    let caught: unknown;
    try {
      await SqliteStore.open(path, { jid });
    } catch (e) {
      caught = e;
    }
    assert.instance(caught, type, `${JSON.stringify(path)} ${JSON.stringify(jid)}: ${String(caught)}`);
  }
});

test('corrupt rows read as store-error, never as a crash or a wrong value', async () => {
  const corruptions: [string, string, (s: OmemoStore) => Promise<unknown>][] = [
    ['short private key', "UPDATE pre_keys SET private_key = x'0102'", (s) => s.loadPreKeys()],
    ['key of the wrong type', 'UPDATE pre_keys SET public_key = zeroblob(32), consumed = 7', (s) => s.loadPreKey(1)],
    ['session record empty', "UPDATE sessions SET record = x''", (s) => s.loadSessions(ADDRS)],
    [
      'device list not JSON',
      "UPDATE device_lists SET device_ids = '[1,'",
      (s) => s.loadDeviceList('oldmemo', 'bob@example.org'),
    ],
    [
      'device list of strings',
      'UPDATE device_lists SET device_ids = \'["1"]\'',
      (s) => s.loadDeviceList('oldmemo', 'bob@example.org'),
    ],
    ['negative device id', 'UPDATE devices SET device_id = -1', (s) => s.loadDevices(JIDS)],
    ['activeIn unknown version', 'UPDATE devices SET active_in = \'["v3"]\'', (s) => s.loadDevices(JIDS)],
    ['trust unknown', "UPDATE devices SET trust = 'sure'", (s) => s.loadDevices(JIDS)],
    ['identity key short', "UPDATE identity SET identity_private_key = x'00'", (s) => s.loadIdentity()],
    ['signature short', "UPDATE signed_pre_keys SET signature_twomemo = x'00'", (s) => s.loadSignedPreKeys()],
  ];
  for (const [name, sql, read] of corruptions) {
    const s = await SqliteStore.open(freshPath(), { jid: OWNER_JID });
    await s.commit(fullChanges());
    const db = rawHandle(s);
    db.exec('PRAGMA ignore_check_constraints = ON');
    db.exec(sql);
    const e = await rejectsWith(read(s), 'store-error');
    assert.match(e.message, /corrupt/, name);
    s.close();
  }
  // The manager reports a corrupt identity as store-error when it opens.
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  await s.commit(fullChanges());
  rawHandle(s).exec("PRAGMA ignore_check_constraints = ON; UPDATE identity SET identity_private_key = x'00'");
  const router = new InProcessRouter();
  await rejectsWith(
    OmemoManager.open({ jid: OWNER_JID, store: s, transport: router.connect(OWNER_JID, `${OWNER_JID}/a`) }),
    'store-error',
  );
  s.close();
});

test('the main entry no longer exports the SQLite store (omemo-wasm/sqlite does, so the main entry bundles for browsers)', () => {
  assert.not.ok('SqliteStore' in mainEntry);
  assert.not.ok('SQLITE_BUSY_TIMEOUT_MS' in mainEntry);
  assert.type(sqliteEntry.SqliteStore.open, 'function');
});

test('a closed store fails with store-error; close is idempotent', async () => {
  const s = await SqliteStore.open(freshPath(), { jid: OWNER_JID });
  s.close();
  s.close();
  await rejectsWith(s.loadIdentity(), 'store-error');
  await rejectsWith(s.loadSessions(ADDRS), 'store-error');
  await rejectsWith(s.commit(fullChanges()), 'store-error');
});

test('without better-sqlite3 the entry points still load, and open fails with store-error and a cause', () => {
  const out = child('no-driver', freshPath());
  assert.is(out.entry, 'function', 'the library entry point loaded');
  assert.is(out.sqliteEntry, 'function', 'the omemo-wasm/sqlite entry point loaded');
  assert.is(out.code, 'store-error', JSON.stringify(out));
  assert.match(String(out.message), /optional dependency better-sqlite3/);
  assert.match(String(out.cause), /blocked by the test/);
});

test('the frozen schema-1 fixture opens with the current code and the conversation continues', async () => {
  const info = JSON.parse(readFileSync(join(FIXTURES, 'sqlite-schema-1.json'), 'utf8')) as SqliteFixtureInfo;
  assert.is(info.schemaVersion, 1);
  const copies = mkdtempSync(join(dir, 'fixture-'));
  const paths: Record<'alice' | 'bob', string> = {
    alice: join(copies, info.alice.file),
    bob: join(copies, info.bob.file),
  };
  for (const who of ['alice', 'bob'] as const) {
    const src = join(FIXTURES, info[who].file);
    assert.is(
      createHash('sha256').update(readFileSync(src)).digest('hex'),
      info[who].sha256,
      `${info[who].file} is frozen: it was changed`,
    );
    copyFileSync(src, paths[who]);
    const raw = new Database(paths[who], { readonly: true });
    assert.equal(
      raw.prepare('SELECT version FROM schema_version').all(),
      [{ version: 1 }],
      'the fixture really is schema 1',
    );
    raw.close();
  }

  const aliceStore = await SqliteStore.open(paths.alice, { jid: info.alice.jid });
  const bobStore = await SqliteStore.open(paths.bob, { jid: info.bob.jid });
  try {
    // The data, read through the store.
    const id = (await aliceStore.loadIdentity())!;
    assert.is(id.jid, info.alice.jid);
    assert.is(id.deviceId, info.alice.deviceId);
    assert.is(id.label, 'Alice phone');
    assert.is((await aliceStore.loadSignedPreKeys()).length, 1);
    assert.is((await aliceStore.loadPreKeys()).filter((k) => !k.consumed).length, PRE_KEY_COUNT);
    for (const v of ['oldmemo', 'twomemo'] as const)
      assert.equal(await aliceStore.loadDeviceList(v, info.bob.jid), [info.bob.deviceId]);
    const [bobDevice] = await aliceStore.loadDevices([info.bob.jid]);
    assert.is(bobDevice!.deviceId, info.bob.deviceId);
    assert.is(bobDevice!.trust, 'verified');
    assert.is(bobDevice!.label, 'Bob laptop');
    assert.is(bobDevice!.identityKey!.length, 32);
    assert.not.ok('previousIdentities' in bobDevice!, 'no earlier identity keys after the migration');
    // A device we had written to without an answer is silent from the migration on (schema 1 kept no date).
    assert.is(bobDevice!.unansweredSince !== undefined, bobDevice!.sentSinceLastReceived > 0);
    assert.ok((await aliceStore.loadPreKeys()).every((k) => !('consumedAt' in k) && !('acceptedBaseKeys' in k)));
    const addrs = (['oldmemo', 'twomemo'] as const).map((version) => ({
      version,
      jid: info.bob.jid,
      deviceId: info.bob.deviceId,
    }));
    assert.ok((await aliceStore.loadSessions(addrs)).every((r) => r !== undefined));

    // Managers on the migrated files: same identities, the stored sessions decrypt and encrypt.
    const now = () => info.now + 60_000;
    const router = new InProcessRouter();
    const alice = await OmemoManager.open({
      jid: info.alice.jid,
      store: aliceStore,
      transport: router.connect(info.alice.jid, `${info.alice.jid}/phone`),
      now,
    });
    const bob = await OmemoManager.open({
      jid: info.bob.jid,
      store: bobStore,
      transport: router.connect(info.bob.jid, `${info.bob.jid}/laptop`),
      now,
    });
    assert.is(alice.deviceId, info.alice.deviceId);
    assert.is(alice.fingerprint, info.alice.fingerprint);
    assert.is(bob.fingerprint, info.bob.fingerprint);
    for (const p of info.pending) {
      const got = await alice.decrypt(info.bob.jid, p.xml);
      assert.is(got.text, p.text);
      assert.is(got.keyExchange, false, 'a normal message on the stored session');
      assert.is(got.trust, 'verified');
      const reply = await alice.encrypt([info.bob.jid], `reply after migration (${p.version})`, { version: p.version });
      assert.equal(
        reply.devices.map((d) => [d.ok, d.keyExchange]),
        [[true, false]],
      );
      const back = await bob.decrypt(info.alice.jid, reply.elements[0]!.xml);
      assert.is(back.text, `reply after migration (${p.version})`);
    }
  } finally {
    aliceStore.close();
    bobStore.close();
  }
});

test.run();
