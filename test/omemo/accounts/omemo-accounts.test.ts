// OmemoAccounts (src/omemo/accounts/omemo-accounts.ts): managers opened on demand and shared by concurrent
// operations, least recently used idle ones evicted beyond maxOpen, never one in use, never two managers of one
// account (a reopen waits for the close), a failed open tried again, close() after the running operations; and
// real managers whose stores outlive eviction carrying on a conversation through a pool of one.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InProcessRouter } from '../../../examples/in-process-router';
import { OmemoError } from '../../../src/crypto/errors';
import { cryptoReady } from '../../../src/crypto/ready';
import * as mainEntry from '../../../src/index';
import { ACCOUNTS_MAX_OPEN_MANAGERS, OmemoAccounts } from '../../../src/omemo/accounts/omemo-accounts';
import { OmemoManager } from '../../../src/omemo/manager/session-manager';
import { MemoryStore } from '../../../src/omemo/store/memory-store';
import { NODE_OMEMO2_DEVICES } from '../../../src/omemo/versions/twomemo';

/** A stand-in manager: the pool only hands it to the operations. */
const fake = (jid: string, n: number) => ({ jid, n }) as unknown as OmemoManager;
const tick = () => new Promise((r) => setTimeout(r, 0));

/** A factory that records every open and close, with optional delays and failures. */
function recorder(opts: { openDelay?: number; closeDelay?: number; failOpens?: number } = {}) {
  const events: string[] = [];
  let opens = 0;
  let failures = opts.failOpens ?? 0;
  const live = new Set<string>();
  return {
    events,
    live,
    open: async (jid: string) => {
      events.push(`open ${jid}`);
      await new Promise((r) => setTimeout(r, opts.openDelay ?? 0));
      if (failures > 0) {
        failures--;
        throw new OmemoError('store-locked', `${jid} is locked`);
      }
      assert.not.ok(live.has(jid), `two managers of ${jid}`);
      live.add(jid);
      return fake(jid, ++opens);
    },
    close: async (jid: string) => {
      await new Promise((r) => setTimeout(r, opts.closeDelay ?? 0));
      live.delete(jid);
      events.push(`close ${jid}`);
    },
  };
}

test('the bound is a named constant; options are checked; the main entry exports the pool', () => {
  assert.is(ACCOUNTS_MAX_OPEN_MANAGERS, 1000);
  assert.throws(() => new OmemoAccounts({} as never), TypeError);
  assert.throws(() => new OmemoAccounts({ open: async () => fake('a', 1), maxOpen: 0 }), RangeError);
  assert.throws(() => new OmemoAccounts({ open: async () => fake('a', 1), close: 5 as never }), TypeError);
  assert.is(mainEntry.OmemoAccounts, OmemoAccounts);
  assert.is(mainEntry.ACCOUNTS_MAX_OPEN_MANAGERS, ACCOUNTS_MAX_OPEN_MANAGERS);
});

test('managers open on demand, once for concurrent operations, keyed by bare JID', async () => {
  const f = recorder({ openDelay: 5 });
  const pool = new OmemoAccounts(f);
  const seen = await Promise.all([
    pool.run('a@x/phone', (m) => m),
    pool.run('a@x', (m) => m),
    pool.run('b@x', (m) => m),
  ]);
  assert.is(seen[0], seen[1], 'one manager for a@x');
  assert.is.not(seen[0], seen[2]);
  assert.equal(f.events, ['open a@x', 'open b@x']);
  assert.equal(pool.stats, { open: 2, opened: 2, evicted: 0, active: 0 });
});

test('least recently used idle managers are evicted beyond maxOpen; one in use never is', async () => {
  const f = recorder();
  const pool = new OmemoAccounts({ ...f, maxOpen: 2 });
  await pool.run('a@x', () => 1);
  await pool.run('b@x', () => 1);
  await pool.run('a@x', () => 1); // a is now the most recently used
  await pool.run('c@x', () => 1); // evicts b
  await tick();
  assert.ok(pool.isOpen('a@x') && pool.isOpen('c@x') && !pool.isOpen('b@x'), f.events.join());
  // While a, c and d all run, none can go: the bound gives way, and is restored when they finish.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const running = ['a@x', 'c@x', 'd@x'].map((j) => pool.run(j, () => gate));
  await tick();
  await tick();
  assert.is(pool.stats.open, 3);
  assert.is(pool.stats.active, 3);
  release();
  await Promise.all(running);
  await tick();
  assert.is(pool.stats.open, 2);
  assert.is(pool.stats.evicted, 2);
  assert.ok(f.events.includes('close b@x'));
});

