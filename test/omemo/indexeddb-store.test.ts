// IndexedDbStore where Node.js has no IndexedDB: what it refuses before touching a database. Its behaviour as a
// store (the conformance suite, locks, owners) is tested in headless Chromium by test/browser/run.mjs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OmemoError } from '../../src/crypto/errors';
import { IndexedDbStore } from '../../src/omemo/store/indexeddb-store';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => assert.unreachable('open resolved'),
    (e: unknown) => e,
  );
}

test('without IndexedDB (Node.js), open fails with store-error and says why', async () => {
  assert.is((globalThis as { indexedDB?: unknown }).indexedDB, undefined);
  const e = await rejection(IndexedDbStore.open('omemo', { jid: 'alice@example.org' }));
  assert.instance(e, OmemoError);
  assert.is((e as OmemoError).code, 'store-error');
  assert.match((e as OmemoError).message, /IndexedDB is not available/);
});

test('a bad name, JID or lock timeout is a programmer error', async () => {
  assert.instance(await rejection(IndexedDbStore.open('', { jid: 'alice@example.org' })), TypeError);
  assert.instance(await rejection(IndexedDbStore.open('omemo', { jid: '' })), TypeError);
  assert.instance(await rejection(IndexedDbStore.open('omemo', { jid: 7 as unknown as string })), TypeError);
  for (const lockTimeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const e = await rejection(IndexedDbStore.open('omemo', { jid: 'alice@example.org', lockTimeoutMs }));
    assert.instance(e, RangeError, String(lockTimeoutMs));
  }
});

test.run();
