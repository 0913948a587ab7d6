// bench:peers burst cases for our public API (types.ts BurstBench): many contacts' messages arriving at once for one
// account. receive-burst-sqlite: established contacts, the account on a SqliteStore (group commit);
// first-message-burst: new contacts' key exchanges (pre keys used, the bundle republished once per burst);
// fanout-burst-sqlite: 100 sends at once, each to one established one-device contact, the account on a SqliteStore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessRouter } from '../../examples/in-process-router';
import type { MemoryStore, OmemoManager, OmemoVersion } from '../../src/index';
import type { SqliteStore } from '../../src/sqlite';
import { api, sqlite } from './omemo-api';
import {
  FANOUT_BURST_SENDS,
  FIRST_MESSAGE_BURST,
  RECEIVE_BURST_MESSAGES,
  RECEIVE_BURST_SENDERS,
  check,
  makePayload,
  sameBytes,
  type BurstBench,
} from './types';

const { cryptoReady, MemoryStore: Memory, OmemoManager: Manager, pepLocations } = api;
const { SqliteStore: Sqlite } = sqlite;

const DOMAIN = 'burst.example';
const ACCOUNT = `bot@${DOMAIN}`;
/** Samples between two rounds in which the contacts read the account's heartbeats (so none goes stale). */
const DRAIN_EVERY_SAMPLES = 5;

interface Contact {
  jid: string;
  inbox: string;
  m: OmemoManager;
}

async function openContact(router: InProcessRouter, jid: string, version: OmemoVersion): Promise<Contact> {
  const inbox = `${jid}/bench`;
  const m = await Manager.open({
    jid,
    store: new Memory(),
    transport: router.connect(jid, inbox),
    versions: [version],
    publish: false,
  });
  return { jid, inbox, m };
}

async function openAccount(router: InProcessRouter, store: MemoryStore | SqliteStore, version: OmemoVersion) {
  return Manager.open({
    jid: ACCOUNT,
    store,
    transport: router.connect(ACCOUNT, `${ACCOUNT}/bench`),
    versions: [version],
  });
}

/** Decrypts every message at once; counts those whose payload is right. */
async function decryptAll(account: OmemoManager, burst: readonly { from: string; xml: string }[]): Promise<number> {
  const payload = makePayload();
  const out = await Promise.all(burst.map((b) => account.decrypt(b.from, b.xml)));
  return out.filter((r) => r.payload !== undefined && sameBytes(r.payload, payload)).length;
}

/** Reads every message waiting in the contacts' inboxes (the account's session completions, heartbeats). */
async function readInboxes(router: InProcessRouter, contacts: readonly Contact[]): Promise<void> {
  for (const c of contacts) for (const m of router.drain(c.inbox)) await c.m.decrypt(m.from, m.xml);
}

/** An account and the contacts it has established sessions with (both ways), for the SQLite burst cases. */
interface Established {
  store: SqliteStore | MemoryStore;
  account: OmemoManager;
  contacts: Contact[];
}

/**
 * The account on a SqliteStore in `dir` (or a MemoryStore) and `count` contacts named `prefix<i>`, each with a
 * session both ways: the contacts' first messages decrypted (checked, `what` names the case), the account's session
 * completions read. `accountListsContacts`: the account is also given each contact's device list.
 */