test('never two managers of one account: a reopen waits until the evicted manager is closed', async () => {
  const f = recorder({ closeDelay: 30 });
  const pool = new OmemoAccounts({ ...f, maxOpen: 1 });
  await pool.run('a@x', () => 1);
  await pool.run('b@x', () => 1); // a is being closed (30 ms)
  await pool.run('a@x', () => 1); // must wait for it; b goes
  await pool.close();
  // The recorder's open asserts no second live manager; the order shows each close before the reopen.
  assert.equal(f.events, ['open a@x', 'open b@x', 'close a@x', 'open a@x', 'close b@x', 'close a@x']);
});

test('a failed open is tried again by the next operation; the error reaches every waiting operation', async () => {
  const f = recorder({ failOpens: 1, openDelay: 5 });
  const pool = new OmemoAccounts(f);
  const results = await Promise.allSettled([pool.run('a@x', () => 1), pool.run('a@x', () => 2)]);
  assert.equal(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.is(((results[0] as PromiseRejectedResult).reason as OmemoError).code, 'store-locked');
  assert.is(await pool.run('a@x', () => 3), 3);
  assert.equal(f.events, ['open a@x', 'open a@x']);
});

test('close() waits for the running operations, closes every manager, then refuses new ones', async () => {
  const f = recorder();
  const pool = new OmemoAccounts(f);
  let finished = false;
  const slow = pool.run('a@x', async () => {
    await new Promise((r) => setTimeout(r, 20));
    finished = true;
  });
  await pool.run('b@x', () => 1);
  await pool.close();
  assert.ok(finished, 'the running operation finished first');
  await slow;
  assert.equal(f.live.size, 0);
  try {
    await pool.run('a@x', () => 1);
    assert.unreachable('run after close');
  } catch (e) {
    assert.is((e as OmemoError).code, 'store-error');
  }
  await pool.close();
});

test('real managers through a pool of one: every message decrypts although each account is evicted in between', async () => {
  await cryptoReady();
  const router = new InProcessRouter();
  const stores = new Map<string, MemoryStore>(); // what a database keeps across evictions
  const accounts = ['a@bridge.example', 'b@bridge.example', 'c@bridge.example'];
  const pool = new OmemoAccounts({
    maxOpen: 1,
    open: async (jid) => {
      let store = stores.get(jid);
      if (store === undefined) stores.set(jid, (store = new MemoryStore()));
      const m = await OmemoManager.open({ jid, store, transport: router.connect(jid, `${jid}/bridge`) });
      return m;
    },
  });
  const peer = await OmemoManager.open({
    jid: 'peer@example.org',
    store: new MemoryStore(),
    transport: router.connect('peer@example.org', 'peer@example.org/phone'),
  });
  for (const jid of accounts) await pool.run(jid, () => undefined); // publish each account's bundle
  for (let round = 0; round < 3; round++) {
    for (const jid of accounts) {
      const out = await peer.encrypt([jid], `round ${round} to ${jid}`, { version: 'twomemo' });
      assert.ok(
        out.devices.every((d) => d.ok),
        JSON.stringify(out.devices),
      );
      for (const msg of router.drain(`${jid}/bridge`)) await pool.run(jid, (m) => m.decrypt(msg.from, msg.xml));
      const got = await pool.run(jid, (m) => m.decrypt('peer@example.org', out.elements[0]!.xml));
      assert.is(got.text, `round ${round} to ${jid}`);
      const reply = await pool.run(jid, (m) => m.encrypt(['peer@example.org'], `ack ${round}`, { version: 'twomemo' }));
      assert.is((await peer.decrypt(jid, reply.elements[0]!.xml)).text, `ack ${round}`);
      for (const msg of router.drain('peer@example.org/phone')) await peer.decrypt(msg.from, msg.xml);
    }
  }
  assert.ok(pool.stats.evicted >= 8, `${JSON.stringify(pool.stats)}`);
  assert.ok(router.drainNotifications !== undefined && NODE_OMEMO2_DEVICES.length > 0);
  await pool.close();
});

test.run();
