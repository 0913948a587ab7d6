// Trust rules (src/omemo/trust.ts): initial trust per policy, which levels are encrypted to, fingerprint format.
// The manager-level trust behaviour is in session-manager-trust.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StoredDevice, TrustLevel } from '../../src/omemo/store/store';
import { formatFingerprint, initialTrust, isTrusted } from '../../src/omemo/policies/trust';

function dev(deviceId: number, trust: TrustLevel): StoredDevice {
  return {
    jid: 'bob@example.org',
    deviceId,
    activeIn: ['twomemo'],
    trust,
    sentSinceLastReceived: 0,
    lastReceivedAt: 0,
  };
}

test('btbv: blind while no device of the JID is verified, undecided afterwards', () => {
  assert.is(initialTrust('btbv', []), 'blind');
  assert.is(initialTrust('btbv', [dev(1, 'blind'), dev(2, 'undecided'), dev(3, 'distrusted')]), 'blind');
  assert.is(initialTrust('btbv', [dev(1, 'blind'), dev(2, 'verified')]), 'undecided');
  assert.is(initialTrust('btbv', [dev(2, 'verified')]), 'undecided');
});

test('blind trusts every new device, even after a verification', () => {
  assert.is(initialTrust('blind', []), 'blind');
  assert.is(initialTrust('blind', [dev(1, 'verified')]), 'blind');
  assert.is(initialTrust('blind', [dev(1, 'distrusted')]), 'blind');
});

test('manual leaves every new device undecided', () => {
  assert.is(initialTrust('manual', []), 'undecided');
  assert.is(initialTrust('manual', [dev(1, 'blind')]), 'undecided');
  assert.is(initialTrust('manual', [dev(1, 'verified')]), 'undecided');
});

test('only blind and verified devices are trusted', () => {
  assert.is(isTrusted('blind'), true);
  assert.is(isTrusted('verified'), true);
  assert.is(isTrusted('undecided'), false);
  assert.is(isTrusted('distrusted'), false);
});

test('formatFingerprint groups lowercase hex in blocks of 8', () => {
  const hex = '0123456789abcdef'.repeat(4);
  assert.is(formatFingerprint(hex), '01234567 89abcdef 01234567 89abcdef 01234567 89abcdef 01234567 89abcdef');
  assert.is(formatFingerprint('abc'), 'abc');
  assert.is(formatFingerprint(''), '');
  assert.is(formatFingerprint(hex).replace(/ /g, ''), hex);
});

test.run();
