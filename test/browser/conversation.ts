// Two OmemoManagers talking through the in-process router (examples/in-process-router.ts), one OMEMO version at a
// time: publish, learn each other's device lists, a first message (key exchange), a reply, the automatic
// empty messages. Shared by the browser page (test/browser/page.ts, bundled for Chromium) and the Node child that
// hides node:crypto (test/protocol/no-node-crypto-child.ts); it imports only the package entry.
import { InProcessRouter } from '../../examples/in-process-router';
import { MemoryStore, OmemoManager, pepLocations, type OmemoStore, type OmemoVersion } from '../../src/index';

/** Runs a conversation of `turns` messages each way; resolves with one line per check, or rejects. */
export async function converse(
  version: OmemoVersion,
  turns = 3,
  storeOf: (jid: string) => Promise<OmemoStore> = async () => new MemoryStore(),
): Promise<string[]> {
  const router = new InProcessRouter();
  const open = async (jid: string) =>
    OmemoManager.open({
      jid,
      store: await storeOf(jid),
      transport: router.connect(jid, `${jid}/web`),
      versions: [version],
    });
  const alice = await open('alice@example.org');
  const bob = await open('bob@example.org');
  for (const m of [alice, bob]) {
    for (const jid of ['alice@example.org', 'bob@example.org']) {
      const xml = router.item(jid, pepLocations(version, 1).deviceListNode);
      if (xml === undefined) throw new Error(`${jid} published no ${version} device list`);
      await m.onDeviceListUpdate(jid, version, xml);
    }
  }
  const deliver = async (to: OmemoManager, toJid: string, expected: string): Promise<void> => {
    const inbox = router.drain(`${toJid}/web`);
    const chats = inbox.filter((r) => r.kind === 'chat');
    if (chats.length !== 1) throw new Error(`${toJid} got ${chats.length} messages, not 1`);
    for (const r of inbox) {
      const got = await to.decrypt(r.from, r.xml);
      if (r.kind === 'chat' && got.text !== expected) throw new Error(`${toJid} read ${JSON.stringify(got.text)}`);
    }
  };
  const lines: string[] = [];
  for (let i = 0; i < turns; i++) {
    for (const [from, to, toJid] of [
      [alice, bob, 'bob@example.org'],
      [bob, alice, 'alice@example.org'],
    ] as const) {
      const text = `${version} ${i} from ${from === alice ? 'alice' : 'bob'} ✓`;
      const { elements } = await from.encrypt([toJid], text);
      const element = elements.find((e) => e.version === version);
      if (element === undefined) throw new Error(`no ${version} element`);
      router.deliver({
        from: from === alice ? 'alice@example.org' : 'bob@example.org',
        to: toJid,
        xml: element.xml,
        kind: 'chat',
      });
      await deliver(to, toJid, text);
      // Automatic empty messages (session completion) go back to the sender.
      for (const r of router.drain(`${from === alice ? 'alice' : 'bob'}@example.org/web`)) {
        await from.decrypt(r.from, r.xml);
      }
    }
    lines.push(`${version} ${i}: ok`);
  }
  return lines;
}
