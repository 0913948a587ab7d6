// bench:peers adapter for `libsignal` 6.0.0 (npm, CommonJS; the WhiskeySockets fork Baileys uses): SessionBuilder
// .initOutgoing and SessionCipher.encrypt / decrypt* with a minimal in-memory SignalStorage.
import { createRequire } from 'node:module';
import {
  FIRST_MESSAGE_BURST,
  check,
  makePayload,
  sameBytes,
  type BurstBench,
  type DecryptPair,
  type FanoutOutput,
  type FanoutWorld,
  type PeerAdapter,
  type SessionBuilderBench,
  yieldToEventLoop,
} from './types';

/** The parts of the package used here (its index.d.ts lacks keyhelper and curve). */
interface KeyPair {
  pubKey: Buffer;
  privKey: Buffer;
}
interface Bundle {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  preKey: { keyId: number; publicKey: Buffer };
}
interface Record {
  serialize(): unknown;
}
interface Address {
  toString(): string;
}
interface Message {
  type: number;
  body: Buffer;
}
interface Cipher {
  encrypt(data: Buffer): Promise<Message>;
  decryptPreKeyWhisperMessage(data: Buffer): Promise<Buffer>;
  decryptWhisperMessage(data: Buffer): Promise<Buffer>;
}
interface Libsignal {
  keyhelper: {
    generateIdentityKeyPair(): KeyPair;
    generateRegistrationId(): number;
    generateSignedPreKey(identity: KeyPair, keyId: number): { keyId: number; keyPair: KeyPair; signature: Buffer };
    generatePreKey(keyId: number): { keyId: number; keyPair: KeyPair };
  };
  curve: { verifySignature(pubKey: Buffer, msg: Buffer, sig: Buffer, isInit: boolean): boolean };
  ProtocolAddress: new (name: string, deviceId: number) => Address;
  SessionBuilder: new (storage: Store, address: Address) => { initOutgoing(bundle: Bundle): Promise<void> };
  SessionCipher: new (storage: Store, address: Address) => Cipher;
}

const L = createRequire(import.meta.url)('libsignal') as Libsignal;
const BUILD_POOL = 16;
/** Set-up loops over the 1000 devices give the event loop a turn this often (see yieldToEventLoop). */
const YIELD_EVERY_DEVICES = 10;

/** A minimal in-memory SignalStorage: records kept as objects (no serialization), trust on first use. */
class Store {
  readonly sessions = new Map<string, Record>();
  private readonly identities = new Map<string, Buffer>();
  private readonly preKeys = new Map<number, KeyPair>();
  private readonly signedPreKeys = new Map<number, KeyPair>();
  readonly identity = L.keyhelper.generateIdentityKeyPair();
  readonly registrationId = L.keyhelper.generateRegistrationId();

  async loadSession(id: string): Promise<Record | undefined> {
    return this.sessions.get(id);
  }
  async storeSession(id: string, record: Record): Promise<void> {
    this.sessions.set(id, record);
  }
  isTrustedIdentity(identifier: string, identityKey: Buffer): boolean {
    const known = this.identities.get(identifier);
    if (known === undefined) {
      this.identities.set(identifier, identityKey);
      return true;
    }
    return known.equals(identityKey);
  }
  async loadPreKey(id: number | string): Promise<KeyPair | undefined> {
    return this.preKeys.get(Number(id));
  }
  removePreKey(id: number): void {
    this.preKeys.delete(id);
  }
  loadSignedPreKey(id: number): KeyPair | undefined {
    return this.signedPreKeys.get(id);
  }
  getOurRegistrationId(): number {
    return this.registrationId;
  }
  getOurIdentity(): KeyPair {
    return this.identity;
  }

  /** first-message-burst: a bundle with a new one-time pre key `id` and the signed pre key made once. */
  bundleWithPreKey(id: number): Bundle {
    let spk = this.burstSignedPreKey;
    if (spk === undefined) {
      spk = L.keyhelper.generateSignedPreKey(this.identity, 1);
      this.signedPreKeys.set(1, spk.keyPair);
      this.burstSignedPreKey = spk;
    }
    const pk = L.keyhelper.generatePreKey(id);
    this.preKeys.set(id, pk.keyPair);
    return {
      registrationId: this.registrationId,
      identityKey: this.identity.pubKey,
      signedPreKey: { keyId: 1, publicKey: spk.keyPair.pubKey, signature: spk.signature },
      preKey: { keyId: id, publicKey: pk.keyPair.pubKey },
    };
  }
  private burstSignedPreKey: { keyId: number; keyPair: KeyPair; signature: Buffer } | undefined;

  /** A bundle as a server would hand it out (one signed pre key, one one-time pre key). */
  makeBundle(): Bundle {
    const spk = L.keyhelper.generateSignedPreKey(this.identity, 1);
    this.signedPreKeys.set(1, spk.keyPair);
    const pk = L.keyhelper.generatePreKey(1);
    this.preKeys.set(1, pk.keyPair);
    return {
      registrationId: this.registrationId,
      identityKey: this.identity.pubKey,
      signedPreKey: { keyId: 1, publicKey: spk.keyPair.pubKey, signature: spk.signature },
      preKey: { keyId: 1, publicKey: pk.keyPair.pubKey },
    };
  }
}

