// Group commit of SqliteStore (src/omemo/store/sqlite-store.ts `stage`) and the manager's pipelined queue
// (session-manager.ts, manager-core.ts): commits staged together share one transaction and one COMMIT, nothing is
// acknowledged before that COMMIT, a failing member fails alone, a lost group fails every member and the manager
// goes back to the last durable state; 100 contacts' messages decrypted at once on one account.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { OmemoManager, type EncryptResult } from '../../src/omemo/manager/session-manager';
import { SqliteStore } from '../../src/omemo/store/sqlite-store';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import type { SessionAddress } from '../../src/omemo/store/store';
import { InProcessRouter, rejectsWith, rngFor } from './manager-fixture';
import { OWNER_JID, bytes, device } from './store-conformance';

const dir = mkdtempSync(join(tmpdir(), 'omemo-sqlite-group-'));
let n = 0;
const freshPath = () => join(dir, `group-${++n}.db`);

/** Counts the COMMITs SQLite executes for the store, and can make the next ones fail. */
function spyCommits(s: SqliteStore): { commits: number; failNext: number } {
  const db = (s as unknown as { db: { exec(sql: string): unknown } }).db;
  const exec = db.exec.bind(db);
  const spy = { commits: 0, failNext: 0 };
  db.exec = (sql: string) => {
    if (sql === 'COMMIT') {
      if (spy.failNext > 0) {
        spy.failNext--;
        throw new Error('disk I/O error (simulated at COMMIT)');
      }
      const r = exec(sql);
      spy.commits++;
      return r;
    }
    return exec(sql);
  };
  return spy;
}

const address = (i: number): SessionAddress => ({ version: 'twomemo', jid: `c${i}@example.org`, deviceId: i });
const put = (i: number) => ({ putSessions: [{ address: address(i), record: bytes(200, i & 255) }] });

test('commits issued together share one COMMIT, and none resolves before it', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  const spy = spyCommits(s);
  const seenAt: number[] = [];
  await Promise.all(Array.from({ length: 100 }, (_, i) => s.commit(put(i + 1)).then(() => seenAt.push(spy.commits))));
  assert.is(spy.commits, 1, 'one transaction for the 100 commits');
  assert.ok(
    seenAt.every((c) => c === 1),
    'every commit resolved after the COMMIT',
  );
  // Staged changes are visible to the store's loads at once, before they are durable.
  const staged = s.stage(put(500));
  assert.equal((await s.loadSessions([address(500)]))[0], bytes(200, 500 & 255));
  await staged.durable;
  s.close();
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  const got = await again.loadSessions(Array.from({ length: 100 }, (_, i) => address(i + 1)));
  got.forEach((r, i) => {
    assert.equal(r, bytes(200, (i + 1) & 255));
  });
  again.close();
});

test('a member that fails fails alone; the others of its group are durable', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  const spy = spyCommits(s);
  const bad = { putSessions: [{ address: address(7), record: new Uint8Array(0) }] };
  const results = await Promise.allSettled([s.commit(put(1)), s.commit(bad), s.commit(put(2))]);
  assert.equal(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.is(spy.commits, 1);
  s.close();
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  const got = await again.loadSessions([address(1), address(7), address(2)]);
  assert.equal(got, [bytes(200, 1), undefined, bytes(200, 2)]);
  again.close();
});

test('a group whose COMMIT fails rejects every member and leaves none of them; the store carries on', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  await s.commit(put(1));
  const spy = spyCommits(s);
  spy.failNext = 1;
  const lost = await Promise.allSettled([s.commit(put(2)), s.commit(put(3))]);
  for (const r of lost) {
    assert.is(r.status, 'rejected');
    await rejectsWith(Promise.reject((r as PromiseRejectedResult).reason), 'store-error');
  }
  assert.equal(await s.loadSessions([address(1), address(2), address(3)]), [bytes(200, 1), undefined, undefined]);
  await s.commit(put(4));
  s.close();
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  assert.equal(await again.loadSessions([address(2), address(3), address(4)]), [undefined, undefined, bytes(200, 4)]);
  again.close();
});

/** Counts the session rows SqliteStore writes (updated or inserted), and can make the next write fail. */
function spySessionWrites(s: SqliteStore): { writes: number; failNext: number } {
  type Statement = { run(...a: unknown[]): unknown };
  const st = (s as unknown as { st: { putSession: Statement; updateSession: Statement } }).st;
  const spy = { writes: 0, failNext: 0 };
  for (const statement of [st.putSession, st.updateSession]) {
    const run = statement.run.bind(statement);
    statement.run = (...a: unknown[]) => {
      if (spy.failNext > 0) {
        spy.failNext--;
        throw new Error('disk I/O error (simulated at a row write)');
      }
      const result = run(...a) as { changes: number };
      spy.writes += result.changes;
      return result;
    };
  }
  return spy;
}