async function establish(
  router: InProcessRouter,
  o: {
    dir: string;
    inMemory: boolean;
    version: OmemoVersion;
    count: number;
    prefix: string;
    what: string;
    accountListsContacts: boolean;
  },
): Promise<Established> {
  const store = o.inMemory ? new Memory() : await Sqlite.open(join(o.dir, 'account.db'), { jid: ACCOUNT });
  const account = await openAccount(router, store, o.version);
  const contacts: Contact[] = [];
  for (let i = 0; i < o.count; i++) {
    const c = await openContact(router, `${o.prefix}${i}@${DOMAIN}`, o.version);
    await c.m.setDeviceList(ACCOUNT, o.version, [account.deviceId]);
    if (o.accountListsContacts) await account.setDeviceList(c.jid, o.version, [c.m.deviceId]);
    contacts.push(c);
  }
  const first = await Promise.all(contacts.map((c) => c.m.encrypt([ACCOUNT], makePayload())));
  const read = await decryptAll(
    account,
    first.map((r, i) => ({ from: contacts[i]!.jid, xml: r.elements[0]!.xml })),
  );
  check(read === contacts.length, `${o.what}: first messages`);
  await readInboxes(router, contacts);
  return { store, account, contacts };
}

/** Closes a SqliteStore and removes its directory. */
function removeStore(store: SqliteStore | MemoryStore, dir: string): void {
  if (store instanceof Sqlite) store.close();
  rmSync(dir, { recursive: true, force: true });
}

class ReceiveBurst implements BurstBench {
  readonly messages = RECEIVE_BURST_SENDERS * RECEIVE_BURST_MESSAGES;
  private readonly router = new InProcessRouter();
  private readonly dir = mkdtempSync(join(tmpdir(), 'omemo-bench-burst-'));
  private store!: SqliteStore | MemoryStore;
  private account!: OmemoManager;
  private contacts: Contact[] = [];
  private burst: { from: string; xml: string }[] = [];
  private samples = 0;

  constructor(
    private readonly version: OmemoVersion,
    private readonly inMemory: boolean,
  ) {}

  async init(): Promise<this> {
    ({
      store: this.store,
      account: this.account,
      contacts: this.contacts,
    } = await establish(this.router, {
      dir: this.dir,
      inMemory: this.inMemory,
      version: this.version,
      count: RECEIVE_BURST_SENDERS,
      prefix: 'c',
      what: 'receive-burst-sqlite',
      accountListsContacts: false,
    }));
    return this;
  }

  async prepare(): Promise<void> {
    if (++this.samples % DRAIN_EVERY_SAMPLES === 0) await readInboxes(this.router, this.contacts);
    const payload = makePayload();
    const perContact: string[][] = [];
    for (const c of this.contacts) {
      const xs: string[] = [];
      for (let k = 0; k < RECEIVE_BURST_MESSAGES; k++)
        xs.push((await c.m.encrypt([ACCOUNT], payload)).elements[0]!.xml);
      perContact.push(xs);
    }
    // Interleaved as they would arrive from 100 contacts writing at once.
    this.burst = [];
    for (let k = 0; k < RECEIVE_BURST_MESSAGES; k++)
      for (const [i, c] of this.contacts.entries()) this.burst.push({ from: c.jid, xml: perContact[i]![k]! });
  }

  run(): Promise<number> {
    return decryptAll(this.account, this.burst);
  }

  note(): string {
    return 'SqliteStore (WAL, synchronous=FULL: durable before each decrypt resolves) in the OS temp directory';
  }

  dispose(): void {
    removeStore(this.store, this.dir);
  }
}

class FirstMessageBurst implements BurstBench {
  readonly messages = FIRST_MESSAGE_BURST;
  private readonly router = new InProcessRouter();
  private account!: OmemoManager;
  private burst: { from: string; xml: string }[] = [];
  private next = 0;
  private republished = 0;
  private bursts = 0;

  constructor(private readonly version: OmemoVersion) {}

  async init(): Promise<this> {
    this.account = await openAccount(this.router, new Memory(), this.version);
    return this;
  }

  async prepare(): Promise<void> {
    this.burst = [];
    for (let i = 0; i < FIRST_MESSAGE_BURST; i++) {
      const c = await openContact(this.router, `new${this.next++}@${DOMAIN}`, this.version);
      await c.m.setDeviceList(ACCOUNT, this.version, [this.account.deviceId]);
      this.burst.push({ from: c.jid, xml: (await c.m.encrypt([ACCOUNT], makePayload())).elements[0]!.xml });
    }
  }

