// bench:peers adapter for @signalapp/libsignal-client 0.103.0 (Signal's Rust implementation through a native
// Node addon): processPreKeyBundle, signalEncrypt, signalDecrypt / signalDecryptPreKey with in-memory stores
// subclassing the package's abstract store classes. PQXDH: bundles carry a Kyber (ML-KEM-1024) pre key,
// which this version requires.
import {
  CiphertextMessageType,
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KEMKeyPair,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PreKeyStore,
  PrivateKey,
  ProtocolAddress,
  SessionStore,
  SignalMessage,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  type CiphertextMessage,
  type PublicKey,
  type SessionRecord,
} from '@signalapp/libsignal-client';
import {
  check,
  sameBytes,
  type DecryptPair,
  type FanoutOutput,
  type FanoutWorld,
  type PeerAdapter,
  type SessionBuilderBench,
} from './types';
import { createFirstMessageBurst } from './libsignal-client-bursts';

const BUILD_POOL = 16;
const PREKEY_TYPE: number = CiphertextMessageType.PreKey;

type Bytes = Uint8Array<ArrayBuffer>;
const bytes = (b: Uint8Array): Bytes => b.slice() as Bytes;

class MemorySessionStore extends SessionStore {
  readonly records = new Map<string, SessionRecord>();
  async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.records.set(name.toString(), record);
  }
  async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    return this.records.get(name.toString()) ?? null;
  }
  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return addresses.map((a) => {
      const r = this.records.get(a.toString());
      if (r === undefined) throw new Error(`no session for ${a.toString()}`);
      return r;
    });
  }
}

/** Identity store: our key pair, trust on first use per name. */
class MemoryIdentityStore extends IdentityKeyStore {
  private readonly known = new Map<string, PublicKey>();
  constructor(
    private readonly pair: IdentityKeyPair,
    private readonly registrationId: number,
  ) {
    super();
  }
  async getIdentityKey(): Promise<PrivateKey> {
    return this.pair.privateKey;
  }
  override async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    return this.pair;
  }
  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }
  async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const old = this.known.get(name.name());
    this.known.set(name.name(), key);
    return old !== undefined && !old.equals(key) ? IdentityChange.ReplacedExisting : IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(name: ProtocolAddress, key: PublicKey): Promise<boolean> {
    const old = this.known.get(name.name());
    return old === undefined || old.equals(key);
  }
  async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    return this.known.get(name.name()) ?? null;
  }
}

class MemoryPreKeyStore extends PreKeyStore {
  private readonly keys = new Map<number, PreKeyRecord>();
  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.keys.set(id, record);
  }
  async getPreKey(id: number): Promise<PreKeyRecord> {
    const k = this.keys.get(id);
    if (k === undefined) throw new Error(`no pre key ${id}`);
    return k;
  }
  async removePreKey(id: number): Promise<void> {
    this.keys.delete(id);
  }
}

class MemorySignedPreKeyStore extends SignedPreKeyStore {
  private readonly keys = new Map<number, SignedPreKeyRecord>();
  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.keys.set(id, record);
  }
  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const k = this.keys.get(id);
    if (k === undefined) throw new Error(`no signed pre key ${id}`);
    return k;
  }
}

class MemoryKyberPreKeyStore extends KyberPreKeyStore {
  private readonly keys = new Map<number, KyberPreKeyRecord>();
  async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.keys.set(id, record);
  }
  async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const k = this.keys.get(id);
    if (k === undefined) throw new Error(`no kyber pre key ${id}`);
    return k;
  }
  async markKyberPreKeyUsed(): Promise<void> {}
}

/** One device: its address, key pair and the five stores. */
export class Party {
  readonly pair = IdentityKeyPair.generate();
  readonly registrationId = 1 + Math.floor(Math.random() * 16000);
  readonly sessions = new MemorySessionStore();
  readonly identity = new MemoryIdentityStore(this.pair, this.registrationId);
  readonly preKeys = new MemoryPreKeyStore();
  readonly signedPreKeys = new MemorySignedPreKeyStore();
  readonly kyberPreKeys = new MemoryKyberPreKeyStore();

  constructor(readonly address: ProtocolAddress) {}

