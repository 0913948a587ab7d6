// The Double Ratchet (Signal, "The Double Ratchet Algorithm" rev. 1, §3.2–3.5 with header fields n/pn) as
// OMEMO 0.3 and OMEMO 2 run it, with X3DH (Signal, "The X3DH Key Agreement Protocol" §3.3–3.4) to start it.
// A failed decryption never changes the session: all work happens on local copies that are committed only
// after the MAC, the padding and the bounds have been checked. Like libsignal's SessionRecord, a session keeps
// previous states (archived) and tries them when the current one cannot decrypt, so that crossed key exchanges
// converge.
import { allocateBytes, bytesEqual, concatBytes, type ByteAllocator } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import type { Rng } from '../crypto/random';
import { randomBytes } from '../crypto/random';
import { x25519GenerateKeyPair, x25519SharedSecret, type KeyPair } from '../crypto/x25519';
import type { ProtocolVersion } from './constants';
import {
  MAX_ARCHIVED_SESSION_STATES,
  MAX_OLD_RECEIVING_CHAINS,
  MAX_SKIPPED_KEYS_PER_MESSAGE,
  MAX_SKIPPED_KEYS_PER_SESSION,
} from './constants';
import type { IdentityKeyPair } from './identity-key';
import { legacySerializeKey } from './identity-key';
import { kdfChainKey, kdfRootKey } from './kdf';
import { openRatchetMessage, type MessageOpened } from './message-crypto';
import { encryptSessions } from './session-send';
import { cloneState, skipId, type SessionState, type SkippedKey } from './session-state';
import { x3dhInitiate, x3dhRespond, type PreKeyBundle } from './x3dh';
import type { ParsedKeyExchange, ParsedMessage } from './wire';
import { parseMessage } from './wire';

/** The result of encrypting with a session: the `<key>` content and whether it is a key exchange. */
export interface EncryptedKeyElement {
  data: Uint8Array;
  keyExchange: boolean;
}

export type { PendingKeyExchange, SessionState, SkippedKey } from './session-state';
export { skipId } from './session-state';
export type { PreKeyBundle } from './x3dh';

function tooMany(count: number): OmemoError {
  return new OmemoError(
    'too-many-skipped',
    `message would skip ${count} message keys (at most ${MAX_SKIPPED_KEYS_PER_MESSAGE})`,
  );
}

/**
 * A Double Ratchet session with one remote device, for one OMEMO version: the current state, which sends and is
 * tried first, and up to MAX_ARCHIVED_SESSION_STATES previous ones (newest first), tried when it cannot decrypt.
 */
export class Session {
  private current: SessionState;
  private archive: SessionState[];
  private macPrefixSend: Uint8Array | undefined;
  private macPrefixReceive: Uint8Array | undefined;

  /**
   * @param archived previous states, newest first (taken as they are, not copied).
   * @throws RangeError for more than MAX_ARCHIVED_SESSION_STATES archived states; TypeError for one of another
   *   version.
   */
  constructor(state: SessionState, archived?: readonly SessionState[]) {
    this.current = state;
    this.archive = [];
    if (archived === undefined) return;
    if (archived.length > MAX_ARCHIVED_SESSION_STATES) {
      throw new RangeError(`at most ${MAX_ARCHIVED_SESSION_STATES} archived session states, got ${archived.length}`);
    }
    for (const a of archived) {
      if (a.version !== state.version) throw new TypeError('archived states must have the version of the session');
      this.archive.push(a);
    }
  }

  /** The current state; treat as read-only outside this module. */
  get state(): SessionState {
    return this.current;
  }

  /** The archived states, newest first; treat as read-only outside this module. */
  get archivedStates(): readonly SessionState[] {
    return this.archive;
  }

  /**
   * An independent copy to try a decryption on. Byte arrays are shared: the session only ever replaces them,
   * never writes into them; the containers it does change (skipped keys, old chains) are copied, in the current
   * and in every archived state.
   */
  clone(): Session {
    const copy = new Session(
      cloneState(this.current),
      this.archive.length === 0 ? undefined : this.archive.map(cloneState),
    );
    // The MAC prefixes follow from the current state's identity keys, which the copy shares (and never writes).
    copy.macPrefixSend = this.macPrefixSend;
    copy.macPrefixReceive = this.macPrefixReceive;
    return copy;
  }