  async run(): Promise<number> {
    const node = pepLocations(this.version, this.account.deviceId).bundleNode;
    const before = this.router.publishes.filter((p) => p.node === node).length;
    const n = await decryptAll(this.account, this.burst);
    this.republished += this.router.publishes.filter((p) => p.node === node).length - before;
    this.bursts++;
    return n;
  }

  note(): string {
    return `MemoryStore; each a key exchange from a new contact (new device record, pre key used and replaced, session-completion message sent); ${(this.republished / this.bursts).toFixed(1)} bundle publishes per burst`;
  }
}

/** Sends at once, each to one contact: the account's sends are the timed part, the contacts read them afterwards. */
class FanoutBurst implements BurstBench {
  readonly messages = FANOUT_BURST_SENDS;
  readonly unit = 'sends';
  private readonly router = new InProcessRouter();
  private readonly dir = mkdtempSync(join(tmpdir(), 'omemo-bench-fanout-'));
  private store!: SqliteStore | MemoryStore;
  private account!: OmemoManager;
  private contacts: Contact[] = [];
  /** The last burst's stanzas, read by their contacts in the next prepare (the self-check of every send). */
  private sent: string[] = [];

  constructor(
    private readonly version: OmemoVersion,
    private readonly inMemory: boolean,
  ) {}

  async init(): Promise<this> {
    // Sessions established both ways, so that the timed sends are steady ratchet messages.
    ({
      store: this.store,
      account: this.account,
      contacts: this.contacts,
    } = await establish(this.router, {
      dir: this.dir,
      inMemory: this.inMemory,
      version: this.version,
      count: FANOUT_BURST_SENDS,
      prefix: 'f',
      what: 'fanout-burst-sqlite',
      accountListsContacts: true,
    }));
    return this;
  }

  async prepare(): Promise<void> {
    const payload = makePayload();
    for (const [i, xml] of this.sent.entries()) {
      const c = this.contacts[i]!;
      const r = await c.m.decrypt(ACCOUNT, xml);
      check(r.payload !== undefined && sameBytes(r.payload, payload), `fanout-burst-sqlite: contact ${i} reads`);
    }
    this.sent = [];
  }

  async run(): Promise<number> {
    const payload = makePayload();
    const out = await Promise.all(this.contacts.map((c) => this.account.encrypt([c.jid], payload)));
    this.sent = out.map((r) => r.elements[0]?.xml ?? '');
    // Counted: one element, one device reached with a steady ratchet message (no key exchange repeated).
    const steady = (d: (typeof out)[number]['devices'][number]) => d.ok && d.keyExchange === false;
    return out.filter((r) => r.elements.length === 1 && r.devices.length === 1 && steady(r.devices[0]!)).length;
  }

  note(): string {
    return `${this.inMemory ? 'MemoryStore' : 'SqliteStore (WAL, synchronous=FULL: durable before each encrypt resolves) in the OS temp directory'}; each send to one established one-device contact, read by it afterwards`;
  }

  dispose(): void {
    removeStore(this.store, this.dir);
  }
}

/** receive-burst-sqlite (`inMemory`: the same burst on a MemoryStore, for comparison). */
export async function createReceiveBurst(version: OmemoVersion, inMemory = false): Promise<BurstBench> {
  await cryptoReady();
  return new ReceiveBurst(version, inMemory).init();
}

export async function createFirstMessageBurst(version: OmemoVersion): Promise<BurstBench> {
  await cryptoReady();
  return new FirstMessageBurst(version).init();
}

/** fanout-burst-sqlite (`inMemory`: the same sends on a MemoryStore, for comparison). */
export async function createFanoutBurst(version: OmemoVersion, inMemory = false): Promise<BurstBench> {
  await cryptoReady();
  return new FanoutBurst(version, inMemory).init();
}
