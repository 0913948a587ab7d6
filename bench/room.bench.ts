// Group-chat sends (XEP-0384 "Group Chats" over the manager's fan-out): the time from encryptToRoom (what sendToRoom
// calls) to the `<encrypted>` elements being ready, for a room of ROOM_MEMBERS members × DEVICES_PER_MEMBER
// devices (one device per member OMEMO 0.3 only, so the stanza carries both versions): the first send, which
// fetches every device list and bundle from an in-process PEP (examples/in-process-router.ts) and builds every
// session, and a steady send over answered sessions. Prints the stanza size and what the size check says at the
// default limit (Prosody's 256 KiB). `npx tsx bench/room.bench.ts` runs it alone.
import { pathToFileURL } from 'node:url';
import { InProcessRouter } from '../examples/in-process-router';
import {
  cryptoReady,
  DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES,
  encryptToRoom,
  isOmemoError,
  MemoryStore,
  OmemoManager,
  OmemoRoom,
  type EncryptResult,
} from '../src/index';
import { formatTable, type BenchResult } from './harness';

const DOMAIN = 'bench.example';
const ROOM = `room@conference.${DOMAIN}`;
const ROOM_MEMBERS = 300;
const DEVICES_PER_MEMBER = 3;
/** First sends timed (each by a fresh sender: nothing cached, every bundle fetched). */
const FIRST_SENDS = 3;
/** Steady sends timed. */
const STEADY_SENDS = 15;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stanzaBytes = (r: EncryptResult) => r.elements.reduce((n, e) => n + new TextEncoder().encode(e.xml).length, 0);

async function open(router: InProcessRouter, jid: string, name: string, maxElementBytes: number, old = false) {
  return OmemoManager.open({
    jid,
    store: new MemoryStore(),
    transport: router.connect(jid, `${jid}/${name}`),
    maxElementBytes,
    ...(old ? { versions: ['oldmemo' as const] } : {}),
  });
}

export async function run(): Promise<BenchResult[]> {
  await cryptoReady();
  const router = new InProcessRouter();
  const room = new OmemoRoom(ROOM, `sender@${DOMAIN}`);
  const devices: { jid: string; m: OmemoManager }[] = [];
  for (let i = 0; i < ROOM_MEMBERS; i++) {
    const jid = `member${i}@${DOMAIN}`;
    room.setAffiliation(jid, 'member');
    for (let d = 0; d < DEVICES_PER_MEMBER; d++)
      devices.push({ jid, m: await open(router, jid, `d${d}`, Infinity, d === DEVICES_PER_MEMBER - 1) });
  }
  const n = devices.length;
  const check = (r: EncryptResult) => {
    if (r.devices.filter((d) => d.ok).length !== n)
      throw new Error(`reached ${r.devices.filter((d) => d.ok).length}/${n}`);
  };

  // The size check at the default limit, first send (key exchanges) — before anything is timed.
  let verdict = 'fits';
  const limited = await open(router, `limited@${DOMAIN}`, 'x', DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES);
  try {
    await encryptToRoom(limited, room, 'first', { originId: 'limit' });
  } catch (e) {
    if (!isOmemoError(e, 'stanza-too-large')) throw e;
    verdict = e.message;
  }

  const first: number[] = [];
  let sender!: OmemoManager;
  let firstBytes = 0;
  let firstResult!: EncryptResult;
  for (let i = 0; i < FIRST_SENDS; i++) {
    sender = await open(router, `sender${i}@${DOMAIN}`, 'bot', Infinity);
    const t = performance.now();
    firstResult = await encryptToRoom(sender, room, 'hello room', { originId: `first-${i}` });
    first.push(performance.now() - t);
    check(firstResult);
    firstBytes = stanzaBytes(firstResult);
  }
  // Every device reads the last sender's first message and answers (session completion): sessions are steady.
  for (const d of devices) {
    const mine = firstResult.elements.find(
      (e) => e.xml.includes(`"${d.m.deviceId}"`) || e.xml.includes(`'${d.m.deviceId}'`),
    );
    await d.m.decrypt(sender.jid, mine!.xml);
  }
  for (const m of router.drain(`${sender.jid}/bot`)) await sender.decrypt(m.from, m.xml);
  const steady: number[] = [];
  let steadyBytes = 0;
  let steadyVerdict = 'fits';
  for (let i = 0; i < STEADY_SENDS; i++) {
    const t = performance.now();
    const r = await encryptToRoom(sender, room, `steady ${i}`, { originId: `steady-${i}` });
    steady.push(performance.now() - t);
    check(r);
    steadyBytes = stanzaBytes(r);
    if (r.devices.some((d) => d.keyExchange)) throw new Error('steady send still has key exchanges');
  }
  if (steadyBytes > DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES) steadyVerdict = `over the default limit`;

  console.error(
    `room ${ROOM_MEMBERS}×${DEVICES_PER_MEMBER} (${n} devices): first-send stanza ${firstBytes} bytes, steady ${steadyBytes} bytes` +
      ` (both <encrypted> elements); default limit ${DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES}: first send: ${verdict}; steady: ${steadyVerdict}`,
  );
  return [
    {
      name: `room ${ROOM_MEMBERS}×${DEVICES_PER_MEMBER}: first send (PEP fetches, X3DH, encrypt)`,
      medianUs: median(first) * 1000,
      samples: first.length,
    },
    {
      name: `room ${ROOM_MEMBERS}×${DEVICES_PER_MEMBER}: steady send`,
      medianUs: median(steady) * 1000,
      samples: steady.length,
    },
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatTable([{ title: 'room', results: await run() }]));
}
