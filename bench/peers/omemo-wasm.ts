// bench:peers adapter for our public API (what a bot calls): OmemoManager with a MemoryStore, devices reached
// through the in-process PEP router of examples/. `omemo-wasm` runs OMEMO 2 (twomemo), `omemo-wasm-0.3` the
// same with OMEMO 0.3 (oldmemo).
import { InProcessRouter } from '../../examples/in-process-router';
import type { EncryptResult, OmemoManager, OmemoTransport, OmemoVersion } from '../../src/index';
import { api, loadedFrom } from './omemo-api';
import {
  check,
  sameBytes,
  type DecryptPair,
  type FanoutOutput,
  type FanoutWorld,
  type ImplName,
  type PeerAdapter,
  type SessionBuilderBench,
} from './types';
import { createFanoutBurst, createFirstMessageBurst, createReceiveBurst } from './omemo-wasm-bursts';

const { cryptoReady, fromBase64, MemoryStore, OmemoManager: Manager, pepLocations, toBase64 } = api;

const DOMAIN = 'peers.example';
/**
 * A device the sender encrypted to this often without hearing back is made to answer before the next
 * fan-out (untimed), well before the manager would treat it as stale (STALE_DEVICE_AFTER_MESSAGES = 500).
 */
const ANSWER_AFTER_SENDS = 300;
/** decrypt-steady: the sender reads the recipient's heartbeats this often (same stale-device reason). */
const STEADY_DRAIN_EVERY = 250;
/** Distinct real bundles the session-build case cycles through (every build still targets a fresh address). */
const BUILD_POOL = 16;

interface Device {
  jid: string;
  inbox: string;
  m: OmemoManager;
}

async function openDevice(
  router: InProcessRouter,
  jid: string,
  version: OmemoVersion,
  versions?: OmemoVersion[],
): Promise<Device> {
  const inbox = `${jid}/bench`;
  return {
    jid,
    inbox,
    m: await Manager.open({
      jid,
      store: new MemoryStore(),
      transport: router.connect(jid, inbox),
      versions: versions ?? [version],
      maxElementBytes: Infinity, // measures one element for 1000 devices, beyond a client stanza limit (README)
    }),
  };
}

function expectAll(res: EncryptResult, n: number, what: string): void {
  const bad = res.devices.find((d) => !d.ok);
  check(
    res.elements.length === 1 && res.devices.length === n && bad === undefined,
    `${what}: ${res.devices.filter((d) => d.ok).length}/${n} devices encrypted (${bad?.error ?? 'wrong element count'})`,
  );
}

class ManagerOutput implements FanoutOutput {
  private flags: Map<string, boolean> | undefined;
  constructor(
    readonly res: EncryptResult,
    private readonly jids: readonly string[],
  ) {}
  /** Devices encrypted to; checks (untimed) that none was skipped and one element came out. */
  get count(): number {
    expectAll(this.res, this.jids.length, 'fan-out');
    return this.res.devices.length;
  }
  isKeyExchange(i: number): boolean {
    this.flags ??= new Map(this.res.devices.map((d) => [d.jid, d.keyExchange === true]));
    return this.flags.get(this.jids[i]!) === true;
  }
}

class ManagerWorld implements FanoutWorld {
  private readonly router = new InProcessRouter();
  private sender!: Device;
  private readonly recipients: Device[] = [];
  private readonly jids: string[] = [];
  /** Sends since the device last answered, and whether it holds a session (can answer at all). */
  private readonly unanswered: number[] = [];
  private readonly hasSession: boolean[] = [];
  private lastCount = 0;

  constructor(
    private readonly version: OmemoVersion,
    readonly devices: number,
  ) {}

  async init(): Promise<this> {
    // The sender is a bot speaking both versions; recipients publish only the version under test.
    this.sender = await openDevice(this.router, `bot@${DOMAIN}`, this.version, ['twomemo', 'oldmemo']);
    for (let i = 0; i < this.devices; i++) {
      const d = await openDevice(this.router, `user${i}@${DOMAIN}`, this.version);
      this.recipients.push(d);
      this.jids.push(d.jid);
      this.unanswered.push(0);
      this.hasSession.push(false);
    }
    // Device lists arrive as PEP events, as they would for a bot subscribed with +notify.
    const node = pepLocations(this.version, 1).deviceListNode;
    for (const d of this.recipients)
      await this.sender.m.onDeviceListUpdate(d.jid, this.version, this.router.item(d.jid, node)!);
    return this;
  }

  async buildAll(): Promise<void> {
    for (const d of this.recipients) await this.sender.m.buildSession(d.jid, d.m.deviceId, this.version);
  }

  async beforeFanout(count: number): Promise<void> {
    for (let i = 0; i < this.lastCount; i++) this.unanswered[i] = this.unanswered[i]! + 1;
    this.lastCount = 0;
    for (let i = 0; i < count; i++) {
      if (this.unanswered[i]! + 1 < ANSWER_AFTER_SENDS || !this.hasSession[i]) continue;
      const d = this.recipients[i]!;
      const answer = await d.m.encryptEmpty([this.sender.jid], { version: this.version, partial: true });
      await this.sender.m.decrypt(d.jid, answer.elements[0]!.xml);
      this.unanswered[i] = 0;
    }
    this.router.drain(this.sender.inbox);
  }

