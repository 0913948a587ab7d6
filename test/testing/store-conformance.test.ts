// src/testing (the package entry omemo-wasm/testing) itself: the conformance cases through the runner-agnostic
// API pass on MemoryStore and fail on deliberately broken stores (half a commit applied, a session record
// dropped, case-folded JIDs, records shared with the caller) with a ConformanceError naming the failed check; every
// store a case opens is disposed of; the assertions' deep equality; withLatency's checks and statistics.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import type { OmemoStore, SessionAddress, StagedCommit, StoreChanges, StoredDevice } from '../../src/omemo/store/store';
import * as testingEntry from '../../src/testing';
import { ConformanceError, difference, equal, rejects } from '../../src/testing/assert';
import { latencyStats, withLatency } from '../../src/testing/latency-store';
import { type StoreFactory, storeConformanceCases } from '../../src/testing/store-conformance';

/** Runs every case; the errors of the failed ones by case name. */
async function failures(factory: StoreFactory): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const c of storeConformanceCases(factory)) {
    try {
      await c.run();
    } catch (e) {
      out.set(c.name, e);
    }
  }
  return out;
}

/** Asserts that the store fails `expected` (among others maybe), every failure a ConformanceError. */
async function assertFails(store: () => OmemoStore, expected: RegExp, messages: RegExp): Promise<void> {
  const failed = await failures({ open: async () => store() });
  assert.ok(failed.size > 0, 'at least one case fails');
  const names = [...failed.keys()];
  assert.ok(
    names.some((n) => expected.test(n)),
    `a case matching ${String(expected)} fails: ${names.join('; ')}`,
  );
  for (const [name, e] of failed) {
    assert.instance(e, ConformanceError, `${name}: ${String(e)}`);
    assert.match((e as Error).message, /\S: \S/, `${name}: the message says what was checked and how it failed`);
  }
  assert.match(
    [...failed.values()].map((e) => (e as Error).message).join('\n'),
    messages,
    'the messages name the broken behaviour',
  );
}

/** Applies only the first half of the kinds of changes (identity, putSessions, …) of each commit. */
class HalfCommitStore extends MemoryStore {
  override async commit(changes: StoreChanges): Promise<void> {
    const kinds = Object.keys(changes) as (keyof StoreChanges)[];
    const half = Object.fromEntries(kinds.slice(0, Math.ceil(kinds.length / 2)).map((k) => [k, changes[k]]));
    return super.commit(half);
  }
}

/** Drops the last record that loadSessions finds. */
class DropOneSessionStore extends MemoryStore {
  override async loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]> {
    const records = await super.loadSessions(addresses);
    for (let i = records.length - 1; i >= 0; i--) {
      if (records[i] !== undefined) {
        records[i] = undefined;
        break;
      }
    }
    return records;
  }
}

/** Matches JIDs without regard to case. */
class CaseFoldingStore extends MemoryStore {
  override async loadDevices(jids: readonly string[]): Promise<StoredDevice[]> {
    return super.loadDevices(jids.map((j) => j.toLowerCase()));
  }
}

/** Hands out the session records it keeps, not copies of them. */
class SharedRecordStore extends MemoryStore {
  private readonly kept = new Map<string, Uint8Array>();

  override async commit(changes: StoreChanges): Promise<void> {
    await super.commit(changes);
    for (const { address, record } of changes.putSessions ?? []) this.kept.set(JSON.stringify(address), record);
    for (const address of changes.deleteSessions ?? []) this.kept.delete(JSON.stringify(address));
  }

  override async loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]> {
    return addresses.map((a) => this.kept.get(JSON.stringify(a)));
  }
}

test('the entry exports the suite, the latency wrapper and the error class, and no test framework', () => {
  assert.equal(Object.keys(testingEntry).sort(), [
    'CONFORMANCE_OWNER_JID',
    'ConformanceError',
    'latencyStats',
    'storeConformanceCases',
    'withLatency',
  ]);
});

test('MemoryStore passes every case through the runner-agnostic API, plain and with latency', async () => {
  const cases = storeConformanceCases({ open: async () => new MemoryStore() });
  assert.ok(cases.length >= 12, `${cases.length} cases`);
  assert.is(new Set(cases.map((c) => c.name)).size, cases.length, 'the names are unique');
  assert.equal([...(await failures({ open: async () => new MemoryStore() })).keys()], []);
  const slow = { open: async () => withLatency(new MemoryStore(), { maxDelayMs: 2 }) };
  assert.equal([...(await failures(slow)).keys()], []);
});

test('a store whose commit applies half of the changes fails', async () => {
  await assertFails(() => new HalfCommitStore(), /^commit writes everything/, /loadDeviceList\(oldmemo, bob\)/);
});

