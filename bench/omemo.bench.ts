// OmemoManager benchmarks through the public API, with fixtures built on the in-process router: encryption
// to 1, 100 and 200 devices over established sessions (µs per device) and steady-state decryption (µs/op).
// `npm run bench` runs it with the others; `npx tsx bench/omemo.bench.ts` runs it alone.
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { InProcessRouter } from '../examples/in-process-router';
import {
  cryptoReady,
  MemoryStore,
  OmemoManager,
  STALE_DEVICE_AFTER_MESSAGES,
  type EncryptResult,
  type OmemoVersion,
} from '../src/index';
import { formatTable, resultOf, type BenchResult } from './harness';

const DOMAIN = 'bench.example';
const ACCOUNTS = 40;
const DEVICES_PER_ACCOUNT = 5;
/** A device we encrypted to this often without an answer is made to answer (long before it would go stale). */
const ANSWER_AFTER = STALE_DEVICE_AFTER_MESSAGES - 100;

interface Device {
  jid: string;
  inbox: string;
  m: OmemoManager;
}

class Fixture {
  readonly router = new InProcessRouter();
  sender!: Device;
  solo!: Device;
  /** ACCOUNTS × DEVICES_PER_ACCOUNT devices, account by account. */
  readonly fanout: Device[] = [];
  readonly accounts: string[] = [];
  /** Messages the sender encrypted to a device since it last heard from it (mirrors the stale-device rule). */
  private readonly unanswered = new Map<Device, number>();

  async open(jid: string, name: string): Promise<Device> {
    const inbox = `${jid}/${name}`;
    return {
      jid,
      inbox,
      m: await OmemoManager.open({
        jid,
        store: new MemoryStore(),
        transport: this.router.connect(jid, inbox),
        maxElementBytes: Infinity, // one element for 1000 devices: beyond a client stanza limit (README)
      }),
    };
  }

  async build(): Promise<void> {
    this.sender = await this.open(`sender@${DOMAIN}`, 'bench');
    this.solo = await this.open(`solo@${DOMAIN}`, 'only');
    for (let a = 1; a <= ACCOUNTS; a++) {
      const jid = `user${a}@${DOMAIN}`;
      this.accounts.push(jid);
      for (let d = 1; d <= DEVICES_PER_ACCOUNT; d++) this.fanout.push(await this.open(jid, `d${d}`));
    }
    // Establish every session in both versions: key exchange out, every device decrypts it and answers.
    for (const version of ['twomemo', 'oldmemo'] as const) {
      const all = [this.solo, ...this.fanout];
      const res = await this.sender.m.encrypt([this.solo.jid, ...this.accounts], 'hello', { version });
      expectAll(res, all.length, true, `${version} key exchange`);
      const xml = res.elements[0]!.xml;
      for (const d of all) {
        this.router.drain(d.inbox);
        const out = await d.m.decrypt(this.sender.jid, xml);
        if (out.text !== 'hello') throw new Error(`fixture: ${d.inbox} decrypted ${JSON.stringify(out.text)}`);
      }
      await this.takeReplies();
    }
    for (const d of [this.solo, ...this.fanout]) this.unanswered.set(d, 0);
  }

  /** Decrypts everything waiting for the sender (session completions, heartbeats). */
  async takeReplies(): Promise<void> {
    for (const m of this.router.drain(this.sender.inbox)) {
      const out = await this.sender.m.decrypt(m.from, m.xml);
      const from = [this.solo, ...this.fanout].find(
        (d) => d.jid === out.sender.jid && d.m.deviceId === out.sender.deviceId,
      );
      if (from !== undefined) this.unanswered.set(from, 0);
    }
  }

  /**
   * Call before each send to `devices` (outside the timing): counts the send and lets devices that are
   * getting close to the stale-device limit answer, as a real conversation partner would.
   */
  async beforeSend(devices: readonly Device[]): Promise<void> {
    await this.takeReplies();
    for (const d of devices) {
      const n = (this.unanswered.get(d) ?? 0) + 1;
      if (n < ANSWER_AFTER) {
        this.unanswered.set(d, n);
        continue;
      }
      const answer = await d.m.encryptEmpty([this.sender.jid], { version: 'twomemo', partial: true });
      await this.sender.m.decrypt(d.jid, answer.elements[0]!.xml);
      this.unanswered.set(d, 1);
    }
  }

