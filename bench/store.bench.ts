// OmemoStore benchmarks through the public API: the commits and reads an encryption to many devices does.
// A fan-out to 1000 devices is one commit of 1000 session records (~330 bytes each, the size of a fresh
// session) and one loadSessions of 1000 addresses; a single decryption commits one session and one device.
// SqliteStore commits are durable (WAL, synchronous=FULL: one fsync each); MemoryStore is the baseline.
// `npm run bench` runs it with the others; `npx tsx bench/store.bench.ts` runs it alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { MemoryStore, type OmemoStore, type SessionAddress, type StoredDevice } from '../src/index';
import { SqliteStore } from '../src/sqlite';
import { formatTable, runBench, type BenchResult } from './harness';

const FANOUT_DEVICES = 1000;
const RECORD_BYTES = 330;
const OWNER = 'bench@store.example';

const addresses: SessionAddress[] = Array.from({ length: FANOUT_DEVICES }, (_, i) => ({
  version: 'twomemo',
  jid: `user${i % 200}@store.example`,
  deviceId: 100_000 + i,
}));
const device: StoredDevice = {
  jid: addresses[0]!.jid,
  deviceId: addresses[0]!.deviceId,
  activeIn: ['twomemo'],
  identityKey: new Uint8Array(32).fill(7),
  trust: 'blind',
  sentSinceLastReceived: 0,
  lastReceivedAt: 0,
};

function record(i: number): Uint8Array {
  return new Uint8Array(RECORD_BYTES).fill(i & 255);
}

function addCases(bench: Bench, label: string, store: OmemoStore): void {
  let i = 0;
  bench.add(`${label}: commit ${FANOUT_DEVICES} sessions (µs/commit)`, async () => {
    const r = record(++i);
    await store.commit({ putSessions: addresses.map((address) => ({ address, record: r })) });
  });
  bench.add(`${label}: loadSessions of ${FANOUT_DEVICES} (µs/call)`, async () => {
    const got = await store.loadSessions(addresses);
    const loaded = got.filter((r) => r !== undefined).length;
    if (loaded !== FANOUT_DEVICES) throw new Error(`${label}: loaded ${loaded} sessions`);
  });
  bench.add(`${label}: commit 1 session + device (µs/commit)`, async () => {
    await store.commit({
      putSessions: [{ address: addresses[0]!, record: record(++i) }],
      putDevices: [{ ...device, lastReceivedAt: i }],
    });
  });
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'omemo-store-bench-'));
  const sqlite = await SqliteStore.open(join(dir, 'bench.db'), { jid: OWNER });
  try {
    const memory = new MemoryStore();
    for (const s of [sqlite, memory])
      await s.commit({ putSessions: addresses.map((address) => ({ address, record: record(0) })) });
    const bench = new Bench({ name: 'store', time: 500, warmupTime: 100, iterations: 32, throws: true });
    addCases(bench, 'SqliteStore', sqlite);
    addCases(bench, 'MemoryStore', memory);
    return await runBench(bench);
  } finally {
    sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatTable([{ title: 'store', results: await run() }]));
}