  /**
   * Keeps `previous`'s states (its current one first, then its archived ones; the oldest beyond
   * MAX_ARCHIVED_SESSION_STATES dropped) as this session's archive: for a session just built by `respond`
   * (after its first message decrypted) or `initiate` that replaces `previous` with the same device. Messages
   * still in flight for the previous states keep decrypting, and crossed key exchanges converge. States of another
   * remote identity key are kept too (a device id that shows a new key may be a reinstall or an impostor: the
   * caller decides, and the old key's session must survive until then). After every decrypt, `remoteIdentityKey`
   * is the key of the state that decrypted (it is promoted): trust must be taken from it, never assumed.
   * The states are copied: `previous` stays usable and independent.
   * @returns this session.
   * @throws TypeError when this session already has archived states, `previous` is this session or has another
   *   version.
   */
  withArchiveFrom(previous: Session): this {
    if (previous === this) throw new TypeError('a session cannot archive itself');
    if (this.archive.length > 0) throw new TypeError('this session already has archived states');
    if (previous.version !== this.version) {
      throw new TypeError(`a ${previous.version} session cannot be archived in a ${this.version} one`);
    }
    this.archive = [previous.current, ...previous.archive].slice(0, MAX_ARCHIVED_SESSION_STATES).map(cloneState);
    return this;
  }

  /**
   * True when the current or an archived state was created by the X3DH base key `baseKey` with the remote
   * identity key `remoteIdentityKey` (wire form): a key exchange carrying them repeats that state's, so its
   * message goes to `decryptParsed` here instead of building a new session.
   */
  hasState(baseKey: Uint8Array, remoteIdentityKey: Uint8Array): boolean {
    const matches = (s: SessionState) =>
      bytesEqual(s.baseKey, baseKey) && bytesEqual(s.remoteIdentityKey, remoteIdentityKey);
    return matches(this.current) || this.archive.some(matches);
  }

  get version(): ProtocolVersion {
    return this.state.version;
  }

  /** True while our messages still carry the key exchange (no message of the other side decrypted yet). */
  get hasPendingKeyExchange(): boolean {
    return this.state.pending !== undefined;
  }

  /** Messages received since we last sent on this session. */
  get unansweredCount(): number {
    return this.state.unanswered;
  }

  /** Identity key of the other side in the version's wire form. */
  get remoteIdentityKey(): Uint8Array {
    return this.state.remoteIdentityKey;
  }

  /** The X3DH ephemeral key that created this session. */
  get baseKey(): Uint8Array {
    return this.state.baseKey;
  }

  /**
   * Starts a session as the initiator (X3DH §3.3) from a remote bundle.
   * @throws OmemoError `invalid-signature` when the signed pre key signature does not verify;
   *   `invalid-key` for unusable public keys.
   */
  static initiate(
    version: ProtocolVersion,
    identity: IdentityKeyPair,
    bundle: PreKeyBundle,
    rng: Rng = randomBytes,
  ): Session {
    return new Session(x3dhInitiate(version, identity, bundle, rng));
  }

  /**
   * Starts a session as the responder (X3DH §3.4) from a received key exchange. The caller looks up the
   * signed pre key and one-time pre key the key exchange names. The message inside is not decrypted here:
   * call `decryptParsed(kex.message)` on the result and keep the session only if that succeeds.
   */
  static respond(
    identity: IdentityKeyPair,
    kex: ParsedKeyExchange,
    signedPreKey: KeyPair,
    preKey: KeyPair | undefined,
  ): Session {
    return new Session(x3dhRespond(identity, kex, signedPreKey, preKey));
  }

  /** The MAC prefix (associated data) of the messages this session sends; for session-send.ts. */
  sendPrefix(): Uint8Array {
    if (this.macPrefixSend === undefined) this.computePrefixes();
    return this.macPrefixSend!;
  }

  private receivePrefix(): Uint8Array {
    if (this.macPrefixReceive === undefined) this.computePrefixes();
    return this.macPrefixReceive!;
  }

  private computePrefixes(): void {
    const s = this.state;
    if (s.version === 'oldmemo') {
      // 0.3: sender identity ‖ receiver identity, whoever initiated (both 0x05-prefixed).
      const local = legacySerializeKey(s.localIdentityKey);
      const remote = legacySerializeKey(s.remoteIdentityKey);
      this.macPrefixSend = concatBytes(local, remote);
      this.macPrefixReceive = concatBytes(remote, local);
    } else {
      // OMEMO 2: associated data = initiator identity ‖ responder identity (Ed25519), both directions.
      const ad = s.initiator
        ? concatBytes(s.localIdentityKey, s.remoteIdentityKey)
        : concatBytes(s.remoteIdentityKey, s.localIdentityKey);
      this.macPrefixSend = ad;
      this.macPrefixReceive = ad;
    }
  }

