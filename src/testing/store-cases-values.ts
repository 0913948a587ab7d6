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
    'an empty device list is stored as [] (not as "never fetched")',
    async (open) => {
      const s = await open();
      await s.commit({ putDeviceLists: [{ version: 'twomemo', jid: 'bob@example.org', deviceIds: [] }] });
      equal(await s.loadDeviceList('twomemo', 'bob@example.org'), [], 'loadDeviceList() of an empty list');
    },
  ],
];