  async fanout(payload: Uint8Array, count: number): Promise<FanoutOutput> {
    const jids = count === this.devices ? this.jids : this.jids.slice(0, count);
    const res = await this.sender.m.encrypt(jids, payload, { version: this.version });
    this.lastCount = count;
    return new ManagerOutput(res, jids);
  }

  async answerAll(payload: Uint8Array): Promise<void> {
    for (let i = 0; i < this.devices; i++) {
      const d = this.recipients[i]!;
      const res = await this.sender.m.encrypt([d.jid], payload, { version: this.version });
      expectAll(res, 1, 'answer');
      // Decrypting the key exchange makes the device send its automatic session-completion message.
      const out = await d.m.decrypt(this.sender.jid, res.elements[0]!.xml);
      check(out.payload !== undefined && sameBytes(out.payload, payload), 'answer: device decrypted the key exchange');
      this.hasSession[i] = true;
    }
    const replies = this.router.drain(this.sender.inbox);
    check(replies.length === this.devices, `answer: ${replies.length}/${this.devices} session completions`);
    for (const r of replies) await this.sender.m.decrypt(r.from, r.xml);
    this.unanswered.fill(0);
    this.lastCount = 0;
  }

  async open(out: FanoutOutput, i: number): Promise<Uint8Array> {
    const d = this.recipients[i]!;
    const res = await d.m.decrypt(this.sender.jid, (out as ManagerOutput).res.elements[0]!.xml);
    this.hasSession[i] = true;
    return res.payload ?? new Uint8Array(0);
  }
}

class ManagerBuilder implements SessionBuilderBench {
  private sender!: OmemoManager;
  private readonly pool: { deviceId: number; xml: string }[] = [];
  private k = 0;
  private current = { jid: '', deviceId: 0, xml: '' };

  constructor(
    private readonly version: OmemoVersion,
    private readonly poolSize: number,
  ) {}

  async init(): Promise<this> {
    const router = new InProcessRouter();
    for (let i = 0; i < this.poolSize; i++) {
      const d = await openDevice(router, `pool${i}@${DOMAIN}`, this.version);
      this.pool.push({ deviceId: d.m.deviceId, xml: d.m.bundleXml(this.version) });
    }
    // The transport answers bundle fetches with the prepared bundle; every build targets a fresh JID.
    const transport: OmemoTransport = {
      publish: async () => {},
      fetch: async (jid, node, itemId) => {
        if (this.current.deviceId === 0) return undefined; // open(): our own device lists, none published
        const loc = pepLocations(this.version, this.current.deviceId);
        return jid === this.current.jid && node === loc.bundleNode && itemId === loc.bundleItemId
          ? this.current.xml
          : undefined;
      },
      send: async () => {},
    };
    this.sender = await Manager.open({
      jid: `builder@${DOMAIN}`,
      store: new MemoryStore(),
      transport,
      versions: [this.version],
    });
    return this;
  }

  prepare(): void {
    const p = this.pool[this.k % this.pool.length]!;
    this.k++;
    this.current = { jid: `fresh${this.k}@${DOMAIN}`, deviceId: p.deviceId, xml: p.xml };
  }

  build(): Promise<void> {
    return this.sender.buildSession(this.current.jid, this.current.deviceId, this.version);
  }

  async lastBuildUsable(): Promise<boolean> {
    const { jid, deviceId } = this.current;
    await this.sender.setDeviceList(jid, this.version, [deviceId]);
    if ((await this.sender.devicesWithoutSession(jid, this.version)).length !== 0) return false;
    const res = await this.sender.encrypt([jid], new Uint8Array(32), { version: this.version });
    return res.devices.length === 1 && res.devices[0]!.ok && res.devices[0]!.keyExchange === true;
  }
}

/**
 * decrypt-*: the message is a chat text (what a bot receives), so OMEMO 2 decrypts and parses an SCE envelope
 * (XEP-0420) and 0.3 decodes UTF-8. The text carries the bench payload in base64 (44 characters), which the
 * timed decrypt turns back into bytes for the harness's check.
 */
function chatText(payload: Uint8Array): string {
  return `bench: ${toBase64(payload)}`;
}

function payloadOfChatText(text: string | undefined): Uint8Array {
  return (text?.startsWith('bench: ') ? fromBase64(text.slice(7)) : undefined) ?? new Uint8Array(0);
}

class ManagerPair implements DecryptPair {
  private readonly router = new InProcessRouter();
  private readonly store = new MemoryStore();
  private s!: Device;
  private r!: Device;
  private pending = '';
  private sends = 0;
  readonly recordFormat = 'session record bytes in the MemoryStore (our binary format)';

  constructor(private readonly version: OmemoVersion) {}

