// The manager's cache of sessions (src/omemo/manager/manager-core.ts cacheSession): bounded by SESSION_CACHE_ENTRIES,
// the session put back last replaces the cached one, and once the bound is near the least recently put back goes
// first.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManagerCore, SESSION_CACHE_ENTRIES } from '../../src/omemo/manager/manager-core';
import type { OmemoTransport } from '../../src/omemo/manager/transport';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import type { Session } from '../../src/protocol/session';

function coreOn(): ManagerCore {
  return new ManagerCore({ jid: 'alice@example.org', store: new MemoryStore(), transport: {} as OmemoTransport });
}

/** A stand-in session: the cache only keeps and hands back the object. */
const fake = (n: number) => ({ n }) as unknown as Session;
const key = (n: number) => `twomemo|bob${n}@example.org|1`;

test('a session put back replaces the cached one, under half the bound and above it', () => {
  const core = coreOn();
  for (let i = 0; i < 10; i++) core.cacheSession(key(i), fake(i));
  const newer = fake(100);
  core.cacheSession(key(3), newer);
  assert.is(core.sessions.get(key(3)), newer);
  assert.is(core.sessions.size, 10);
  for (let i = 10; i < SESSION_CACHE_ENTRIES / 2 + 10; i++) core.cacheSession(key(i), fake(i));
  const newest = fake(101);
  core.cacheSession(key(3), newest);
  assert.is(core.sessions.get(key(3)), newest);
  assert.is(core.sessions.size, SESSION_CACHE_ENTRIES / 2 + 10);
});

test('the cache never holds more than SESSION_CACHE_ENTRIES; near the bound the least recently put back goes first', () => {
  const core = coreOn();
  for (let i = 0; i < SESSION_CACHE_ENTRIES; i++) core.cacheSession(key(i), fake(i));
  assert.is(core.sessions.size, SESSION_CACHE_ENTRIES);
  core.cacheSession(key(0), fake(0)); // put back: now the most recent
  core.cacheSession(key(SESSION_CACHE_ENTRIES), fake(SESSION_CACHE_ENTRIES));
  assert.is(core.sessions.size, SESSION_CACHE_ENTRIES);
  assert.ok(core.sessions.has(key(0)), 'the session put back stays');
  assert.not.ok(core.sessions.has(key(1)), 'the least recent goes');
  for (let i = 0; i < 100; i++) core.cacheSession(key(SESSION_CACHE_ENTRIES + 1 + i), fake(i));
  assert.is(core.sessions.size, SESSION_CACHE_ENTRIES);
  assert.ok(core.sessions.has(key(0)));
});

test.run();
