// Child process of sqlite-crash.test.ts: alice and bob, each an OmemoManager on its own SqliteStore file,
// talk in a loop (both versions, both directions, automatic messages included) until the parent kills the
// process with SIGKILL; now and then alice's store also takes a fan-out sized commit. Every commit is journaled around the real one: a "begin" line with the hash of
// every value it writes (or null for a delete) before it starts, an "end" line after it returned (for a staged
// commit: once it is durable, which is before the manager acknowledges the operation), both
// written synchronously to a journal file, so after a kill the parent knows exactly which states the
// store may be in. Every round also delivers a few messages at once, so their commits share a group. "opening", "ready" and "bulk" (a fan-out sized commit starts) go to stdout. Any failure (a bad MAC, a wrong text, a store error) exits with code 1.
//
//   node --import tsx sqlite-crash-child.ts <dir> <run> loop|final
// `final` runs FINAL_ROUNDS rounds, closes the stores and exits 0.
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InProcessRouter } from '../../examples/in-process-router';
import { toHex } from '../../src/crypto/bytes';
import { randomBytes } from '../../src/crypto/random';
import { cryptoReady } from '../../src/crypto/ready';
import { NODE_LEGACY_DEVICELIST } from '../../src/omemo/versions/oldmemo';
import { NODE_OMEMO2_DEVICES } from '../../src/omemo/versions/twomemo';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { OmemoManager } from '../../src/omemo/manager/session-manager';
import { SqliteStore } from '../../src/omemo/store/sqlite-store';
import type { OmemoStore, SessionAddress, StagedCommit, StoreChanges } from '../../src/omemo/store/store';

export const PARTIES = { alice: 'alice@crash.example', bob: 'bob@crash.example' } as const;
export type Party = keyof typeof PARTIES;
export const storeFile = (dir: string, party: Party) => join(dir, `${party}.db`);
export const journalFile = (dir: string, run: number) => join(dir, `journal-${run}.log`);
/** Rounds of the final, unkilled run: both versions in both directions, several times. */
const FINAL_ROUNDS = 12;
/** Messages per round decrypted at once (a group commit of their decrypts). */
const BURST_MESSAGES = 4;
/** Every BULK_EVERY_ROUNDS rounds alice's store takes one commit of BULK_SESSIONS session records. */
const BULK_EVERY_ROUNDS = 8;
const BULK_SESSIONS = 1000;
const BULK_RECORD_BYTES = 330;
const BULK_ADDRESSES: SessionAddress[] = Array.from({ length: BULK_SESSIONS }, (_, i) => ({
  version: 'twomemo',
  jid: `bulk${i % 200}@crash.example`,
  deviceId: i + 1,
}));
/** A loop run that was never killed stops here (the parent kills far earlier). */
const MAX_LOOP_MS = 60_000;

/** One logical value of a store: its key (as JSON) and the sha256 of its canonical form, null = absent. */
export type Entry = [key: string, hash: string | null];

/** JSON with byte arrays as hex and object keys sorted, so equal values hash equally wherever they come from. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return toHex(v);
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)));
    return v;
  });
}

export function hashOf(value: unknown): string | null {
  return value === undefined ? null : createHash('sha256').update(canonical(value)).digest('hex');
}

/** Keys of the values of a store (parsed back by the parent to read them). */
export const keys = {
  identity: () => JSON.stringify(['identity']),
  spk: (id: number) => JSON.stringify(['spk', id]),
  pk: (id: number) => JSON.stringify(['pk', id]),
  list: (version: OmemoVersion, jid: string) => JSON.stringify(['list', version, jid]),
  device: (jid: string, deviceId: number) => JSON.stringify(['device', jid, deviceId]),
  session: (a: SessionAddress) => JSON.stringify(['session', a.version, a.jid, a.deviceId]),
};

