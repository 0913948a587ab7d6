// OmemoStore conformance (omemo-wasm/testing), commits: atomic, batched session reads in order, exact JID
// matching, deletes, and reads racing a commit that see all of it or none.
import { toHex } from '../crypto/bytes';
import { sessionKey, type SessionAddress, type StoreChanges } from '../omemo/store/store';
import { equal, is, isNot, ok, present, rejects } from './assert';
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
  hexes,
  pk,
  secondChanges,
  spk,
  storeSnapshot,
} from './store-fixtures';
import { nextTurn } from './turns';

/** Reads of the store racing one commit: at least this many, however fast the store is. */
const MIN_RACING_READS = 4;
/** Devices of the batched-read case (two session addresses each, one in three without a record). */
const BATCH_DEVICES = 300;
/** Distinct JIDs among them. */
const BATCH_JIDS = 30;

/** The cases about commits and reads: name and body. */
export const COMMIT_CASES: ConformanceCases = [
  [
    'commit is atomic: an invalid value at the end of a large commit leaves nothing of it visible',
    async (open) => {
      const s = await open();
      await s.commit(fullChanges());
      const before = await storeSnapshot(s, JIDS, ADDRS);
      const second = secondChanges();
      const dave: SessionAddress = { version: 'twomemo', jid: 'dave@example.org', deviceId: 4 };
      const notBytes = (() => 1) as unknown as Uint8Array;
      const bad: StoreChanges = {
        ...second,
        putSessions: [...second.putSessions!, { address: dave, record: notBytes }],
      };
      await rejects(() => s.commit(bad), 'a commit whose last session record is a function');
      is(await storeSnapshot(s, JIDS, ADDRS), before, 'nothing of the failed commit is visible');
      equal(await s.loadSessions([dave]), [undefined], 'the session of the failed commit');
      // The same changes apply once they are valid.
      await s.commit(second);
      isNot(await storeSnapshot(s, JIDS, ADDRS), before, 'the valid commit changed the store');
      await assertSecondApplied(s);
    },
  ],
  [
    'values are copied in: mutating what was committed does not change the store',
    async (open) => {
      const s = await open();
      const changes = fullChanges();
      await s.commit(changes);
      const before = await storeSnapshot(s, JIDS, ADDRS);
      changes.identity!.identityPrivateKey.fill(0xee);
      changes.identity!.deviceId = 1;
      changes.putSignedPreKeys![0]!.signatures.oldmemo.fill(0xee);
      changes.putSignedPreKeys![0]!.privateKey.fill(0xee);
      changes.putPreKeys![0]!.privateKey.fill(0xee);
      changes.putPreKeys![0]!.consumed = true;
      changes.putDeviceLists![0]!.deviceIds.push(99);
      changes.putDevices![0]!.activeIn.pop();
      changes.putDevices![0]!.identityKey!.fill(0xee);
      changes.putDevices![0]!.trust = 'distrusted';
      changes.putSessions![0]!.record.fill(0xee);
      is(await storeSnapshot(s, JIDS, ADDRS), before, 'the store after the committed values were mutated');
    },
  ],
  [
    'values are copied out: mutating what was read does not change the store',
    async (open) => {
      const s = await open();
      await s.commit(fullChanges());
      const before = await storeSnapshot(s, JIDS, ADDRS);
      const id = present(await s.loadIdentity(), 'loadIdentity() after a commit');
      id.identityPrivateKey.fill(0xee);
      id.nextPreKeyId = 1;
      const spks = await s.loadSignedPreKeys();
      const firstSpk = present(spks[0], 'loadSignedPreKeys()[0] after a commit');
      firstSpk.signatures.twomemo.fill(0xee);
      firstSpk.publicKey.fill(0xee);
      spks.push(spk(5));
      const firstPk = present((await s.loadPreKeys())[0], 'loadPreKeys()[0] after a commit');
      firstPk.privateKey.fill(0xee);
      firstPk.consumed = true;
      const one = present(await s.loadPreKey(1), 'loadPreKey(1) after a commit');
      one.publicKey.fill(0xee);
      present(await s.loadDeviceList('oldmemo', 'bob@example.org'), 'loadDeviceList() after a commit').push(5);
      const firstDevice = present((await s.loadDevices(JIDS))[0], 'loadDevices()[0] after a commit');
      firstDevice.activeIn.length = 0;
      present(firstDevice.identityKey, 'loadDevices()[0].identityKey after a commit').fill(0xee);
      firstDevice.sentSinceLastReceived = 1000;
      const sessions = await s.loadSessions(ADDRS);
      for (const r of sessions) r?.fill(0xee);
      is(await storeSnapshot(s, JIDS, ADDRS), before, 'the store after the values read were mutated');
    },
  ],
  [
    'loadSessions is one batched read: one entry per address in order, undefined where none, version-distinct',
    async (open) => {
      const s = await open();
      const addrs: SessionAddress[] = [];
      const puts: { address: SessionAddress; record: Uint8Array }[] = [];
      for (let i = 1; i <= BATCH_DEVICES; i++) {
        for (const version of ['oldmemo', 'twomemo'] as const) {
          const address = { version, jid: `user${i % BATCH_JIDS}@example.org`, deviceId: i };
          addrs.push(address);
          if (i % 3 !== 0) {
            puts.push({ address, record: Uint8Array.of(version === 'oldmemo' ? 1 : 2, i & 255, i >> 8) });
          }
        }
      }
      await s.commit({ putSessions: puts });
      const got = await s.loadSessions(addrs);
      is(got.length, addrs.length, `loadSessions() of ${addrs.length} addresses: number of entries`);
      const stored = new Map(puts.map((p) => [sessionKey(p.address), toHex(p.record)]));
      equal(
        hexes(got),
        addrs.map((a) => stored.get(sessionKey(a)) ?? '-'),
        `loadSessions() of ${addrs.length} addresses as hex`,
      );
      // Same device id, other JID or other version: not found.
      const other = await s.loadSessions([{ version: 'oldmemo', jid: 'nobody@example.org', deviceId: 1 }]);
      equal(other, [undefined], 'the session of the same device id of another JID');
      // Asking for an address twice or in any order gives the same records, each in its place.
      const twice = await s.loadSessions([A1, addrs[0]!, addrs[0]!]);
      equal(hexes(twice), ['-', '010100', '010100'], 'loadSessions() asking for an address twice');
      equal(await s.loadSessions([]), [], 'loadSessions([])');
    },
  ],
  [
    'loadDevices returns exactly the devices of the given JIDs',
    async (open) => {
      const s = await open();
      await s.commit({
        putDevices: [
          device('bob@example.org', 1),
          device('bob@example.org', 2),
          device('carol@example.org', 3),
          device('bob@example.org.evil', 4),
        ],
      });
      const ids = async (jids: string[]) => (await s.loadDevices(jids)).map((d) => d.deviceId).sort();
      equal(await ids(['bob@example.org']), [1, 2], 'device ids of loadDevices([bob])');
      equal(await ids(['carol@example.org', 'bob@example.org']), [1, 2, 3], 'device ids of loadDevices([carol, bob])');
      is(
        (await s.loadDevices(['BOB@example.org', 'bob@example.org/res', 'bob@example'])).length,
        0,
        'no case folding, no prefix match',
      );
      equal(await s.loadDevices([]), [], 'loadDevices([])');
      // A put replaces the record of the same (jid, device id).
      await s.commit({ putDevices: [{ ...device('bob@example.org', 1), trust: 'verified' }] });
      const bob = await s.loadDevices(['bob@example.org']);
      is(bob.length, 2, 'devices of bob after a put replaced one');
      is(bob.find((d) => d.deviceId === 1)?.trust, 'verified', 'the trust of the replaced device');
    },
  ],
  [
    'deletes remove exactly what they name; a put and a delete of the same key in one commit deletes',
    async (open) => {
      const s = await open();
      await s.commit({
        putSignedPreKeys: [spk(1), spk(2)],
        putPreKeys: [pk(1), pk(2), pk(3)],
        putSessions: [
          { address: A1, record: bytes(4, 1) },
          { address: A2, record: bytes(4, 2) },
        ],
      });
      await s.commit({ deleteSignedPreKeys: [1], deletePreKeys: [2], deleteSessions: [A2] });
      equal(
        (await s.loadSignedPreKeys()).map((k) => k.id),
        [2],
        'signed pre key ids after deleting 1',
      );
      equal((await s.loadPreKeys()).map((k) => k.id).sort(), [1, 3], 'pre key ids after deleting 2');
      is(await s.loadPreKey(2), undefined, 'loadPreKey(2) after deleting it');
      equal(hexes(await s.loadSessions(ADDRS)), [toHex(bytes(4, 1)), '-', '-'], 'sessions after deleting A2');
      // Deleting what is not there is no error.
      await s.commit({ deleteSignedPreKeys: [42], deletePreKeys: [42], deleteSessions: [A3] });
      await s.commit({
        putPreKeys: [pk(7)],
        deletePreKeys: [7],
        putSessions: [{ address: A3, record: bytes(4, 3) }],
        deleteSessions: [A3],
      });
      is(await s.loadPreKey(7), undefined, 'a pre key put and deleted in one commit');
      equal(await s.loadSessions([A3]), [undefined], 'a session put and deleted in one commit');
    },
  ],
  [
    'reads during a commit see all of it or none of it; reads after it see all of it',
    async (open) => {
      const s = await open();
      await s.commit(fullChanges());
      const before = await storeSnapshot(s, JIDS, ADDRS);
      // One read of the sessions changed by secondChanges(), as the hex of A1 | A2 | A3 (absent: '-').
      const readSessions = async () => hexes(await s.loadSessions(ADDRS)).join('|');
      const old = await readSessions();
      const reads: Promise<string>[] = [];
      const listReads: Promise<number[] | undefined>[] = [];
      const committing = s.commit(secondChanges());
      let done = false;
      void committing.then(
        () => (done = true),
        () => (done = true),
      );
      // Keep reading until the commit has returned (at least a few reads, however fast the store is).
      while (!done || reads.length < MIN_RACING_READS) {
        reads.push(readSessions());
        listReads.push(s.loadDeviceList('oldmemo', 'bob@example.org'));
        await nextTurn();
      }
      await committing;
      const after = await readSessions();
      isNot(after, old, 'the sessions after the commit');
      for (const r of await Promise.all(reads)) ok(r === old || r === after, `a read saw part of a commit: ${r}`);
      for (const l of await Promise.all(listReads)) {
        ok(['1,2', '7'].includes(String(l)), `a read of the device list during the commit: ${String(l)}`);
      }
      await assertSecondApplied(s);
      isNot(await storeSnapshot(s, JIDS, ADDRS), before, 'the store after the commit');
    },
  ],
];
