// OmemoStore conformance (omemo-wasm/testing), values: what a commit writes reads back exactly (optional fields,
// trust per identity key, empty lists), and values are copied in and out.
import { toHex } from '../crypto/bytes';
import type { StoredDevice, StoredPreKey } from '../omemo/store/store';
import { equal, is, ok, present } from './assert';
import type { ConformanceCases } from './store-conformance';
import { A1, A2, ADDRS, JIDS, bytes, device, fullChanges, hexes, identity, pk, spk } from './store-fixtures';

/** The cases about values: name and body. */
export const VALUE_CASES: ConformanceCases = [
  [
    'an empty store reads as empty/undefined',
    async (open) => {
      const s = await open();
      is(await s.loadIdentity(), undefined, 'loadIdentity() of an empty store');
      equal(await s.loadSignedPreKeys(), [], 'loadSignedPreKeys() of an empty store');
      equal(await s.loadPreKeys(), [], 'loadPreKeys() of an empty store');
      is(await s.loadPreKey(1), undefined, 'loadPreKey(1) of an empty store');
      is(await s.loadDeviceList('oldmemo', 'bob@example.org'), undefined, 'loadDeviceList() of an empty store');
      equal(await s.loadDevices(JIDS), [], 'loadDevices() of an empty store');
      equal(await s.loadSessions(ADDRS), [undefined, undefined, undefined], 'loadSessions() of an empty store');
    },
  ],
  [
    'commit writes everything; reads return it',
    async (open) => {
      const s = await open();
      await s.commit(fullChanges());
      equal(await s.loadIdentity(), identity(), 'loadIdentity()');
      equal(await s.loadSignedPreKeys(), [spk(1)], 'loadSignedPreKeys()');
      equal(
        (await s.loadPreKeys()).sort((a, b) => a.id - b.id),
        [pk(1), pk(2, true)],
        'loadPreKeys() sorted by id',
      );
      equal(await s.loadPreKey(2), pk(2, true), 'loadPreKey(2)');
      equal(await s.loadDeviceList('oldmemo', 'bob@example.org'), [1, 2], 'loadDeviceList(oldmemo, bob)');
      is(await s.loadDeviceList('twomemo', 'bob@example.org'), undefined, 'lists are per version');
      equal(await s.loadDevices(['bob@example.org']), [device('bob@example.org', 1)], 'loadDevices([bob])');
      equal(
        hexes(await s.loadSessions([A1, A2])),
        [toHex(bytes(40, 0xa1)), toHex(bytes(40, 0xa2))],
        'loadSessions([A1, A2]) as hex',
      );
    },
  ],
  [
    'optional fields stay absent, and values round-trip exactly (order of activeIn, large numbers)',
    async (open) => {
      const s = await open();
      const { label: _label, ...noLabel } = identity();
      const bare: StoredDevice = {
        jid: 'bob@example.org',
        deviceId: 2 ** 31 - 1,
        activeIn: [],
        trust: 'undecided',
        sentSinceLastReceived: 0,
        lastReceivedAt: 0,
      };
      const reordered: StoredDevice = {
        ...device('bob@example.org', 5),
        activeIn: ['twomemo', 'oldmemo'],
        label: 'Grüße <&> "x"',
      };
      const bigSpk = { ...spk(3), createdAt: Date.UTC(2300, 0, 1) };
      await s.commit({ identity: noLabel, putDevices: [bare, reordered], putSignedPreKeys: [bigSpk] });
      const id = await s.loadIdentity();
      equal(id, noLabel, 'loadIdentity() of an identity without a label');
      ok(!(id !== undefined && 'label' in id), 'no label key at all');
      const devs = (await s.loadDevices(['bob@example.org'])).sort((a, b) => a.deviceId - b.deviceId);
      equal(devs, [reordered, bare], 'loadDevices([bob]) sorted by device id');
      const bareRead = present(devs[1], 'loadDevices([bob])[1]');
      ok(
        !('identityKey' in bareRead || 'label' in bareRead),
        'absent optional device fields are not present as undefined',
      );
      equal(await s.loadSignedPreKeys(), [bigSpk], 'loadSignedPreKeys() with a createdAt in 2300');
    },
  ],
  [
    'trust per identity key, silence and kept pre keys round-trip (and stay absent when unset)',
    async (open) => {
      const s = await open();
      const changed: StoredDevice = {
        ...device('bob@example.org', 3),
        previousIdentities: [
          { identityKey: bytes(32, 0xe1), trust: 'verified' },
          { identityKey: bytes(32, 0xe2), trust: 'distrusted' },
        ],
        unansweredSince: Date.UTC(2026, 11, 1),
      };
      const kept: StoredPreKey = {
        ...pk(7, true),
        consumedAt: Date.UTC(2026, 11, 2),
        acceptedBaseKeys: [bytes(32, 0xb1), bytes(32, 0xb2)],
      };
      await s.commit({ putDevices: [changed, device('bob@example.org', 4)], putPreKeys: [kept, pk(8)] });
      const devs = (await s.loadDevices(['bob@example.org'])).sort((a, b) => a.deviceId - b.deviceId);
      equal(devs, [changed, device('bob@example.org', 4)], 'loadDevices([bob]) sorted by device id');
      const plainDevice = present(devs[1], 'loadDevices([bob])[1]');
      ok(!('previousIdentities' in plainDevice || 'unansweredSince' in plainDevice), 'unset fields are absent');
      equal(await s.loadPreKey(7), kept, 'loadPreKey(7), consumed and kept');
      const plain = present(await s.loadPreKey(8), 'loadPreKey(8)');
      equal(plain, pk(8), 'loadPreKey(8)');
      ok(!('consumedAt' in plain || 'acceptedBaseKeys' in plain), 'unset pre key fields are absent');
      const previous = present(devs[0]?.previousIdentities?.[0], 'loadDevices([bob])[0].previousIdentities[0]');
      previous.identityKey[0] = 0;
      equal((await s.loadDevices(['bob@example.org']))[0], changed, 'previous identities are copied out');
    },
  ],
  [
    'a record rewritten again and again reads back as its last write, never aliasing what was committed or read',
    async (open) => {
      const s = await open();
      const bob = (n: number, extra: Partial<StoredDevice> = {}): StoredDevice => ({
        ...device('bob@example.org', 3),
        sentSinceLastReceived: n,
        ...extra,
      });
      // What a fan-out does to every device: the same device and a session record of the same length, rewritten.
      const first = bob(1, { unansweredSince: 1000 });
      const record1 = bytes(40, 0x11);
      await s.commit({ putDevices: [first], putSessions: [{ address: A1, record: record1 }] });
      const read = present((await s.loadDevices(['bob@example.org']))[0], 'loadDevices([bob])[0]');
      read.activeIn.pop();
      read.identityKey?.fill(0);
      present((await s.loadSessions([A1]))[0], 'loadSessions([A1])[0]').fill(0);
      const second = bob(2, { unansweredSince: 1000, identityKey: bytes(32, 0x5a), activeIn: ['twomemo'] });
      const record2 = bytes(40, 0x22);
      await s.commit({ putDevices: [second], putSessions: [{ address: A1, record: record2 }] });
      const expected = structuredClone(second);
      second.activeIn.push('oldmemo');
      second.identityKey?.fill(0xff);
      second.sentSinceLastReceived = 99;
      record1.fill(0xee);
      record2.fill(0xee);
      equal(await s.loadDevices(['bob@example.org']), [expected], 'the second write, unchanged by later edits');
      equal(hexes(await s.loadSessions([A1])), [toHex(bytes(40, 0x22))], 'the second record, unchanged');
      // Optional fields that go away stay away; a record of another length replaces the old one.
      const third = bob(0, { label: 'phone' });
      await s.commit({ putDevices: [third], putSessions: [{ address: A1, record: bytes(24, 0x33) }] });
      const devs = await s.loadDevices(['bob@example.org']);
      equal(devs, [third], 'the third write');
      ok(!('unansweredSince' in present(devs[0], 'devs[0]')), 'a field the last write lacks is absent');
      equal(hexes(await s.loadSessions([A1])), [toHex(bytes(24, 0x33))], 'the shorter third record');
      await s.commit({ putSessions: [{ address: A1, record: bytes(24, 0x44) }] });
      equal(hexes(await s.loadSessions([A1])), [toHex(bytes(24, 0x44))], 'the fourth record');
    },
  ],
  [
    'an empty device list is stored as [] (not as "never fetched")',
    async (open) => {
      const s = await open();
      await s.commit({ putDeviceLists: [{ version: 'twomemo', jid: 'bob@example.org', deviceIds: [] }] });
      equal(await s.loadDeviceList('twomemo', 'bob@example.org'), [], 'loadDeviceList() of an empty list');
    },
  ],
];