  /**
   * Encrypts `plaintext` (the payload key material) and advances the sending chain. Synchronous.
   * @returns the `<key>` element content, a key exchange while the other side has not answered yet.
   * @throws OmemoError `no-session` before this side can send, `too-many-skipped` when the chain is exhausted.
   */
  encrypt(plaintext: Uint8Array): EncryptedKeyElement {
    const result = Session.encryptMany([this], plaintext)[0]!;
    if (result instanceof OmemoError) throw result;
    return result;
  }

  /**
   * Encrypts the same `plaintext` with every session (a fan-out): byte for byte what `encrypt` on each would
   * give, but the symmetric ratchet steps of all sessions run as one batch (ratchet-send-batch.ts) and
   * each message is laid out once (wire.ts `frameMessage`, in arrays from `allocate`). A session that cannot
   * send gets its OmemoError in its slot and is left unchanged; the others go on.
   * @throws TypeError/RangeError for a bad plaintext or a session listed twice.
   */
  static encryptMany(
    sessions: readonly Session[],
    plaintext: Uint8Array,
    allocate: ByteAllocator = allocateBytes,
  ): (EncryptedKeyElement | OmemoError)[] {
    return encryptSessions(sessions, plaintext, allocate);
  }

  /**
   * Decrypts a normal message (the `<key>` content). Synchronous; the session changes only on success.
   * @throws OmemoError `malformed-message`, `unsupported-version`, `bad-mac`, `duplicate-message`,
   *   `too-many-skipped`, `authentication-failed`.
   */
  decrypt(bytes: Uint8Array): Uint8Array {
    return this.decryptParsed(parseMessage(this.state.version, bytes));
  }

  /**
   * Decrypts an already parsed message (e.g. the one inside a key exchange). Same contract as `decrypt`. Tries
   * the current state, then the archived ones, newest first; the one that decrypts becomes current and the
   * previous current one the newest archived. When none does, nothing changed and the error thrown is that of the
   * state created by `baseKey` when given and present (a repeated key exchange names its state: replayed, it is
   * that state's `duplicate-message`); else, when the current state does not know the message's chain but an
   * archived one does, that state's (a message read before a repair, again: `duplicate-message`); else the
   * current state's.
   */
  decryptParsed(message: ParsedMessage, rng: Rng = randomBytes, baseKey?: Uint8Array): Uint8Array {
    const version = this.current.version;
    if (message.version !== version) throw new TypeError(`a ${message.version} message given to a ${version} session`);
    try {
      return this.decryptCurrent(message, rng);
    } catch (error) {
      if (!(error instanceof OmemoError) || this.archive.length === 0) throw error;
      let named: OmemoError | undefined;
      let chainKnown: OmemoError | undefined;
      const knowsChain = (st: SessionState) =>
        (st.receivingRatchetKey !== undefined && bytesEqual(st.receivingRatchetKey, message.header.ratchetKey)) ||
        st.oldChains.some((c) => bytesEqual(c.ratchetKey, message.header.ratchetKey));
      for (let i = 0; i < this.archive.length; i++) {
        // Each state's decryption changes it only on success, so the archived state can be tried in place.
        const candidate = new Session(this.archive[i]!);
        let plaintext: Uint8Array;
        try {
          plaintext = candidate.decryptCurrent(message, rng);
        } catch (e) {
          if (!(e instanceof OmemoError)) throw e;
          if (baseKey !== undefined && bytesEqual(this.archive[i]!.baseKey, baseKey)) named ??= e;
          if (knowsChain(this.archive[i]!)) chainKnown ??= e;
          continue;
        }
        this.archive.splice(i, 1);
        this.archive.unshift(this.current);
        this.current = candidate.current;
        this.macPrefixSend = candidate.macPrefixSend;
        this.macPrefixReceive = candidate.macPrefixReceive;
        return plaintext;
      }
      if (baseKey !== undefined && bytesEqual(this.current.baseKey, baseKey)) throw error;
      throw named ?? (knowsChain(this.current) ? error : (chainKnown ?? error));
    }
  }

