// The remembered key strings of the manager's caches (src/omemo/manager/address-keys.ts): always exactly store.ts's
// sessionKey / deviceListKey, whatever the order of the addresses, across versions, and past both bounds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ADDRESS_KEY_DEVICES_PER_JID,
  ADDRESS_KEY_JIDS,
  listKeyOf,
  sessionKeyOf,
} from '../../src/omemo/manager/address-keys';
import { deviceListKey, sessionKey, type SessionAddress } from '../../src/omemo/store/store';
import type { OmemoVersion } from '../../src/omemo/versions/backend';

const VERSIONS: OmemoVersion[] = ['oldmemo', 'twomemo'];

function check(a: SessionAddress): void {
  assert.is(sessionKeyOf(a), sessionKey(a), JSON.stringify(a));
  assert.is(listKeyOf(a.version, a.jid), deviceListKey(a.version, a.jid), JSON.stringify(a));
}

test('the same strings as sessionKey and deviceListKey, in any order, for both versions', () => {
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (let i = 0; i < 5000; i++) {
    // Few JIDs and ids: the same address comes back often, with the other version and other ids of its JID.
    check({ version: VERSIONS[next(2)]!, jid: `u${next(40)}@example.org`, deviceId: next(12) * 1_000_003 + 1 });
  }
});

test('past the bound of JIDs and of device ids per JID, still the same strings', () => {
  for (let i = 0; i < ADDRESS_KEY_JIDS + 50; i += 7) check({ version: 'twomemo', jid: `j${i}@x.org`, deviceId: i });
  for (let id = 1; id <= ADDRESS_KEY_DEVICES_PER_JID * 3; id++) {
    check({ version: 'oldmemo', jid: 'many@x.org', deviceId: id });
    check({ version: 'oldmemo', jid: 'many@x.org', deviceId: 1 });
  }
});

test.run();
