// omemo-wasm demo (`npm start`): real OmemoManagers talking through an in-process XMPP server with PEP.
//
//  1. alice (2 devices) and bob (3 devices) hold one conversation in OMEMO 2 and one in legacy OMEMO 0.3:
//     key exchanges, the automatic empty messages that complete them, replies, a few more rounds. Every
//     decryption is checked against the text sent and against the expected key-exchange flag.
//  2. A bot fans one message out to 200 devices (40 accounts × 5 devices), timing the first send (sessions
//     built from bundles) and steady-state sends, and checking that the devices really decrypt them.
//
// Every device keeps its state in its own SQLite file (SqliteStore) in a temporary directory, removed at
// the end. Exit code 0 when every check passed; 1 with a message naming the failed check otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cryptoReady,
  formatFingerprint,
  isOmemoError,
  NODE_LEGACY_DEVICELIST,
  NODE_OMEMO2_DEVICES,
  OmemoManager,
  type DecryptResult,
  type EncryptResult,
  type OmemoStore,
  type OmemoVersion,
} from '../src/index';
import { SqliteStore } from '../src/sqlite';
import { InProcessRouter, type RoutedMessage } from './in-process-router';

const DOMAIN = 'example.org';
const VERSION_NAME: Record<OmemoVersion, string> = { twomemo: 'OMEMO 2', oldmemo: 'OMEMO 0.3' };
const DEVICE_LIST_NODES: Record<string, OmemoVersion> = {
  [NODE_OMEMO2_DEVICES]: 'twomemo',
  [NODE_LEGACY_DEVICELIST]: 'oldmemo',
};
const FANOUT_ACCOUNTS = 40;
const FANOUT_DEVICES_PER_ACCOUNT = 5;
const STEADY_SENDS = 9;

/** Where the demo's SQLite files live: a fresh temporary directory, removed at the end. */
const storeDir = mkdtempSync(join(tmpdir(), 'omemo-demo-'));
const openStores: SqliteStore[] = [];

/**
 * The store of one device: everything the device knows lives here, in one SQLite file per device
 * (SqliteStore, one account per file). This is the one function to change for another store, e.g.
 * `return new MemoryStore()`; `deviceName` (`account/name`) names one device.
 */
async function openStore(account: string, deviceName: string): Promise<OmemoStore> {
  console.assert(deviceName.startsWith(`${account}/`));
  const store = await SqliteStore.open(join(storeDir, `${deviceName.replace(/[^a-z0-9]+/gi, '_')}.db`), {
    jid: account,
  });
  openStores.push(store);
  return store;
}

function closeStores(): void {
  for (const s of openStores.splice(0)) s.close();
  rmSync(storeDir, { recursive: true, force: true });
}

class DemoFailure extends Error {}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DemoFailure(message);
}

interface Device {
  account: string;
  /** Short name, e.g. "phone". */
  name: string;
  /** The router's inbox key: `account/name` (a full JID). */
  address: string;
  manager: OmemoManager;
}

const router = new InProcessRouter();
let decryptionsChecked = 0;

const short = (d: Device): string => `${d.account.split('@')[0]}/${d.name}`;

async function openDevice(account: string, name: string): Promise<Device> {
  const address = `${account}/${name}`;
  const manager = await OmemoManager.open({
    jid: account,
    label: name,
    store: await openStore(account, address),
    transport: router.connect(account, address),
  });
  return { account, name, address, manager };
}

/** Feeds queued PEP device-list notifications (+notify) to the devices until nothing changes any more. */
async function syncDeviceLists(devices: Device[]): Promise<void> {
  for (let pending = true; pending; ) {
    pending = false;
    for (const d of devices) {
      for (const n of router.drainNotifications(d.address)) {
        const version = DEVICE_LIST_NODES[n.node];
        if (version === undefined) continue;
        pending = true;
        await d.manager.onDeviceListUpdate(n.jid, version, n.xml);
      }
    }
  }
}