  /** `decryptParsed` with the current state only. */
  private decryptCurrent(message: ParsedMessage, rng: Rng): Uint8Array {
    const s = this.current;
    const { ratchetKey, n, pn } = message.header;
    const version = s.version;

    const skippedEntry = s.skipped.size === 0 ? undefined : s.skipped.get(skipId(ratchetKey, n));
    if (skippedEntry !== undefined) {
      const { plaintext } = this.open(skippedEntry.seed, false, message);
      s.skipped.delete(skipId(ratchetKey, n));
      this.afterReceive();
      return plaintext;
    }

    if (
      s.receivingRatchetKey !== undefined &&
      s.receivingChainKey !== undefined &&
      bytesEqual(ratchetKey, s.receivingRatchetKey)
    ) {
      if (n < s.receivingCounter)
        throw new OmemoError('duplicate-message', `message ${n} of this chain was already received`);
      const count = n - s.receivingCounter;
      if (count > MAX_SKIPPED_KEYS_PER_MESSAGE) throw tooMany(count);
      const walk = this.walkChain(s.receivingChainKey, ratchetKey, s.receivingCounter, n);
      const { plaintext, nextChainKey } = this.open(walk.chainKey, true, message);
      s.receivingChainKey = nextChainKey!;
      s.receivingCounter = n + 1;
      this.addSkipped(walk.skipped);
      this.afterReceive();
      return plaintext;
    }

    if (s.oldChains.some((c) => bytesEqual(c.ratchetKey, ratchetKey))) {
      throw new OmemoError('duplicate-message', 'message of an earlier chain was already received or its key expired');
    }

    // A new ratchet key: keep keys of the rest of the current receiving chain (up to pn), then take a DH step.
    // Only n, a jump within the new chain, can refuse the message. The old chain's rest gets what is left of the
    // per-message budget: a gap there (messages lost for good) must never refuse every later message. Kept are the
    // first keys after receivingCounter: the chain KDF is sequential, so the last ones would cost the whole gap
    // (the work the bound exists to cap), and keys beyond the budget would be evicted by the per-session bound
    // at once anyway (MAX_SKIPPED_KEYS_PER_SESSION). Messages of the dropped rest fail as duplicate-message.
    if (n > MAX_SKIPPED_KEYS_PER_MESSAGE) throw tooMany(n);
    const oldCount = s.receivingChainKey !== undefined && pn > s.receivingCounter ? pn - s.receivingCounter : 0;
    const oldKept = Math.min(oldCount, MAX_SKIPPED_KEYS_PER_MESSAGE - n);
    const skipped: SkippedKey[] = [];
    if (s.receivingChainKey !== undefined && s.receivingRatchetKey !== undefined && oldKept > 0) {
      const to = s.receivingCounter + oldKept;
      skipped.push(...this.walkChain(s.receivingChainKey, s.receivingRatchetKey, s.receivingCounter, to).skipped);
    }
    const receiving = kdfRootKey(version, s.rootKey, x25519SharedSecret(s.sendingRatchet.privateKey, ratchetKey));
    const newRatchet = x25519GenerateKeyPair(rng);
    const sending = kdfRootKey(version, receiving.rootKey, x25519SharedSecret(newRatchet.privateKey, ratchetKey));
    const walk = this.walkChain(receiving.chainKey, ratchetKey, 0, n);
    const { plaintext, nextChainKey } = this.open(walk.chainKey, true, message);

    if (s.receivingRatchetKey !== undefined && s.receivingChainKey !== undefined) {
      s.oldChains.push({ ratchetKey: s.receivingRatchetKey, nextN: Math.max(s.receivingCounter, pn) });
      if (s.oldChains.length > MAX_OLD_RECEIVING_CHAINS) s.oldChains.shift();
    }
    s.previousCounter = s.sendingCounter;
    s.sendingCounter = 0;
    s.receivingRatchetKey = ratchetKey.slice();
    s.receivingChainKey = nextChainKey!;
    s.receivingCounter = n + 1;
    s.rootKey = sending.rootKey;
    s.sendingRatchet = newRatchet;
    s.sendingChainKey = sending.chainKey;
    this.addSkipped(skipped.concat(walk.skipped));
    this.afterReceive();
    return plaintext;
  }

  /**
   * Derives the chain from `from` up to message `to`: the keys skipped on the way and the chain key of `to`
   * (whose KDF_CK step `open` runs together with the message's crypto).
   */
  private walkChain(chainKey: Uint8Array, ratchetKey: Uint8Array, from: number, to: number) {
    const skipped: SkippedKey[] = [];
    let ck = chainKey;
    for (let i = from; i < to; i++) {
      const step = kdfChainKey(ck);
      skipped.push({ ratchetKey, n: i, seed: step.seed });
      ck = step.next;
    }
    return { skipped, chainKey: ck };
  }

  /** Verifies and decrypts under a seed or (`chain`) a chain key (message-crypto.ts); throws without side effects. */
  private open(key: Uint8Array, chain: boolean, message: ParsedMessage): MessageOpened {
    return openRatchetMessage(this.state.version, key, chain, this.receivePrefix(), message);
  }

  private addSkipped(keys: SkippedKey[]): void {
    const map = this.state.skipped;
    for (const k of keys) map.set(skipId(k.ratchetKey, k.n), k);
    while (map.size > MAX_SKIPPED_KEYS_PER_SESSION) map.delete(map.keys().next().value as string);
  }

  private afterReceive(): void {
    this.state.pending = undefined;
    this.state.unanswered += 1;
  }
}
