// The interop peer (test/interop/peer.ts) with init's `state_file` (../shared/interop/README.md, `init`):
// alice, our peer on a state file, is killed with SIGKILL in the middle of a conversation in both OMEMO
// versions and started again on the same file. She keeps her identity, device id, bundle, sessions and
// skipped keys: messages sent before the kill are read after it, and the conversation goes on both ways
// without a new key exchange. Her partner is a second of our peers and, when installed, python-omemo's.
// An `init` on the file with another JID or device id fails and leaves the file as it was.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pythonPeerAvailable } from '../shared-dir';
import { PeerProcess, type Answer } from './peer-process';

const ALICE = 'alice@example.org';
const ALICE_DEVICE = 1001;
const BOB = 'bob@example.org';
const BOB_DEVICE = 2002;
const BACKENDS = ['oldmemo', 'twomemo'] as const;
type Backend = (typeof BACKENDS)[number];

const dirs: string[] = [];
const running: PeerProcess[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'omemo-peer-restart-'));
  dirs.push(d);
  return d;
}

function start(kind: 'ours' | 'python', name: string): PeerProcess {
  const p = kind === 'ours' ? PeerProcess.ours(name) : PeerProcess.python(name);
  running.push(p);
  return p;
}

test.after.each(async () => {
  await Promise.all(running.splice(0).map((p) => p.kill('SIGKILL')));
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Init = Answer & { device_id: number; backends: Record<Backend, { bundle_xml: string; devicelist_xml: string }> };
type Sent = { to: string; encrypted_xml: string }[];
type Keys = { jid: string; rid: number; key_exchange: boolean }[];

/** The two sides of the conversation; alice's process is replaced on restart. */
interface Sides {
  alice: PeerProcess;
  bob: PeerProcess;
}

const peerOf = (s: Sides, jid: string) => (jid === ALICE ? s.alice : s.bob);

/**
 * Has `to` decrypt `xml` from `from`, checks the text (null: an empty message) and whether it was a key
 * exchange, then delivers whatever `to` sent automatically in return, the same way.
 */
async function deliver(s: Sides, from: string, to: string, xml: string, text: string | null, kex?: boolean) {
  const a = await peerOf(s, to).ok({ cmd: 'decrypt', from_jid: from, encrypted_xml: xml });
  assert.is(a.plaintext, text, `${to} read ${JSON.stringify(a.plaintext)} for ${JSON.stringify(text)}`);
  if (kex !== undefined) assert.is(a.key_exchange, kex, `${JSON.stringify(text)} at ${to}: key exchange`);
  for (const m of (a.sent ?? []) as Sent) await deliver(s, to, m.to, m.encrypted_xml, null);
}

/** Encrypts `text` from `from` to the other side; asserts whether it carries a key exchange. */
async function send(s: Sides, from: string, backend: Backend, text: string, kex: boolean): Promise<string> {
  const to = from === ALICE ? BOB : ALICE;
  const a = await peerOf(s, from).ok({ cmd: 'encrypt', backend, to: [to], plaintext: text });
  const keys = a.keys as Keys;
  assert.ok(keys.length > 0, 'a key for the other side');
  for (const k of keys) assert.is(k.key_exchange, kex, `${backend} ${JSON.stringify(text)}: key exchange to ${k.rid}`);
  return String(a.encrypted_xml);
}

async function initAlice(alice: PeerProcess, stateFile: string, jid = ALICE, deviceId = ALICE_DEVICE): Promise<Answer> {
  return alice.request({ cmd: 'init', jid, device_id: deviceId, backends: [...BACKENDS], state_file: stateFile });
}

async function bundles(p: PeerProcess): Promise<string[]> {
  const out: string[] = [];
  for (const backend of BACKENDS) out.push(String((await p.ok({ cmd: 'bundle', backend })).bundle_xml));
  return out;
}

function scenario(partner: 'ours' | 'python'): void {
  test(`alice SIGKILLed mid-conversation with ${partner} bob, restarted on her state_file, goes on`, async () => {
    const stateFile = join(tempDir(), 'alice.db');
    const s: Sides = { alice: start('ours', 'alice'), bob: start(partner, `bob (${partner})`) };
    const a = (await initAlice(s.alice, stateFile)) as Init;
    assert.ok(a.ok, `init: ${String(a.error)}`);
    assert.is(a.restored, false, 'a new state file');
    const b = (await s.bob.ok({ cmd: 'init', jid: BOB, device_id: BOB_DEVICE, backends: [...BACKENDS] })) as Init;
    for (const backend of BACKENDS) {
      const mine = a.backends[backend];
      const theirs = b.backends[backend];
      const add = (jid: string, deviceId: number, from: Init['backends'][Backend]) => ({
        cmd: 'add_device',
        backend,
        jid,
        device_id: deviceId,
        bundle_xml: from.bundle_xml,
        devicelist_xml: from.devicelist_xml,
      });
      await s.alice.ok(add(BOB, BOB_DEVICE, theirs));
      await s.bob.ok(add(ALICE, ALICE_DEVICE, mine));
    }

    // Before the kill: sessions both ways, then messages still on their way in both directions. Alice has
    // read b2 and b4 but not b3, so she holds a skipped key for it.
    const inFlight: Record<Backend, { toAlice: string[]; toBob: string }> = {} as never;
    for (const v of BACKENDS) {
      await deliver(s, ALICE, BOB, await send(s, ALICE, v, `${v} a1`, true), `${v} a1`, true);
      await deliver(s, BOB, ALICE, await send(s, BOB, v, `${v} b1`, false), `${v} b1`, false);
      await deliver(s, ALICE, BOB, await send(s, ALICE, v, `${v} a2`, false), `${v} a2`, false);
      const [b2, b3, b4, b5] = [
        await send(s, BOB, v, `${v} b2`, false),
        await send(s, BOB, v, `${v} b3`, false),
        await send(s, BOB, v, `${v} b4`, false),
        await send(s, BOB, v, `${v} b5`, false),
      ];
      await deliver(s, BOB, ALICE, b2!, `${v} b2`, false);
      await deliver(s, BOB, ALICE, b4!, `${v} b4`, false);
      inFlight[v] = { toAlice: [b3!, b5!], toBob: await send(s, ALICE, v, `${v} a3`, false) };
    }
    const fingerprint = String((await s.alice.ok({ cmd: 'fingerprint', backend: 'twomemo' })).fingerprint);
    const bundlesBefore = await bundles(s.alice);

    assert.is(await s.alice.kill('SIGKILL'), 'SIGKILL');
    s.alice = start('ours', 'alice (restarted)');
    const again = (await initAlice(s.alice, stateFile)) as Init;
    assert.ok(again.ok, `init after the kill: ${String(again.error)}`);
    assert.is(again.restored, true);
    assert.is(again.device_id, ALICE_DEVICE);
    const fingerprintAfter = String((await s.alice.ok({ cmd: 'fingerprint', backend: 'twomemo' })).fingerprint);
    assert.is(fingerprintAfter, fingerprint, 'same identity');
    assert.equal(await bundles(s.alice), bundlesBefore, 'same bundles: same signed pre key, same pre keys');
    const devices = (await s.alice.ok({ cmd: 'devices', jid: BOB })).devices as { device_id: number }[];
    assert.equal(
      devices.map((d) => d.device_id),
      [BOB_DEVICE],
      'bob is still known',
    );

    // After the restart: the skipped key and the later message from before the kill, alice's message from
    // before the kill, then both directions again, with no key exchange anywhere.
    for (const v of BACKENDS) {
      const [b3, b5] = inFlight[v].toAlice;
      await deliver(s, BOB, ALICE, b3!, `${v} b3`, false);
      await deliver(s, BOB, ALICE, b5!, `${v} b5`, false);
      await deliver(s, ALICE, BOB, inFlight[v].toBob, `${v} a3`, false);
      await deliver(s, ALICE, BOB, await send(s, ALICE, v, `${v} a4`, false), `${v} a4`, false);
      await deliver(s, BOB, ALICE, await send(s, BOB, v, `${v} b6`, false), `${v} b6`, false);
      await deliver(s, ALICE, BOB, await send(s, ALICE, v, `${v} a5`, false), `${v} a5`, false);
    }
    // A replayed message from before the kill is refused: its key was used up before the kill.
    const replay = await s.alice.request({ cmd: 'decrypt', from_jid: BOB, encrypted_xml: inFlight.oldmemo.toAlice[0] });
    assert.is(replay.ok, false, 'b3 is not accepted twice');

    assert.is(await s.alice.quit(), 0);
    assert.is(await s.bob.quit(), 0);
  });
}

scenario('ours');
if (pythonPeerAvailable(test, 'peer-restart against python-omemo')) scenario('python');

test('init on an existing state_file with another jid or device id fails clearly; the file still works', async () => {
  const stateFile = join(tempDir(), 'alice.db');
  const first = start('ours', 'alice');
  const a = (await initAlice(first, stateFile)) as Init;
  assert.ok(a.ok);
  const bundlesBefore = await bundles(first);
  assert.is(await first.kill('SIGKILL'), 'SIGKILL');

  const other = start('ours', 'alice (restarted)');
  for (const [jid, deviceId, what] of [
    ['mallory@example.org', ALICE_DEVICE, /mallory@example\.org/],
    [ALICE, 4242, /1001.*4242|4242.*1001/],
  ] as const) {
    const r = await initAlice(other, stateFile, jid, deviceId);
    assert.is(r.ok, false, `init as ${jid}/${deviceId} must fail`);
    assert.is(r.error_type, 'StateMismatch');
    assert.match(String(r.error), what);
    assert.match(String(r.error), stateFile, 'the message names the file');
    assert.is((await other.ok({ cmd: 'ping' })).initialised, false, 'the peer is still uninitialised');
  }
  // The right account afterwards, in the same process: nothing was changed by the refused inits.
  const r = (await initAlice(other, stateFile)) as Init;
  assert.ok(r.ok, String(r.error));
  assert.is(r.restored, true);
  assert.equal(await bundles(other), bundlesBefore);
  // A second process cannot open the file while it is in use.
  const third = start('ours', 'alice (second process)');
  const locked = await initAlice(third, stateFile);
  assert.is(locked.ok, false);
  assert.is(locked.error_type, 'store-locked');
  assert.is(await other.quit(), 0);
  assert.is(await third.quit(), 0);
});

test('without state_file nothing is kept: a restarted peer is a new identity', async () => {
  const first = start('ours', 'alice');
  const a = (await first.ok({ cmd: 'init', jid: ALICE, device_id: ALICE_DEVICE, backends: ['twomemo'] })) as Init;
  const fingerprint = String((await first.ok({ cmd: 'fingerprint', backend: 'twomemo' })).fingerprint);
  assert.not.ok(a.restored);
  assert.is(await first.kill('SIGKILL'), 'SIGKILL');
  const second = start('ours', 'alice (restarted)');
  await second.ok({ cmd: 'init', jid: ALICE, device_id: ALICE_DEVICE, backends: ['twomemo'] });
  assert.is.not(String((await second.ok({ cmd: 'fingerprint', backend: 'twomemo' })).fingerprint), fingerprint);
  assert.is(await second.quit(), 0);
});

test.run();
