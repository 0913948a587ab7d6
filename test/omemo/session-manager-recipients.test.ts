// OmemoManager per-recipient reports (XEP-0384 0.9 §4.4): an invalid JID, an account that does not exist, an
// unreachable server, a device list shown to contacts only and a contact without OMEMO each have their own code;
// every recipient is reported, and a refused send stores nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { OMEMO_ERROR_CODES } from '../../src/crypto/errors';
import type { OmemoTransport } from '../../src/omemo/manager/transport';
import { recipientReports } from '../../src/omemo/manager/recipients';
import type { DeviceReport } from '../../src/omemo/manager/manager-types';
import { jidProblem } from '../../src/omemo/stanzas/jid';
import { InProcessRouter, VERSIONS, elementOf, openDevice, rejectsWith, syncDeviceLists } from './manager-fixture';

test.before(async () => {
  await cryptoReady();
});

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

/** A transport that answers fetches for some JIDs with a stanza error, as @xmpp/client's StanzaError does. */
function refusing(inner: OmemoTransport, conditions: Record<string, string>, fetched: string[]): OmemoTransport {
  return {
    ...inner,
    fetch: async (jid, node, itemId) => {
      fetched.push(jid);
      const condition = conditions[jid];
      if (condition !== undefined) throw Object.assign(new Error(condition), { name: 'StanzaError', condition });
      return inner.fetch(jid, node, itemId);
    },
  };
}

test('jidProblem: what RFC 7622 forbids, and what it allows', () => {
  for (const bad of [
    '',
    'bob@',
    '@example.org',
    'bad@@jid',
    'a b@example.org',
    'bob@exa mple.org',
    'bob@a..b',
    'bob@.example.org',
    'bob@example.org/',
    'x"y@example.org',
    `${'a'.repeat(1024)}@example.org`,
    '<b>@example.org',
  ])
    assert.type(jidProblem(bad), 'string', bad);
  for (const good of [
    'bob@example.org',
    'example.org',
    'bob@example.org/phone',
    'bob@example.org/a/b',
    'bob@[::1]',
    'bob@127.0.0.1',
    'bøb@exämple.org',
    'bob@example.org.',
    'room@conference.example.org/nick @x',
  ])
    assert.is(jidProblem(good), undefined, good);
});

test('recipientReports: reached devices counted per JID, in the order given; a JID none reached says why', () => {
  const ok = (jid: string, deviceId: number): DeviceReport => ({ jid, deviceId, version: 'twomemo', ok: true });
  const failed = (jid: string, deviceId: number, error: 'stale-device' | 'untrusted-device'): DeviceReport => ({
    jid,
    deviceId,
    version: 'twomemo',
    ok: false,
    error,
    message: error,
  });
  const devices = [
    ok('b@x.org', 1),
    failed('c@x.org', 5, 'stale-device'),
    failed('b@x.org', 2, 'untrusted-device'),
    ok('a@x.org', 3),
    failed('c@x.org', 6, 'stale-device'),
    failed('d@x.org', 7, 'stale-device'),
    failed('d@x.org', 8, 'untrusted-device'),
    ok('b@x.org', 4),
  ];
  const failures = new Map([['e@x.org', { code: 'recipient-unreachable' as const, message: 'e: no list' }]]);
  const r = recipientReports(['a@x.org', 'b@x.org', 'c@x.org', 'd@x.org', 'e@x.org', 'f@x.org'], failures, devices);
  assert.equal(
    r.map(({ jid, ok, devices, error }) => [jid, ok, devices, error]),
    [
      ['a@x.org', true, 1, undefined],
      ['b@x.org', true, 2, undefined],
      ['c@x.org', false, 0, 'stale-device'],
      ['d@x.org', false, 0, 'no-eligible-devices'],
      ['e@x.org', false, 0, 'recipient-unreachable'],
      ['f@x.org', false, 0, 'no-omemo'],
    ],
  );
  assert.match(r[2]!.message!, /5: stale-device, 6: stale-device/);
  assert.match(r[3]!.message!, /7: stale-device, 8: untrusted-device/);
});