/** What a commit leaves behind, per key, in the order the stores apply it (puts, then deletes). */
export function entriesOf(c: StoreChanges): Entry[] {
  const m = new Map<string, string | null>();
  if (c.identity) m.set(keys.identity(), hashOf(c.identity));
  for (const k of c.putSignedPreKeys ?? []) m.set(keys.spk(k.id), hashOf(k));
  for (const id of c.deleteSignedPreKeys ?? []) m.set(keys.spk(id), null);
  for (const k of c.putPreKeys ?? []) m.set(keys.pk(k.id), hashOf(k));
  for (const id of c.deletePreKeys ?? []) m.set(keys.pk(id), null);
  for (const l of c.putDeviceLists ?? []) m.set(keys.list(l.version, l.jid), hashOf(l.deviceIds));
  for (const d of c.putDevices ?? []) m.set(keys.device(d.jid, d.deviceId), hashOf(d));
  for (const s of c.putSessions ?? []) m.set(keys.session(s.address), hashOf(s.record));
  for (const a of c.deleteSessions ?? []) m.set(keys.session(a), null);
  return [...m];
}

/** Reads the value of one key from a store and hashes it. */
export async function readHash(store: OmemoStore, key: string): Promise<string | null> {
  const k = JSON.parse(key) as [string, ...(string | number)[]];
  switch (k[0]) {
    case 'identity':
      return hashOf(await store.loadIdentity());
    case 'spk':
      return hashOf((await store.loadSignedPreKeys()).find((s) => s.id === k[1]));
    case 'pk':
      return hashOf(await store.loadPreKey(k[1] as number));
    case 'list':
      return hashOf(await store.loadDeviceList(k[1] as OmemoVersion, k[2] as string));
    case 'device':
      return hashOf((await store.loadDevices([k[1] as string])).find((d) => d.deviceId === k[2]));
    case 'session': {
      const a = { version: k[1] as OmemoVersion, jid: k[2] as string, deviceId: k[3] as number };
      return hashOf((await store.loadSessions([a]))[0]);
    }
    default:
      throw new Error(`unknown key ${key}`);
  }
}

/** A journal line. */
export type JournalLine =
  | { t: 'begin'; party: Party; entries: Entry[] }
  | { t: 'end'; party: Party }
  | { t: 'failed'; party: Party; error: string };

/** Wraps a store: journals every commit synchronously before and after it. */
class JournaledStore implements OmemoStore {
  constructor(
    readonly inner: SqliteStore,
    private readonly party: Party,
    private readonly fd: number,
  ) {}
  private log(line: JournalLine): void {
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }
  loadIdentity = () => this.inner.loadIdentity();
  loadSignedPreKeys = () => this.inner.loadSignedPreKeys();
  loadPreKeys = () => this.inner.loadPreKeys();
  loadPreKey = (id: number) => this.inner.loadPreKey(id);
  loadDeviceList = (version: OmemoVersion, jid: string) => this.inner.loadDeviceList(version, jid);
  loadDevices = (jids: readonly string[]) => this.inner.loadDevices(jids);
  loadSessions = (addresses: readonly SessionAddress[]) => this.inner.loadSessions(addresses);
  async commit(changes: StoreChanges, announce = false): Promise<void> {
    this.log({ t: 'begin', party: this.party, entries: entriesOf(changes) });
    // Tells the parent a long commit starts now, so it can aim a kill into it.
    if (announce) writeSync(1, 'bulk\n');
    try {
      await this.inner.commit(changes);
    } catch (e) {
      this.log({ t: 'failed', party: this.party, error: String(e) });
      throw e;
    }
    this.log({ t: 'end', party: this.party });
  }
  /** Group commit: "begin" before staging, "end" once durable (durables settle in staging order). */
  stage(changes: StoreChanges): StagedCommit {
    this.log({ t: 'begin', party: this.party, entries: entriesOf(changes) });
    let staged: StagedCommit;
    try {
      staged = this.inner.stage(changes);
    } catch (e) {
      this.log({ t: 'failed', party: this.party, error: String(e) });
      throw e;
    }
    const durable = staged.durable.then(
      () => this.log({ t: 'end', party: this.party }),
      (e: unknown) => {
        this.log({ t: 'failed', party: this.party, error: String(e) });
        throw e;
      },
    );
    return { durable };
  }
}

