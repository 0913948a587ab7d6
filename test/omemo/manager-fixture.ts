// Shared fixture of the session-manager tests: counting stores, a fake clock, managers wired to the
// in-process router (examples/in-process-router.ts), typed-error assertions and store snapshots. No tests here.

import * as assert from 'uvu/assert';
import { InProcessRouter } from '../../examples/in-process-router';
import { toHex, utf8Encode } from '../../src/crypto/bytes';
import { OmemoError, type OmemoErrorCode } from '../../src/crypto/errors';
import { seededRng, type Rng } from '../../src/crypto/random';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import { pepLocations } from '../../src/omemo/versions/by-version';
import type { OmemoVersion } from '../../src/omemo/versions/backend';
import { OmemoManager, type EncryptResult, type OmemoManagerOptions } from '../../src/omemo/manager/session-manager';
import { sessionKey, type OmemoStore, type SessionAddress, type StoreChanges } from '../../src/omemo/store/store';
import type { OmemoTransport } from '../../src/omemo/manager/transport';
import { storeSnapshot } from '../../src/testing/store-fixtures';

export { InProcessRouter };

/** A MemoryStore that counts calls and can be told to fail its next commits. */
export class CountingStore extends MemoryStore {
  loadSessionsCalls = 0;
  /** Number of addresses asked for, per loadSessions call. */
  loadSessionsSizes: number[] = [];
  commitCalls = 0;
  /** While > 0, commit throws (and decrements) instead of writing. */
  failCommits = 0;
  readonly failure = new Error('disk full (simulated)');

  loadDeviceListCalls = 0;

  override async loadDeviceList(version: OmemoVersion, jid: string): Promise<number[] | undefined> {
    this.loadDeviceListCalls += 1;
    return super.loadDeviceList(version, jid);
  }

  override async loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]> {
    this.loadSessionsCalls += 1;
    this.loadSessionsSizes.push(addresses.length);
    return super.loadSessions(addresses);
  }

  override async commit(changes: StoreChanges): Promise<void> {
    this.commitCalls += 1;
    if (this.failCommits > 0) {
      this.failCommits -= 1;
      throw this.failure;
    }
    return super.commit(changes);
  }
}

/** A settable clock in ms. */
export class Clock {
  t = Date.UTC(2024, 0, 1);
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export function rngFor(label: string): Rng {
  return seededRng(utf8Encode(label));
}

/** One device: its manager, store, transport and inbox name. */
export interface Device {
  m: OmemoManager;
  store: CountingStore;
  jid: string;
  inbox: string;
  transport: OmemoTransport;
  clock: Clock;
}

export interface OpenOptions extends Partial<Omit<OmemoManagerOptions, 'store'>> {
  store?: CountingStore;
  clock?: Clock;
}

/** Opens a manager for `jid` whose inbox is `jid/name`, with a seeded RNG and a fake clock. */
export async function openDevice(
  router: InProcessRouter,
  jid: string,
  name: string,
  opts: OpenOptions = {},
): Promise<Device> {
  const store = opts.store ?? new CountingStore();
  const clock = opts.clock ?? new Clock();
  const inbox = `${jid}/${name}`;
  const transport = opts.transport ?? router.connect(jid, inbox);
  const { store: _s, clock: _c, ...rest } = opts;
  const m = await OmemoManager.open({
    jid,
    store,
    transport,
    rng: rngFor(`${inbox}#${String(opts.versions ?? 'all')}`),
    now: clock.now,
    ...rest,
  });
  return { m, store, jid, inbox, transport, clock };
}

/** Feeds every device the current published device lists of every JID in `devices` (PEP notifications). */
export async function syncDeviceLists(
  router: InProcessRouter,
  devices: readonly Device[],
  extraJids: readonly string[] = [],
): Promise<void> {
  const jids = [...new Set([...devices.map((d) => d.jid), ...extraJids])];
  for (const d of devices) {
    for (const version of d.m.versions) {
      for (const jid of jids) {
        const xml = router.item(jid, pepLocations(version, 1).deviceListNode);
        if (xml !== undefined) await d.m.onDeviceListUpdate(jid, version, xml);
      }
    }
  }
}

/** The XML of the element of `version` in an encrypt result (asserts it exists). */
export function elementOf(result: EncryptResult, version: OmemoVersion): string {
  const el = result.elements.find((e) => e.version === version);
  assert.ok(el, `no ${version} element in ${JSON.stringify(result.elements.map((e) => e.version))}`);
  return el!.xml;
}

/** Awaits `p` (or calls `fn`) and asserts it rejects with OmemoError `code`; returns the error. */
export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: OmemoErrorCode): Promise<OmemoError> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected OmemoError '${code}', nothing was thrown`);
  assert.instance(caught, OmemoError, `expected OmemoError '${code}', got ${String(caught)}`);
  assert.is(
    (caught as OmemoError).code,
    code,
    `expected '${code}', got '${(caught as OmemoError).code}': ${(caught as Error).message}`,
  );
  return caught as OmemoError;
}

/**
 * Everything a store holds that is reachable through the OmemoStore API for the given JIDs and session
 * addresses, as a canonical string (byte arrays as hex): the conformance suite's snapshot.
 */
export const snapshot = storeSnapshot;

/** The session records of `addresses`, as hex, keyed by session key (bypasses any counting). */
export async function sessionBytes(
  store: MemoryStore,
  addresses: readonly SessionAddress[],
): Promise<Record<string, string>> {
  const records = await MemoryStore.prototype.loadSessions.call(store, addresses);
  return Object.fromEntries(
    addresses.flatMap((a, i) => (records[i] === undefined ? [] : [[sessionKey(a), toHex(records[i]!)]])),
  );
}

export const VERSIONS: readonly OmemoVersion[] = ['oldmemo', 'twomemo'];

/** A copy of what a store holds for `jids` and `addresses` (a backup, or a device restored from one). */
export async function copyStore(
  store: OmemoStore,
  jids: string[],
  addresses: { version: OmemoVersion; jid: string; deviceId: number }[],
): Promise<CountingStore> {
  const copy = new CountingStore();
  const changes: StoreChanges = {
    identity: (await store.loadIdentity())!,
    putSignedPreKeys: await store.loadSignedPreKeys(),
    putPreKeys: await store.loadPreKeys(),
    putDevices: await store.loadDevices(jids),
    putSessions: (await store.loadSessions(addresses)).flatMap((record, i) =>
      record === undefined ? [] : [{ address: addresses[i]!, record }],
    ),
    putDeviceLists: [],
  };
  for (const jid of jids) {
    for (const version of VERSIONS) {
      const ids = await store.loadDeviceList(version, jid);
      if (ids !== undefined) changes.putDeviceLists!.push({ version, jid, deviceIds: ids });
    }
  }
  await copy.commit(changes);
  return copy;
}
