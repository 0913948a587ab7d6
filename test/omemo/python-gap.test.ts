// Double Ratchet §3.5 (skipped message keys) across implementations: after more than
// MAX_SKIPPED_KEYS_PER_MESSAGE messages of one chain were lost, the session still works between our public
// manager (OmemoManager) and python-omemo (the peer in ../shared/interop), both directions, both versions.
// Without the peer: a loud SKIPPED line, or a failure under CI=true.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/index';
import { MAX_SKIPPED_KEYS_PER_MESSAGE } from '../../src/protocol/constants';
import { pythonPeerAvailable } from '../shared-dir';
import { deliver, expectText, ourParty, pythonParty, type Party, type Received } from './python-parties';

const available = pythonPeerAvailable(test, 'python-gap');
/** Lost messages in a row: both over MAX_SKIPPED_KEYS_PER_MESSAGE (and python-omemo's threshold of 1000). */
const GAPS = [1500, 2000];
/** The other side speaks this often during the gap (on the chain the sender knows: no DH step). */
const KEEPALIVE_EVERY = 400;

/**
 * `sender` → `receiver`: a key exchange; the first message of the sender's next chain is held back; `gap`
 * messages of that chain are lost (the receiver keeps talking meanwhile, on the chain the sender knows, so no DH
 * step happens); the held message arrives; the receiver replies (the sender takes a DH step); the sender's
 * answer opens a new chain with pn = gap + 1. Returns the receiver's verdict on one lost message delivered late.
 */
async function gapConversation(sender: Party, receiver: Party, gap: number): Promise<Received> {
  await expectText(sender, receiver, await sender.send('hello'), 'hello', 'key exchange');
  const held = await sender.send('first of the chain');
  let firstLost = '';
  for (let i = 0; i < gap; i++) {
    const xml = await sender.send(`lost ${i}`);
    if (i === 0) firstLost = xml;
    if (i % KEEPALIVE_EVERY === KEEPALIVE_EVERY - 1)
      await expectText(receiver, sender, await receiver.send(`keepalive ${i}`), `keepalive ${i}`, 'keepalive');
  }
  await expectText(sender, receiver, held, 'first of the chain', 'the held first message of the chain');
  await expectText(receiver, sender, await receiver.send('reply'), 'reply', 'reply');
  // The message the old code refused (too-many-skipped), and every later one with it.
  await expectText(
    sender,
    receiver,
    await sender.send('answer after the gap'),
    'answer after the gap',
    `answer after ${gap} lost`,
  );
  for (let round = 0; round < 3; round++) {
    await expectText(receiver, sender, await receiver.send(`r${round}`), `r${round}`, `round ${round} back`);
    await expectText(sender, receiver, await sender.send(`s${round}`), `s${round}`, `round ${round} forth`);
  }
  const late = await deliver(sender, receiver, firstLost);
  await expectText(sender, receiver, await sender.send('still fine'), 'still fine', 'after the late message');
  await expectText(
    receiver,
    sender,
    await receiver.send('still fine back'),
    'still fine back',
    'after the late message',
  );
  return late;
}

if (available) {
  test.before(async () => {
    await cryptoReady();
  });

  assert.ok(GAPS.every((g) => g > MAX_SKIPPED_KEYS_PER_MESSAGE));
  for (const version of ['oldmemo', 'twomemo'] as const) {
    for (const gap of GAPS) {
      test(`${version}: we lose ${gap} messages to python-omemo, then answer on a new chain: all goes on`, async () => {
        const ours = await ourParty(version, 'alice@example.org', 1001);
        const py = await pythonParty(version, 'bob@example.org', 2002, 'alice@example.org');
        try {
          await ours.addDevice('bob@example.org', 2002, py.bundleXml, py.deviceListXml);
          await py.peer.ok({
            cmd: 'add_device',
            backend: version,
            jid: 'alice@example.org',
            device_id: 1001,
            bundle_xml: ours.bundleXml,
            devicelist_xml: ours.deviceListXml,
          });
          const late = await gapConversation(ours.party, py.party, gap);
          // python-omemo's Double Ratchet (doubleratchet 1.0.3, DiffieHellmanRatchet.next_decryption_key): when
          // the rest of the old chain exceeds its threshold (1000) it derives NONE of those keys (a warning) and
          // steps on. So a lost message delivered late cannot be decrypted there: DecryptionFailed. We keep the
          // first keys after the gap started instead (see the next test).
          assert.is(
            late.error,
            'DecryptionFailed',
            `python-omemo on a late message of the dropped rest: ${JSON.stringify(late)}`,
          );
        } finally {
          await py.party.close();
        }
      });

      test(`${version}: python-omemo loses ${gap} messages to us, answers on a new chain: all goes on`, async () => {
        const ours = await ourParty(version, 'bob@example.org', 2002);
        const py = await pythonParty(version, 'alice@example.org', 1001, 'bob@example.org');
        try {
          await ours.addDevice('alice@example.org', 1001, py.bundleXml, py.deviceListXml);
          await py.peer.ok({
            cmd: 'add_device',
            backend: version,
            jid: 'bob@example.org',
            device_id: 2002,
            bundle_xml: ours.bundleXml,
            devicelist_xml: ours.deviceListXml,
          });
          const late = await gapConversation(py.party, ours.party, gap);
          // We derived the first MAX_SKIPPED_KEYS_PER_MESSAGE keys after the gap started: the first lost one decrypts.
          assert.is(late.error, undefined, `a late message within the kept keys: ${JSON.stringify(late)}`);
          assert.is(late.text, 'lost 0');
        } finally {
          await py.party.close();
        }
      });
    }
  }
}

test.run();