/** libsignal's own curve.verifySignature with isInit = false (initOutgoing passes true, which skips the check). */
function verifyBundle(b: Bundle): void {
  if (!L.curve.verifySignature(b.identityKey, b.signedPreKey.publicKey, b.signedPreKey.signature, false))
    throw new Error('libsignal: invalid signed pre key signature');
}

interface Device {
  store: Store;
  bundle: Bundle;
  /** The sender's cipher for this device's address. */
  cipher: Cipher;
  /** This device's cipher for the sender's address. */
  back: Cipher;
}

function receive(d: Device, m: Message): Promise<Buffer> {
  return m.type === 3 ? d.back.decryptPreKeyWhisperMessage(m.body) : d.back.decryptWhisperMessage(m.body);
}

class Output implements FanoutOutput {
  constructor(readonly parts: Message[]) {}
  get count(): number {
    return this.parts.length;
  }
  isKeyExchange(i: number): boolean {
    return this.parts[i]!.type === 3;
  }
}

class World implements FanoutWorld {
  private readonly sender = new Store();
  private readonly senderAddress = new L.ProtocolAddress('bot', 1);
  private readonly recipients: Device[] = [];
  private readonly addresses: Address[] = [];

  constructor(readonly devices: number) {
    for (let i = 0; i < devices; i++) {
      const store = new Store();
      const address = new L.ProtocolAddress(`user${i}`, 1);
      this.addresses.push(address);
      this.recipients.push({
        store,
        bundle: store.makeBundle(),
        cipher: new L.SessionCipher(this.sender, address),
        back: new L.SessionCipher(store, this.senderAddress),
      });
    }
  }

  async buildAll(): Promise<void> {
    for (let i = 0; i < this.devices; i++) {
      if (i % YIELD_EVERY_DEVICES === 0) await yieldToEventLoop();
      const d = this.recipients[i]!;
      verifyBundle(d.bundle);
      await new L.SessionBuilder(this.sender, this.addresses[i]!).initOutgoing(d.bundle);
    }
  }

  async fanout(payload: Uint8Array, count: number): Promise<FanoutOutput> {
    const data = Buffer.from(payload);
    const parts: Message[] = new Array(count);
    // One await per device: libsignal's crypto is synchronous, Promise.all only adds scheduling.
    for (let i = 0; i < count; i++) parts[i] = await this.recipients[i]!.cipher.encrypt(data);
    return new Output(parts);
  }

  async answerAll(payload: Uint8Array): Promise<void> {
    const data = Buffer.from(payload);
    for (const [i, d] of this.recipients.entries()) {
      // libsignal's promises settle without a macrotask: without a turn, the heartbeat stops (was seen as a deadlock).
      if (i % YIELD_EVERY_DEVICES === 0) await yieldToEventLoop();
      const m = await d.cipher.encrypt(data);
      check(sameBytes(await receive(d, m), payload), 'answer: device decrypted the PreKeyWhisperMessage');
      const reply = await d.back.encrypt(data);
      await d.cipher.decryptWhisperMessage(reply.body);
    }
  }

  async open(out: FanoutOutput, i: number): Promise<Uint8Array> {
    return receive(this.recipients[i]!, (out as Output).parts[i]!);
  }
}

class Builder implements SessionBuilderBench {
  private readonly sender = new Store();
  private readonly pool: Store[] = [];
  private readonly bundles: Bundle[] = [];
  private k = 0;
  private address!: Address;
  private bundle!: Bundle;

  constructor(
    poolSize: number,
    private readonly verify: boolean,
  ) {
    for (let i = 0; i < poolSize; i++) {
      const s = new Store();
      this.pool.push(s);
      this.bundles.push(s.makeBundle());
    }
  }

  prepare(): void {
    this.bundle = this.bundles[this.k % this.bundles.length]!;
    this.address = new L.ProtocolAddress(`fresh${++this.k}`, 1);
  }

  async build(): Promise<void> {
    if (this.verify) verifyBundle(this.bundle);
    await new L.SessionBuilder(this.sender, this.address).initOutgoing(this.bundle);
  }

  async lastBuildUsable(): Promise<boolean> {
    const payload = Buffer.alloc(32, 3);
    const m = await new L.SessionCipher(this.sender, this.address).encrypt(payload);
    const recipient = this.pool[(this.k - 1) % this.pool.length]!;
    const plain = await new L.SessionCipher(
      recipient,
      new L.ProtocolAddress(`sender-of-${this.k}`, 1),
    ).decryptPreKeyWhisperMessage(m.body);
    return m.type === 3 && plain.equals(payload);
  }
}