test('a store whose loadSessions drops a record fails', async () => {
  await assertFails(() => new DropOneSessionStore(), /^loadSessions is one batched read/, /loadSessions\(/);
});

test('a store that matches JIDs without regard to case fails', async () => {
  await assertFails(() => new CaseFoldingStore(), /^loadDevices returns exactly/, /no case folding/);
});

test('a store that hands out its own session records fails', async () => {
  await assertFails(() => new SharedRecordStore(), /^values are copied (in|out)/, /mutated/);
});

/** A group commit that is neither visible at once nor in order: stage applies the changes a turn later. */
class LateStageStore extends MemoryStore {
  stage(changes: StoreChanges): StagedCommit {
    return { durable: new Promise((r) => setTimeout(r, Math.random() * 3)).then(() => super.commit(changes)) };
  }
}

/** A group commit that applies the valid part of a failing stage (the sessions before the bad one). */
class PartialStageStore extends MemoryStore {
  stage(changes: StoreChanges): StagedCommit {
    const good = (changes.putSessions ?? []).filter((p) => p.record instanceof Uint8Array);
    if (good.length !== (changes.putSessions ?? []).length) {
      void super.commit({ putSessions: good });
      throw new TypeError('session record must be a Uint8Array');
    }
    return { durable: super.commit(changes) };
  }
}

test('a store whose stage applies late and out of order fails', async () => {
  await assertFails(
    () => new LateStageStore(),
    /^stage \(optional\): staged changes are visible/,
    /after stage|settle order/,
  );
});

test('a store whose failing stage applies part of it fails', async () => {
  await assertFails(() => new PartialStageStore(), /^stage \(optional\): a stage that fails/, /failed stage/);
});

test('every store a case opens is disposed of, also when the case fails; the case error comes first', async () => {
  for (const Store of [MemoryStore, HalfCommitStore]) {
    const open = new Set<OmemoStore>();
    let owners = new Set<string>();
    const factory: StoreFactory = {
      open: async (ownerJid) => {
        owners.add(ownerJid);
        const s = new Store();
        open.add(s);
        return s;
      },
      dispose: (s) => {
        assert.ok(open.delete(s), 'disposed of once, and only stores it opened');
      },
    };
    await failures(factory);
    assert.is(open.size, 0, `${Store.name}: stores left open`);
    assert.equal([...owners], [testingEntry.CONFORMANCE_OWNER_JID]);
    owners = new Set();
  }
  // A failing dispose fails a case that passed; it does not hide the error of a case that failed.
  const refuse = () => {
    throw new Error('cannot close');
  };
  const [first] = storeConformanceCases({ open: async () => new MemoryStore(), dispose: refuse });
  await rejects(() => first!.run(), 'a passing case whose dispose throws', /cannot close/);
  const [, second] = storeConformanceCases({ open: async () => new HalfCommitStore(), dispose: refuse });
  const e = await rejects(() => second!.run(), 'a failing case whose dispose throws');
  assert.instance(e, ConformanceError);
  assert.throws(() => storeConformanceCases({} as StoreFactory), TypeError);
});

test('deep equality: plain objects by own keys, arrays, Uint8Array by constructor and bytes; paths in messages', () => {
  const v = { a: [1, { b: Uint8Array.of(1, 2, 3) }], c: 'x' };
  assert.is(difference(v, { a: [1, { b: Uint8Array.of(1, 2, 3) }], c: 'x' }), undefined);
  assert.is(difference(v, { a: [1, { b: Uint8Array.of(1, 9, 3) }], c: 'x' }), 'byte 1 is 2, not 9 at .a[1].b');
  assert.match(String(difference([1, 2], [1, 2, 3])), /^2 elements where 3 were expected/);
  assert.is(difference({ a: 1, u: undefined }, { a: 1 }), 'unexpected key "u"');
  assert.is(difference({ a: 1 }, { a: 1, u: undefined }), 'missing key "u"');
  assert.is(difference(undefined, []), 'undefined where an array was expected');
  assert.is(
    difference(Buffer.from([1]), Uint8Array.of(1)),
    'Uint8Array subclass Buffer(1) 01 where a Uint8Array was expected',
  );
  assert.is(difference(Number.NaN, Number.NaN), undefined);
  assert.is(difference(new Date(0), new Date(0)) !== undefined, true, 'class instances only by identity');
  assert.throws(
    () => equal({ a: [1] }, { a: [2] }, 'the thing'),
    (e: unknown) => {
      return e instanceof ConformanceError && e.message === 'the thing: 1 where 2 was expected at .a[0]';
    },
  );
});

test('withLatency: argument checks, statistics, and pass-through of what is not a read or a commit', async () => {
  const inner = new MemoryStore();
  assert.throws(() => withLatency(inner, { maxDelayMs: -1 }), RangeError);
  assert.throws(() => withLatency(inner, { maxDelayMs: Number.POSITIVE_INFINITY }), RangeError);
  assert.throws(() => withLatency(inner, { maxDelayMs: 1, rng: 5 as never }), TypeError);
  assert.throws(() => latencyStats(inner), TypeError);
  const slow = withLatency(inner, { maxDelayMs: 3 });
  await slow.commit({ putPreKeys: [] });
  await slow.loadPreKeys();
  assert.is(slow.commits, 1, 'a counter of the wrapped store passes through');
  const stats = latencyStats(slow);
  assert.is(stats.calls, 2);
  assert.ok(stats.totalDelayMs >= 0 && stats.totalDelayMs <= 6, `${stats.totalDelayMs} ms`);
});

test.run();