  /** Empties the inboxes of devices (the bench never reads what the sender's encryptions would deliver). */
  clearInboxes(): void {
    for (const d of [this.solo, ...this.fanout]) this.router.drain(d.inbox);
  }
}

function expectAll(res: EncryptResult, n: number, keyExchange: boolean, what: string): void {
  const good = res.devices.filter((r) => r.ok && r.keyExchange === keyExchange).length;
  if (res.devices.length !== n || good !== n || res.elements.length !== 1) {
    throw new Error(
      `${what}: ${good}/${n} devices as expected (${res.devices.find((r) => !r.ok)?.error ?? 'wrong key-exchange flag'})`,
    );
  }
}

export async function run(): Promise<BenchResult[]> {
  await cryptoReady();
  const f = new Fixture();
  await f.build();
  // Steady-state decryption first: the receivers must read every message sent to them (a device that
  // missed more than 1000 messages of a chain refuses the next one), so they are benchmarked before the
  // encryption runs below pile up unread messages. The sender encrypts (not timed), the device decrypts.
  const dec = new Bench({ name: 'omemo decrypt', time: 500, warmupTime: 100, iterations: 32, throws: true });
  const cases: { name: string; device: Device; jids: string[]; devices: Device[] }[] = [
    { name: 'decrypt steady, 1-key stanza, OMEMO 2 (µs/op)', device: f.solo, jids: [f.solo.jid], devices: [f.solo] },
    {
      name: 'decrypt steady, 200-key stanza, OMEMO 2 (µs/op)',
      device: f.fanout[0]!,
      jids: f.accounts,
      devices: f.fanout,
    },
  ];
  for (const c of cases) {
    let xml = '';
    let text = '';
    let i = 0;
    dec.add(
      c.name,
      async () => {
        const out = await c.device.m.decrypt(f.sender.jid, xml);
        if (out.text !== text)
          throw new Error(`${c.name}: decrypted ${JSON.stringify(out.text)}, expected ${JSON.stringify(text)}`);
      },
      {
        async: true,
        beforeEach: async () => {
          await f.beforeSend(c.devices);
          text = `steady ${++i}`;
          xml = (await f.sender.m.encrypt(c.jids, text, { version: 'twomemo' })).elements[0]!.xml;
          f.clearInboxes();
        },
      },
    );
  }
  await dec.run();

  // Encryption over established sessions: µs per recipient device.
  const targets: { name: string; jids: string[]; devices: Device[]; version: OmemoVersion }[] = [
    { name: 'encrypt → 1 device, OMEMO 2 (µs/device)', jids: [f.solo.jid], devices: [f.solo], version: 'twomemo' },
    {
      name: 'encrypt → 100 devices, OMEMO 2 (µs/device)',
      jids: f.accounts.slice(0, 20),
      devices: f.fanout.slice(0, 100),
      version: 'twomemo',
    },
    { name: 'encrypt → 200 devices, OMEMO 2 (µs/device)', jids: f.accounts, devices: f.fanout, version: 'twomemo' },
    { name: 'encrypt → 200 devices, OMEMO 0.3 (µs/device)', jids: f.accounts, devices: f.fanout, version: 'oldmemo' },
  ];
  const enc = new Bench({ name: 'omemo encrypt', time: 1000, warmupTime: 200, iterations: 32, throws: true });
  for (const t of targets) {
    let i = 0;
    enc.add(
      t.name,
      async () => {
        const res = await f.sender.m.encrypt(t.jids, `message ${++i}`, { version: t.version });
        expectAll(res, t.devices.length, false, t.name);
      },
      { async: true, beforeEach: () => f.beforeSend(t.devices) },
    );
  }
  await enc.run();

  const results: BenchResult[] = enc.tasks.map((task, i) => resultOf(task, targets[i]!.devices.length));
  for (const task of dec.tasks) results.push(resultOf(task));
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatTable([{ title: 'omemo', results: await run() }]));
}
