// bench:peers first-message-burst for @signalapp/libsignal-client (types.ts BurstBench): FIRST_MESSAGE_BURST new
// contacts each build a session from the recipient's bundle (a one-time pre key of their own, the shared signed pre
// key and last-resort Kyber pre key) and send a first message; the recipient decrypts them all at once.
import {
  KEMKeyPair,
  KyberPreKeyRecord,
  PreKeyBundle,
  PreKeyRecord,
  PrivateKey,
  ProtocolAddress,
  SignedPreKeyRecord,
  processPreKeyBundle,
  type CiphertextMessage,
  type PublicKey,
} from '@signalapp/libsignal-client';
import { Party } from './libsignal-client';
import { FIRST_MESSAGE_BURST, makePayload, sameBytes, type BurstBench } from './types';

type Signature = ReturnType<PrivateKey['sign']>;

class FirstMessageBurst implements BurstBench {
  readonly messages = FIRST_MESSAGE_BURST;
  private readonly r = new Party(ProtocolAddress.new('bot', 1));
  private spk!: { key: PublicKey; sig: Signature };
  private kyber!: { key: KEMKeyPair; sig: Signature };
  private burst: { from: ProtocolAddress; m: CiphertextMessage }[] = [];
  private next = 0;

  async init(): Promise<this> {
    const spk = PrivateKey.generate();
    const sig = this.r.pair.privateKey.sign(spk.getPublicKey().serialize());
    await this.r.signedPreKeys.saveSignedPreKey(1, SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, sig));
    this.spk = { key: spk.getPublicKey(), sig };
    const kyber = KEMKeyPair.generate();
    const kyberSig = this.r.pair.privateKey.sign(kyber.getPublicKey().serialize());
    await this.r.kyberPreKeys.saveKyberPreKey(1, KyberPreKeyRecord.new(1, Date.now(), kyber, kyberSig));
    this.kyber = { key: kyber, sig: kyberSig };
    return this;
  }

  async prepare(): Promise<void> {
    const payload = makePayload() as Uint8Array<ArrayBuffer>;
    this.burst = [];
    for (let i = 0; i < FIRST_MESSAGE_BURST; i++) {
      const id = ++this.next;
      const pk = PrivateKey.generate();
      await this.r.preKeys.savePreKey(id, PreKeyRecord.new(id, pk.getPublicKey(), pk));
      const bundle = PreKeyBundle.new(
        this.r.registrationId,
        this.r.address.deviceId(),
        id,
        pk.getPublicKey(),
        1,
        this.spk.key,
        this.spk.sig,
        this.r.pair.publicKey,
        1,
        this.kyber.key.getPublicKey(),
        this.kyber.sig,
      );
      const s = new Party(ProtocolAddress.new(`new${id}`, 1));
      await processPreKeyBundle(bundle, this.r.address, s.address, s.sessions, s.identity);
      this.burst.push({ from: s.address, m: await s.encryptTo(this.r.address, payload) });
    }
  }

  async run(): Promise<number> {
    const payload = makePayload();
    const out = await Promise.all(this.burst.map((b) => this.r.receive(b.from, b.m)));
    return out.filter((p) => sameBytes(p, payload)).length;
  }

  note(): string {
    return 'signalDecryptPreKey of each (PQXDH with the Kyber decapsulation, one-time pre key removed); no reply is sent and no pre keys are uploaded (the app does that)';
  }
}

export async function createFirstMessageBurst(): Promise<BurstBench> {
  return new FirstMessageBurst().init();
}