test('the new recipient codes are stable codes', () => {
  for (const code of [
    'invalid-jid',
    'recipient-unreachable',
    'recipient-not-found',
    'device-list-forbidden',
    'no-omemo',
  ])
    assert.ok((OMEMO_ERROR_CODES as readonly string[]).includes(code), code);
});

for (const version of VERSIONS) {
  const world = async () => {
    const router = new InProcessRouter();
    const fetched: string[] = [];
    const conditions = {
      'ghost@example.org': 'service-unavailable',
      'private@example.org': 'forbidden',
      'far@nowhere.example': 'remote-server-not-found',
      'odd@example.org': 'undefined-condition',
    };
    const alice = await openDevice(router, ALICE, 'a', {
      versions: [version],
      transport: refusing(router.connect(ALICE, `${ALICE}/a`), conditions, fetched),
    });
    const bob = await openDevice(router, BOB, 'b', { versions: [version] });
    await syncDeviceLists(router, [alice, bob]);
    return { router, alice, bob, fetched };
  };

  test(`${version}: each kind of unreachable recipient has its own code, and nothing is stored`, async () => {
    const { alice } = await world();
    const cases = [
      ['bad@@jid', 'invalid-jid'],
      ['bob@', 'invalid-jid'],
      ['ghost@example.org', 'recipient-not-found'],
      ['private@example.org', 'device-list-forbidden'],
      ['far@nowhere.example', 'recipient-unreachable'],
      ['odd@example.org', 'transport-error'],
      ['silent@example.org', 'no-omemo'],
    ] as const;
    const commits = alice.store.commits;
    for (const [who, code] of cases) {
      const e = await rejectsWith(alice.m.encrypt([who], 'x'), code);
      assert.ok(e.message.includes(who), `${e.message} names ${who}`);
      await rejectsWith(alice.m.encrypt([BOB, who], 'x'), code);
    }
    assert.is(alice.store.commits, commits, 'a refused send stores nothing');
  });

  test(`${version}: partial reports every recipient in order; an invalid JID is never sent to the server`, async () => {
    const { alice, bob, fetched } = await world();
    const to = [BOB, 'bad@@jid', 'ghost@example.org', 'private@example.org', 'silent@example.org', `${BOB}/phone`];
    const r = await alice.m.encrypt(to, 'to whoever can read it', { partial: true });
    assert.equal(
      r.recipients.map(({ jid, ok, error }) => [jid, ok, error]),
      [
        [BOB, true, undefined],
        ['bad@@jid', false, 'invalid-jid'],
        ['ghost@example.org', false, 'recipient-not-found'],
        ['private@example.org', false, 'device-list-forbidden'],
        ['silent@example.org', false, 'no-omemo'],
      ],
    );
    assert.is(r.recipients[0]!.devices, 1);
    for (const failed of r.recipients.slice(1)) assert.ok(failed.message?.includes(failed.jid), failed.message);
    assert.not.ok(fetched.includes('bad@@jid'), 'no fetch for an address that is not a JID');
    assert.is((await bob.m.decrypt(ALICE, elementOf(r, version))).text, 'to whoever can read it');
  });

  test(`${version}: a failed device-list fetch is asked again by the next send`, async () => {
    const { router, alice, fetched } = await world();
    router.unreachable.add('carol@example.org');
    await rejectsWith(alice.m.encrypt(['carol@example.org'], 'x'), 'recipient-unreachable');
    router.unreachable.delete('carol@example.org');
    const carol = await openDevice(router, 'carol@example.org', 'c', { versions: [version] });
    const before = fetched.filter((j) => j === 'carol@example.org').length;
    const r = await alice.m.encrypt(['carol@example.org'], 'now reachable');
    assert.ok(fetched.filter((j) => j === 'carol@example.org').length > before);
    assert.equal(r.recipients, [{ jid: 'carol@example.org', ok: true, devices: 1 }]);
    assert.is((await carol.m.decrypt(ALICE, elementOf(r, version))).text, 'now reachable');
  });

  test(`${version}: our own JID as a recipient is reached even without other devices of ours`, async () => {
    const { alice } = await world();
    const r = await alice.m.encrypt([ALICE, BOB], 'x');
    assert.equal(r.recipients[0], { jid: ALICE, ok: true, devices: 0 });
  });
}

test.run();