class Pair implements DecryptPair {
  private readonly s = new Store();
  private readonly r = new Store();
  private readonly sAddress = new L.ProtocolAddress('bot', 1);
  private readonly rAddress = new L.ProtocolAddress('solo', 1);
  private readonly toR = new L.SessionCipher(this.s, this.rAddress);
  private readonly toS = new L.SessionCipher(this.r, this.sAddress);
  private pending!: Buffer;
  readonly recordFormat = 'JSON of record.serialize() (the library has no binary form; Baileys stores this)';

  async init(payload: Buffer): Promise<this> {
    const bundle = this.r.makeBundle();
    verifyBundle(bundle);
    await new L.SessionBuilder(this.s, this.rAddress).initOutgoing(bundle);
    await this.toS.decryptPreKeyWhisperMessage((await this.toR.encrypt(payload)).body);
    await this.toR.decryptWhisperMessage((await this.toS.encrypt(payload)).body);
    await this.toS.decryptWhisperMessage((await this.toR.encrypt(payload)).body);
    return this;
  }

  async prepareSteady(payload: Uint8Array): Promise<void> {
    this.pending = (await this.toR.encrypt(Buffer.from(payload))).body;
  }

  async prepareRatchet(payload: Uint8Array): Promise<void> {
    const data = Buffer.from(payload);
    await this.toR.decryptWhisperMessage((await this.toS.encrypt(data)).body);
    this.pending = (await this.toR.encrypt(data)).body;
  }

  decrypt(): Promise<Uint8Array> {
    return this.toS.decryptWhisperMessage(this.pending);
  }

  async recordBytes(): Promise<number> {
    const rec = this.s.sessions.get(this.rAddress.toString());
    check(rec !== undefined, 'pair: the sender stored a session');
    return Buffer.byteLength(JSON.stringify(rec.serialize()));
  }
}

/** first-message-burst: FIRST_MESSAGE_BURST new contacts' PreKeyWhisperMessages, decrypted at once. */
class FirstMessageBurst implements BurstBench {
  readonly messages = FIRST_MESSAGE_BURST;
  private readonly r = new Store();
  private burst: { cipher: Cipher; body: Buffer }[] = [];
  private next = 0;

  async prepare(): Promise<void> {
    const payload = Buffer.from(makePayload());
    this.burst = [];
    for (let i = 0; i < FIRST_MESSAGE_BURST; i++) {
      const id = ++this.next;
      const s = new Store();
      const rAddress = new L.ProtocolAddress('bot', 1);
      const bundle = this.r.bundleWithPreKey(id);
      verifyBundle(bundle);
      await new L.SessionBuilder(s, rAddress).initOutgoing(bundle);
      const m = await new L.SessionCipher(s, rAddress).encrypt(payload);
      this.burst.push({ cipher: new L.SessionCipher(this.r, new L.ProtocolAddress(`new${id}`, 1)), body: m.body });
    }
  }

  async run(): Promise<number> {
    const payload = makePayload();
    const out = await Promise.all(this.burst.map((b) => b.cipher.decryptPreKeyWhisperMessage(b.body)));
    return out.filter((p) => sameBytes(p, payload)).length;
  }

  note(): string {
    return 'SessionCipher.decryptPreKeyWhisperMessage of each (one-time pre key removed); no reply is sent and no pre keys are uploaded (the app does that)';
  }
}

export const libsignal: PeerAdapter = {
  impl: 'libsignal',
  title: 'libsignal 6.0.0 (npm, WhiskeySockets fork used by Baileys): SessionBuilder / SessionCipher',
  notes: [
    'In-memory SignalStorage written for the bench: SessionRecord objects kept by reference (no serialization per message; Baileys would JSON-serialize them), identities trusted on first use.',
    'fan-out: `await cipher.encrypt(buf)` per device in a loop (synchronous node:crypto inside; Promise.all measured slower).',
    "session-build: libsignal's curve.verifySignature(identityKey, spk, sig, false) + SessionBuilder.initOutgoing(bundle). initOutgoing alone does NOT check the signature (it calls verifySignature with isInit = true, which returns true without verifying); the bench adds the library's own check so the work matches the case.",
    'decrypt-*: SessionCipher.decryptWhisperMessage(body).',
    'cold-start: node imports libsignal, generates an identity, registration id, signed pre key and 100 pre keys (what OmemoManager.open does on a fresh store).',
  ],
  memorySessions: 2000,
  async createFirstMessageBurst() {
    return new FirstMessageBurst();
  },
  burstSkips: {
    'receive-burst-sqlite': 'no SQLite store in the library (in-memory SignalStorage here)',
    'fanout-burst-sqlite': 'no SQLite store in the library (in-memory SignalStorage here)',
  },
  buildVariants: [{ label: 'initOutgoing alone, as shipped (no signature check)', options: { verify: false } }],
  async createWorld(devices) {
    return new World(devices);
  },
  async createBuilder(options) {
    return new Builder(options?.pool ?? BUILD_POOL, options?.verify ?? true);
  },
  async createPair() {
    return new Pair().init(Buffer.alloc(32, 1));
  },
};
