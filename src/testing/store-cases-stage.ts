// OmemoStore conformance (omemo-wasm/testing), the optional group commit `stage` (store.ts): staged changes visible
// at once and atomically, a failing stage applying nothing and leaving the others of its batch, durables settling in
// staging order, the last of several stages of one record winning. A store without `stage` passes these cases (the
// manager then awaits `commit` instead).
import type { SessionAddress, StoreChanges, StoredDevice } from '../omemo/store/store';
import { equal, is, ok, rejects } from './assert';
import type { ConformanceCases } from './store-conformance';
import {
  A1,
  A2,
  A3,
  ADDRS,
  JIDS,
  assertSecondApplied,
  bytes,
  device,
  fullChanges,
  identity,
  secondChanges,
  storeSnapshot,
} from './store-fixtures';

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
    'stage (optional): of several stages of one session or device record the last wins, also a deletion after puts; ' +
      'a stage refused for its identity keeps none of its sessions or devices; objects changed after staging change nothing',
    async (open) => {
      const s = await open();
      if (s.stage === undefined) return;
      const stages: Promise<void>[] = [];
      const bob = device('bob@example.org', 1);
      for (let i = 1; i <= 5; i++)
        stages.push(
          s.stage({
            putSessions: [{ address: A2, record: bytes(60, i) }],
            putDevices: [{ ...bob, sentSinceLastReceived: i }],
          }).durable,
        );
      const carol: StoredDevice = {
        ...device('carol@example.org', 9),
        activeIn: ['twomemo'],
        sentSinceLastReceived: 6,
      };
      const record = bytes(60, 6);
      stages.push(s.stage({ putSessions: [{ address: A3, record }], putDevices: [carol] }).durable);
      record.fill(9);
      carol.activeIn.push('oldmemo');
      carol.sentSinceLastReceived = 99;
      carol.identityKey!.fill(0xee);
      stages.push(s.stage({ putSessions: [{ address: A1, record: bytes(60, 7) }] }).durable);
      stages.push(s.stage({ deleteSessions: [A1] }).durable);
      const erin: SessionAddress = { version: 'twomemo', jid: 'erin@example.org', deviceId: 5 };
      let refused: Promise<void> | undefined;
      try {
        refused = s.stage({
          identity: { ...identity(), jid: 'mallory@example.org' },
          putSessions: [{ address: erin, record: bytes(60, 8) }],
          putDevices: [device('erin@example.org', 5)],
        }).durable;
      } catch {
        refused = undefined;
      }
      if (refused !== undefined) await rejects(() => refused!, 'a stage with the identity of another JID');
      const expect = async (when: string) => {
        equal(await s.loadSessions([A2, A3, A1, erin]), [bytes(60, 5), bytes(60, 6), undefined, undefined], when);
        const devices = await s.loadDevices(['bob@example.org', 'carol@example.org', 'erin@example.org']);
        equal(
          devices.map((d) => [d.jid, d.deviceId, d.sentSinceLastReceived, d.activeIn, d.identityKey]),
          [
            ['bob@example.org', 1, 5, ['oldmemo', 'twomemo'], bytes(32, 1)],
            ['carol@example.org', 9, 6, ['twomemo'], bytes(32, 9)],
          ],
          when,
        );
      };
      await expect('before the stages are durable');
      await Promise.all(stages);
      await expect('once they are durable');
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
