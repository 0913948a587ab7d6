// bench:peers adapter for @privacyresearch/libsignal-protocol-typescript 0.0.16 (TypeScript port of
// libsignal-protocol-javascript; WebCrypto for AES/HMAC, asm.js curve25519): SessionBuilder.processPreKey and
// SessionCipher.encrypt / decrypt* with an in-memory StorageType like the one in its README.
import {
  KeyHelper,
  SessionBuilder,
  SessionCipher,
  SignalProtocolAddress,
  type DeviceType,
  type Direction,
  type KeyPairType,
  type MessageType,
  type StorageType,
} from '@privacyresearch/libsignal-protocol-typescript';
import {
  check,
  sameBytes,
  type DecryptPair,
  type FanoutOutput,
  type FanoutWorld,
  type PeerAdapter,
  type SessionBuilderBench,
} from './types';

/**
 * Distinct real recipients of the fan-out world. Building and answering one session costs this library
 * ~85 ms, so by default the 1000 addresses are filled with copies of the stored records of this many real
 * sessions (identical work per device: every address has its own record string, deserialized, advanced and
 * serialized on every encryption). `--real-sessions` builds every one for real.
 */
export const PRIVACYRESEARCH_TEMPLATES = 50;
const BUILD_POOL = 16;

function equalBuffers(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return sameBytes(new Uint8Array(a), new Uint8Array(b));
}

/** In-memory StorageType: session records as the strings the library hands over, trust on first use. */
class Store implements StorageType {
  readonly sessions = new Map<string, string>();
  readonly identities = new Map<string, ArrayBuffer>();
  private readonly preKeys = new Map<string, KeyPairType>();
  private readonly signedPreKeys = new Map<string, KeyPairType>();
  identity!: KeyPairType;
  readonly registrationId = KeyHelper.generateRegistrationId();

  static async create(): Promise<Store> {
    const s = new Store();
    s.identity = await KeyHelper.generateIdentityKeyPair();
    return s;
  }

  async getIdentityKeyPair(): Promise<KeyPairType> {
    return this.identity;
  }
  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }
  async isTrustedIdentity(identifier: string, identityKey: ArrayBuffer, _direction: Direction): Promise<boolean> {
    const known = this.identities.get(identifier.split('.')[0]!);
    return known === undefined || equalBuffers(known, identityKey);
  }
  async saveIdentity(encodedAddress: string, publicKey: ArrayBuffer): Promise<boolean> {
    const name = encodedAddress.split('.')[0]!;
    const known = this.identities.get(name);
    this.identities.set(name, publicKey);
    return known !== undefined && !equalBuffers(known, publicKey);
  }
  async loadPreKey(keyId: string | number): Promise<KeyPairType | undefined> {
    return this.preKeys.get(String(keyId));
  }
  async storePreKey(keyId: number | string, keyPair: KeyPairType): Promise<void> {
    this.preKeys.set(String(keyId), keyPair);
  }
  async removePreKey(keyId: number | string): Promise<void> {
    this.preKeys.delete(String(keyId));
  }
  async storeSession(encodedAddress: string, record: string): Promise<void> {
    this.sessions.set(encodedAddress, record);
  }
  async loadSession(encodedAddress: string): Promise<string | undefined> {
    return this.sessions.get(encodedAddress);
  }
  async loadSignedPreKey(keyId: number | string): Promise<KeyPairType | undefined> {
    return this.signedPreKeys.get(String(keyId));
  }
  async storeSignedPreKey(keyId: number | string, keyPair: KeyPairType): Promise<void> {
    this.signedPreKeys.set(String(keyId), keyPair);
  }
  async removeSignedPreKey(keyId: number | string): Promise<void> {
    this.signedPreKeys.delete(String(keyId));
  }

  async makeBundle(): Promise<DeviceType> {
    const spk = await KeyHelper.generateSignedPreKey(this.identity, 1);
    await this.storeSignedPreKey(1, spk.keyPair);
    const pk = await KeyHelper.generatePreKey(1);
    await this.storePreKey(1, pk.keyPair);
    return {
      registrationId: this.registrationId,
      identityKey: this.identity.pubKey,
      signedPreKey: { keyId: 1, publicKey: spk.keyPair.pubKey, signature: spk.signature },
      preKey: { keyId: 1, publicKey: pk.keyPair.pubKey },
    };
  }
}