test('a session staged many times in one group is written once, its last value, just before the COMMIT', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  const commits = spyCommits(s);
  const rows = spySessionWrites(s);
  // Twice: new rows (inserted), then rows that exist (updated in place).
  for (const base of [0, 100]) {
    const staged = [];
    for (let round = 0; round < 20; round++)
      for (let i = 1; i <= 10; i++)
        staged.push(s.stage({ putSessions: [{ address: address(i), record: bytes(200, base + round) }] }).durable);
    assert.is(rows.writes, base === 0 ? 0 : 10, 'nothing written while the group is open');
    assert.equal((await s.loadSessions([address(3)]))[0], bytes(200, base + 19), 'the last stage is what loads see');
    await Promise.all(staged);
    assert.is(commits.commits, base === 0 ? 1 : 2);
    assert.is(rows.writes, base === 0 ? 10 : 20, 'one write per session');
  }
  s.close();
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  assert.equal(await again.loadSessions([address(1), address(10)]), [bytes(200, 119), bytes(200, 119)]);
  again.close();
});

test('a row write that fails before the COMMIT loses the group: every member rejects, loads show the state before', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  await s.commit(put(1));
  const rows = spySessionWrites(s);
  rows.failNext = 1;
  const lost = await Promise.allSettled([
    s.commit(put(2)),
    s.commit({ ...put(3), putDevices: [device('d@x.org', 3)] }),
  ]);
  for (const r of lost) {
    assert.is(r.status, 'rejected');
    await rejectsWith(Promise.reject((r as PromiseRejectedResult).reason), 'store-error');
  }
  assert.equal(await s.loadSessions([address(1), address(2), address(3)]), [bytes(200, 1), undefined, undefined]);
  assert.equal(await s.loadDevices(['d@x.org']), []);
  await s.commit(put(4));
  s.close();
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  assert.equal(await again.loadSessions([address(2), address(3), address(4)]), [undefined, undefined, bytes(200, 4)]);
  assert.equal(await again.loadDevices(['d@x.org']), []);
  again.close();
});

test('close commits a pending group', async () => {
  const path = freshPath();
  const s = await SqliteStore.open(path, { jid: OWNER_JID });
  const staged = s.stage(put(9));
  s.close();
  await staged.durable;
  const again = await SqliteStore.open(path, { jid: OWNER_JID });
  assert.equal((await again.loadSessions([address(9)]))[0], bytes(200, 9));
  again.close();
});

/** Alice on a SqliteStore; `count` contacts on MemoryStores, each with a session with her (first message sent). */
async function account(count: number) {
  await cryptoReady();
  const router = new InProcessRouter();
  const store = await SqliteStore.open(freshPath(), { jid: 'alice@example.org' });
  const transport = router.connect('alice@example.org', 'alice@example.org/a');
  const alice = await OmemoManager.open({
    jid: 'alice@example.org',
    store,
    transport,
    rng: rngFor('group alice'),
    versions: ['twomemo'],
  });
  const contacts: { jid: string; m: OmemoManager }[] = [];
  for (let i = 0; i < count; i++) {
    const jid = `c${i}@example.org`;
    const m = await OmemoManager.open({
      jid,
      store: new MemoryStore(),
      transport: router.connect(jid, `${jid}/x`),
      rng: rngFor(`group ${jid}`),
      versions: ['twomemo'],
    });
    await m.setDeviceList('alice@example.org', 'twomemo', [alice.deviceId]);
    contacts.push({ jid, m });
  }
  return { router, store, transport, alice, contacts };
}