/** Decrypts one routed message on a device; undefined when it carries no key for this device. */
async function tryDecrypt(d: Device, m: RoutedMessage): Promise<DecryptResult | undefined> {
  try {
    return await d.manager.decrypt(m.from, m.xml);
  } catch (e) {
    if (isOmemoError(e, 'message-not-for-us')) return undefined;
    throw new DemoFailure(`${short(d)} could not decrypt a ${m.kind} message from ${m.from}: ${(e as Error).message}`);
  }
}

// ─── Part 1: alice and bob ────────────────────────────────────────────────────────────────────────────

/** `v|receiver|sender` once the receiver has decrypted anything from the sender: it then has an answered session. */
const heardFrom = new Set<string>();
const pairKey = (v: OmemoVersion, receiver: Device, sender: { jid: string; deviceId: number }) =>
  `${v}|${receiver.address}|${sender.jid}/${sender.deviceId}`;

function deviceById(all: Device[], jid: string, deviceId: number): Device {
  const d = all.find((x) => x.account === jid && x.manager.deviceId === deviceId);
  check(d !== undefined, `unknown device ${jid}/${deviceId}`);
  return d;
}

/**
 * One chat message: `from` encrypts to `to` (plus its own other devices), the server delivers it (and a
 * carbon copy to the sender's other devices), every device processes its inbox, automatic empty messages
 * are delivered and decrypted until all inboxes are empty.
 */
async function say(
  all: Device[],
  from: Device,
  to: string,
  text: string,
  version: OmemoVersion,
): Promise<{ keyExchanges: number }> {
  const res: EncryptResult = await from.manager.encrypt([to], text, { version });
  const failed = res.devices.filter((r) => !r.ok);
  check(
    failed.length === 0,
    `${short(from)} could not encrypt to ${failed.map((r) => `${r.jid}/${r.deviceId} (${r.error})`).join(', ')}`,
  );
  check(
    res.elements.length === 1 && res.elements[0]!.version === version,
    `expected one ${version} element, got ${res.elements.map((e) => e.version).join(', ')}`,
  );
  const expected = all.filter((d) => d !== from && (d.account === to || d.account === from.account));
  check(
    res.devices.length === expected.length,
    `${short(from)} encrypted for ${res.devices.length} devices, expected ${expected.length}`,
  );
  for (const r of res.devices) {
    const receiver = deviceById(all, r.jid, r.deviceId);
    // The sender sends key exchanges until it has heard back from that device.
    const expectKex = !heardFrom.has(
      pairKey(version, from, { jid: receiver.account, deviceId: receiver.manager.deviceId }),
    );
    check(
      r.keyExchange === expectKex,
      `${short(from)} → ${short(receiver)}: keyExchange ${r.keyExchange}, expected ${expectKex}`,
    );
  }
  const kex = res.devices.filter((r) => r.keyExchange).length;
  console.log(
    `  ${short(from)} → ${to.split('@')[0]}: "${text}"  (${res.devices.length} device keys, ${kex} key exchange${kex === 1 ? '' : 's'})`,
  );

  const xml = res.elements[0]!.xml;
  router.deliver({ from: from.account, to, xml, kind: 'chat' });
  router.deliver({ from: from.account, to: from.account, xml, kind: 'chat' }, { exceptDevice: from.address });

  const decryptedBy = new Set<string>();
  const automatic = new Map<Device, Map<string, string[]>>();
  for (let pass = 0; ; pass++) {
    let any = false;
    for (const d of all) {
      for (const m of router.drain(d.address)) {
        any = true;
        const out = await tryDecrypt(d, m);
        if (out === undefined) {
          check(m.kind !== 'chat' || !expected.includes(d), `${short(d)} found no key for itself in the chat message`);
          continue;
        }
        decryptionsChecked++;
        const sender = deviceById(all, out.sender.jid, out.sender.deviceId);
        check(out.version === version, `${short(d)} decrypted a ${out.version} message, expected ${version}`);
        heardFrom.add(pairKey(version, d, out.sender));
        if (m.kind === 'chat') {
          check(sender === from, `${short(d)}: chat message attributed to ${short(sender)}, sent by ${short(from)}`);
          check(
            out.text === text,
            `${short(d)} decrypted ${JSON.stringify(out.text)}, expected ${JSON.stringify(text)}`,
          );
          check(
            out.keyExchange ===
              res.devices.find((r) => r.jid === d.account && r.deviceId === d.manager.deviceId)?.keyExchange,
            `${short(d)}: key exchange flag differs from the sender's report`,
          );
          if (version === 'twomemo')
            check(out.envelopeFromMatches === true, `${short(d)}: SCE <from> does not match the sender`);
          check(!decryptedBy.has(d.address), `${short(d)} decrypted the chat message twice`);
          decryptedBy.add(d.address);
          const auto = out.sent.length ? `  ⇒ sent ${out.sent.map((s) => s.kind).join(', ')}` : '';
          console.log(
            `    ${short(d).padEnd(13)} ← ${short(sender)} #${out.sender.deviceId} ${VERSION_NAME[version]}${out.keyExchange ? ' key exchange' : ''}: "${out.text}"${auto}`,
          );
        } else {
          check(
            out.payload === undefined && out.text === undefined,
            `${short(d)}: automatic ${m.kind} message has a payload`,
          );
          check(!out.keyExchange, `${short(d)}: automatic ${m.kind} message from ${short(sender)} is a key exchange`);
          const byKind = automatic.get(d) ?? new Map<string, string[]>();
          byKind.set(m.kind, [...(byKind.get(m.kind) ?? []), short(sender)]);
          automatic.set(d, byKind);
        }
      }
    }
    if (!any) break;
    check(pass < 5, 'inboxes did not drain');
  }
  for (const [d, byKind] of automatic) {
    for (const [kind, senders] of byKind)
      console.log(`    ${short(d).padEnd(13)} ← empty ${kind} message from ${senders.join(', ')}: decrypted`);
  }
  const missing = expected.filter((d) => !decryptedBy.has(d.address));
  check(missing.length === 0, `no decryption of "${text}" on ${missing.map(short).join(', ')}`);
  return { keyExchanges: kex };
}