  /** A bundle as Signal's server hands it out: signed pre key, one-time pre key, signed Kyber pre key. */
  async makeBundle(): Promise<PreKeyBundle> {
    const spk = PrivateKey.generate();
    const spkSig = this.pair.privateKey.sign(spk.getPublicKey().serialize());
    await this.signedPreKeys.saveSignedPreKey(
      1,
      SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, spkSig),
    );
    const pk = PrivateKey.generate();
    await this.preKeys.savePreKey(1, PreKeyRecord.new(1, pk.getPublicKey(), pk));
    const kyber = KEMKeyPair.generate();
    const kyberSig = this.pair.privateKey.sign(kyber.getPublicKey().serialize());
    await this.kyberPreKeys.saveKyberPreKey(1, KyberPreKeyRecord.new(1, Date.now(), kyber, kyberSig));
    return PreKeyBundle.new(
      this.registrationId,
      this.address.deviceId(),
      1,
      pk.getPublicKey(),
      1,
      spk.getPublicKey(),
      spkSig,
      this.pair.publicKey,
      1,
      kyber.getPublicKey(),
      kyberSig,
    );
  }

  encryptTo(to: ProtocolAddress, payload: Bytes): Promise<CiphertextMessage> {
    return signalEncrypt(payload, to, this.address, this.sessions, this.identity);
  }

  /** Decrypts a message from `from`: a PreKey message creates the session. */
  receive(from: ProtocolAddress, m: CiphertextMessage): Promise<Uint8Array> {
    if (m.type() === PREKEY_TYPE) {
      return signalDecryptPreKey(
        PreKeySignalMessage.deserialize(m.serialize()),
        from,
        this.address,
        this.sessions,
        this.identity,
        this.preKeys,
        this.signedPreKeys,
        this.kyberPreKeys,
      );
    }
    return signalDecrypt(SignalMessage.deserialize(m.serialize()), from, this.address, this.sessions, this.identity);
  }
}

class Output implements FanoutOutput {
  constructor(readonly parts: CiphertextMessage[]) {}
  get count(): number {
    return this.parts.length;
  }
  isKeyExchange(i: number): boolean {
    return this.parts[i]!.type() === PREKEY_TYPE;
  }
}

class World implements FanoutWorld {
  private readonly sender = new Party(ProtocolAddress.new('bot', 1));
  private readonly recipients: Party[] = [];
  private readonly bundles: PreKeyBundle[] = [];

  constructor(readonly devices: number) {}

  async init(): Promise<this> {
    for (let i = 0; i < this.devices; i++) {
      const p = new Party(ProtocolAddress.new(`user${i}`, 1));
      this.recipients.push(p);
      this.bundles.push(await p.makeBundle());
    }
    return this;
  }

  async buildAll(): Promise<void> {
    for (let i = 0; i < this.devices; i++)
      await processPreKeyBundle(
        this.bundles[i]!,
        this.recipients[i]!.address,
        this.sender.address,
        this.sender.sessions,
        this.sender.identity,
      );
  }

  async fanout(payload: Uint8Array, count: number): Promise<FanoutOutput> {
    const data = bytes(payload);
    // Promise.all: the library's fast use (each call is an async native job).
    const jobs: Promise<CiphertextMessage>[] = new Array(count);
    for (let i = 0; i < count; i++) jobs[i] = this.sender.encryptTo(this.recipients[i]!.address, data);
    return new Output(await Promise.all(jobs));
  }

  async answerAll(payload: Uint8Array): Promise<void> {
    const data = bytes(payload);
    for (const r of this.recipients) {
      const m = await this.sender.encryptTo(r.address, data);
      check(sameBytes(await r.receive(this.sender.address, m), payload), 'answer: device decrypted the PreKey message');
      await this.sender.receive(r.address, await r.encryptTo(this.sender.address, data));
    }
  }

  async open(out: FanoutOutput, i: number): Promise<Uint8Array> {
    return this.recipients[i]!.receive(this.sender.address, (out as Output).parts[i]!);
  }
}

class Builder implements SessionBuilderBench {
  private readonly sender = new Party(ProtocolAddress.new('builder', 1));
  private readonly pool: Party[] = [];
  private readonly bundles: PreKeyBundle[] = [];
  private k = 0;
  private address!: ProtocolAddress;
  private bundle!: PreKeyBundle;

