// MemoryStore (src/omemo/memory-store.ts), the reference OmemoStore: the shared conformance suite
// (store-conformance.ts), also behind a random 0–5 ms latency on every call (src/testing/latency-store.ts), plus
// what only MemoryStore has: the commit counter and the beforeCommit hook.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import type { StoreChanges } from '../../src/omemo/store/store';
import { withLatency } from '../../src/testing/latency-store';
import { rngFor, snapshot } from './manager-fixture';
import {
  ADDRS,
  JIDS,
  assertSecondApplied,
  device,
  fullChanges,
  identity,
  pk,
  rejects,
  runStoreConformance,
  secondChanges,
} from './store-conformance';

runStoreConformance('MemoryStore', { open: async () => new MemoryStore() });
let latencySeed = 0;
runStoreConformance('MemoryStore with latency', {
  open: async () => {
    await cryptoReady(); // the seeded RNG hashes with libsodium
    return withLatency(new MemoryStore(), { maxDelayMs: 5, rng: rngFor(`memory latency ${++latencySeed}`) });
  },
});

test('commits counts successful commits only', async () => {
  const s = new MemoryStore();
  assert.is(s.commits, 0);
  await s.commit(fullChanges());
  assert.is(s.commits, 1);
  await rejects(
    () => s.commit({ putSessions: [{ address: ADDRS[0]!, record: (() => 1) as unknown as Uint8Array }] }),
    'a bad record',
  );
  assert.is(s.commits, 1);
});

test('commit is atomic: a throwing beforeCommit hook leaves nothing visible', async () => {
  const s = new MemoryStore();
  await s.commit(fullChanges());
  const before = await snapshot(s, JIDS, ADDRS);
  let seen: StoreChanges | undefined;
  s.beforeCommit = (c) => {
    seen = c;
    throw new Error('simulated write failure');
  };
  const second = secondChanges();
  await rejects(() => s.commit(second), 'a commit whose hook throws', /simulated write failure/);
  assert.ok(seen === second, 'the hook sees the changes');
  assert.is(s.commits, 1, 'a failed commit is not counted');
  assert.is(await snapshot(s, JIDS, ADDRS), before, 'nothing of the failed commit is visible');
  // The same changes apply once the hook stops failing.
  s.beforeCommit = undefined;
  await s.commit(second);
  assert.is(s.commits, 2);
  await assertSecondApplied(s);
});

test('commit is atomic when the changes cannot be copied (nothing half-applied)', async () => {
  const s = new MemoryStore();
  await s.commit(fullChanges());
  const before = await snapshot(s, JIDS, ADDRS);
  const bad = {
    identity: { ...identity(), deviceId: 1 },
    putPreKeys: [pk(5)],
    putDevices: [{ ...device('bob@example.org', 1), trust: 'verified' as const, activeIn: null }],
  } as unknown as StoreChanges;
  await rejects(() => s.commit(bad), 'a commit that cannot be copied');
  assert.is(s.commits, 1);
  assert.is(await snapshot(s, JIDS, ADDRS), before);
});

test('commit is atomic when a later entry is malformed: the records updated in place before it are untouched', async () => {
  const s = new MemoryStore();
  await s.commit(fullChanges());
  const before = await snapshot(s, JIDS, ADDRS);
  const [stored] = await s.loadDevices(['bob@example.org']);
  const updated = { ...stored!, sentSinceLastReceived: stored!.sentSinceLastReceived + 7, trust: 'verified' as const };
  const record = new Uint8Array(40).fill(9);
  const malformed: StoreChanges[] = [
    { putDevices: [updated, { ...stored!, previousIdentities: [null] }] } as unknown as StoreChanges,
    { putDevices: [updated, { ...stored!, identityKey: [1, 2] }] } as unknown as StoreChanges,
    {
      putDevices: [updated],
      putSessions: [
        { address: ADDRS[0]!, record },
        { address: null, record },
      ],
    },
    { putDevices: [updated], putSessions: [{ address: ADDRS[0]!, record }], deleteSessions: [ADDRS[1]!, null] },
  ] as unknown as StoreChanges[];
  for (const [i, bad] of malformed.entries()) {
    await rejects(() => s.commit(bad), `malformed commit ${i}`);
    assert.is(await snapshot(s, JIDS, ADDRS), before, `commit ${i}: nothing applied`);
  }
  assert.is(s.commits, 1);
});

test.run();