const toBuffer = (b: Uint8Array): ArrayBuffer => b.slice().buffer as ArrayBuffer;

interface Device {
  store: Store;
  bundle: DeviceType;
  /** This device's cipher for the sender's address. */
  back: SessionCipher;
}

function receive(d: Device, m: MessageType): Promise<ArrayBuffer> {
  return m.type === 3
    ? d.back.decryptPreKeyWhisperMessage(m.body!, 'binary')
    : d.back.decryptWhisperMessage(m.body!, 'binary');
}

class Output implements FanoutOutput {
  constructor(readonly parts: MessageType[]) {}
  get count(): number {
    return this.parts.length;
  }
  isKeyExchange(i: number): boolean {
    return this.parts[i]!.type === 3;
  }
}

class World implements FanoutWorld {
  private sender!: Store;
  private readonly senderAddress = new SignalProtocolAddress('bot', 1);
  /** The real recipients (templates); address i is served by recipient i % templates. */
  private readonly recipients: Device[] = [];
  private readonly addresses: string[] = [];
  private readonly ciphers: SessionCipher[] = [];

  constructor(
    readonly devices: number,
    private readonly templates: number,
  ) {}

  async init(): Promise<this> {
    this.sender = await Store.create();
    for (let t = 0; t < this.templates; t++) {
      const store = await Store.create();
      this.recipients.push({
        store,
        bundle: await store.makeBundle(),
        back: new SessionCipher(store, this.senderAddress),
      });
    }
    for (let i = 0; i < this.devices; i++) {
      const address = new SignalProtocolAddress(`user${i}`, 1);
      this.addresses.push(address.toString());
      this.ciphers.push(new SessionCipher(this.sender, address));
    }
    return this;
  }

  /** Copies the sender's stored record (and trusted identity) of each template address to its copies. */
  private fillCopies(): void {
    for (let i = this.templates; i < this.devices; i++) {
      const t = i % this.templates;
      this.sender.sessions.set(this.addresses[i]!, this.sender.sessions.get(this.addresses[t]!)!);
      this.sender.identities.set(`user${i}`, this.sender.identities.get(`user${t}`)!);
    }
  }

  async buildAll(): Promise<void> {
    for (let t = 0; t < this.templates; t++)
      await new SessionBuilder(this.sender, new SignalProtocolAddress(`user${t}`, 1)).processPreKey(
        this.recipients[t]!.bundle,
      );
    this.fillCopies();
  }

  async fanout(payload: Uint8Array, count: number): Promise<FanoutOutput> {
    const data = toBuffer(payload);
    // Promise.all: the library's fast use (WebCrypto calls of different sessions overlap).
    const parts = await Promise.all(this.ciphers.slice(0, count).map((c) => c.encrypt(data)));
    return new Output(parts);
  }

  async answerAll(payload: Uint8Array): Promise<void> {
    const data = toBuffer(payload);
    for (let t = 0; t < this.templates; t++) {
      const d = this.recipients[t]!;
      const m = await this.ciphers[t]!.encrypt(data);
      check(
        sameBytes(new Uint8Array(await receive(d, m)), payload),
        'answer: device decrypted the PreKeyWhisperMessage',
      );
      await this.ciphers[t]!.decryptWhisperMessage((await d.back.encrypt(data)).body!, 'binary');
    }
    this.fillCopies();
  }

  async open(out: FanoutOutput, i: number): Promise<Uint8Array> {
    return new Uint8Array(await receive(this.recipients[i % this.templates]!, (out as Output).parts[i]!));
  }
}

class Builder implements SessionBuilderBench {
  private sender!: Store;
  private readonly pool: Store[] = [];
  private readonly bundles: DeviceType[] = [];
  private k = 0;
  private address!: SignalProtocolAddress;
  private bundle!: DeviceType;

  async init(poolSize: number): Promise<this> {
    this.sender = await Store.create();
    for (let i = 0; i < poolSize; i++) {
      const s = await Store.create();
      this.pool.push(s);
      this.bundles.push(await s.makeBundle());
    }
    return this;
  }

  prepare(): void {
    this.bundle = this.bundles[this.k % this.bundles.length]!;
    this.address = new SignalProtocolAddress(`fresh${++this.k}`, 1);
  }