  async init(poolSize: number): Promise<this> {
    for (let i = 0; i < poolSize; i++) {
      const p = new Party(ProtocolAddress.new(`pool${i}`, 1));
      this.pool.push(p);
      this.bundles.push(await p.makeBundle());
    }
    return this;
  }

  prepare(): void {
    this.bundle = this.bundles[this.k % this.bundles.length]!;
    this.address = ProtocolAddress.new(`fresh${++this.k}`, 1);
  }

  build(): Promise<void> {
    return processPreKeyBundle(
      this.bundle,
      this.address,
      this.sender.address,
      this.sender.sessions,
      this.sender.identity,
    );
  }

  async lastBuildUsable(): Promise<boolean> {
    const payload = new Uint8Array(32).fill(3);
    const m = await this.sender.encryptTo(this.address, bytes(payload));
    const recipient = this.pool[(this.k - 1) % this.pool.length]!;
    return m.type() === PREKEY_TYPE && sameBytes(await recipient.receive(this.sender.address, m), payload);
  }
}

class Pair implements DecryptPair {
  private readonly s = new Party(ProtocolAddress.new('bot', 1));
  private readonly r = new Party(ProtocolAddress.new('solo', 1));
  private pending!: CiphertextMessage;
  readonly recordFormat = 'SessionRecord.serialize() bytes (protobuf)';

  async init(payload: Bytes): Promise<this> {
    await processPreKeyBundle(
      await this.r.makeBundle(),
      this.r.address,
      this.s.address,
      this.s.sessions,
      this.s.identity,
    );
    await this.r.receive(this.s.address, await this.s.encryptTo(this.r.address, payload));
    await this.s.receive(this.r.address, await this.r.encryptTo(this.s.address, payload));
    await this.r.receive(this.s.address, await this.s.encryptTo(this.r.address, payload));
    return this;
  }

  async prepareSteady(payload: Uint8Array): Promise<void> {
    this.pending = await this.s.encryptTo(this.r.address, bytes(payload));
  }

  async prepareRatchet(payload: Uint8Array): Promise<void> {
    await this.s.receive(this.r.address, await this.r.encryptTo(this.s.address, bytes(payload)));
    this.pending = await this.s.encryptTo(this.r.address, bytes(payload));
  }

  decrypt(): Promise<Uint8Array> {
    return signalDecrypt(
      SignalMessage.deserialize(this.pending.serialize()),
      this.s.address,
      this.r.address,
      this.r.sessions,
      this.r.identity,
    );
  }

  async recordBytes(): Promise<number> {
    const rec = await this.s.sessions.getSession(this.r.address);
    check(rec !== null, 'pair: the sender stored a session');
    return rec.serialize().length;
  }
}

export const libsignalClient: PeerAdapter = {
  impl: 'libsignal-client',
  title:
    '@signalapp/libsignal-client 0.103.0 (Rust, native addon): processPreKeyBundle / signalEncrypt / signalDecrypt',
  notes: [
    "In-memory stores subclassing the package's abstract SessionStore / IdentityKeyStore / PreKeyStore / SignedPreKeyStore / KyberPreKeyStore: SessionRecord handles kept by reference, identities trusted on first use.",
    'PQXDH: this version requires a Kyber (ML-KEM-1024) pre key in every bundle, so bundles carry one (1569-byte public key) and session-build includes the KEM encapsulation; processPreKeyBundle checks both the signed pre key and the Kyber pre key signatures.',
    "fan-out: Promise.all of signalEncrypt(payload, address, …) over the devices (async native jobs; the library's fast use). The timed work includes the store callbacks from Rust into JS.",
    'decrypt-*: SignalMessage.deserialize(bytes) + signalDecrypt(…).',
    'cold-start: node imports the package (loads the native addon), generates an identity, signed pre key, 100 pre keys and one signed Kyber pre key.',
  ],
  memorySessions: 10000,
  createFirstMessageBurst,
  burstSkips: {
    'receive-burst-sqlite': 'no SQLite store in the library (in-memory stores here)',
    'fanout-burst-sqlite': 'no SQLite store in the library (in-memory stores here)',
  },
  async createWorld(devices) {
    return new World(devices).init();
  },
  async createBuilder(options) {
    return new Builder().init(options?.pool ?? BUILD_POOL);
  },
  async createPair() {
    return new Pair().init(new Uint8Array(32).fill(1));
  },
};