async function conversations(): Promise<{ devices: Device[]; messages: number; keyExchanges: number }> {
  const alice = `alice@${DOMAIN}`;
  const bob = `bob@${DOMAIN}`;
  const devices: Device[] = [];
  for (const name of ['phone', 'laptop']) devices.push(await openDevice(alice, name));
  for (const name of ['phone', 'laptop', 'tablet']) devices.push(await openDevice(bob, name));
  // Each client subscribes to the device lists of its own account and its contact (PEP +notify).
  for (const d of devices) router.subscribe(d.address, [alice, bob], [NODE_OMEMO2_DEVICES, NODE_LEGACY_DEVICELIST]);
  await syncDeviceLists(devices);

  console.log('Devices (identity fingerprints, identical in both versions):');
  for (const d of devices)
    console.log(
      `  ${short(d).padEnd(13)} #${String(d.manager.deviceId).padEnd(10)} ${formatFingerprint(d.manager.fingerprint)}`,
    );
  for (const d of devices) {
    for (const v of ['twomemo', 'oldmemo'] as const) {
      const others = await d.manager.devicesWithoutSession(d.account === alice ? bob : alice, v);
      check(
        others.length === (d.account === alice ? 3 : 2),
        `${short(d)} does not see every ${v} device of its contact`,
      );
    }
  }

  const [aPhone, aLaptop, , bLaptop, bTablet] = devices as [Device, Device, Device, Device, Device];
  let messages = 0;
  let keyExchanges = 0;
  for (const version of ['twomemo', 'oldmemo'] as const) {
    console.log(`\n${VERSION_NAME[version]} conversation:`);
    const v = VERSION_NAME[version];
    const rounds: [Device, string, string][] = [
      [aPhone, bob, `Hi Bob, this is alice over ${v}`],
      [bLaptop, alice, `Hi Alice! bob here, from my laptop (${v})`],
      [aLaptop, bob, `Now from my laptop — ünïcödé & <xml> are fine (${v})`],
      [bTablet, alice, `Tablet says hello too (${v})`],
      [aPhone, bob, `Sessions all around now (${v}) 🎉`],
    ];
    let last = { keyExchanges: -1 };
    for (const [from, to, text] of rounds) {
      last = await say(devices, from, to, text, version);
      messages++;
      keyExchanges += last.keyExchanges;
    }
    check(last.keyExchanges === 0, `the last ${version} round still needed key exchanges`);
  }

  // What each device learned about the others' identities must match the real keys.
  let compared = 0;
  for (const d of devices) {
    for (const jid of [alice, bob]) {
      for (const info of await d.manager.devices(jid)) {
        const real = deviceById(devices, jid, info.deviceId);
        check(
          info.fingerprint === real.manager.fingerprint,
          `${short(d)} holds a wrong fingerprint for ${short(real)}`,
        );
        check(info.trust === 'blind', `${short(d)} trusts ${short(real)} as ${info.trust}, expected blind (BTBV)`);
        compared++;
      }
    }
  }
  console.log(
    `\nFingerprints: all ${compared} device-to-device views match the real identity keys (trust: blind, BTBV).`,
  );
  return { devices, messages, keyExchanges };
}