test('100 contacts writing at once to one SqliteStore account: few transactions, every message decrypts', async () => {
  const { store, transport, alice, contacts } = await account(100);
  try {
    const spy = spyCommits(store);
    // Durability before acknowledgement: the COMMIT count when each contact's session was staged, when the
    // automatic message on it went out, and when its decrypt resolved.
    const stagedAt = new Map<string, number>();
    const stage = store.stage.bind(store);
    store.stage = (changes) => {
      for (const p of changes.putSessions ?? []) stagedAt.set(p.address.jid, spy.commits);
      return stage(changes);
    };
    const sentAt = new Map<string, number>();
    const send = transport.send.bind(transport);
    transport.send = (to, xml, kind) => {
      sentAt.set(to, spy.commits);
      return send(to, xml, kind);
    };
    const first = await Promise.all(contacts.map((c) => c.m.encrypt(['alice@example.org'], `hello from ${c.jid}`)));
    const resolvedAt = new Map<string, number>();
    const got = await Promise.all(
      contacts.map((c, i) =>
        alice.decrypt(c.jid, first[i]!.elements[0]!.xml).then((r) => {
          resolvedAt.set(c.jid, spy.commits);
          return r;
        }),
      ),
    );
    got.forEach((r, i) => {
      assert.is(r.text, `hello from ${contacts[i]!.jid}`);
      assert.ok(r.keyExchange);
    });
    for (const c of contacts) {
      const staged = stagedAt.get(c.jid)!;
      assert.ok(
        sentAt.get(c.jid)! > staged,
        `${c.jid}: session-completion message sent before its session was durable`,
      );
      assert.ok(resolvedAt.get(c.jid)! > staged, `${c.jid}: decrypt acknowledged before its commit was durable`);
    }
    const afterFirst = spy.commits;
    assert.ok(afterFirst >= 1 && afterFirst < 20, `100 key exchanges in ${afterFirst} transactions`);
    const batch: { c: (typeof contacts)[number]; xml: EncryptResult }[] = [];
    for (let k = 0; k < 5; k++)
      for (const c of contacts) batch.push({ c, xml: await c.m.encrypt(['alice@example.org'], `${c.jid} ${k}`) });
    const steady = await Promise.all(batch.map(({ c, xml }) => alice.decrypt(c.jid, xml.elements[0]!.xml)));
    steady.forEach((r, i) => {
      assert.is(r.text, `${batch[i]!.c.jid} ${Math.floor(i / 100)}`);
    });
    assert.ok(spy.commits - afterFirst < 25, `500 messages in ${spy.commits - afterFirst} transactions`);
    // Fan-out sends at once to the 100 contacts, one encrypt each: grouped too, and readable.
    const before = spy.commits;
    const sent = await Promise.all(contacts.map((c) => alice.encrypt([c.jid], `to ${c.jid}`)));
    assert.ok(spy.commits - before < 20, `100 sends in ${spy.commits - before} transactions`);
    for (let i = 0; i < contacts.length; i++) {
      const r = await contacts[i]!.m.decrypt('alice@example.org', sent[i]!.elements[0]!.xml);
      assert.is(r.text, `to ${contacts[i]!.jid}`);
    }
  } finally {
    store.close();
  }
});

test('a lost group fails every decrypt in it and changes nothing: the same messages decrypt afterwards', async () => {
  const { store, alice, contacts } = await account(20);
  try {
    const hello = await Promise.all(contacts.map((c) => c.m.encrypt(['alice@example.org'], 'hello')));
    await Promise.all(contacts.map((c, i) => alice.decrypt(c.jid, hello[i]!.elements[0]!.xml)));
    const msgs = await Promise.all(contacts.map((c) => c.m.encrypt(['alice@example.org'], `steady ${c.jid}`)));
    const spy = spyCommits(store);
    spy.failNext = 1;
    const lost = await Promise.allSettled(contacts.map((c, i) => alice.decrypt(c.jid, msgs[i]!.elements[0]!.xml)));
    assert.ok(
      lost.every((r) => r.status === 'rejected'),
      lost.map((r) => r.status).join(),
    );
    for (const r of lost) await rejectsWith(Promise.reject((r as PromiseRejectedResult).reason), 'store-error');
    // Nothing was acknowledged, nothing kept: the same messages decrypt now (no duplicate-message), then new ones.
    const again = await Promise.all(contacts.map((c, i) => alice.decrypt(c.jid, msgs[i]!.elements[0]!.xml)));
    again.forEach((r, i) => {
      assert.is(r.text, `steady ${contacts[i]!.jid}`);
    });
    const next = await contacts[3]!.m.encrypt(['alice@example.org'], 'next');
    assert.is((await alice.decrypt(contacts[3]!.jid, next.elements[0]!.xml)).text, 'next');
    await alice.publish(); // a loss already undone does not fail later operations
  } finally {
    store.close();
  }
});

test('a lost group of first messages gives back the pre keys they used; the same key exchanges succeed afterwards', async () => {
  const { store, alice, contacts, router } = await account(10);
  try {
    const liveBefore = alice.preKeyIds().sort();
    const first = await Promise.all(contacts.map((c) => c.m.encrypt(['alice@example.org'], `hi ${c.jid}`)));
    const spy = spyCommits(store);
    spy.failNext = 1;
    const publishes = router.publishes.length;
    const lost = await Promise.allSettled(contacts.map((c, i) => alice.decrypt(c.jid, first[i]!.elements[0]!.xml)));
    assert.ok(lost.every((r) => r.status === 'rejected'));
    assert.equal(alice.preKeyIds().sort(), liveBefore, 'the used pre keys are live again, none was added');
    assert.is(router.publishes.length, publishes, 'nothing republished for changes that were lost');
    const again = await Promise.all(contacts.map((c, i) => alice.decrypt(c.jid, first[i]!.elements[0]!.xml)));
    again.forEach((r, i) => {
      assert.is(r.text, `hi ${contacts[i]!.jid}`);
    });
    assert.ok(router.publishes.length > publishes, 'republished once the key exchanges were kept');
  } finally {
    store.close();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
