// bench:peers adapter for our raw protocol layer (src/protocol: X3DH + Double Ratchet, OMEMO 2 wire format):
// Session.initiate / respond / encrypt / decrypt on Session objects held in memory, no store, no XML.
// Internal API (not exported by the package): it shows what the layer under OmemoManager costs.
import { cryptoReady } from '../../src/crypto/ready';
import type { ProtocolVersion } from '../../src/protocol/constants';
import { generateIdentityKeyPair } from '../../src/protocol/identity-key';
import { Session, type EncryptedKeyElement, type PreKeyBundle } from '../../src/protocol/session';
import { serializeSession } from '../../src/protocol/session-record';
import { parseKeyExchange } from '../../src/protocol/wire';
import { party as protocolParty, type Party as ProtocolParty } from '../protocol.bench';
import {
  check,
  sameBytes,
  type DecryptPair,
  type FanoutOutput,
  type FanoutWorld,
  type PeerAdapter,
  type SessionBuilderBench,
} from './types';

const VERSION: ProtocolVersion = 'twomemo';
const BUILD_POOL = 16;

/** A recipient device (bench/protocol.bench.ts `party`) and its session with the sender, once it answered. */
interface Party extends ProtocolParty {
  session?: Session;
}

const party = (): Party => protocolParty(VERSION);

/** The recipient's side of a received message: a key exchange starts its session, anything else uses it. */
function receive(p: Party, m: EncryptedKeyElement): Uint8Array {
  if (!m.keyExchange) return p.session!.decrypt(m.data);
  const kex = parseKeyExchange(VERSION, m.data);
  const s = Session.respond(p.identity, kex, p.spk, p.pk);
  const plaintext = s.decryptParsed(kex.message);
  p.session = s;
  return plaintext;
}

class RawOutput implements FanoutOutput {
  constructor(readonly parts: EncryptedKeyElement[]) {}
  get count(): number {
    return this.parts.length;
  }
  isKeyExchange(i: number): boolean {
    return this.parts[i]!.keyExchange;
  }
}

class RawWorld implements FanoutWorld {
  private readonly sender = generateIdentityKeyPair();
  private readonly recipients: Party[] = [];
  private readonly sessions: Session[] = [];

  constructor(readonly devices: number) {
    for (let i = 0; i < devices; i++) this.recipients.push(party());
  }

  async buildAll(): Promise<void> {
    for (let i = 0; i < this.devices; i++)
      this.sessions[i] = Session.initiate(VERSION, this.sender, this.recipients[i]!.bundle);
  }

  async fanout(payload: Uint8Array, count: number): Promise<FanoutOutput> {
    // The protocol layer's fan-out: every session's ratchet step in one batch (the wasm kernel).
    const results = Session.encryptMany(this.sessions.slice(0, count), payload);
    const parts: EncryptedKeyElement[] = results.map((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
    return new RawOutput(parts);
  }

  async answerAll(payload: Uint8Array): Promise<void> {
    for (let i = 0; i < this.devices; i++) {
      const p = this.recipients[i]!;
      check(
        sameBytes(receive(p, this.sessions[i]!.encrypt(payload)), payload),
        'answer: device decrypted the key exchange',
      );
      this.sessions[i]!.decrypt(p.session!.encrypt(payload).data);
      check(!this.sessions[i]!.hasPendingKeyExchange, 'answer: session established');
    }
  }

  async open(out: FanoutOutput, i: number): Promise<Uint8Array> {
    return receive(this.recipients[i]!, (out as RawOutput).parts[i]!);
  }
}

class RawBuilder implements SessionBuilderBench {
  private readonly sender = generateIdentityKeyPair();
  private readonly pool: Party[] = [];
  /** Sessions by fresh address, as a store would hold them. */
  private readonly sessions = new Map<string, Session>();
  private k = 0;
  private address = '';
  private bundle!: PreKeyBundle;

  constructor(poolSize: number) {
    for (let i = 0; i < poolSize; i++) this.pool.push(party());
  }

  prepare(): void {
    this.bundle = this.pool[this.k % this.pool.length]!.bundle;
    this.address = `fresh${++this.k}`;
  }

  async build(): Promise<void> {
    this.sessions.set(this.address, Session.initiate(VERSION, this.sender, this.bundle));
  }

  async lastBuildUsable(): Promise<boolean> {
    const s = this.sessions.get(this.address);
    if (s === undefined) return false;
    const p = this.pool[(this.k - 1) % this.pool.length]!;
    const fresh: Party = { ...p, session: undefined };
    const payload = new Uint8Array(32).fill(3);
    return sameBytes(receive(fresh, s.encrypt(payload)), payload);
  }
}

class RawPair implements DecryptPair {
  private readonly a: Session;
  private readonly b: Party;
  private pending: Uint8Array = new Uint8Array(0);
  readonly recordFormat = 'serializeSession() bytes (our binary format)';

  constructor(payload: Uint8Array) {
    const alice = generateIdentityKeyPair();
    this.b = party();
    this.a = Session.initiate(VERSION, alice, this.b.bundle);
    receive(this.b, this.a.encrypt(payload));
    this.a.decrypt(this.b.session!.encrypt(payload).data);
    this.b.session!.decrypt(this.a.encrypt(payload).data); // the sender's new chain, seen once
  }

  async prepareSteady(payload: Uint8Array): Promise<void> {
    this.pending = this.a.encrypt(payload).data;
  }

  async prepareRatchet(payload: Uint8Array): Promise<void> {
    this.a.decrypt(this.b.session!.encrypt(payload).data);
    this.pending = this.a.encrypt(payload).data;
  }

  async decrypt(): Promise<Uint8Array> {
    return this.b.session!.decrypt(this.pending);
  }

  async recordBytes(): Promise<number> {
    return serializeSession(this.a).length;
  }
}

export const omemoWasmRaw: PeerAdapter = {
  impl: 'omemo-wasm-raw',
  title: 'omemo-wasm raw protocol layer, OMEMO 2 wire format: Session.initiate/encrypt/decrypt (internal API)',
  notes: [
    'Session objects held in memory (a Map / an array), no store, nothing serialized per message, no XML.',
    'fan-out: Session.encryptMany(sessions, payload32): one batched ratchet step over all sessions (synchronous, wasm kernel).',
    'session-build: Session.initiate(twomemo, identity, bundle): Ed25519 signature check of the signed pre key, X3DH, first root step.',
    'decrypt-*: session.decrypt(bytes) (protobuf parse, MAC check, AES-256-CBC).',
    'cold-start: none of its own (not a package entry point; omemo-wasm loads the same code).',
  ],
  memorySessions: 10000,
  async createWorld(devices) {
    await cryptoReady();
    return new RawWorld(devices);
  },
  async createBuilder(options) {
    await cryptoReady();
    return new RawBuilder(options?.pool ?? BUILD_POOL);
  },
  burstSkips: {
    'receive-burst-sqlite': 'the raw protocol layer has no store (see omemo-wasm)',
    'fanout-burst-sqlite': 'the raw protocol layer has no store (see omemo-wasm)',
    'first-message-burst': 'the raw protocol layer has no bundles or stores to republish (see omemo-wasm)',
  },
  async createPair() {
    await cryptoReady();
    return new RawPair(new Uint8Array(32).fill(1));
  },
};