async function main(dir: string, run: number, mode: 'loop' | 'final'): Promise<void> {
  await cryptoReady();
  process.stdout.write('opening\n');
  const fd = openSync(journalFile(dir, run), 'a');
  const router = new InProcessRouter();
  const stores: SqliteStore[] = [];
  const parties = {} as Record<Party, { m: OmemoManager; jid: string; inbox: string; store: JournaledStore }>;
  for (const party of ['alice', 'bob'] as const) {
    const jid = PARTIES[party];
    const inbox = `${jid}/${party}`;
    const inner = await SqliteStore.open(storeFile(dir, party), { jid });
    stores.push(inner);
    const store = new JournaledStore(inner, party, fd);
    const m = await OmemoManager.open({ jid, store, transport: router.connect(jid, inbox), label: party });
    parties[party] = { m, jid, inbox, store };
  }
  const nodes: Record<string, OmemoVersion> = { [NODE_OMEMO2_DEVICES]: 'twomemo', [NODE_LEGACY_DEVICELIST]: 'oldmemo' };
  for (const p of Object.values(parties)) {
    router.subscribe(p.inbox, Object.values(PARTIES), Object.keys(nodes));
    for (const n of router.drainNotifications(p.inbox)) await p.m.onDeviceListUpdate(n.jid, nodes[n.node]!, n.xml);
  }
  process.stdout.write('ready\n');

  /** Decrypts what the router delivered (automatic empty messages) until nothing is left. */
  const pump = async () => {
    for (let any = true; any; ) {
      any = false;
      for (const [party, p] of Object.entries(parties)) {
        for (const msg of router.drain(p.inbox)) {
          any = true;
          const out = await p.m.decrypt(msg.from, msg.xml);
          if (out.payload !== undefined) throw new Error(`${party}: automatic ${msg.kind} message has a payload`);
        }
      }
    }
  };

  const t0 = Date.now();
  const rounds = mode === 'final' ? FINAL_ROUNDS : Infinity;
  for (let r = 0; r < rounds && Date.now() - t0 < MAX_LOOP_MS; r++) {
    // A pattern with runs of several messages from one side (longer chains) and both versions.
    const fromAlice = [0, 2, 3, 6].includes(r % 7);
    const version: OmemoVersion = (r >> 1) % 2 === 0 ? 'twomemo' : 'oldmemo';
    const [from, to] = fromAlice ? [parties.alice, parties.bob] : [parties.bob, parties.alice];
    const text = `run ${run} round ${r} ${version} from ${from.jid}`;
    const res = await from.m.encrypt([to.jid], text, { version });
    if (res.devices.length !== 1 || !res.devices[0]!.ok)
      throw new Error(`encrypt "${text}": ${JSON.stringify(res.devices)}`);
    const out = await to.m.decrypt(from.jid, res.elements[0]!.xml);
    if (out.text !== text) throw new Error(`decrypted ${JSON.stringify(out.text)}, expected ${JSON.stringify(text)}`);
    await pump();
    // A few messages arriving at once: their decrypts are pipelined and share a group commit.
    const burst: { t: string; xml: string }[] = [];
    for (let i = 0; i < BURST_MESSAGES; i++) {
      const t = `${text} burst ${i}`;
      burst.push({ t, xml: (await from.m.encrypt([to.jid], t, { version })).elements[0]!.xml });
    }
    const got = await Promise.all(burst.map((b) => to.m.decrypt(from.jid, b.xml)));
    got.forEach((g, i) => {
      if (g.text !== burst[i]!.t) throw new Error(`burst: decrypted ${JSON.stringify(g.text)}`);
    });
    await pump();
    // Now and then a fan-out sized commit (BULK_SESSIONS records, as an encryption to that many devices
    // writes), straight into alice's store: a kill inside it lands before or after its commit frame.
    if (r % BULK_EVERY_ROUNDS === BULK_EVERY_ROUNDS - 1) {
      await parties.alice.store.commit(
        { putSessions: BULK_ADDRESSES.map((address) => ({ address, record: randomBytes(BULK_RECORD_BYTES) })) },
        true,
      );
    }
  }
  if (mode === 'loop') throw new Error(`not killed within ${MAX_LOOP_MS} ms`);
  for (const s of stores) s.close();
  closeSync(fd);
  process.stdout.write('final ok\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dir, run, mode] = process.argv.slice(2);
  if (dir === undefined || (mode !== 'loop' && mode !== 'final')) {
    console.error('usage: sqlite-crash-child.ts <dir> <run> loop|final');
    process.exit(2);
  }
  main(dir, Number(run), mode).catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  });
}
