// The page of the browser test (test/browser/run.mjs bundles it with esbuild, mapping the package entries to the
// built dist/, and opens it in headless Chromium): two managers talking in OMEMO 0.3 and OMEMO 2 on the browser's
// own crypto (no node:crypto), on MemoryStore and on IndexedDbStore, and the store conformance suite over
// IndexedDB, plain and with latency. Results go to `window.omemoResults` for the runner to read.
import { InProcessRouter } from '../../examples/in-process-router';
import { IndexedDbStore, OmemoManager, type OmemoStore } from '../../src/index';
import { storeConformanceCases, withLatency, type StoreFactory } from '../../src/testing';
import { converse } from './conversation';

interface Result {
  name: string;
  ok: boolean;
  detail: string;
}

const results: Result[] = [];
async function check(name: string, fn: () => Promise<string>): Promise<void> {
  try {
    results.push({ name, ok: true, detail: await fn() });
  } catch (e) {
    results.push({ name, ok: false, detail: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
}

let databases = 0;
const openIdb = (jid: string): Promise<IndexedDbStore> => IndexedDbStore.open(`test-${databases++}`, { jid });
const disposeIdb = async (store: OmemoStore): Promise<void> => {
  const idb = store as IndexedDbStore; // withLatency passes close() and name through
  idb.close();
  await new Promise<void>((resolve, reject) => {
    const r = indexedDB.deleteDatabase(idb.name);
    r.onsuccess = () => resolve();
    r.onerror = () => reject(r.error);
  });
};

async function main(): Promise<void> {
  await check('a browser: no process, no Buffer', async () => {
    const g = globalThis as { process?: unknown; Buffer?: unknown };
    if (g.process !== undefined || g.Buffer !== undefined) throw new Error('Node globals are defined');
    return navigator.userAgent;
  });
  for (const version of ['oldmemo', 'twomemo'] as const) {
    await check(`two managers talk in ${version} (MemoryStore)`, async () => (await converse(version, 3)).join('; '));
    await check(`two managers talk in ${version} (IndexedDbStore)`, async () => {
      const stores: IndexedDbStore[] = [];
      try {
        return (await converse(version, 2, async (jid) => stores[stores.push(await openIdb(jid)) - 1]!)).join('; ');
      } finally {
        for (const s of stores) await disposeIdb(s);
      }
    });
  }
  await check('a manager reopened on its IndexedDbStore keeps its device and identity', async () => {
    const router = new InProcessRouter();
    const jid = 'carol@example.org';
    const open = async (store: IndexedDbStore) =>
      OmemoManager.open({ jid, store, transport: router.connect(jid, `${jid}/web`) });
    const first = await openIdb(jid);
    const before = await open(first);
    first.close();
    const again = await IndexedDbStore.open(first.name, { jid });
    try {
      const after = await open(again);
      if (after.deviceId !== before.deviceId || after.fingerprint !== before.fingerprint)
        throw new Error(`device ${before.deviceId} came back as ${after.deviceId}`);
      return `device ${after.deviceId}`;
    } finally {
      await disposeIdb(again);
    }
  });
  await check('a record damaged in the database reads as store-error; a malformed commit writes nothing', async () => {
    const store = await openIdb('dave@example.org');
    try {
      const address = { version: 'twomemo', jid: 'eve@example.org', deviceId: 5 } as const;
      await store.commit({ putSessions: [{ address, record: new Uint8Array([1, 2, 3]) }] });
      // Another script of the origin writes the raw database behind the store's back.
      const raw = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open(store.name);
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      await new Promise<void>((resolve, reject) => {
        const tx = raw.transaction('sessions', 'readwrite');
        tx.objectStore('sessions').put('not bytes', ['twomemo', 'eve@example.org', 5]);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
      raw.close();
      const read = await store.loadSessions([address]).then(
        () => undefined,
        (e: unknown) => e,
      );
      if ((read as { code?: string } | undefined)?.code !== 'store-error') throw new Error(`read gave ${String(read)}`);
      const bad = { address: { ...address, deviceId: 6 }, record: [1, 2] as unknown as Uint8Array };
      const good = { address: { ...address, deviceId: 7 }, record: new Uint8Array([7]) };
      const commit = await store.commit({ putSessions: [good, bad] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(commit instanceof TypeError)) throw new Error(`commit gave ${String(commit)}`);
      const [seven] = await store.loadSessions([good.address]);
      if (seven !== undefined) throw new Error('part of a refused commit was written');
      return 'store-error, TypeError';
    } finally {
      await disposeIdb(store);
    }
  });
  await check('a second IndexedDbStore on an open database fails with store-locked', async () => {
    const first = await IndexedDbStore.open('locked', { jid: 'a@example.org' });
    try {
      const err = await IndexedDbStore.open('locked', { jid: 'a@example.org', lockTimeoutMs: 100 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if ((err as { code?: string } | undefined)?.code !== 'store-locked') throw new Error(`got ${String(err)}`);
      return 'store-locked';
    } finally {
      await disposeIdb(first);
    }
  });
  await check('an IndexedDbStore of another account fails with store-owner-mismatch', async () => {
    const first = await IndexedDbStore.open('owned', { jid: 'a@example.org' });
    first.close();
    const err = await IndexedDbStore.open('owned', { jid: 'b@example.org' }).then(
      (s) => (s.close(), undefined),
      (e: unknown) => e,
    );
    await disposeIdb(first);
    if ((err as { code?: string } | undefined)?.code !== 'store-owner-mismatch') throw new Error(`got ${String(err)}`);
    return 'store-owner-mismatch';
  });
  const plain: StoreFactory = { open: openIdb, dispose: disposeIdb };
  const slow: StoreFactory = {
    open: async (jid) => withLatency(await openIdb(jid), { maxDelayMs: 3 }),
    dispose: disposeIdb,
  };
  for (const [label, factory] of [
    ['IndexedDbStore', plain],
    ['IndexedDbStore with latency', slow],
  ] as const) {
    for (const c of storeConformanceCases(factory)) {
      await check(`conformance (${label}): ${c.name}`, async () => {
        await c.run();
        return 'ok';
      });
    }
  }
}

main().then(
  () => Object.assign(globalThis, { omemoResults: results }),
  (e: unknown) =>
    Object.assign(globalThis, { omemoResults: [...results, { name: 'page', ok: false, detail: String(e) }] }),
);
