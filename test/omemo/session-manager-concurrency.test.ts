// OmemoManager with stores whose every call takes a random 0–5 ms (latency-store.ts), as with a networked
// store: the read-only calls (devicesWithoutSession, deviceListXml, isOwnDevicePublished) running while an
// encrypt or a device-list update commits must not leave an older session or list in the manager's caches
// (hardening #1). Each race is forced once with a held store read, then left to chance, then mixed into a
// long run of everything at once. Checked on the wire: every message is decrypted exactly once by every
// recipient device, replays are refused, and no ratchet key + counter pair appears twice in the headers.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../src/crypto/bytes';
import { OmemoError } from '../../src/crypto/errors';
import { cryptoReady } from '../../src/crypto/ready';
import { keysFor, parseEncrypted } from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import type { SessionAddress } from '../../src/omemo/store/store';
import { parseKeyExchange, parseMessage } from '../../src/protocol/wire';
import { latencyStats, withLatency } from '../../src/testing/latency-store';
import {
  CountingStore,
  InProcessRouter,
  VERSIONS,
  elementOf,
  openDevice,
  rngFor,
  syncDeviceLists,
  type Device,
} from './manager-fixture';

test.before(async () => {
  await cryptoReady();
});

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
/** Longest delay of one store call (ms). */
const MAX_STORE_DELAY_MS = 5;
/** Restarts per reproduction: each one races readers with an encrypt on cold caches. */
const TRIALS = 10;

/** How long a held read waits for an encrypt or update racing it before it is let go anyway (ms). */
const HOLD_LIMIT_MS = 50;

/** A held store read: it has already read the store and returns that (by then old) result on `release`. */
interface Hold {
  /** Resolves when the read reached the store. */
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * A CountingStore whose next `loadSessions` or `loadDeviceList` can be held: the read takes its value from
 * the store at once and hands it back only when released, like a slow network read. Wrapped in a random
 * latency by `slowStore`.
 */
class HoldingStore extends CountingStore {
  private readonly holds = new Map<string, { reached: () => void; released: Promise<void> }>();

  /** Holds the next call of `method`. */
  hold(method: 'loadSessions' | 'loadDeviceList'): Hold {
    let reached!: () => void;
    let release!: () => void;
    const hold: Hold = { reached: new Promise<void>((r) => (reached = r)), release: () => release() };
    this.holds.set(method, { reached, released: new Promise<void>((r) => (release = r)) });
    return hold;
  }

  private async held<T>(method: string, result: T): Promise<T> {
    const h = this.holds.get(method);
    if (h === undefined) return result;
    this.holds.delete(method);
    h.reached();
    await h.released;
    return result;
  }

  override async loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]> {
    return this.held('loadSessions', await super.loadSessions(addresses));
  }

  override async loadDeviceList(version: OmemoVersion, jid: string): Promise<number[] | undefined> {
    return this.held('loadDeviceList', await super.loadDeviceList(version, jid));
  }
}

type SlowDevice = Device & { store: HoldingStore };

/** A HoldingStore behind a seeded random latency. */
function slowStore(label: string): HoldingStore {
  return withLatency(new HoldingStore(), { maxDelayMs: MAX_STORE_DELAY_MS, rng: rngFor(`latency ${label}`) });
}

async function openSlow(router: InProcessRouter, jid: string, name: string, versions: OmemoVersion[]) {
  const store = slowStore(`${versions.join()} ${jid}/${name}`);
  return (await openDevice(router, jid, name, { versions, store })) as SlowDevice;
}

