// The record shapes IndexedDbStore checks on the way in and out (src/omemo/store/indexeddb-values.ts): the
// conformance fixtures pass, and each kind of damage is named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RECORD_CHECKS } from '../../src/omemo/store/indexeddb-values';
import { bytes, device, identity, pk, spk } from '../../src/testing/store-fixtures';

const GOOD = {
  identity: identity(),
  'signed pre key': spk(1),
  'pre key': { ...pk(2, true), consumedAt: 5, acceptedBaseKeys: [bytes(32, 3)] },
  'device list': [1, 2, 2 ** 31 - 1],
  device: {
    ...device('bob@example.org', 7),
    label: 'x',
    previousIdentities: [{ identityKey: bytes(32, 9), trust: 'verified' }],
  },
  session: bytes(40, 1),
} as const;

test('the records of the conformance fixtures have their shape', () => {
  for (const [kind, check] of Object.entries(RECORD_CHECKS)) {
    assert.is(check(GOOD[kind as keyof typeof GOOD]), undefined, kind);
  }
  const { label: _l, ...unlabelled } = identity();
  assert.is(RECORD_CHECKS.identity(unlabelled), undefined, 'optional fields may be absent');
  assert.is(RECORD_CHECKS.device({ ...device('bob@example.org', 1), activeIn: [] }), undefined);
});

test('each kind of damage is named', () => {
  const cases: [keyof typeof RECORD_CHECKS, unknown, RegExp][] = [
    ['identity', null, /not an object/],
    ['identity', { ...identity(), identityPrivateKey: bytes(31, 1) }, /identityPrivateKey is 31 bytes/],
    ['identity', { ...identity(), deviceId: -1 }, /deviceId/],
    ['identity', { ...identity(), identityPrivateKey: [...bytes(32, 1)] }, /not a Uint8Array/],
    ['signed pre key', { ...spk(1), signatures: { oldmemo: bytes(64, 1) } }, /signatures.twomemo/],
    ['signed pre key', { ...spk(1), createdAt: Number.NaN }, /createdAt/],
    ['pre key', { ...pk(1), consumed: 'yes' }, /consumed/],
    ['pre key', { ...pk(1), acceptedBaseKeys: [bytes(33, 0)] }, /acceptedBaseKeys\[0\]/],
    ['device list', [1, 'two'], /deviceIds\[1\]/],
    ['device list', { 0: 1 }, /not an array/],
    ['device', { ...device('b@x', 1), trust: 'maybe' }, /trust/],
    ['device', { ...device('b@x', 1), activeIn: ['omemo3'] }, /activeIn/],
    ['device', { ...device('b@x', 1), previousIdentities: [{ identityKey: bytes(32, 1), trust: 'x' }] }, /trust/],
    ['device', { ...device('b@x', 1), jid: '' }, /jid/],
    ['session', 'AAAA', /record is not a Uint8Array/],
  ];
  for (const [kind, value, pattern] of cases) {
    const problem = RECORD_CHECKS[kind](value);
    assert.ok(
      problem !== undefined && pattern.test(problem),
      `${kind} ${JSON.stringify(value)?.slice(0, 60)}: ${problem}`,
    );
  }
});

test.run();
