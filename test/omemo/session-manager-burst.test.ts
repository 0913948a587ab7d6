// First messages from many new contacts at once (decryption.ts, session-manager.ts `#exclusive`, publishing.ts
// `republishBundles`): the bundle is republished once per burst, by its last operation, before the manager is idle,
// at the latest after REPUBLISH_DEFERRED_OPERATIONS_MAX operations, and never offers a used pre key afterwards.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { parseBundle } from '../../src/omemo/versions/by-version';
import { pepLocations } from '../../src/omemo/versions/by-version';
import { OmemoManager, REPUBLISH_DEFERRED_OPERATIONS_MAX } from '../../src/omemo/manager/session-manager';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import { InProcessRouter, rngFor } from './manager-fixture';

const ALICE = 'alice@example.org';

async function burst(count: number, version: 'oldmemo' | 'twomemo') {
  await cryptoReady();
  const router = new InProcessRouter();
  const store = new MemoryStore();
  const alice = await OmemoManager.open({
    jid: ALICE,
    store,
    transport: router.connect(ALICE, `${ALICE}/a`),
    rng: rngFor(`burst alice ${version}`),
    versions: [version],
  });
  const node = pepLocations(version, alice.deviceId).bundleNode;
  const first: { jid: string; m: OmemoManager; xml: string }[] = [];
  for (let i = 0; i < count; i++) {
    const jid = `n${i}@example.org`;
    const m = await OmemoManager.open({
      jid,
      store: new MemoryStore(),
      transport: router.connect(jid, `${jid}/x`),
      rng: rngFor(`burst ${jid}`),
      versions: [version],
    });
    await m.setDeviceList(ALICE, version, [alice.deviceId]);
    first.push({ jid, m, xml: (await m.encrypt([ALICE], `first ${i}`)).elements[0]!.xml });
  }
  const before = router.publishes.filter((p) => p.jid === ALICE && p.node === node).length;
  const results = await Promise.all(first.map((f) => alice.decrypt(f.jid, f.xml)));
  const republished = router.publishes.filter((p) => p.jid === ALICE && p.node === node).slice(before);
  return { alice, first, results, republished, router, node, store, version };
}

for (const version of ['oldmemo', 'twomemo'] as const) {
  test(`${version}: 50 first messages at once republish the bundle once, before the manager is idle`, async () => {
    const { alice, first, results, republished, store } = await burst(50, version);
    results.forEach((r, i) => {
      assert.is(r.text, `first ${i}`);
      assert.ok(r.keyExchange);
      assert.is(r.sent.length, 1, 'the session-completion message');
    });
    assert.is(republished.length, 1, 'one bundle publish for the burst');
    // The one republish happened when every decrypt had resolved: it offers no used key, and a full set of live ones.
    const offered = parseBundle(republished[0]!.xml, version).preKeys.map((k) => k.id);
    const stored = await store.loadPreKeys();
    const used = new Set(stored.filter((k) => k.consumed).map((k) => k.id));
    assert.ok(used.size > 0);
    assert.ok(
      offered.every((id) => !used.has(id)),
      'no used pre key is offered',
    );
    assert.equal(offered.sort(), alice.preKeyIds().sort());
    assert.is(offered.length, 100);
    // A contact's next message (still a key exchange until it reads our answer) decrypts on the same session.
    for (const f of first.slice(0, 5)) {
      const next = await f.m.encrypt([ALICE], 'second');
      assert.is((await alice.decrypt(f.jid, next.elements[0]!.xml)).text, 'second');
    }
  });
}

test('a burst longer than REPUBLISH_DEFERRED_OPERATIONS_MAX republishes within that many operations, and at its end', async () => {
  const count = REPUBLISH_DEFERRED_OPERATIONS_MAX + 20;
  const { republished, version } = await burst(count, 'twomemo');
  assert.is(republished.length, 2, `${republished.length} publishes for ${count} first messages`);
  // The first republish offered keys that had been used by then no more: its set differs from the final one.
  const a = parseBundle(republished[0]!.xml, version).preKeys.map((k) => k.id);
  const b = parseBundle(republished[1]!.xml, version).preKeys.map((k) => k.id);
  assert.not.equal(a.sort(), b.sort());
});

test('one first message at a time: each republishes before its decrypt resolves (as before bursts)', async () => {
  const { alice, republished } = await burst(1, 'twomemo');
  assert.is(republished.length, 1);
  assert.equal(
    parseBundle(republished[0]!.xml, 'twomemo')
      .preKeys.map((k) => k.id)
      .sort(),
    alice.preKeyIds().sort(),
  );
});

test.run();
