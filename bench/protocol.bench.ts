// Protocol layer benchmarks (tinybench), per version: encryption on an established session, steady decryption,
// decryption with a DH ratchet step, X3DH initiation (Session.initiate incl. the signed pre key check), X3DH
// response (parse + Session.respond + decryption of the first message), session record serialize/deserialize.
// Production randomness (crypto.getRandomValues). Work that only prepares an iteration runs in beforeEach hooks.
// `npm run bench` runs it with the others; `npx tsx bench/protocol.bench.ts` runs it alone.
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { cryptoReady } from '../src/crypto/ready';
import { x25519GenerateKeyPair, type KeyPair } from '../src/crypto/x25519';
import type { ProtocolVersion } from '../src/protocol/constants';
import {
  generateIdentityKeyPair,
  identityWireKey,
  signSignedPreKey,
  type IdentityKeyPair,
} from '../src/protocol/identity-key';
import { Session, type PreKeyBundle } from '../src/protocol/session';
import { deserializeSession, serializeSession, serializeSessionAfterSend } from '../src/protocol/session-record';
import { parseKeyExchange, parseMessage } from '../src/protocol/wire';
import { formatTable, runBench, type BenchResult } from './harness';

/** Messages decrypted per refill of the steady-state queue (a refill lands in one sample; medians ignore it). */
const STEADY_BATCH = 4000;

/** A device with its identity, one signed pre key and one pre key, and its bundle (shared with bench/peers). */
export interface Party {
  identity: IdentityKeyPair;
  spk: KeyPair;
  pk: KeyPair;
  bundle: PreKeyBundle;
}

export function party(version: ProtocolVersion): Party {
  const identity = generateIdentityKeyPair();
  const spk = x25519GenerateKeyPair();
  const pk = x25519GenerateKeyPair();
  return {
    identity,
    spk,
    pk,
    bundle: {
      identityKey: identityWireKey(identity, version),
      signedPreKeyId: 1,
      signedPreKey: spk.publicKey,
      signedPreKeySignature: signSignedPreKey(identity, version, spk.publicKey),
      preKeyId: 1,
      preKey: pk.publicKey,
    },
  };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`protocol bench self-check failed: ${what}`);
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** An answered session pair (no pending key exchange), as after the first exchange of a conversation. */
function establish(version: ProtocolVersion, alice: Party, bob: Party): { a: Session; b: Session } {
  const a = Session.initiate(version, alice.identity, bob.bundle);
  const first = a.encrypt(new Uint8Array(32));
  const kex = parseKeyExchange(version, first.data);
  const b = Session.respond(bob.identity, kex, bob.spk, bob.pk);
  b.decryptParsed(kex.message);
  a.decrypt(b.encrypt(new Uint8Array(32)).data);
  check(!a.hasPendingKeyExchange, `${version} establish`);
  return { a, b };
}

export async function run(): Promise<BenchResult[]> {
  await cryptoReady();
  const bench = new Bench({ name: 'protocol', time: 400, warmupTime: 100, iterations: 64, throws: true });
  let sink = 0;
  for (const version of ['oldmemo', 'twomemo'] as ProtocolVersion[]) {
    const keyLen = version === 'oldmemo' ? 32 : 48; // key ‖ tag carried by the ratchet
    const payload = new Uint8Array(keyLen).fill(7);
    const alice = party(version);
    const bob = party(version);

    // encrypt on an established session
    const enc = establish(version, alice, bob);
    bench.add(`${version} encrypt (established)`, () => {
      sink ^= enc.a.encrypt(payload).data[0]!;
    });

    // steady decryption: in-order messages of one chain, produced in batches outside the samples' median
    const steady = establish(version, alice, bob);
    let queue: Uint8Array[] = [];
    let next = 0;
    const refill = () => {
      queue = Array.from({ length: STEADY_BATCH }, () => steady.a.encrypt(payload).data);
      next = 0;
    };
    refill();
    check(same(steady.b.decrypt(queue[next++]!), payload), `${version} steady decrypt`);
    bench.add(`${version} decrypt (steady)`, () => {
      if (next === queue.length) refill();
      sink ^= steady.b.decrypt(queue[next++]!)[0]!;
    });

    // decryption with a DH step: before each sample Bob answers, Alice takes her step and sends on a new chain
    const ping = establish(version, alice, bob);
    let dhMessage: Uint8Array = new Uint8Array(0);
    const prepareDh = () => {
      ping.a.decrypt(ping.b.encrypt(payload).data);
      dhMessage = ping.a.encrypt(payload).data;
    };
    prepareDh();
    check(same(ping.b.decrypt(dhMessage), payload), `${version} DH step decrypt`);
    bench.add(
      `${version} decrypt (DH step)`,
      () => {
        sink ^= ping.b.decrypt(dhMessage)[0]!;
      },
      { beforeEach: prepareDh },
    );

    // X3DH initiation, including the signed pre key signature check
    bench.add(`${version} X3DH initiate (Session.initiate)`, () => {
      sink ^= Session.initiate(version, alice.identity, bob.bundle).baseKey[0]!;
    });

    // X3DH response: parse the key exchange, Session.respond, decrypt the first message
    let kexBytes: Uint8Array = new Uint8Array(0);
    const prepareKex = () => {
      kexBytes = Session.initiate(version, alice.identity, bob.bundle).encrypt(payload).data;
    };
    prepareKex();
    {
      const k = parseKeyExchange(version, kexBytes);
      check(
        same(Session.respond(bob.identity, k, bob.spk, bob.pk).decryptParsed(k.message), payload),
        `${version} respond`,
      );
    }
    bench.add(
      `${version} X3DH respond + first decrypt`,
      () => {
        const k = parseKeyExchange(version, kexBytes);
        sink ^= Session.respond(bob.identity, k, bob.spk, bob.pk).decryptParsed(k.message)[0]!;
      },
      { beforeEach: prepareKex },
    );

    // session records
    const rec = serializeSession(ping.b);
    check(same(serializeSession(deserializeSession(rec)), rec), `${version} record round trip`);
    bench.add(`${version} serializeSession (${rec.length} B)`, () => {
      sink ^= serializeSession(ping.b)[0]!;
    });
    // A fan-out's record after a send: only the send fields rewritten in the kept copy (here: nothing changed).
    const sent = deserializeSession(rec);
    serializeSessionAfterSend(sent);
    bench.add(`${version} serializeSessionAfterSend (kept record, ${rec.length} B)`, () => {
      sink ^= serializeSessionAfterSend(sent)[0]!;
    });
    bench.add(`${version} deserializeSession (${rec.length} B)`, () => {
      sink ^= deserializeSession(rec).state.rootKey[0]!;
    });
    check(
      parseMessage(version, enc.a.encrypt(payload).data).ciphertext.length === keyLen + 16,
      `${version} ciphertext length`,
    );
  }
  const results = await runBench(bench);
  if (sink === -1) console.log(sink); // keeps the results observable
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatTable([{ title: 'protocol', results: await run() }]));
}
