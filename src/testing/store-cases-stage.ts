// OmemoStore conformance (omemo-wasm/testing), the optional group commit `stage` (store.ts): staged changes visible
// at once and atomically, a failing stage applying nothing and leaving the others of its batch, durables settling in
// staging order. A store without `stage` passes these cases (the manager then awaits `commit` instead).
import type { SessionAddress, StoreChanges } from '../omemo/store/store';
import { equal, is, ok, rejects } from './assert';
import type { ConformanceCases } from './store-conformance';
import { ADDRS, JIDS, assertSecondApplied, bytes, fullChanges, secondChanges, storeSnapshot } from './store-fixtures';

/** The cases about `stage`: name and body. */
export const STAGE_CASES: ConformanceCases = [
  [
    'stage (optional): staged changes are visible to loads at once, as a commit of them would leave the store',
    async (open) => {
      const s = await open();
      if (s.stage === undefined) return;
      const reference = await open();
      await reference.commit(fullChanges());
      const staged = s.stage(fullChanges());
      is(await storeSnapshot(s, JIDS, ADDRS), await storeSnapshot(reference, JIDS, ADDRS), 'after stage');
      await staged.durable;
      is(await storeSnapshot(s, JIDS, ADDRS), await storeSnapshot(reference, JIDS, ADDRS), 'once durable');
    },
  ],
  [
    'stage (optional): a stage that fails throws at once with nothing applied; the others of its batch stay',
    async (open) => {
      const s = await open();
      if (s.stage === undefined) return;
      const first = s.stage(fullChanges());
      const dave: SessionAddress = { version: 'twomemo', jid: 'dave@example.org', deviceId: 4 };
      const second = secondChanges();
      const bad: StoreChanges = {
        ...second,
        putSessions: [...second.putSessions!, { address: dave, record: (() => 1) as unknown as Uint8Array }],
      };
      let threw = false;
      let late: Promise<void> | undefined;
      try {
        late = s.stage(bad).durable;
      } catch {
        threw = true;
      }
      if (late !== undefined) await rejects(() => late!, 'a stage with a function as a record');
      ok(threw || late !== undefined, 'the invalid stage failed');
      equal(await s.loadSessions([dave]), [undefined], 'the session of the failed stage');
      const reference = await open();
      await reference.commit(fullChanges());
      is(await storeSnapshot(s, JIDS, ADDRS), await storeSnapshot(reference, JIDS, ADDRS), 'after the failed stage');
      await first.durable;
      const after = s.stage(second);
      await after.durable;
      await assertSecondApplied(s);
    },
  ],
  [
    'stage (optional): the durables of changes staged one after the other settle in that order',
    async (open) => {
      const s = await open();
      if (s.stage === undefined) return;
      const order: number[] = [];
      const all: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        const address: SessionAddress = { version: 'oldmemo', jid: `order${i}@example.org`, deviceId: i + 1 };
        all.push(s.stage({ putSessions: [{ address, record: bytes(40, i) }] }).durable.then(() => void order.push(i)));
      }
      await Promise.all(all);
      equal(
        order,
        Array.from({ length: 20 }, (_, i) => i),
        'settle order',
      );
    },
  ],
];
