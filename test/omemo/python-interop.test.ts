// Interop of the stanza layer with python-omemo (the peer in ../shared/interop next to the project root):
// python accepts what we serialise, we parse what python writes. Without the peer or Debian's python3 it
// skips loudly, and fails under CI=true (test/shared-dir.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  parseBundle,
  serializeBundle,
  parseDeviceList,
  serializeDeviceList,
  keysFor,
  parseEncrypted,
  serializeEncrypted,
} from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { buildEnvelope, parseEnvelope } from '../../src/omemo/stanzas/sce';
import { PeerProcess } from '../interop/peer-process';
import { pythonPeerAvailable } from '../shared-dir';

const available = pythonPeerAvailable(test, 'python-interop');
const SPECIAL = `Grüße <&> "quotes" 'apos' 🎉\nsecond line`;

/** python-omemo's peer; `ok` asserts success. */
class Peer {
  private readonly process = PeerProcess.python('python-omemo');
  request = (req: Record<string, unknown>) => this.process.request(req);
  ok = (req: Record<string, unknown>) => this.process.ok(req);
  quit = async () => {
    await this.process.quit();
  };
}

type Init = { backends: Record<OmemoVersion, { bundle_xml: string; devicelist_xml: string }> };

if (available) {
  for (const version of ['oldmemo', 'twomemo'] as const) {
    test(`${version}: python accepts our bundles and device lists, we parse its messages, it parses ours`, async () => {
      const alice = new Peer();
      const bob = new Peer();
      try {
        const a = (await alice.ok({
          cmd: 'init',
          jid: 'alice@example.org',
          device_id: 1001,
          backends: [version],
        })) as unknown as Init;
        const b = (await bob.ok({
          cmd: 'init',
          jid: 'bob@example.org',
          device_id: 1489678178,
          backends: [version],
        })) as unknown as Init;

        // Bundles and device lists go through our parse → serialize before python sees them.
        const ourBobBundle = serializeBundle(parseBundle(b.backends[version].bundle_xml, version), version);
        const ourBobList = serializeDeviceList(parseDeviceList(b.backends[version].devicelist_xml, version), version);
        const ourAliceBundle = serializeBundle(parseBundle(a.backends[version].bundle_xml, version), version);
        await alice.ok({
          cmd: 'add_device',
          backend: version,
          jid: 'bob@example.org',
          device_id: 1489678178,
          bundle_xml: ourBobBundle,
          devicelist_xml: ourBobList,
        });
        await bob.ok({
          cmd: 'add_device',
          backend: version,
          jid: 'alice@example.org',
          device_id: 1001,
          bundle_xml: ourAliceBundle,
        });

        // alice → bob, first message (key exchange): parsed and re-serialised by us, then decrypted by bob.
        const enc = await alice.ok({ cmd: 'encrypt', backend: version, to: ['bob@example.org'], plaintext: 'first' });
        const parsed = parseEncrypted(String(enc.encrypted_xml));
        assert.is(parsed.version, version);
        const mine = keysFor(parsed, 'bob@example.org', 1489678178);
        assert.ok(mine?.keyExchange, 'the first message carries a key exchange for bob');
        const { version: v, ...data } = parsed;
        const dec = await bob.ok({
          cmd: 'decrypt',
          backend: version,
          from_jid: 'alice@example.org',
          encrypted_xml: serializeEncrypted(data, v),
        });
        assert.is(dec.plaintext, 'first');

        // The automatic empty message python sends back parses as an empty message.
        const sent = dec.sent as { encrypted_xml: string }[];
        assert.is(sent.length, 1, 'python-omemo answers a key exchange with one empty message (README C5)');
        const empty = parseEncrypted(sent[0]!.encrypted_xml, version);
        assert.is(empty.payload, undefined);
        assert.is(keysFor(empty, 'alice@example.org', 1001)!.keyExchange, false);
        if (version === 'oldmemo') assert.is(empty.iv!.length, 12);

        // Our SCE envelope (XML specials, emoji, newline) is understood by the python peer, and its own
        // envelope by us.
        if (version === 'twomemo') {
          const envelope = buildEnvelope({ body: SPECIAL, from: 'alice@example.org' });
          const enc2 = await alice.ok({
            cmd: 'encrypt',
            backend: version,
            to: ['bob@example.org'],
            plaintext: envelope,
            sce: false,
          });
          const dec2 = await bob.ok({
            cmd: 'decrypt',
            backend: version,
            from_jid: 'alice@example.org',
            encrypted_xml: String(enc2.encrypted_xml),
          });
          assert.is(dec2.plaintext, SPECIAL);
          const enc3 = await alice.ok({
            cmd: 'encrypt',
            backend: version,
            to: ['bob@example.org'],
            plaintext: SPECIAL,
          });
          const dec3 = await bob.ok({
            cmd: 'decrypt',
            backend: version,
            from_jid: 'alice@example.org',
            encrypted_xml: String(enc3.encrypted_xml),
            sce: false,
          });
          const env = parseEnvelope(String(dec3.plaintext));
          assert.is(env.body, SPECIAL);
          assert.is(env.from, 'alice@example.org');
        }
      } finally {
        await Promise.all([alice.quit(), bob.quit()]);
      }
    });
  }

  test('python rejects prekey="false" as a key exchange (why we never write it) and our label-free legacy list is accepted', async () => {
    const alice = new Peer();
    const bob = new Peer();
    try {
      const b = (await bob.ok({
        cmd: 'init',
        jid: 'bob@example.org',
        device_id: 2002,
        backends: ['oldmemo'],
      })) as unknown as Init;
      const a = (await alice.ok({
        cmd: 'init',
        jid: 'alice@example.org',
        device_id: 1001,
        backends: ['oldmemo'],
      })) as unknown as Init;
      await alice.ok({
        cmd: 'add_device',
        backend: 'oldmemo',
        jid: 'bob@example.org',
        device_id: 2002,
        bundle_xml: b.backends.oldmemo.bundle_xml,
      });
      await bob.ok({
        cmd: 'add_device',
        backend: 'oldmemo',
        jid: 'alice@example.org',
        device_id: 1001,
        bundle_xml: a.backends.oldmemo.bundle_xml,
        devicelist_xml: serializeDeviceList([{ id: 1001, label: 'dropped for legacy' }], 'oldmemo'),
      });
      const first = await alice.ok({ cmd: 'encrypt', backend: 'oldmemo', to: ['bob@example.org'], plaintext: 'one' });
      await bob.ok({
        cmd: 'decrypt',
        backend: 'oldmemo',
        from_jid: 'alice@example.org',
        encrypted_xml: String(first.encrypted_xml),
      });
      const reply = await bob.ok({ cmd: 'encrypt', backend: 'oldmemo', to: ['alice@example.org'], plaintext: 'two' });
      const xml = String(reply.encrypted_xml);
      assert.ok(!xml.includes('prekey'), 'a reply carries no key exchange');
      const spoiled = xml.replace('<key rid="1001">', '<key rid="1001" prekey="false">');
      assert.is.not(spoiled, xml);
      assert.is(parseEncrypted(spoiled).keys[0]!.keyExchange, false, 'we read "false" as false');
      const rejected = await alice.request({
        cmd: 'decrypt',
        backend: 'oldmemo',
        from_jid: 'bob@example.org',
        encrypted_xml: spoiled,
      });
      assert.is(rejected.ok, false, 'python-omemo reads prekey="false" as true and fails');
      const fine = await alice.ok({
        cmd: 'decrypt',
        backend: 'oldmemo',
        from_jid: 'bob@example.org',
        encrypted_xml: xml,
      });
      assert.is(fine.plaintext, 'two');
    } finally {
      await Promise.all([alice.quit(), bob.quit()]);
    }
  });
}

test.run();
