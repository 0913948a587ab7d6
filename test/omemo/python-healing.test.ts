// Session repair against python-omemo (the peer in ../shared/interop): our device, restored from an old backup,
// cannot read python-omemo's next message; it repairs the session on its own (a key-exchange message) and the
// conversation goes on within one round trip, both versions. Without the peer: a loud SKIPPED line, or a failure
// under CI=true.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady, type OmemoVersion } from '../../src/index';
import { pythonPeerAvailable } from '../shared-dir';
import { copyStore } from './manager-fixture';
import { deliver, expectText, ourParty, pythonParty } from './python-parties';

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

if (pythonPeerAvailable(test, 'python-healing')) {
  test.before(async () => {
    await cryptoReady();
  });

  for (const version of ['oldmemo', 'twomemo'] as const satisfies readonly OmemoVersion[]) {
    test(`${version}: restored from an old backup, we repair the session with python-omemo in one round trip`, async () => {
      const py = await pythonParty(version, ALICE, 1001, BOB);
      try {
        const ours = await ourParty(version, BOB, 2002);
        await ours.addDevice(ALICE, 1001, py.bundleXml, py.deviceListXml);
        await py.peer.ok({
          cmd: 'add_device',
          backend: version,
          jid: BOB,
          device_id: 2002,
          bundle_xml: ours.bundleXml,
          devicelist_xml: ours.deviceListXml,
        });
        await expectText(py.party, ours.party, await py.party.send('hi'), 'hi', 'key exchange');
        await expectText(ours.party, py.party, await ours.party.send('hello'), 'hello', 'reply');
        const saved = await copyStore(ours.store, [ALICE, BOB], [{ version, jid: ALICE, deviceId: 1001 }]);
        for (let i = 0; i < 3; i++) {
          await expectText(py.party, ours.party, await py.party.send(`a${i}`), `a${i}`, 'before the restore');
          await expectText(ours.party, py.party, await ours.party.send(`b${i}`), `b${i}`, 'before the restore');
        }
        // The device comes back from the backup: its session with python-omemo is three ratchet steps behind.
        const restored = await ourParty(version, BOB, 2002, { store: saved, pep: ours.pep });
        await restored.addDevice(ALICE, 1001, py.bundleXml, py.deviceListXml);
        const failed = await deliver(py.party, restored.party, await py.party.send('lost'));
        assert.is(failed.error, 'bad-mac');
        assert.is(failed.sent.length, 1, 'one repair message, delivered to python-omemo by deliver()');
        await expectText(
          py.party,
          restored.party,
          await py.party.send('can you read me?'),
          'can you read me?',
          'after the repair',
        );
        await expectText(restored.party, py.party, await restored.party.send('yes'), 'yes', 'and back');
      } finally {
        await py.party.close();
      }
    });
  }
}

test.run();
