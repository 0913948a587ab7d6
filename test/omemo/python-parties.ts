// Conversations between our public manager and python-omemo (the peer in ../shared/interop) for tests: each side
// is a Party that sends and receives `<encrypted>` elements, automatic messages delivered back and forth until
// none is left. No tests here.
import * as assert from 'uvu/assert';
import {
  MemoryStore,
  OmemoError,
  OmemoManager,
  pepLocations,
  type OmemoStore,
  type OmemoTransport,
  type OmemoVersion,
} from '../../src/index';
import { PeerProcess } from '../interop/peer-process';

/** What a receiver did with a message: the text, or the error it answered with; automatic replies it sent. */
export interface Received {
  text?: string | null;
  error?: string;
  sent: string[];
}

/** One side of a conversation, ours or python's. */
export interface Party {
  name: string;
  jid: string;
  send(text: string): Promise<string>;
  receive(fromJid: string, xml: string): Promise<Received>;
  close(): Promise<void>;
}

/** The python peer as `jid`/`deviceId`, talking to `other`. */
export async function pythonParty(
  version: OmemoVersion,
  jid: string,
  deviceId: number,
  other: string,
): Promise<{ party: Party; peer: PeerProcess; bundleXml: string; deviceListXml: string }> {
  const peer = PeerProcess.python(`python ${jid}`);
  const init = await peer.ok({ cmd: 'init', jid, device_id: deviceId, backends: [version] });
  const own = (init.backends as Record<string, { bundle_xml: string; devicelist_xml: string }>)[version]!;
  const party: Party = {
    name: 'python-omemo',
    jid,
    async send(text) {
      const a = await peer.ok({ cmd: 'encrypt', backend: version, to: [other], plaintext: text });
      return String(a.encrypted_xml);
    },
    async receive(fromJid, xml) {
      const a = await peer.request({ cmd: 'decrypt', backend: version, from_jid: fromJid, encrypted_xml: xml });
      const sent = ((a.sent as { encrypted_xml: string }[] | undefined) ?? []).map((s) => s.encrypted_xml);
      return a.ok ? { text: a.plaintext as string | null, sent } : { error: String(a.error_type), sent };
    },
    close: async () => {
      await peer.quit();
    },
  };
  return {
    party,
    peer,
    bundleXml: own.bundle_xml,
    deviceListXml: own.devicelist_xml,
  };
}

/**
 * Our public manager with a MemoryStore (or `store`) and an in-process fake PEP; automatic messages land in its
 * outbox and are reported by `receive`. `pep` may be shared with an earlier party (a restarted device).
 */
export async function ourParty(
  version: OmemoVersion,
  jid: string,
  deviceId: number,
  options: { store?: OmemoStore; pep?: Map<string, string>; now?: () => number } = {},
) {
  const pep = options.pep ?? new Map<string, string>(); // `${jid} ${node} ${item}` → payload
  const outbox: string[] = [];
  const transport: OmemoTransport = {
    async publish(node, itemId, xml) {
      pep.set(`${jid} ${node} ${itemId}`, xml);
    },
    async fetch(owner, node, itemId) {
      if (itemId !== undefined) return pep.get(`${owner} ${node} ${itemId}`);
      return [...pep].filter(([k]) => k.startsWith(`${owner} ${node} `)).pop()?.[1];
    },
    async send(_to, xml) {
      outbox.push(xml);
    },
  };
  const store = options.store ?? new MemoryStore();
  const manager = await OmemoManager.open({
    jid,
    store,
    transport,
    versions: [version],
    trustPolicy: 'blind',
    deviceId,
    ...(options.now ? { now: options.now } : {}),
  });
  let peerOf = '';
  const party: Party = {
    name: 'omemo-wasm',
    jid,
    async send(text) {
      const r = await manager.encrypt([peerOf], text, { version });
      const element = r.elements.find((e) => e.version === version);
      assert.ok(element, `we encrypted nothing: ${JSON.stringify(r.devices)}`);
      return element!.xml;
    },
    async receive(fromJid, xml) {
      outbox.length = 0;
      try {
        const r = await manager.decrypt(fromJid, xml, { version });
        return { text: r.payload === undefined ? null : (r.text ?? null), sent: outbox.splice(0) };
      } catch (e) {
        if (!(e instanceof OmemoError)) throw e;
        return { error: e.code, sent: outbox.splice(0) };
      }
    },
    close: async () => undefined,
  };
  /** Another device as if its device list and bundle had been fetched from PEP. */
  const addDevice = async (owner: string, id: number, bundleXml: string, deviceListXml: string) => {
    const loc = pepLocations(version, id);
    pep.set(`${owner} ${loc.bundleNode} ${loc.bundleItemId}`, bundleXml);
    pep.set(`${owner} ${loc.deviceListNode} ${loc.deviceListItemId}`, deviceListXml);
    await manager.onDeviceListUpdate(owner, version, deviceListXml);
    peerOf = owner;
  };
  return {
    party,
    manager,
    store,
    pep,
    addDevice,
    bundleXml: manager.bundleXml(version),
    deviceListXml: await manager.deviceListXml(version),
  };
}

/** Delivers `xml` from `from` to `to`, then every automatic reply back and forth until none is left. */
export async function deliver(from: Party, to: Party, xml: string): Promise<Received> {
  const got = await to.receive(from.jid, xml);
  let pending = got.sent.map((x) => ({ from: to, to: from, xml: x }));
  while (pending.length > 0) {
    const next: typeof pending = [];
    for (const p of pending) {
      const r = await p.to.receive(p.from.jid, p.xml);
      assert.is(r.error, undefined, `automatic message from ${p.from.name} to ${p.to.name}: ${String(r.error)}`);
      next.push(...r.sent.map((x) => ({ from: p.to, to: p.from, xml: x })));
    }
    pending = next;
  }
  return got;
}

export async function expectText(from: Party, to: Party, xml: string, text: string, what: string): Promise<void> {
  const r = await deliver(from, to, xml);
  assert.is(r.error, undefined, `${what}: ${to.name} failed with ${String(r.error)}`);
  assert.is(r.text, text, what);
}