/** A new manager on `d`'s store, as after a process restart: every cache is empty. */
async function restart(
  router: InProcessRouter,
  d: SlowDevice,
  versions: OmemoVersion[],
  n: number,
  publish = true,
): Promise<SlowDevice> {
  const name = d.inbox.slice(d.jid.length + 1);
  const options = { versions, store: d.store, clock: d.clock, rng: rngFor(`${d.inbox} restart ${n}`), publish };
  return (await openDevice(router, d.jid, name, options)) as SlowDevice;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `reader` with its next `method` read held, starts `writer` meanwhile, and releases the read once the
 * writer is done (the old code: the reader then caches what it read before the writer's commit) or after
 * HOLD_LIMIT_MS (a reader that goes through the manager's queue blocks the writer until then).
 */
async function holdReaderDuring<R, W>(
  store: HoldingStore,
  method: 'loadSessions' | 'loadDeviceList',
  reader: () => Promise<R>,
  writer: () => Promise<W>,
): Promise<[R, W]> {
  const hold = store.hold(method);
  const read = reader();
  await Promise.race([hold.reached, read]);
  const write = writer();
  await Promise.race([
    write.then(
      () => undefined,
      () => undefined,
    ),
    sleep(HOLD_LIMIT_MS),
  ]);
  hold.release();
  return [await read, await write];
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Every read-only manager call, for `version`, about `jid`. */
function readAll(d: Device, version: OmemoVersion, jid: string): Promise<unknown>[] {
  return [d.m.devicesWithoutSession(jid, version), d.m.deviceListXml(version), d.m.isOwnDevicePublished(version)];
}

/** Fires every read-only call (about each of `jids`) at each turn of the event loop until `p` settles. */
async function racingReaders<T>(p: Promise<T>, d: Device, version: OmemoVersion, jids: readonly string[]): Promise<T> {
  let settled = false;
  const reads: Promise<unknown>[] = [];
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    for (const jid of jids) reads.push(...readAll(d, version, jid));
    await tick();
  }
  await Promise.all(reads);
  return p;
}

/**
 * One entry per `<key>` of a message: "version sid→jid/rid ratchetKey n". Two equal entries are one message
 * key used twice (the same chain, the same counter).
 */
function headerCounters(xml: string): string[] {
  const p = parseEncrypted(xml);
  return p.keys.map((k) => {
    const m = k.keyExchange ? parseKeyExchange(p.version, k.data).message : parseMessage(p.version, k.data);
    return `${p.version} ${p.sid}→${k.jid ?? ''}/${k.rid} ${toHex(m.header.ratchetKey)} ${m.header.n}`;
  });
}

/** The rids (OMEMO 2: "jid/rid") an element has keys for. */
function recipients(xml: string): string[] {
  return parseEncrypted(xml)
    .keys.map((k) => (k.jid ? `${k.jid}/${k.rid}` : String(k.rid)))
    .sort();
}

const codeOf = (e: unknown) => (e instanceof OmemoError ? e.code : String(e));

/** Decrypts every automatic message waiting in `d`'s inbox (session completion after a key exchange). */
async function drainAutomatic(router: InProcessRouter, d: Device): Promise<void> {
  for (const m of router.drain(d.inbox)) {
    const p = parseEncrypted(m.xml);
    if (keysFor(p, d.jid, d.m.deviceId) !== undefined) await d.m.decrypt(m.from, m.xml);
  }
}

for (const version of VERSIONS) {
  const versions: OmemoVersion[] = [version];

  /** alice/a1 and bob/b1 with sessions both ways, over slow stores. */
  async function pair(): Promise<{ router: InProcessRouter; alice: SlowDevice; bob: SlowDevice }> {
    const router = new InProcessRouter();
    const alice = await openSlow(router, ALICE, 'a1', versions);
    const bob = await openSlow(router, BOB, 'b1', versions);
    await syncDeviceLists(router, [alice, bob]);
    assert.is((await bob.m.decrypt(ALICE, elementOf(await alice.m.encrypt([BOB], 'hello'), version))).text, 'hello');
    await drainAutomatic(router, alice);
    assert.is((await alice.m.decrypt(BOB, elementOf(await bob.m.encrypt([ALICE], 'hi'), version))).text, 'hi');
    return { router, alice, bob };
  }

  /** Checks the headers of `xml` against `seen` and has bob decrypt it; returns what went wrong. */
  async function deliver(bob: Device, xml: string, text: string, seen: Set<string>): Promise<string[]> {
    const problems: string[] = [];
    for (const c of headerCounters(xml)) {
      if (seen.has(c)) problems.push(`"${text}" reuses ${c}`);
      seen.add(c);
    }
    try {
      const out = await bob.m.decrypt(ALICE, xml);
      if (out.text !== text) problems.push(`"${text}" decrypted to ${String(out.text)}`);
    } catch (e) {
      problems.push(`bob cannot decrypt "${text}": ${codeOf(e)}`);
    }
    return problems;
  }

  test(`${version}: 10-of-10 reproduction: a session read ending after an encrypt's commit is not cached`, async () => {
    const { router, bob, alice: opened } = await pair();
    let alice = opened;
    const seen = new Set<string>();
    const problems: string[] = [];
    let failed = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      alice = await restart(router, alice, versions, trial);
      // devicesWithoutSession reads bob's session from the store (cold cache) while an encrypt advances it.
      const [without, first] = await holdReaderDuring(
        alice.store,
        'loadSessions',
        () => alice.m.devicesWithoutSession(BOB, version),
        () => alice.m.encrypt([BOB], `${trial} first`),
      );
      assert.equal(without, [], 'bob has a session');
      const second = await alice.m.encrypt([BOB], `${trial} second`);
      const found = [
        ...(await deliver(bob, elementOf(first, version), `${trial} first`, seen)),
        ...(await deliver(bob, elementOf(second, version), `${trial} second`, seen)),
      ];
      if (found.length > 0) failed += 1;
      problems.push(...found.map((p) => `restart ${trial}: ${p}`));
    }
    assert.equal(problems, [], `${failed} of ${TRIALS} restarts reused a message key`);
  });

  test(`${version}: readers racing an encrypt at random after a restart never make a message key reused`, async () => {
    const { router, bob, alice: opened } = await pair();
    let alice = opened;
    const seen = new Set<string>();
    const problems: string[] = [];
    let failed = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      alice = await restart(router, alice, versions, trial);
      const first = await racingReaders(alice.m.encrypt([BOB], `${trial} first`), alice, version, [BOB, ALICE]);
      const second = await alice.m.encrypt([BOB], `${trial} second`);
      const found = [
        ...(await deliver(bob, elementOf(first, version), `${trial} first`, seen)),
        ...(await deliver(bob, elementOf(second, version), `${trial} second`, seen)),
      ];
      if (found.length > 0) failed += 1;
      problems.push(...found.map((p) => `restart ${trial}: ${p}`));
    }
    assert.ok(latencyStats(alice.store).calls > 0, 'the store was slow');
    assert.equal(problems, [], `${failed} of ${TRIALS} restarts reused a message key`);
  });

  test(`${version}: a device removed from a list while a reader's read of it is in flight is dropped`, async () => {
    const router = new InProcessRouter();
    let a1 = await openSlow(router, ALICE, 'a1', versions);
    const a2 = await openSlow(router, ALICE, 'a2', versions);
    const bobs: SlowDevice[] = [];
    for (const name of ['b1', 'b2', 'b3']) bobs.push(await openSlow(router, BOB, name, versions));
    await syncDeviceLists(router, [a1, a2, ...bobs]);
    const id = (d: Device) => (version === 'twomemo' ? `${d.jid}/${d.m.deviceId}` : String(d.m.deviceId));
    assert.equal(recipients(elementOf(await a1.m.encrypt([BOB], 'all'), version)), [a2, ...bobs].map(id).sort());

    // Bob's list: devicesWithoutSession reads it while bob's first device is removed.
    a1 = await restart(router, a1, versions, 0);
    const [without] = await holdReaderDuring(
      a1.store,
      'loadDeviceList',
      () => a1.m.devicesWithoutSession(BOB, version),
      () =>
        a1.m.setDeviceList(
          BOB,
          version,
          bobs.slice(1).map((d) => d.m.deviceId),
        ),
    );
    assert.equal(without, [], 'every listed device of bob has a session');
    const twoBobs = elementOf(await a1.m.encrypt([BOB], 'two bobs'), version);
    assert.equal(recipients(twoBobs), [a2, ...bobs.slice(1)].map(id).sort());

    // Our own list (not read at open without publishing): deviceListXml and isOwnDevicePublished read it
    // while a2 is removed.
    a1 = await restart(router, a1, versions, 1, false);
    await holdReaderDuring(
      a1.store,
      'loadDeviceList',
      () => a1.m.deviceListXml(version),
      () => a1.m.setDeviceList(ALICE, version, [a1.m.deviceId]),
    );
    assert.equal(recipients(elementOf(await a1.m.encrypt([BOB], 'no a2'), version)), bobs.slice(1).map(id).sort());
    assert.not.match(await a1.m.deviceListXml(version), `id="${a2.m.deviceId}"`);
    assert.equal(await a1.m.devicesWithoutSession(ALICE, version), []);

    // Our own list once more: isOwnDevicePublished reads it while a2 is added back.
    a1 = await restart(router, a1, versions, 2, false);
    await holdReaderDuring(
      a1.store,
      'loadDeviceList',
      () => a1.m.isOwnDevicePublished(version),
      () => a1.m.setDeviceList(ALICE, version, [a1.m.deviceId, a2.m.deviceId]),
    );
    assert.ok(await a1.m.isOwnDevicePublished(version));
    const a2Again = elementOf(await a1.m.encrypt([BOB], 'a2 again'), version);
    assert.equal(recipients(a2Again), [a2, ...bobs.slice(1)].map(id).sort());
  });
}

/** Operations of the mixed run (each an encrypt, decrypt, replay, batch of reads or restart). */
const STRESS_OPERATIONS = 4000;
/** Wall time after which the mixed run stops starting operations, whatever their number (ms). */
const STRESS_DEADLINE_MS = 10_000;
/** Operations in flight at once (each awaits its own; together they interleave inside every manager). */
const STRESS_WORKERS = 8;

/** A message on its way to one device. */
interface InFlight {
  label: string;
  from: string;
  xml: string;
  /** The text it carries; undefined for an empty (automatic) message. */
  text: string | undefined;
}

/** One device of the mixed run: its current manager (replaced on restart), inbox and operations in flight. */
interface Slot {
  d: SlowDevice;
  inbox: InFlight[];
  decrypted: InFlight[];
  inflight: Set<Promise<unknown>>;
  restarting: Promise<void> | undefined;
  restarts: number;
}

test('thousands of encrypts, decrypts, replays, reads, restarts interleaved on 4 devices, both versions', async () => {
  const router = new InProcessRouter();
  const slots: Slot[] = [];
  for (const [jid, name] of [
    [ALICE, 'a1'],
    [ALICE, 'a2'],
    [BOB, 'b1'],
    [BOB, 'b2'],
  ] as const) {
    const d = await openSlow(router, jid, name, [...VERSIONS]);
    slots.push({ d, inbox: [], decrypted: [], inflight: new Set(), restarting: undefined, restarts: 0 });
  }
  await syncDeviceLists(
    router,
    slots.map((s) => s.d),
  );
  const rng = rngFor('stress');
  const pick = (n: number) => {
    const b = rng(4);
    return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % n;
  };
  const other = (s: Slot) => (s.d.jid === ALICE ? BOB : ALICE);
  const seen = new Set<string>();
  const problems: string[] = [];
  const count = { encrypt: 0, decrypt: 0, replay: 0, read: 0, restart: 0, automatic: 0 };

  /** Checks a message's header counters and puts it into the inbox of every device it has a key for. */
  const route = (from: Slot, xml: string, text: string | undefined, label: string) => {
    for (const c of headerCounters(xml)) {
      if (seen.has(c)) problems.push(`${label} reuses ${c}`);
      seen.add(c);
    }
    for (const k of parseEncrypted(xml).keys) {
      const to = slots.find((s) => s.d.m.deviceId === k.rid && (k.jid === undefined || k.jid === s.d.jid));
      if (to === undefined) problems.push(`${label} has a key for an unknown device ${k.rid}`);
      else to.inbox.push({ label, from: from.d.jid, xml, text });
    }
  };

  /** Runs `fn` on the slot's current manager, after any restart under way; tracks it as in flight. */
  const on = async <T>(s: Slot, fn: (d: SlowDevice) => Promise<T>): Promise<T> => {
    while (s.restarting !== undefined) await s.restarting;
    const p = fn(s.d);
    s.inflight.add(p);
    try {
      return await p;
    } finally {
      s.inflight.delete(p);
    }
  };

  const encrypt = async (s: Slot, version: OmemoVersion, label: string) => {
    count.encrypt += 1;
    const text = `${label} from ${s.d.inbox}`;
    const out = await on(s, (d) => d.m.encrypt([other(s)], text, { version }));
    for (const r of out.devices) {
      if (!r.ok) problems.push(`${label}: ${r.jid}/${r.deviceId} failed: ${String(r.error)}`);
    }
    route(s, elementOf(out, version), text, label);
  };

  const decryptNext = async (s: Slot) => {
    const m = s.inbox.shift();
    if (m === undefined) return;
    count.decrypt += 1;
    try {
      const out = await on(s, (d) => d.m.decrypt(m.from, m.xml));
      if (out.text !== m.text) problems.push(`${s.d.inbox} decrypted ${m.label} to ${String(out.text)}`);
      s.decrypted.push(m);
      for (const a of out.sent) {
        count.automatic += 1;
        route(s, a.xml, undefined, `${a.kind} from ${s.d.inbox}`);
      }
    } catch (e) {
      problems.push(`${s.d.inbox} cannot decrypt ${m.label}: ${codeOf(e)}`);
    }
  };

  /** Decrypts everything in every inbox, including what that sends automatically. */
  const settle = async () => {
    while (slots.some((s) => s.inbox.length > 0)) {
      for (const s of slots) while (s.inbox.length > 0) await decryptNext(s);
    }
    for (const s of slots) router.drain(s.d.inbox); // the same automatic messages, already routed from `sent`
  };

  // Sessions between every two devices in both versions first, one sender at a time: no crossing key
  // exchanges, so everything after this can only fail through a race.
  for (const version of VERSIONS) {
    for (const s of slots) {
      await encrypt(s, version, `setup ${version}`);
      await settle();
    }
  }

  const deadline = Date.now() + STRESS_DEADLINE_MS;
  let started = 0;
  const worker = async () => {
    while (started < STRESS_OPERATIONS && Date.now() < deadline) {
      const n = started++;
      const s = slots[pick(slots.length)]!;
      const version = VERSIONS[pick(VERSIONS.length)]!;
      const r = pick(1000);
      if (r < 300) await encrypt(s, version, `#${n}`);
      else if (r < 750) {
        // Up to three messages: each encrypt puts one into three inboxes.
        for (let i = 0; i < 3; i++) await decryptNext(s);
      } else if (r < 930) {
        count.read += 1;
        const jid = pick(2) === 0 ? other(s) : s.d.jid;
        const [without, listXml, published] = await on(s, (d) =>
          Promise.all([
            d.m.devicesWithoutSession(jid, version),
            d.m.deviceListXml(version),
            d.m.isOwnDevicePublished(version),
          ]),
        );
        const who = `#${n}: ${s.d.inbox}`;
        if (without.length !== 0) problems.push(`${who} has no ${version} session with ${jid}/${without.join(',')}`);
        const listed = listXml.includes(`id="${s.d.m.deviceId}"`);
        if (!listed || !published) problems.push(`${who} is not in its own ${version} list`);
      } else if (r < 993) {
        const m = s.decrypted[pick(s.decrypted.length + 1)];
        if (m === undefined) continue;
        count.replay += 1;
        const again = await on(s, (d) => d.m.decrypt(m.from, m.xml)).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!(again instanceof OmemoError)) problems.push(`#${n}: ${s.d.inbox} accepted ${m.label} twice`);
      } else if (s.restarting === undefined) {
        count.restart += 1;
        s.restarting = (async () => {
          await Promise.allSettled([...s.inflight]);
          s.d = await restart(router, s.d, [...VERSIONS], ++s.restarts);
        })().finally(() => (s.restarting = undefined));
        await s.restarting;
      }
    }
  };
  await Promise.all(Array.from({ length: STRESS_WORKERS }, worker));
  await settle();

  const summary = JSON.stringify(count);
  assert.equal(problems.slice(0, 20), [], `${problems.length} problems in ${summary}`);
  assert.ok(count.encrypt + count.decrypt + count.read >= 1000, `only ${summary} ran before the deadline`);
  assert.ok(count.replay > 0 && count.restart > 0, summary);
  for (const s of slots) assert.is(s.inbox.length, 0);
});

test.run();