// ─── Part 2: fan-out to 200 devices ───────────────────────────────────────────────────────────────────

interface FanoutResult {
  version: OmemoVersion;
  firstUsPerDevice: number;
  steadyUsPerDevice: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Delivers `xml` from the bot to every account and decrypts it on `which` devices, checking the text. */
async function deliverAndCheck(
  bot: Device,
  accounts: string[],
  receivers: Device[],
  which: Device[],
  xml: string,
  text: string,
  expectKex: boolean,
): Promise<void> {
  for (const acct of accounts) router.deliver({ from: bot.account, to: acct, xml, kind: 'chat' });
  const checked = new Set(which);
  for (const d of receivers) {
    const inbox = router.drain(d.address);
    check(inbox.length === 1, `${d.address} received ${inbox.length} messages, expected 1`);
    if (!checked.has(d)) continue;
    const out = await tryDecrypt(d, inbox[0]!);
    check(out !== undefined, `${d.address} found no key for itself in the bot's message`);
    check(out.text === text, `${d.address} decrypted ${JSON.stringify(out.text)}, expected ${JSON.stringify(text)}`);
    check(out.keyExchange === expectKex, `${d.address}: keyExchange ${out.keyExchange}, expected ${expectKex}`);
    check(out.sender.jid === bot.account && out.sender.deviceId === bot.manager.deviceId, `${d.address}: wrong sender`);
    decryptionsChecked++;
  }
}

async function fanout(bot: Device, receivers: Device[], version: OmemoVersion): Promise<FanoutResult> {
  const accounts = [...new Set(receivers.map((d) => d.account))];
  const n = receivers.length;
  const v = VERSION_NAME[version];

  // First send: device lists and bundles fetched, 200 sessions built (X3DH), key exchanges.
  const text1 = `Announcement (${v}): hello, ${n} devices!`;
  let t = performance.now();
  const first = await bot.manager.encrypt(accounts, text1, { version });
  const firstMs = performance.now() - t;
  check(
    first.devices.length === n && first.devices.every((r) => r.ok && r.keyExchange),
    `first ${version} fan-out: ${first.devices.filter((r) => r.ok && r.keyExchange).length}/${n} key exchanges`,
  );
  const xml1 = first.elements[0]!.xml;
  // Every device decrypts it (that is what establishes the sessions) and answers with an empty message.
  t = performance.now();
  await deliverAndCheck(bot, accounts, receivers, receivers, xml1, text1, true);
  const recvKexMs = performance.now() - t;
  const completions = router.drain(bot.address);
  check(
    completions.length === n && completions.every((m) => m.kind === 'session-completion'),
    `bot received ${completions.length} session-completion messages, expected ${n}`,
  );
  t = performance.now();
  for (const m of completions) {
    const out = await tryDecrypt(bot, m);
    check(out !== undefined && out.payload === undefined, `bot could not take the empty message from ${m.from}`);
  }
  const completeMs = performance.now() - t;

  // Steady state: every session answered once; time several sends and check every device decrypts each.
  const steady: number[] = [];
  let verifyMs = 0;
  for (let i = 1; i <= STEADY_SENDS; i++) {
    const text = `Update ${i}/${STEADY_SENDS} (${v}) to everyone`;
    t = performance.now();
    const res = await bot.manager.encrypt(accounts, text, { version });
    steady.push(performance.now() - t);
    check(
      res.devices.length === n && res.devices.every((r) => r.ok && !r.keyExchange),
      `steady ${version} fan-out ${i}: not every device encrypted without key exchange`,
    );
    check(res.elements.length === 1, `steady ${version} fan-out ${i}: ${res.elements.length} elements`);
    t = performance.now();
    await deliverAndCheck(bot, accounts, receivers, receivers, res.elements[0]!.xml, text, false);
    verifyMs += performance.now() - t;
  }
  const steadyMs = median(steady);
  const us = (ms: number) => (ms * 1000) / n;
  console.log(`  ${v}, stanza ${(xml1.length / 1024).toFixed(0)} KiB:`);
  console.log(
    `    first send (fetch ${accounts.length} lists + ${n} bundles, X3DH): ${firstMs.toFixed(1).padStart(7)} ms = ${us(firstMs).toFixed(0).padStart(5)} µs/device`,
  );
  console.log(
    `    steady send (median of ${STEADY_SENDS}):               ${steadyMs.toFixed(1).padStart(7)} ms = ${us(steadyMs).toFixed(0).padStart(5)} µs/device  (min ${Math.min(...steady).toFixed(1)}, max ${Math.max(...steady).toFixed(1)} ms)`,
  );
  console.log(
    `    checked: ${n}/${n} devices decrypted the key exchange (${recvKexMs.toFixed(0)} ms), bot took ${n} empty replies (${completeMs.toFixed(0)} ms),`,
  );
  console.log(
    `             ${n}/${n} devices decrypted each of the ${STEADY_SENDS} steady sends (${(verifyMs / (STEADY_SENDS * n)).toFixed(2)} ms per decryption of the ${(xml1.length / 1024).toFixed(0)} KiB stanza)`,
  );
  return { version, firstUsPerDevice: us(firstMs), steadyUsPerDevice: us(steadyMs) };
}

async function fanouts(): Promise<FanoutResult[]> {
  const n = FANOUT_ACCOUNTS * FANOUT_DEVICES_PER_ACCOUNT;
  console.log(`\nFan-out: bot → ${FANOUT_ACCOUNTS} accounts × ${FANOUT_DEVICES_PER_ACCOUNT} devices = ${n} devices`);
  const t = performance.now();
  const bot = await openDevice(`bot@${DOMAIN}`, 'server');
  const receivers: Device[] = [];
  for (let a = 1; a <= FANOUT_ACCOUNTS; a++) {
    const account = `user${String(a).padStart(2, '0')}@${DOMAIN}`;
    for (let i = 1; i <= FANOUT_DEVICES_PER_ACCOUNT; i++) receivers.push(await openDevice(account, `dev${i}`));
    if (receivers.length % 100 === 0 || a === FANOUT_ACCOUNTS)
      console.log(
        `  opened ${receivers.length}/${n} devices, bundles published (${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
  }
  const results: FanoutResult[] = [];
  for (const version of ['twomemo', 'oldmemo'] as const) results.push(await fanout(bot, receivers, version));
  return results;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  await cryptoReady();
  console.log('omemo-wasm demo: OmemoManagers over an in-process XMPP server with PEP');
  console.log(`Stores: one SQLite file per device (SqliteStore, WAL, one transaction per operation) in ${storeDir}\n`);
  const conv = await conversations();
  const fan = await fanouts();
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const perVersion = fan
    .map((f) => `${VERSION_NAME[f.version]} ${f.firstUsPerDevice.toFixed(0)}/${f.steadyUsPerDevice.toFixed(0)}`)
    .join(', ');
  console.log(
    `\nOK: ${conv.messages} chat messages between ${conv.devices.length} devices in 2 versions (${conv.keyExchanges} key exchanges), ` +
      `${decryptionsChecked} decryptions checked; 200-device fan-out µs/device first/steady: ${perVersion}; ${secs} s`,
  );
}

main()
  .catch((e: unknown) => {
    if (e instanceof DemoFailure) console.error(`\nFAILED: ${e.message}`);
    else console.error('\nFAILED with an unexpected error:', e);
    process.exitCode = 1;
  })
  .finally(closeStores);