  async init(payload: Uint8Array): Promise<this> {
    const jid = `bot@${DOMAIN}`;
    const inbox = `${jid}/bench`;
    this.s = {
      jid,
      inbox,
      m: await Manager.open({
        jid,
        store: this.store,
        transport: this.router.connect(jid, inbox),
        maxElementBytes: Infinity, // one element for 1000 devices: beyond a client stanza limit (README)
      }),
    };
    this.r = await openDevice(this.router, `solo@${DOMAIN}`, this.version);
    // Key exchange, automatic session completion back, then one message on the sender's new chain.
    await this.exchange(payload);
    await this.takeReplies();
    await this.exchange(payload);
    return this;
  }

  private async exchange(payload: Uint8Array): Promise<void> {
    const res = await this.s.m.encrypt([this.r.jid], payload, { version: this.version });
    const out = await this.r.m.decrypt(this.s.jid, res.elements[0]!.xml);
    check(out.payload !== undefined && sameBytes(out.payload, payload), 'pair exchange');
    this.sends = 0;
  }

  private async takeReplies(): Promise<void> {
    for (const m of this.router.drain(this.s.inbox)) await this.s.m.decrypt(m.from, m.xml);
  }

  async prepareSteady(payload: Uint8Array): Promise<void> {
    if (++this.sends >= STEADY_DRAIN_EVERY) {
      // Read the recipient's heartbeats (so it never goes stale), then absorb the ratchet step that follows.
      await this.takeReplies();
      await this.exchange(payload);
    }
    this.pending = (await this.s.m.encrypt([this.r.jid], chatText(payload), { version: this.version }))
      .elements[0]!.xml;
  }

  async prepareRatchet(payload: Uint8Array): Promise<void> {
    await this.takeReplies();
    const answer = await this.r.m.encryptEmpty([this.s.jid], { version: this.version });
    await this.s.m.decrypt(this.r.jid, answer.elements[0]!.xml);
    this.pending = (await this.s.m.encrypt([this.r.jid], chatText(payload), { version: this.version }))
      .elements[0]!.xml;
    this.sends = 0;
  }

  async decrypt(): Promise<Uint8Array> {
    const out = await this.r.m.decrypt(this.s.jid, this.pending);
    return payloadOfChatText(out.text);
  }

  async recordBytes(): Promise<number> {
    const records = await this.store.loadSessions([
      { version: this.version, jid: this.r.jid, deviceId: this.r.m.deviceId },
    ]);
    const rec = [...records.values()][0];
    check(rec !== undefined, 'pair: the sender stored a session');
    return rec.length;
  }
}

function adapter(impl: ImplName, version: OmemoVersion): PeerAdapter {
  const name = version === 'twomemo' ? 'OMEMO 2 (twomemo)' : 'OMEMO 0.3 (oldmemo)';
  return {
    impl,
    title: `omemo-wasm public API, ${name}: OmemoManager + MemoryStore`,
    notes: [
      `omemo-wasm is loaded from ${loadedFrom}.`,
      `${name}; the sender is an OmemoManager (both versions enabled) with a MemoryStore; recipients are OmemoManagers reached through the in-process PEP router (examples/in-process-router.ts).`,
      'fan-out: one manager.encrypt(jids, payload32, { version }) call; 1000 devices = 1000 accounts × 1 device (every device its own JID: the most per-account work for us; Signal libraries address every device separately too). Included: the payload encryption once, one ratchet encryption per device, the session records serialized and committed to the MemoryStore, the device reports and the <encrypted> XML stanza — what a bot pays.',
      `session-build: manager.buildSession(jid, deviceId) to a fresh JID each time: bundle fetched (in-process) and parsed from XML (100 pre keys), signed pre key signature verified (XEdDSA for 0.3, Ed25519 for OMEMO 2), X3DH, device record, store commit.`,
      'decrypt-*: manager.decrypt(fromJid, xml) of a 1-key stanza holding a chat text (51 characters; OMEMO 2: in an SCE envelope with its random padding): XML parse, ratchet decryption, payload decryption, envelope parse (OMEMO 2), store commit. decrypt-steady: the recipient sends a heartbeat every 53 unanswered messages inside decrypt (in ~2% of the samples; the median ignores it).',
      'cold-start: node imports dist/index.js (built by tsup), cryptoReady(), OmemoManager.open on a fresh MemoryStore (identity, signed pre key signed for both versions, 100 pre keys; publish: false).',
    ],
    memorySessions: 10000,
    createReceiveBurst: () => createReceiveBurst(version),
    createFirstMessageBurst: () => createFirstMessageBurst(version),
    createFanoutBurst: () => createFanoutBurst(version),
    async createWorld(devices) {
      await cryptoReady();
      return new ManagerWorld(version, devices).init();
    },
    async createBuilder(options) {
      await cryptoReady();
      return new ManagerBuilder(version, options?.pool ?? BUILD_POOL).init();
    },
    async createPair() {
      await cryptoReady();
      return new ManagerPair(version).init(new Uint8Array(32).fill(1));
    },
  };
}

export const omemoWasm = adapter('omemo-wasm', 'twomemo');
export const omemoWasmLegacy = adapter('omemo-wasm-0.3', 'oldmemo');