  async build(): Promise<void> {
    await new SessionBuilder(this.sender, this.address).processPreKey(this.bundle);
  }

  async lastBuildUsable(): Promise<boolean> {
    const payload = new Uint8Array(32).fill(3);
    const m = await new SessionCipher(this.sender, this.address).encrypt(toBuffer(payload));
    const recipient = this.pool[(this.k - 1) % this.pool.length]!;
    const plain = await new SessionCipher(
      recipient,
      new SignalProtocolAddress(`sender-of-${this.k}`, 1),
    ).decryptPreKeyWhisperMessage(m.body!, 'binary');
    return m.type === 3 && sameBytes(new Uint8Array(plain), payload);
  }
}

class Pair implements DecryptPair {
  private s!: Store;
  private r!: Store;
  private readonly rAddress = new SignalProtocolAddress('solo', 1);
  private toR!: SessionCipher;
  private toS!: SessionCipher;
  private pending = '';
  readonly recordFormat = 'the record string the library stores (JSON with base64 keys)';

  async init(payload: ArrayBuffer): Promise<this> {
    this.s = await Store.create();
    this.r = await Store.create();
    this.toR = new SessionCipher(this.s, this.rAddress);
    this.toS = new SessionCipher(this.r, new SignalProtocolAddress('bot', 1));
    await new SessionBuilder(this.s, this.rAddress).processPreKey(await this.r.makeBundle());
    await this.toS.decryptPreKeyWhisperMessage((await this.toR.encrypt(payload)).body!, 'binary');
    await this.toR.decryptWhisperMessage((await this.toS.encrypt(payload)).body!, 'binary');
    await this.toS.decryptWhisperMessage((await this.toR.encrypt(payload)).body!, 'binary');
    return this;
  }

  async prepareSteady(payload: Uint8Array): Promise<void> {
    this.pending = (await this.toR.encrypt(toBuffer(payload))).body!;
  }

  async prepareRatchet(payload: Uint8Array): Promise<void> {
    const data = toBuffer(payload);
    await this.toR.decryptWhisperMessage((await this.toS.encrypt(data)).body!, 'binary');
    this.pending = (await this.toR.encrypt(data)).body!;
  }

  async decrypt(): Promise<Uint8Array> {
    return new Uint8Array(await this.toS.decryptWhisperMessage(this.pending, 'binary'));
  }

  async recordBytes(): Promise<number> {
    const rec = this.s.sessions.get(this.rAddress.toString());
    check(rec !== undefined, 'pair: the sender stored a session');
    return Buffer.byteLength(rec);
  }
}

export const privacyresearch: PeerAdapter = {
  impl: 'privacyresearch',
  title: '@privacyresearch/libsignal-protocol-typescript 0.0.16: SessionBuilder.processPreKey / SessionCipher',
  notes: [
    "In-memory StorageType like the README's: session records are the strings the library serializes (it requires strings), identities trusted on first use.",
    `fan-out: Promise.all of cipher.encrypt(arrayBuffer) over the devices (faster than one await each: its WebCrypto calls overlap). The 1000 addresses are served by ${PRIVACYRESEARCH_TEMPLATES} real recipients: the other addresses start from copies of those sessions' stored records (same work per device; building 1000 real sessions takes this library ~85 s; --real-sessions does it).`,
    'session-build: SessionBuilder.processPreKey(bundle): XEdDSA signature check of the signed pre key, X3DH, record serialized to the store.',
    'decrypt-*: SessionCipher.decryptWhisperMessage(body, "binary").',
    'cold-start: node imports the package, generates an identity, registration id, signed pre key and 100 pre keys.',
  ],
  memorySessions: 500,
  async createWorld(devices, options) {
    return new World(devices, Math.min(devices, options?.templates ?? PRIVACYRESEARCH_TEMPLATES)).init();
  },
  async createBuilder(options) {
    return new Builder().init(options?.pool ?? BUILD_POOL);
  },
  burstSkips: {
    'receive-burst-sqlite': 'no SQLite store in the library',
    'fanout-burst-sqlite': 'no SQLite store in the library',
    'first-message-burst': 'not measured for this library (libsignal and libsignal-client are)',
  },
  async createPair() {
    return new Pair().init(new Uint8Array(32).fill(1).buffer);
  },
};
