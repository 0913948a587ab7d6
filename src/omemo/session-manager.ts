// The OMEMO session manager (XEP-0384 0.3.0 §4 and 0.9 §4–§6 for both versions at once): own identity,
// device lists, bundles and pre keys; encryption to every device of every recipient plus our own other
// devices; decryption with key exchanges, automatic empty messages and heartbeats; trust; catch-up.
// XMPP-library-agnostic: the host supplies an OmemoTransport and feeds in events and messages.
import { bytesEqual, createByteArena, toHex, utf8Decode, utf8Encode } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import type { Rng } from '../crypto/random';
import { randomBytes } from '../crypto/random';
import { cryptoReady } from '../crypto/sodium';
import { x25519GenerateKeyPair } from '../crypto/x25519';
import type { IdentityKeyPair } from '../protocol/identity-key';
import { generateIdentityKeyPair, identityFromPrivate, identityWireKey, remoteIdentityToCurve, signSignedPreKey } from '../protocol/identity-key';
import { Session, type SessionState } from '../protocol/session';
import { deserializeSession, serializeSession } from '../protocol/session-record';
import { parseKeyExchange, parseMessage } from '../protocol/wire';
import { MAX_KEYS_PER_MESSAGE, type EncryptedKey } from './stanzas/encrypted-element';
import { adoptIdentityKey, type IdentityChange } from './identity-trust';
import {
  checkConsumedPreKeyPolicy,
  checkPreKeyUse,
  DEFAULT_CONSUMED_PRE_KEY_POLICY,
  expiredPreKeys,
  markPreKeyUsed,
  type ConsumedPreKeyPolicy,
} from './pre-key-policy';
import { checkStaleDevicePolicy, DEFAULT_STALE_DEVICE_POLICY, isStale, type StaleDevicePolicy } from './stale-device';
import type { BundleData } from './stanzas/bundle';
import { MAX_DEVICES_PER_LIST } from './stanzas/device-list';
import { bareJid } from './stanzas/jid';
import { buildEnvelope, parseEnvelope, type ParsedEnvelope } from './stanzas/sce';
import { DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES } from './stanzas/stanza-size';
import { OMEMO_VERSIONS, type OmemoVersion, type ParsedEncrypted } from './versions/backend';
import {
  encryptedElementBytes,
  keyElementBytes,
  keysFor,
  openPayload,
  parseBundle,
  parseDeviceList,
  parseEncrypted,
  pepLocations,
  publishOptionsFor,
  sealPayload,
  serializeBundle,
  serializeDeviceList,
  serializeEncrypted,
} from './versions/by-version';
import type { OmemoStore, SessionAddress, StoreChanges, StoredDevice, StoredIdentity, StoredPreKey, StoredSignedPreKey, TrustLevel } from './store';
import { deviceKey, deviceListKey, sessionKey } from './store';
import type { AutomaticMessageKind, OmemoTransport } from './transport';
import { initialTrust, isTrusted, type TrustPolicy } from './trust';
import { MAX_ID } from './stanzas/wire-values';

/** Pre keys kept published (XEP-0384: at least 20 for 0.3, 25 for OMEMO 2; everyone uses 100). */
export const PRE_KEY_COUNT = 100;
/** Default signed pre key rotation period. */
export const SIGNED_PRE_KEY_ROTATION_MS = 7 * 24 * 3600 * 1000;
export { STALE_DEVICE_AFTER_MESSAGES, STALE_DEVICE_AFTER_DAYS } from './stale-device';
/** A receiving chain this long without our answer triggers an empty "heartbeat" message (XEP-0384 §4.6). */
export const HEARTBEAT_AFTER_MESSAGES = 53;
/** Default least time between two automatic repairs of the session with one device (ms): one hour. */
export const SESSION_REPAIR_INTERVAL_MS = 3600 * 1000;
/** Devices whose last repair time is remembered (bounded; the oldest are forgotten). */
const REPAIR_TRACKED_DEVICES = 10000;
/**
 * Failures of a normal message that a fresh session repairs: we hold no usable session for what the sender uses
 * (none, a corrupt record, a chain we cannot follow). `bad-mac` counts only for a message that opens a chain we do
 * not know (a device restored from a backup, a lost ratchet step): on a known chain it is a tampered message.
 */
const REPAIRABLE: ReadonlySet<string> = new Set(['no-session', 'sender-not-found', 'malformed-record', 'bad-mac', 'too-many-skipped']);
/** Parsed sessions kept in memory between calls (bounded; evicted oldest first). */
export const SESSION_CACHE_ENTRIES = 20000;
/** Largest buffer a fan-out cuts its messages and records from. */
const ARENA_CHUNK_MAX_BYTES = 65536;
/** Device lists (per version and JID) kept in memory by the manager. */
export const DEVICE_LIST_CACHE_ENTRIES = 20000;
/** Attempts at a random device id that is not in our published device lists. */
const DEVICE_ID_ATTEMPTS = 32;

/** Options of `OmemoManager.open`. */
export interface OmemoManagerOptions {
  /** Our bare JID. */
  jid: string;
  store: OmemoStore;
  transport: OmemoTransport;
  /** Enabled versions (default both). */
  versions?: OmemoVersion[];
  /** Trust policy for new devices (default 'btbv'). */
  trustPolicy?: TrustPolicy;
  /** Asked when a new device would start undecided; return a level to decide now. */
  onTrustDecision?: (device: DeviceInfo) => TrustLevel | undefined | Promise<TrustLevel | undefined>;
  /** Use this device id when creating a new identity (otherwise random, checked against our device lists). */
  deviceId?: number;
  /** OMEMO 2 device label. */
  label?: string;
  signedPreKeyRotationMs?: number;
  /** Publish device lists and bundles during `open` (default true). */
  publish?: boolean;
  /** Randomness (tests inject a seeded one). */
  rng?: Rng;
  /** Clock in ms since the epoch (tests inject one). */
  now?: () => number;
  /**
   * When a device that never answers is skipped (default: after 500 unanswered messages and 30 days of
   * silence; `false`: never). A skipped device is reported as `stale-device` in every send.
   */
  staleDevice?: StaleDevicePolicy;
  /**
   * How long used one-time pre keys are kept for contacts who fetched the same bundle (default: one day, at most
   * 100 keys; `{ keepMs: 0, maxKept: 0 }` deletes them at once). See README "Pre keys".
   */
  consumedPreKeys?: ConsumedPreKeyPolicy;
  /**
   * Automatic session repair: when a normal message cannot be decrypted because we have no usable session with
   * its sender (none, a corrupt record, a bad MAC), a fresh session is built from the sender's bundle and an
   * empty key-exchange message sent, at most once per `minIntervalMs` per device (default one hour). `false`
   * turns it off (`resetSession` still works).
   */
  repair?: { minIntervalMs: number } | false;
  /**
   * Largest `<encrypted>` element `encrypt` produces, in bytes (default DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES, which
   * fits Prosody's 256 KiB client stanza limit). A send that would exceed it fails with `stanza-too-large` before
   * anything is encrypted. `Infinity` disables the check.
   */
  maxElementBytes?: number;
}

/** Public facts about a device, as reported to callers. */
export interface DeviceInfo {
  jid: string;
  deviceId: number;
  activeIn: OmemoVersion[];
  label?: string;
  trust: TrustLevel;
  /** Hex of the Curve25519 identity key, once known. */
  fingerprint?: string;
  stale: boolean;
}

/** Per-device outcome of an encryption. */
export interface DeviceReport {
  jid: string;
  deviceId: number;
  version: OmemoVersion;
  ok: boolean;
  keyExchange?: boolean;
  /** Why the device was skipped (an OmemoError code, or 'stale-device'). */
  error?: string;
  message?: string;
  /** The device's bundle showed a new identity key (its trust is the new key's). */
  identityChanged?: IdentityChange;
}

/** One `<encrypted>` element produced by `encrypt`. */
export interface EncryptedElementOut {
  version: OmemoVersion;
  xml: string;
}

/** Result of `encrypt`. */
export interface EncryptResult {
  /** One element per version that had at least one recipient device. */
  elements: EncryptedElementOut[];
  /** Every device considered, with its outcome. */
  devices: DeviceReport[];
}

/** Options of `encrypt`. */
export interface EncryptOptions {
  /** Only this version (default: per device, OMEMO 2 where the device has it, else 0.3). */
  version?: OmemoVersion;
  /** OMEMO 2: wrap text in an SCE envelope (default true for strings). */
  sce?: boolean;
  /** Do not fail when a recipient has no usable device (default false: such a send throws). */
  partial?: boolean;
}

/** A message sent automatically while handling another. */
export interface AutomaticMessage {
  to: string;
  version: OmemoVersion;
  kind: AutomaticMessageKind;
  xml: string;
}

/** Result of `decrypt`. */
export interface DecryptResult {
  version: OmemoVersion;
  sender: { jid: string; deviceId: number };
  /** The decrypted payload bytes; undefined for an empty message (key transport, heartbeat). */
  payload: Uint8Array | undefined;
  /** The text: 0.3 the UTF-8 payload, OMEMO 2 the SCE `<body>` (or the UTF-8 payload without envelope). */
  text: string | undefined;
  /** The SCE envelope of an OMEMO 2 message, when there is one. */
  envelope?: ParsedEnvelope;
  /** True when the envelope's `<from>` matches the sender (OMEMO 2 with an envelope only). */
  envelopeFromMatches?: boolean;
  keyExchange: boolean;
  /**
   * Trust in the sender's identity key. Messages from `undecided` keys are returned (the caller decides how to
   * show them); `distrusted` ones are refused with `untrusted-device`. See README "Trust".
   */
  trust: TrustLevel;
  /** The sender's device shows a new identity key (a new fingerprint, with its own trust). */
  identityChanged?: IdentityChange;
  /**
   * OMEMO 2 only: the message had no `<payload>` although its key is not that of an empty message (32 zero bytes),
   * e.g. a payload stripped on the way. It is reported as empty and nothing was stored: the message keeps its
   * key, so the complete message, if it arrives (e.g. from the archive), still decrypts.
   */
  payloadMissing?: boolean;
  /** Messages sent automatically (session completion, heartbeat), already handed to the transport. */
  sent: AutomaticMessage[];
}

/** Our own key state as of a commit (records are replaced, never mutated, so a shallow copy suffices). */
interface OwnSnapshot {
  stored: StoredIdentity;
  signedPreKeys: StoredSignedPreKey[];
  preKeys: Map<number, StoredPreKey>;
  catchingUp: boolean;
}

interface OwnKeys {
  identity: IdentityKeyPair;
  stored: StoredIdentity;
  signedPreKeys: StoredSignedPreKey[];
  preKeys: Map<number, StoredPreKey>;
}

function storeError(cause: unknown): OmemoError {
  return cause instanceof OmemoError ? cause : new OmemoError('store-error', `store operation failed: ${String((cause as Error)?.message ?? cause)}`, { cause });
}

function transportError(what: string, cause: unknown): OmemoError {
  return new OmemoError('transport-error', `${what}: ${String((cause as Error)?.message ?? cause)}`, { cause });
}

/**
 * `fresh` as the current state, with `previous`'s states kept behind it (Session.withArchiveFrom): messages still
 * in flight on them decrypt, crossed key exchanges converge, and a device's old identity key keeps its session.
 */
function replaceSession(previous: Session | undefined, fresh: Session): Session {
  return previous === undefined ? fresh : fresh.withArchiveFrom(previous);
}

/** OMEMO 2 empty messages carry 32 zero bytes as key material (XEP-0384 0.9 §4.4). */
function isEmptyMessageKey(keyMaterial: Uint8Array): boolean {
  return keyMaterial.length === 32 && keyMaterial.every((b) => b === 0);
}

/**
 * The text of a decrypted payload: 0.3 the UTF-8 payload, OMEMO 2 the SCE `<body>` (or the UTF-8 payload without an
 * envelope). Never throws: whatever a sender put there, the message has been decrypted.
 */
function readPayload(version: OmemoVersion, payload: Uint8Array | undefined, from: string): { text: string | undefined; envelope: ParsedEnvelope | undefined; envelopeFromMatches: boolean } {
  if (payload === undefined) return { text: undefined, envelope: undefined, envelopeFromMatches: false };
  let decoded: string | undefined;
  try {
    decoded = utf8Decode(payload);
  } catch {
    return { text: undefined, envelope: undefined, envelopeFromMatches: false };
  }
  let envelope: ParsedEnvelope | undefined;
  if (version === 'twomemo') {
    try {
      envelope = parseEnvelope(decoded);
    } catch {
      envelope = undefined;
    }
  }
  let envelopeFromMatches = false;
  if (envelope !== undefined) {
    try {
      envelopeFromMatches = envelope.from === undefined || bareJid(envelope.from) === from;
    } catch {
      envelopeFromMatches = false; // an empty or oversized JID is no match
    }
  }
  return { text: envelope ? envelope.body : decoded, envelope, envelopeFromMatches };
}

function randomId(rng: Rng): number {
  for (;;) {
    const b = rng(4);
    const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) & MAX_ID;
    if (v !== 0) return v;
  }
}

/**
 * The OMEMO session manager: one account, one device, both protocol versions.
 * All operations are serialized internally, so concurrent calls never race on a session.
 */
export class OmemoManager {
  readonly jid: string;
  readonly versions: readonly OmemoVersion[];
  private readonly store: OmemoStore;
  private readonly transport: OmemoTransport;
  private readonly trustPolicy: TrustPolicy;
  private readonly onTrustDecision: OmemoManagerOptions['onTrustDecision'];
  private readonly rng: Rng;
  private readonly now: () => number;
  private readonly rotationMs: number;
  private readonly stalePolicy: StaleDevicePolicy;
  private readonly preKeyPolicy: ConsumedPreKeyPolicy;
  /** Least time between automatic repairs per device; undefined when repair is off. */
  private readonly repairIntervalMs: number | undefined;
  private readonly maxElementBytes: number;
  /** Time of the last automatic repair per session key (bounded by REPAIR_TRACKED_DEVICES). */
  private readonly lastRepair = new Map<string, number>();
  private own!: OwnKeys;
  private readonly sessions = new Map<string, Session>();
  private readonly listCache = new Map<string, readonly number[] | undefined>();
  private queue: Promise<unknown> = Promise.resolve();
  private catchingUp = false;
  private committed: OwnSnapshot | undefined;

  private constructor(options: OmemoManagerOptions) {
    this.jid = bareJid(options.jid);
    this.store = options.store;
    this.transport = options.transport;
    this.versions = options.versions?.length ? [...new Set(options.versions)] : [...OMEMO_VERSIONS];
    for (const v of this.versions) if (!OMEMO_VERSIONS.includes(v)) throw new TypeError(`unknown OMEMO version ${JSON.stringify(v)}`);
    this.trustPolicy = options.trustPolicy ?? 'btbv';
    if (!['btbv', 'blind', 'manual'].includes(this.trustPolicy)) throw new TypeError(`unknown trust policy ${JSON.stringify(this.trustPolicy)}`);
    this.onTrustDecision = options.onTrustDecision;
    this.rng = options.rng ?? randomBytes;
    this.now = options.now ?? Date.now;
    this.rotationMs = options.signedPreKeyRotationMs ?? SIGNED_PRE_KEY_ROTATION_MS;
    this.stalePolicy = options.staleDevice === undefined ? DEFAULT_STALE_DEVICE_POLICY : checkStaleDevicePolicy(options.staleDevice);
    this.preKeyPolicy = options.consumedPreKeys === undefined ? DEFAULT_CONSUMED_PRE_KEY_POLICY : checkConsumedPreKeyPolicy(options.consumedPreKeys);
    const repair = options.repair ?? { minIntervalMs: SESSION_REPAIR_INTERVAL_MS };
    if (repair !== false && (typeof repair !== 'object' || !(repair.minIntervalMs >= 0))) throw new RangeError('repair must be false or { minIntervalMs ≥ 0 }');
    this.repairIntervalMs = repair === false ? undefined : repair.minIntervalMs;
    this.maxElementBytes = options.maxElementBytes ?? DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES;
    if (!(this.maxElementBytes > 0)) throw new RangeError(`maxElementBytes must be a positive number, got ${String(options.maxElementBytes)}`);
  }

  /**
   * Loads (or creates) the identity, device id and keys from the store, rotates the signed pre key if due
   * and, unless `publish: false`, publishes our device lists and bundles.
   * @throws OmemoError `store-owner-mismatch` when the store belongs to another JID; `store-error`,
   *   `transport-error`.
   */
  static async open(options: OmemoManagerOptions): Promise<OmemoManager> {
    await cryptoReady();
    const m = new OmemoManager(options);
    await m.load(options);
    if (options.publish !== false) await m.publish();
    return m;
  }

  /** Our device id. */
  get deviceId(): number {
    return this.own.stored.deviceId;
  }

  /** Hex fingerprint of our identity key (Curve25519 form), identical for both versions. */
  get fingerprint(): string {
    return toHex(this.own.identity.publicKey);
  }

  /** True between `startCatchUp()` and `endCatchUp()`. */
  get isCatchingUp(): boolean {
    return this.catchingUp;
  }

  /**
   * Runs one operation at a time. Our own keys are changed in memory before the commit that stores them, so
   * an operation that fails puts them back as they were at its last successful commit.
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const guarded = async () => {
      this.committed = this.snapshotOwn();
      try {
        return await fn();
      } catch (e) {
        this.restoreOwn(this.committed);
        throw e;
      }
    };
    const run = this.queue.then(guarded, guarded);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private snapshotOwn(): OwnSnapshot {
    return { stored: this.own.stored, signedPreKeys: [...this.own.signedPreKeys], preKeys: new Map(this.own.preKeys), catchingUp: this.catchingUp };
  }

  private restoreOwn(s: OwnSnapshot): void {
    this.own.stored = s.stored;
    this.own.signedPreKeys = s.signedPreKeys;
    this.own.preKeys = s.preKeys;
    this.catchingUp = s.catchingUp;
  }

  private async commit(changes: StoreChanges, touched: readonly string[] = []): Promise<void> {
    try {
      await this.store.commit(changes);
      for (const l of changes.putDeviceLists ?? []) this.cacheList(deviceListKey(l.version, l.jid), l.deviceIds);
      if (this.own !== undefined) this.committed = this.snapshotOwn();
    } catch (cause) {
      // Sessions in the cache may have advanced for this commit: forget them, the store is the truth.
      for (const k of touched) this.sessions.delete(k);
      throw storeError(cause);
    }
  }

  private async load(options: OmemoManagerOptions): Promise<void> {
    let stored: StoredIdentity | undefined;
    let signedPreKeys: StoredSignedPreKey[];
    let preKeys: StoredPreKey[];
    try {
      stored = await this.store.loadIdentity();
      signedPreKeys = await this.store.loadSignedPreKeys();
      preKeys = await this.store.loadPreKeys();
    } catch (cause) {
      throw storeError(cause);
    }
    if (stored !== undefined) {
      if (stored.jid !== this.jid) throw new OmemoError('store-owner-mismatch', `this store belongs to ${stored.jid}, not ${this.jid}`);
      this.own = { identity: identityFromPrivate(stored.identityPrivateKey), stored, signedPreKeys, preKeys: new Map(preKeys.map((k) => [k.id, k])) };
      const changes: StoreChanges = {};
      this.pruneUsedPreKeys(changes);
      this.refillPreKeys(changes);
      this.rotateSignedPreKeyIfDue(changes, false);
      if (changes.putPreKeys?.length || changes.putSignedPreKeys?.length || changes.deletePreKeys?.length) await this.commit(changes);
      return;
    }
    const deviceId = options.deviceId ?? (await this.pickDeviceId());
    const identity = generateIdentityKeyPair(this.rng);
    this.own = {
      identity,
      stored: { jid: this.jid, deviceId, identityPrivateKey: identity.privateKey, nextPreKeyId: 1, nextSignedPreKeyId: 1, ...(options.label ? { label: options.label } : {}) },
      signedPreKeys: [],
      preKeys: new Map(),
    };
    const changes: StoreChanges = {};
    this.rotateSignedPreKeyIfDue(changes, true);
    this.refillPreKeys(changes);
    await this.commit(changes);
  }

  /** A random device id not present in our published device lists (XEP-0384 §4.1). */
  private async pickDeviceId(): Promise<number> {
    const taken = new Set<number>();
    for (const v of this.versions) {
      for (const id of (await this.fetchDeviceList(this.jid, v)) ?? []) taken.add(id);
    }
    for (let i = 0; i < DEVICE_ID_ATTEMPTS; i++) {
      const id = randomId(this.rng);
      if (!taken.has(id)) return id;
    }
    throw new RangeError('could not pick a free device id');
  }

  private refillPreKeys(changes: StoreChanges): void {
    const live = [...this.own.preKeys.values()].filter((k) => !k.consumed).length;
    if (live >= PRE_KEY_COUNT) return;
    const fresh: StoredPreKey[] = [];
    for (let i = live; i < PRE_KEY_COUNT; i++) {
      const kp = x25519GenerateKeyPair(this.rng, { usedSoon: false });
      const k: StoredPreKey = { id: this.own.stored.nextPreKeyId, privateKey: kp.privateKey, publicKey: kp.publicKey, consumed: false };
      this.own.stored = { ...this.own.stored, nextPreKeyId: this.own.stored.nextPreKeyId + 1 };
      this.own.preKeys.set(k.id, k);
      fresh.push(k);
    }
    changes.putPreKeys = [...(changes.putPreKeys ?? []), ...fresh];
    changes.identity = this.own.stored;
  }

  private rotateSignedPreKeyIfDue(changes: StoreChanges, force: boolean): boolean {
    const now = this.now();
    const newest = this.own.signedPreKeys.reduce<StoredSignedPreKey | undefined>((a, k) => (a === undefined || k.id > a.id ? k : a), undefined);
    if (!force && newest !== undefined && now - newest.createdAt < this.rotationMs) return false;
    const kp = x25519GenerateKeyPair(this.rng);
    const spk: StoredSignedPreKey = {
      id: this.own.stored.nextSignedPreKeyId,
      privateKey: kp.privateKey,
      publicKey: kp.publicKey,
      signatures: {
        oldmemo: signSignedPreKey(this.own.identity, 'oldmemo', kp.publicKey, this.rng),
        twomemo: signSignedPreKey(this.own.identity, 'twomemo', kp.publicKey, this.rng),
      },
      createdAt: now,
    };
    this.own.stored = { ...this.own.stored, nextSignedPreKeyId: spk.id + 1 };
    // Keep the previous key one more period for key exchanges still in flight; drop anything older.
    const keep = newest === undefined ? [] : [newest];
    const drop = this.own.signedPreKeys.filter((k) => !keep.includes(k)).map((k) => k.id);
    this.own.signedPreKeys = [...keep, spk];
    changes.putSignedPreKeys = [...(changes.putSignedPreKeys ?? []), spk];
    changes.deleteSignedPreKeys = [...(changes.deleteSignedPreKeys ?? []), ...drop];
    changes.identity = this.own.stored;
    return true;
  }

  private currentSignedPreKey(): StoredSignedPreKey {
    return this.own.signedPreKeys.reduce((a, k) => (k.id > a.id ? k : a));
  }

  /** Our bundle for a version, as published. */
  bundleXml(version: OmemoVersion): string {
    this.checkVersion(version);
    return serializeBundle(this.bundleData(version), version);
  }

  private bundleData(version: OmemoVersion): BundleData {
    const spk = this.currentSignedPreKey();
    return {
      signedPreKeyId: spk.id,
      signedPreKey: spk.publicKey,
      signedPreKeySignature: spk.signatures[version],
      identityKey: identityWireKey(this.own.identity, version),
      preKeys: [...this.own.preKeys.values()].filter((k) => !k.consumed).map((k) => ({ id: k.id, publicKey: k.publicKey })),
    };
  }

  /**
   * Our device list for a version containing at least our device, merged with what we know is published.
   * Queued with the other operations (it may fill the list cache), so it sees every update called before it.
   */
  async deviceListXml(version: OmemoVersion): Promise<string> {
    this.checkVersion(version);
    return this.exclusive(async () => this.ownDeviceListXml(version, (await this.loadList(version, this.jid)) ?? []));
  }

  /** Our device list with our device (and its OMEMO 2 label) added to `published`. */
  private ownDeviceListXml(version: OmemoVersion, published: readonly number[]): string {
    const ids = published.includes(this.deviceId) ? published : [...published, this.deviceId];
    const label = version === 'twomemo' ? this.own.stored.label : undefined;
    return serializeDeviceList(ids.map((id) => (id === this.deviceId && label ? { id, label } : { id })), version);
  }

  private checkVersion(version: OmemoVersion): void {
    if (!this.versions.includes(version)) throw new TypeError(`OMEMO version ${JSON.stringify(version)} is not enabled`);
  }

  /**
   * A device list from the cache or the store. The manager is the only writer of its store (one account per
   * store), and every write goes through `commit`, which refreshes the cache: a fan-out to 1000 accounts then
   * reads no list from the store. Callers must not modify the returned array.
   */
  private async loadList(version: OmemoVersion, jid: string): Promise<readonly number[] | undefined> {
    const key = deviceListKey(version, jid);
    if (this.listCache.has(key)) return this.listCache.get(key);
    let ids: number[] | undefined;
    try {
      ids = await this.store.loadDeviceList(version, jid);
    } catch (cause) {
      throw storeError(cause);
    }
    this.cacheList(key, ids);
    return ids;
  }

  private cacheList(key: string, ids: readonly number[] | undefined): void {
    this.listCache.delete(key);
    this.listCache.set(key, ids === undefined ? undefined : Object.freeze([...ids]));
    while (this.listCache.size > DEVICE_LIST_CACHE_ENTRIES) this.listCache.delete(this.listCache.keys().next().value as string);
  }

  /**
   * Publishes, for every enabled version, our bundle and (if our device is missing from it) our device list,
   * after fetching the current list so no other device is dropped.
   * @throws OmemoError `transport-error`, `store-error`.
   */
  publish(): Promise<void> {
    return this.exclusive(async () => {
      const changes: StoreChanges = { putDeviceLists: [] };
      for (const version of this.versions) {
        const published = (await this.fetchDeviceList(this.jid, version)) ?? [];
        await this.publishBundle(version);
        const ids = published.includes(this.deviceId) ? published : await this.announce(version, published);
        changes.putDeviceLists!.push({ version, jid: this.jid, deviceIds: ids });
      }
      await this.commit(changes);
    });
  }

  private async publishBundle(version: OmemoVersion): Promise<void> {
    const loc = pepLocations(version, this.deviceId);
    try {
      await this.transport.publish(loc.bundleNode, loc.bundleItemId, this.bundleXml(version), publishOptionsFor(version, 'bundle'));
    } catch (cause) {
      throw transportError(`publishing the ${version} bundle failed`, cause);
    }
  }

  /** Publishes our device list with our device added; returns the ids published. */
  private async announce(version: OmemoVersion, published: number[]): Promise<number[]> {
    const ids = published.includes(this.deviceId) ? published : [...published, this.deviceId];
    const loc = pepLocations(version, this.deviceId);
    const xml = this.ownDeviceListXml(version, ids);
    try {
      await this.transport.publish(loc.deviceListNode, loc.deviceListItemId, xml, publishOptionsFor(version, 'devicelist'));
    } catch (cause) {
      throw transportError(`publishing the ${version} device list failed`, cause);
    }
    return ids;
  }

  private async fetchDeviceList(jid: string, version: OmemoVersion): Promise<number[] | undefined> {
    const loc = pepLocations(version, 1);
    let xml: string | undefined;
    try {
      xml = await this.transport.fetch(jid, loc.deviceListNode);
    } catch (cause) {
      throw transportError(`fetching the ${version} device list of ${jid} failed`, cause);
    }
    if (xml === undefined) return undefined;
    return parseDeviceList(xml, version).map((d) => d.id);
  }

  /**
   * Feeds a device list received from PEP (a `+notify` event or a fetch). Updates the known devices of
   * `jid`; for our own JID, re-announces our device when the list lacks it (XEP-0384 §4.2).
   * @throws OmemoError `malformed-stanza` for a bad list; `store-error`, `transport-error`.
   */
  onDeviceListUpdate(jid: string, version: OmemoVersion, xml: string): Promise<void> {
    return this.setDeviceList(jid, version, parseDeviceList(xml, version));
  }

  /**
   * Sets the device list of `jid` for a version, as `onDeviceListUpdate` does for a parsed list (the typed
   * form of the seed's `set_devices` / `set_own_devices`).
   * @throws OmemoError `store-error`, `transport-error`.
   */
  setDeviceList(jid: string, version: OmemoVersion, devices: readonly (number | { id: number; label?: string })[]): Promise<void> {
    const entries = devices.map((d) => (typeof d === 'number' ? { id: d } : d));
    for (const e of entries) if (!Number.isInteger(e.id) || e.id < 1 || e.id > MAX_ID) throw new RangeError(`device id must be in 1..${MAX_ID}, got ${e.id}`);
    return this.exclusive(async () => {
      this.checkVersion(version);
      const bare = bareJid(jid);
      const changes: StoreChanges = {};
      await this.recordDeviceList(bare, version, entries, changes);
      await this.commit(changes);
      if (bare === this.jid && !entries.some((e) => e.id === this.deviceId)) {
        // XEP-0384 §4.2: another client dropped us from our own list; put ourselves back.
        const ids = await this.announce(version, entries.map((e) => e.id));
        await this.commit({ putDeviceLists: [{ version, jid: bare, deviceIds: ids }] });
      }
    });
  }

  private async recordDeviceList(jid: string, version: OmemoVersion, entries: { id: number; label?: string }[], changes: StoreChanges): Promise<void> {
    const ids = entries.map((e) => e.id).slice(0, MAX_DEVICES_PER_LIST);
    (changes.putDeviceLists ??= []).push({ version, jid, deviceIds: ids });
    const known = await this.loadDevicesOf([jid]);
    const byId = new Map(known.map((d) => [d.deviceId, d]));
    const puts: StoredDevice[] = [];
    for (const d of known) {
      const entry = entries.find((e) => e.id === d.deviceId);
      const listed = ids.includes(d.deviceId);
      const active = d.activeIn.includes(version);
      // Only OMEMO 2 lists carry labels: there a device's label follows its list entry (set, changed, removed).
      const relabel = version === 'twomemo' && entry !== undefined && entry.label !== d.label;
      if (listed === active && !relabel) continue;
      const updated: StoredDevice = { ...d, activeIn: listed === active ? d.activeIn : listed ? [...d.activeIn, version] : d.activeIn.filter((v) => v !== version) };
      if (relabel) {
        if (entry.label === undefined) delete updated.label;
        else updated.label = entry.label;
      }
      puts.push(updated);
    }
    for (const e of entries) {
      if (byId.has(e.id) || (jid === this.jid && e.id === this.deviceId)) continue;
      const dev = await this.newDevice(jid, e.id, [...known, ...puts]);
      dev.activeIn = [version];
      if (e.label !== undefined) dev.label = e.label;
      puts.push(dev);
      byId.set(e.id, dev);
    }
    (changes.putDevices ??= []).push(...puts);
  }

  private async loadDevicesOf(jids: readonly string[]): Promise<StoredDevice[]> {
    try {
      return await this.store.loadDevices(jids);
    } catch (cause) {
      throw storeError(cause);
    }
  }

  private async newDevice(jid: string, deviceId: number, others: readonly StoredDevice[]): Promise<StoredDevice> {
    const device: StoredDevice = {
      jid,
      deviceId,
      activeIn: [],
      trust: initialTrust(this.trustPolicy, others.filter((d) => d.jid === jid)),
      sentSinceLastReceived: 0,
      lastReceivedAt: 0,
    };
    if (device.trust === 'undecided') device.trust = await this.decideTrust(device);
    return device;
  }

  private info(d: StoredDevice): DeviceInfo {
    return {
      jid: d.jid,
      deviceId: d.deviceId,
      activeIn: [...d.activeIn],
      ...(d.label !== undefined ? { label: d.label } : {}),
      trust: d.trust,
      ...(d.identityKey !== undefined ? { fingerprint: toHex(d.identityKey) } : {}),
      stale: isStale(d, this.stalePolicy, this.now()),
    };
  }

  /** The known devices of a JID (our own JID lists our other devices, not this one). */
  async devices(jid: string): Promise<DeviceInfo[]> {
    const bare = bareJid(jid);
    return (await this.loadDevicesOf([bare])).filter((d) => !(bare === this.jid && d.deviceId === this.deviceId)).map((d) => this.info(d));
  }

  /**
   * Records a trust decision for the current identity key of a device (e.g. after comparing fingerprints). Trust
   * belongs to a key: should the device show another key later, that key starts from the policy's initial trust.
   * @param options.fingerprint the fingerprint the decision is about (hex, as `DeviceInfo.fingerprint`): the call
   *   fails instead of trusting a key that changed since the user compared it.
   * @throws OmemoError `sender-not-found` when the device is unknown; `untrusted-device` when `fingerprint` is
   *   not the device's current key.
   */
  setTrust(jid: string, deviceId: number, level: TrustLevel, options: { fingerprint?: string } = {}): Promise<void> {
    return this.exclusive(async () => {
      if (!['undecided', 'blind', 'verified', 'distrusted'].includes(level)) throw new TypeError(`unknown trust level ${JSON.stringify(level)}`);
      const bare = bareJid(jid);
      const device = (await this.loadDevicesOf([bare])).find((d) => d.deviceId === deviceId);
      if (device === undefined) throw new OmemoError('sender-not-found', `unknown device ${deviceId} of ${bare}`);
      const current = device.identityKey === undefined ? undefined : toHex(device.identityKey);
      if (options.fingerprint !== undefined && options.fingerprint.toLowerCase() !== current) {
        throw new OmemoError('untrusted-device', `${bare}/${deviceId} has identity key ${current ?? '(unknown)'}, not ${options.fingerprint}`);
      }
      await this.commit({ putDevices: [{ ...device, trust: level }] });
    });
  }

  /**
   * Sessions of `addresses` from the cache or one batched store read. A record that does not load is listed in
   * `broken` (and is no session): one corrupt record must not stop a fan-out or a key exchange replacing it.
   */
  private async sessionsFor(addresses: SessionAddress[]): Promise<{ sessions: Map<string, Session>; broken: Set<string> }> {
    const out = new Map<string, Session>();
    const broken = new Set<string>();
    const missing: SessionAddress[] = [];
    for (const a of addresses) {
      const k = sessionKey(a);
      const s = this.sessions.get(k);
      if (s !== undefined) out.set(k, s);
      else missing.push(a);
    }
    if (missing.length > 0) {
      let records: Map<string, Uint8Array>;
      try {
        records = await this.store.loadSessions(missing);
      } catch (cause) {
        throw storeError(cause);
      }
      for (const [k, r] of records) {
        let s: Session;
        try {
          s = deserializeSession(r);
        } catch (e) {
          if (!(e instanceof OmemoError)) throw e;
          broken.add(k);
          continue;
        }
        this.cacheSession(k, s);
        out.set(k, s);
      }
    }
    return { sessions: out, broken };
  }

  private cacheSession(key: string, session: Session): void {
    this.sessions.delete(key);
    this.sessions.set(key, session);
    while (this.sessions.size > SESSION_CACHE_ENTRIES) this.sessions.delete(this.sessions.keys().next().value as string);
  }

  private async fetchBundle(jid: string, deviceId: number, version: OmemoVersion): Promise<BundleData> {
    const loc = pepLocations(version, deviceId);
    let xml: string | undefined;
    try {
      xml = await this.transport.fetch(jid, loc.bundleNode, loc.bundleItemId);
    } catch (cause) {
      throw new OmemoError('bundle-unavailable', `fetching the ${version} bundle of ${jid}/${deviceId} failed`, { cause });
    }
    if (xml === undefined) throw new OmemoError('bundle-unavailable', `${jid}/${deviceId} has no ${version} bundle`);
    return parseBundle(xml, version);
  }

  /**
   * Builds a session with a device from its bundle (fetched now) without sending anything. An existing session is
   * replaced (its states are kept for messages still in flight).
   * @throws OmemoError `bundle-unavailable`, `invalid-signature`, `malformed-stanza`, `untrusted-device` (the
   *   bundle shows a new identity key that is not trusted; the device's new key is recorded).
   */
  buildSession(jid: string, deviceId: number, version: OmemoVersion): Promise<void> {
    return this.exclusive(async () => {
      this.checkVersion(version);
      const bare = bareJid(jid);
      const others = await this.loadDevicesOf([bare]);
      const device = others.find((d) => d.deviceId === deviceId) ?? (await this.newDevice(bare, deviceId, others));
      const address = { version, jid: bare, deviceId };
      const k = sessionKey(address);
      const previous = (await this.sessionsFor([address])).sessions.get(k);
      const built = await this.initiate(address, device, others);
      if (!isTrusted(built.device.trust)) {
        await this.commit({ putDevices: [built.device] });
        throw new OmemoError('untrusted-device', `${bare}/${deviceId}: trust in its identity key is ${built.device.trust}`);
      }
      const session = replaceSession(previous?.clone(), built.session);
      await this.commit({ putSessions: [{ address, record: serializeSession(session) }], putDevices: [built.device] }, [k]);
      this.cacheSession(k, session);
    });
  }

  /**
   * A new session (X3DH as initiator) from the device's current bundle. The bundle's signature is verified before
   * anything else; then its identity key becomes the device's (a new key starts with its own trust, reported as
   * `change`). The caller checks the returned device's trust before using the session.
   */
  private async initiate(address: SessionAddress, device: StoredDevice, devicesOfJid: readonly StoredDevice[]): Promise<{ session: Session; device: StoredDevice; change: IdentityChange | undefined }> {
    const bundle = await this.fetchBundle(address.jid, address.deviceId, address.version);
    const pick = bundle.preKeys[this.rng(4).reduce((a, b) => a * 256 + b, 0) % bundle.preKeys.length]!;
    const session = Session.initiate(address.version, this.own.identity, { ...bundle, preKeyId: pick.id, preKey: pick.publicKey }, this.rng);
    const curve = remoteIdentityToCurve(address.version, bundle.identityKey);
    const adopted = adoptIdentityKey(device, curve, () => initialTrust(this.trustPolicy, devicesOfJid));
    let updated = adopted.device;
    if (adopted.change !== undefined && updated.trust === 'undecided') updated = { ...updated, trust: await this.decideTrust(updated) };
    return { session, device: updated, change: adopted.change && { ...adopted.change, trust: updated.trust } };
  }

  /**
   * Encrypts a message to every known device of every recipient and to our own other devices, building
   * missing sessions from freshly fetched bundles. One unusable device does not fail the others: each is
   * reported in `devices`. Strings become the body (OMEMO 2: inside an SCE envelope); bytes are sent as is.
   * @throws OmemoError `no-eligible-devices` when a recipient has no usable device (unless `partial`);
   *   `store-error`, `transport-error`.
   */
  encrypt(to: readonly string[], message: string | Uint8Array, options: EncryptOptions = {}): Promise<EncryptResult> {
    if (typeof message !== 'string' && !(message instanceof Uint8Array)) throw new TypeError('message must be a string or a Uint8Array');
    return this.exclusive(() => this.encryptLocked(to, message, options));
  }

  /**
   * Encrypts an empty OMEMO message (no payload: key transport / session refresh) to the given recipients.
   * Same contract as `encrypt`.
   */
  encryptEmpty(to: readonly string[], options: EncryptOptions = {}): Promise<EncryptResult> {
    return this.exclusive(() => this.encryptLocked(to, undefined, options));
  }

  private async encryptLocked(to: readonly string[], message: string | Uint8Array | undefined, options: EncryptOptions): Promise<EncryptResult> {
    if (!Array.isArray(to)) throw new TypeError('to must be an array of JIDs');
    if (options.version !== undefined) this.checkVersion(options.version);
    const recipients = [...new Set(to.map(bareJid))];
    const jids = [...new Set([...recipients, this.jid])];
    const versions = options.version ? [options.version] : [...this.versions];
    const changes: StoreChanges = { putDevices: [], putSessions: [] };

    // Device lists: fetched once for JIDs we have never seen, then kept up to date by PEP events.
    // Cached lists are taken synchronously; only the others cost a store read (and maybe a fetch).
    const lists = new Map<string, readonly number[]>();
    const uncached: { version: OmemoVersion; jid: string }[] = [];
    for (const jid of jids) {
      for (const version of versions) {
        const key = deviceListKey(version, jid);
        const ids = this.listCache.get(key);
        if (ids !== undefined || (jid === this.jid && this.listCache.has(key))) lists.set(key, ids ?? []);
        else uncached.push({ version, jid });
      }
    }
    await Promise.all(
      uncached.map(async ({ version, jid }) => {
        let ids: readonly number[] | undefined = await this.loadList(version, jid);
        if (ids === undefined && jid !== this.jid) {
          let fetched: number[] | undefined;
          try {
            fetched = await this.fetchDeviceList(jid, version);
          } catch {
            fetched = undefined;
          }
          if (fetched !== undefined) (changes.putDeviceLists ??= []).push({ version, jid, deviceIds: fetched });
          ids = fetched;
        }
        lists.set(deviceListKey(version, jid), ids ?? []);
      }),
    );

    const known = await this.loadDevicesOf(jids);
    const now = this.now();
    const devices = new Map(known.map((d) => [deviceKey(d.jid, d.deviceId), d]));
    const reports: DeviceReport[] = [];
    const targets: { address: SessionAddress; device: StoredDevice }[] = [];
    // Prefer OMEMO 2 for a device listed in both versions: one key per device.
    const preference = [...versions].sort((a, b) => (a === 'twomemo' ? -1 : b === 'twomemo' ? 1 : 0));
    const devicesOf = new Map<string, StoredDevice[]>();
    for (const d of known) {
      const list = devicesOf.get(d.jid);
      if (list === undefined) devicesOf.set(d.jid, [d]);
      else list.push(d);
    }
    for (const jid of jids) {
      const chosen = new Map<number, OmemoVersion>();
      for (const version of preference) {
        for (const id of lists.get(deviceListKey(version, jid)) ?? []) {
          if (jid === this.jid && id === this.deviceId) continue;
          if (!chosen.has(id)) chosen.set(id, version);
        }
      }
      for (const [deviceId, version] of chosen) {
        let device = devices.get(deviceKey(jid, deviceId));
        if (device === undefined) {
          const sameJid = devicesOf.get(jid) ?? [];
          device = await this.newDevice(jid, deviceId, sameJid);
          device.activeIn = versions.filter((v) => (lists.get(deviceListKey(v, jid)) ?? []).includes(deviceId));
          devices.set(deviceKey(jid, deviceId), device);
          devicesOf.set(jid, [...sameJid, device]);
          changes.putDevices!.push(device);
        }
        if (!isTrusted(device.trust)) {
          reports.push({ jid, deviceId, version, ok: false, error: 'untrusted-device', message: `trust is ${device.trust}` });
          continue;
        }
        if (isStale(device, this.stalePolicy, now)) {
          const silent = `${device.sentSinceLastReceived} messages without an answer since ${new Date(device.lastReceivedAt || device.unansweredSince || now).toISOString()}`;
          reports.push({ jid, deviceId, version, ok: false, error: 'stale-device', message: silent });
          continue;
        }
        targets.push({ address: { version, jid, deviceId }, device });
      }
    }

    // Sessions: one batched read; missing ones are built from bundles fetched concurrently. A corrupt record is
    // reported for its device alone, and repaired after the send.
    const { sessions, broken } = await this.sessionsFor(targets.map((t) => t.address));
    const ready: { address: SessionAddress; key: string; device: StoredDevice; session: Session; change?: IdentityChange }[] = [];
    const unbuilt: typeof targets = [];
    const repairs: SessionAddress[] = [];
    for (const t of targets) {
      const key = sessionKey(t.address);
      const existing = sessions.get(key);
      if (existing !== undefined) ready.push({ address: t.address, key, device: t.device, session: existing });
      else if (broken.has(key)) {
        const { jid, deviceId, version } = t.address;
        reports.push({ jid, deviceId, version, ok: false, error: 'malformed-record', message: 'the stored session does not load; a new one is offered' });
        repairs.push(t.address);
      } else unbuilt.push(t);
    }
    await Promise.all(
      unbuilt.map(async (t) => {
        const { jid, deviceId, version } = t.address;
        try {
          const built = await this.initiate(t.address, t.device, devicesOf.get(jid) ?? []);
          if (!isTrusted(built.device.trust)) {
            changes.putDevices!.push(built.device); // its new key is recorded, for the user to decide
            const message = `trust in its ${built.change ? 'new ' : ''}identity key is ${built.device.trust}`;
            reports.push({ jid, deviceId, version, ok: false, error: 'untrusted-device', message, ...(built.change ? { identityChanged: built.change } : {}) });
            return;
          }
          ready.push({ address: t.address, key: sessionKey(t.address), device: built.device, session: built.session, ...(built.change ? { change: built.change } : {}) });
        } catch (e) {
          const code = e instanceof OmemoError ? e.code : 'bundle-unavailable';
          reports.push({ jid, deviceId, version, ok: false, error: code, message: (e as Error).message });
        }
      }),
    );
    try {
      return await this.encryptReady(ready, reports, changes, recipients, message, options, versions);
    } finally {
      for (const a of repairs) await this.repairAfterFailure(a);
    }
  }

  /**
   * The hot path of `encrypt`: the size limits checked, then one batched ratchet step per version over every
   * device (no promise per device), one commit. Nothing is encrypted when a limit is exceeded.
   */
  private async encryptReady(
    ready: { address: SessionAddress; key: string; device: StoredDevice; session: Session; change?: IdentityChange }[],
    reports: DeviceReport[],
    changes: StoreChanges,
    recipients: string[],
    message: string | Uint8Array | undefined,
    options: EncryptOptions,
    versions: readonly OmemoVersion[],
  ): Promise<EncryptResult> {
    const groups = new Map<OmemoVersion, { group: typeof ready; plaintext: Uint8Array | undefined }>();
    for (const version of versions) {
      const group = ready.filter((r) => r.address.version === version);
      if (group.length === 0) continue;
      const plaintext = this.payloadBytes(version, message, recipients, options);
      this.checkElementSize(version, group, plaintext);
      groups.set(version, { group, plaintext });
    }
    const byVersion = new Map<OmemoVersion, { sealed: ReturnType<typeof sealPayload>; keys: EncryptedKey[] }>();
    const touched: string[] = [];
    const now = this.now();
    for (const [version, { group, plaintext }] of groups) {
      const sealed = sealPayload(version, plaintext, this.rng);
      const keys: EncryptedKey[] = [];
      byVersion.set(version, { sealed, keys });
      // The messages of a fan-out come out of shared buffers (see createByteArena), ~130 B each; nothing keeps
      // them once they are in the XML. Records get their own arrays: a store may keep what it is given.
      const arena = createByteArena(Math.min(ARENA_CHUNK_MAX_BYTES, 160 * group.length));
      const results = Session.encryptMany(
        group.map((r) => r.session),
        sealed.keyMaterial,
        arena,
      );
      results.forEach((out, i) => {
        const r = group[i]!;
        const { jid, deviceId } = r.address;
        const k = r.key;
        if (out instanceof OmemoError) {
          this.sessions.delete(k);
          reports.push({ jid, deviceId, version, ok: false, error: out.code, message: out.message });
          return;
        }
        // Plain literals, no spreads: this runs once per device of a fan-out.
        keys.push(version === 'twomemo' ? { jid, rid: deviceId, keyExchange: out.keyExchange, data: out.data } : { rid: deviceId, keyExchange: out.keyExchange, data: out.data });
        this.cacheSession(k, r.session);
        touched.push(k);
        changes.putSessions!.push({ address: r.address, record: serializeSession(r.session) });
        const d = r.device; // our own copy from loadDevices/newDevice
        if (d.sentSinceLastReceived === 0) d.unansweredSince = now;
        d.sentSinceLastReceived += 1;
        changes.putDevices!.push(d);
        reports.push(r.change === undefined ? { jid, deviceId, version, ok: true, keyExchange: out.keyExchange } : { jid, deviceId, version, ok: true, keyExchange: out.keyExchange, identityChanged: r.change });
      });
    }

    if (!options.partial) {
      const reached = new Set(reports.filter((r) => r.ok).map((r) => r.jid));
      const empty = recipients.filter((jid) => jid !== this.jid && !reached.has(jid));
      if (empty.length > 0) {
        for (const k of touched) this.sessions.delete(k);
        const why = reports.filter((r) => empty.includes(r.jid)).map((r) => `${r.jid}/${r.deviceId}: ${r.error}`);
        throw new OmemoError('no-eligible-devices', `no usable device for ${empty.join(', ')}${why.length ? ` (${why.join('; ')})` : ''}`);
      }
    }
    await this.commit(changes, touched);
    const elements: EncryptedElementOut[] = [];
    for (const [version, { sealed, keys }] of byVersion) {
      if (keys.length === 0) continue; // every device of this version failed: reported above
      elements.push({ version, xml: serializeEncrypted({ sid: this.deviceId, keys, ...(sealed.iv ? { iv: sealed.iv } : {}), ...(sealed.payload ? { payload: sealed.payload } : {}) }, version) });
    }
    return { elements, devices: reports };
  }

  /**
   * Refuses an element that would have more keys than MAX_KEYS_PER_MESSAGE or more bytes than `maxElementBytes`,
   * with the number of devices that would fit.
   * @throws OmemoError `stanza-too-large`.
   */
  private checkElementSize(version: OmemoVersion, group: readonly { address: SessionAddress; session: Session }[], plaintext: Uint8Array | undefined): void {
    const jids = [...new Set(group.map((r) => r.address.jid))];
    const fixed = encryptedElementBytes(version, 0, jids, plaintext?.length);
    let bytes = fixed;
    let fit = 0;
    for (const r of group) {
      bytes += keyElementBytes(version, r.session.hasPendingKeyExchange);
      if (bytes <= this.maxElementBytes && fit < MAX_KEYS_PER_MESSAGE) fit += 1;
    }
    if (fit === group.length) return;
    throw new OmemoError(
      'stanza-too-large',
      `a ${version} element for ${group.length} devices would be up to ${bytes} bytes (limit ${this.maxElementBytes}, at most ${MAX_KEYS_PER_MESSAGE} keys): ${fit} devices fit`,
    );
  }

  private payloadBytes(version: OmemoVersion, message: string | Uint8Array | undefined, recipients: string[], options: EncryptOptions): Uint8Array | undefined {
    if (message === undefined || message instanceof Uint8Array) return message;
    if (version === 'oldmemo' || options.sce === false) return utf8Encode(message);
    return utf8Encode(buildEnvelope({ body: message, from: this.jid, ...(recipients.length === 1 ? { to: recipients[0]! } : {}) }, this.rng));
  }

  /**
   * Decrypts an `<encrypted>` element (or a stanza containing one) sent by `fromJid`. Handles key exchanges
   * (a new session, the pre key consumed and replaced), sends an empty message back after a key exchange
   * and a heartbeat after a long one-sided chain. A failure changes no stored state.
   * @throws OmemoError `malformed-stanza`, `message-not-for-us`, `sender-not-found`, `untrusted-device`,
   *   `no-session`, `unknown-prekey`, `unknown-signed-prekey`, `bad-mac`, `duplicate-message`,
   *   `too-many-skipped`, `authentication-failed`, `malformed-message`, `store-error`.
   */
  decrypt(fromJid: string, encryptedXml: string, options: { version?: OmemoVersion } = {}): Promise<DecryptResult> {
    return this.exclusive(() => this.decryptLocked(bareJid(fromJid), encryptedXml, options));
  }

  private async decryptLocked(from: string, encryptedXml: string, options: { version?: OmemoVersion }): Promise<DecryptResult> {
    const parsed = parseEncrypted(encryptedXml, options.version);
    const version = parsed.version;
    if (!this.versions.includes(version)) throw new OmemoError('message-not-for-us', `${version} is not enabled on this device`);
    const key = keysFor(parsed, this.jid, this.deviceId);
    if (key === undefined) throw new OmemoError('message-not-for-us', `no key for device ${this.deviceId}`);
    const address: SessionAddress = { version, jid: from, deviceId: parsed.sid };
    try {
      return await this.decryptKey(address, parsed, key);
    } catch (e) {
      // The message changed nothing. When the reason is that we hold no usable session with its sender, a fresh
      // one is offered (rate-limited per device): the sender's next message then decrypts.
      if (!key.keyExchange && e instanceof OmemoError && REPAIRABLE.has(e.code) && (e.code !== 'bad-mac' || this.opensUnknownChain(address, key.data))) {
        await this.repairAfterFailure(address);
      }
      throw e;
    }
  }

  private async decryptKey(address: SessionAddress, parsed: ParsedEncrypted, key: EncryptedKey): Promise<DecryptResult> {
    const { version, jid: from } = address;
    const k = sessionKey(address);
    const changes: StoreChanges = { putDevices: [], putSessions: [] };
    const others = await this.loadDevicesOf([from]);
    let device = others.find((d) => d.deviceId === parsed.sid);

    // Work on a private copy of the session: nothing is kept unless the payload decrypts too. A record that does
    // not load is no session at all here: a valid key exchange replaces it.
    const loaded = await this.sessionsFor([address]);
    const stored = loaded.sessions.get(k);
    let session = stored?.clone();
    let keyMaterial: Uint8Array;
    let newSession = false;
    let usedPreKey: StoredPreKey | undefined;
    let baseKey: Uint8Array | undefined;
    if (key.keyExchange) {
      const kex = parseKeyExchange(version, key.data);
      if (session !== undefined && session.hasState(kex.baseKey, kex.identityKey)) {
        keyMaterial = session.decryptParsed(kex.message, this.rng, kex.baseKey); // the initiator repeats its key exchange
      } else {
        const spk = this.own.signedPreKeys.find((s) => s.id === kex.signedPreKeyId);
        if (spk === undefined) throw new OmemoError('unknown-signed-prekey', `unknown signed pre key ${kex.signedPreKeyId}`);
        if (kex.preKeyId !== undefined) {
          usedPreKey = this.own.preKeys.get(kex.preKeyId);
          if (usedPreKey === undefined) throw new OmemoError('unknown-prekey', `unknown pre key ${kex.preKeyId}`);
          checkPreKeyUse(usedPreKey, kex.baseKey, this.catchingUp || this.keepsUsedPreKey(usedPreKey));
          baseKey = kex.baseKey;
        }
        const fresh = Session.respond(this.own.identity, kex, spk, usedPreKey);
        keyMaterial = fresh.decryptParsed(kex.message, this.rng);
        session = replaceSession(session, fresh);
        newSession = true;
      }
    } else {
      if (session === undefined) {
        if (loaded.broken.has(k)) throw new OmemoError('malformed-record', `the stored session with ${from}/${parsed.sid} does not load`);
        throw new OmemoError(device === undefined ? 'sender-not-found' : 'no-session', `no session with ${from}/${parsed.sid}`);
      }
      keyMaterial = session.decrypt(key.data);
    }
    const payload = openPayload(version, keyMaterial, parsed.iv, parsed.payload);
    if (parsed.payload === undefined && version === 'twomemo' && !isEmptyMessageKey(keyMaterial)) {
      // Not an empty message (those carry 32 zero bytes): a message whose payload went missing. Keep nothing, so
      // that its key stays unused for the complete message.
      if (device?.trust === 'distrusted' && !newSession) throw new OmemoError('untrusted-device', `${from}/${parsed.sid} is distrusted`);
      return { version, sender: { jid: from, deviceId: parsed.sid }, payload: undefined, text: undefined, keyExchange: key.keyExchange, trust: device?.trust ?? 'undecided', payloadMissing: true, sent: [] };
    }

    // Everything verified. All that depends on the message is decided here, before the commit.
    const { text, envelope, envelopeFromMatches } = readPayload(version, payload, from);
    if (device === undefined) device = await this.newDevice(from, parsed.sid, others);
    const adopted = adoptIdentityKey(device, remoteIdentityToCurve(version, session.remoteIdentityKey), () => initialTrust(this.trustPolicy, others));
    device = adopted.device;
    if (adopted.change !== undefined && device.trust === 'undecided') device.trust = await this.decideTrust(device);
    if (device.trust === 'distrusted') throw new OmemoError('untrusted-device', `${from}/${parsed.sid} is distrusted`);
    const { unansweredSince: _answered, ...heard } = device;
    device = { ...heard, sentSinceLastReceived: 0, lastReceivedAt: this.now() };

    const sent: AutomaticMessage[] = [];
    const kind: AutomaticMessageKind | undefined = newSession ? 'session-completion' : session.unansweredCount >= HEARTBEAT_AFTER_MESSAGES ? 'heartbeat' : undefined;
    if (kind !== undefined) sent.push(this.emptyMessageOn(session, address, kind));
    changes.putSessions!.push({ address, record: serializeSession(session) });
    changes.putDevices!.push(device);
    let republish = false;
    if (usedPreKey !== undefined) {
      const kept = this.catchingUp || this.preKeyPolicy.keepMs > 0;
      if (kept) {
        const marked = markPreKeyUsed(usedPreKey, baseKey!, this.now());
        this.own.preKeys.set(marked.id, marked);
        changes.putPreKeys = [marked];
      } else {
        this.own.preKeys.delete(usedPreKey.id);
        changes.deletePreKeys = [usedPreKey.id];
      }
      // A live key left the bundle: refill and republish (never during a catch-up, which republishes at its end).
      if (!usedPreKey.consumed && !this.catchingUp) {
        this.pruneUsedPreKeys(changes);
        this.refillPreKeys(changes);
        republish = true;
      }
    }
    await this.commit(changes, [k]);
    this.cacheSession(k, session);

    for (const m of sent) {
      try {
        await this.transport.send(m.to, m.xml, m.kind);
      } catch {
        // The message was decrypted and stored; a lost automatic message is repaired by the next one.
      }
    }
    if (republish) {
      try {
        for (const v of this.versions) await this.publishBundle(v);
      } catch {
        // Publishing is retried on the next consumption or publish().
      }
    }
    return {
      version,
      sender: { jid: from, deviceId: parsed.sid },
      payload,
      text,
      ...(envelope ? { envelope, envelopeFromMatches } : {}),
      keyExchange: key.keyExchange,
      trust: device.trust,
      ...(adopted.change ? { identityChanged: { ...adopted.change, trust: device.trust } } : {}),
      sent,
    };
  }

  /** Whether a normal message's ratchet key is none that our session with `address` has received on. */
  private opensUnknownChain(address: SessionAddress, data: Uint8Array): boolean {
    const session = this.sessions.get(sessionKey(address));
    if (session === undefined) return true;
    let ratchetKey: Uint8Array;
    try {
      ratchetKey = parseMessage(address.version, data).header.ratchetKey;
    } catch {
      return false;
    }
    const known = (s: SessionState) =>
      (s.receivingRatchetKey !== undefined && bytesEqual(s.receivingRatchetKey, ratchetKey)) || s.oldChains.some((c) => bytesEqual(c.ratchetKey, ratchetKey));
    return !known(session.state) && !session.archivedStates.some(known);
  }

  /** An empty message on `session` (advanced by it) to the device at `address`. */
  private emptyMessageOn(session: Session, address: SessionAddress, kind: AutomaticMessageKind): AutomaticMessage {
    const { version, jid, deviceId } = address;
    const sealed = sealPayload(version, undefined, this.rng);
    const out = session.encrypt(sealed.keyMaterial);
    const keys = [{ ...(version === 'twomemo' ? { jid } : {}), rid: deviceId, keyExchange: out.keyExchange, data: out.data }];
    const xml = serializeEncrypted({ sid: this.deviceId, keys, ...(sealed.iv ? { iv: sealed.iv } : {}) }, version);
    return { to: jid, version, kind, xml };
  }

  /** Asks `onTrustDecision` about an undecided key; its answer or 'undecided'. */
  private async decideTrust(device: StoredDevice): Promise<TrustLevel> {
    if (!this.onTrustDecision) return device.trust;
    const decided = await this.onTrustDecision(this.info(device));
    return decided ?? device.trust;
  }

  /** Whether a used pre key is still kept under the policy (outside a catch-up). */
  private keepsUsedPreKey(key: StoredPreKey): boolean {
    return this.now() - (key.consumedAt ?? 0) < this.preKeyPolicy.keepMs;
  }

  /** Deletes the used pre keys the policy no longer keeps. */
  private pruneUsedPreKeys(changes: StoreChanges): void {
    const expired = expiredPreKeys(this.own.preKeys.values(), this.preKeyPolicy, this.now(), this.catchingUp);
    if (expired.length === 0) return;
    for (const id of expired) this.own.preKeys.delete(id);
    changes.deletePreKeys = [...(changes.deletePreKeys ?? []), ...expired];
  }

  /**
   * After a normal message failed because we have no usable session with its sender: builds a fresh session from
   * the sender's bundle and sends it an empty key-exchange message, at most once per repair interval per device.
   * Failures of the repair itself are swallowed: the message's own error is what the caller gets.
   */
  private async repairAfterFailure(address: SessionAddress): Promise<void> {
    if (this.repairIntervalMs === undefined) return;
    const k = sessionKey(address);
    const last = this.lastRepair.get(k);
    const now = this.now();
    if (last !== undefined && now - last < this.repairIntervalMs) return;
    this.lastRepair.delete(k);
    this.lastRepair.set(k, now);
    while (this.lastRepair.size > REPAIR_TRACKED_DEVICES) this.lastRepair.delete(this.lastRepair.keys().next().value as string);
    try {
      await this.rebuildSession(address, 'session-repair');
    } catch {
      // No bundle, an untrusted key, a store failure: nothing was changed; the next failure tries again later.
    }
  }

  /**
   * Replaces the session with `address` by a fresh one from the device's current bundle (earlier states are
   * kept for messages still in flight) and sends the device an empty key-exchange message.
   */
  private async rebuildSession(address: SessionAddress, kind: AutomaticMessageKind): Promise<AutomaticMessage> {
    const { jid } = address;
    const others = await this.loadDevicesOf([jid]);
    const known = others.find((d) => d.deviceId === address.deviceId);
    const device = known ?? (await this.newDevice(jid, address.deviceId, others));
    const previous = (await this.sessionsFor([address])).sessions.get(sessionKey(address));
    const built = await this.initiate(address, device, others);
    if (!isTrusted(built.device.trust)) {
      await this.commit({ putDevices: [built.device] });
      throw new OmemoError('untrusted-device', `${jid}/${address.deviceId}: trust is ${built.device.trust}`);
    }
    const session = replaceSession(previous?.clone(), built.session);
    const message = this.emptyMessageOn(session, address, kind);
    const k = sessionKey(address);
    await this.commit({ putSessions: [{ address, record: serializeSession(session) }], putDevices: [built.device] }, [k]);
    this.cacheSession(k, session);
    try {
      await this.transport.send(message.to, message.xml, kind);
    } catch (cause) {
      throw transportError(`sending the ${kind} message to ${jid}/${address.deviceId} failed`, cause);
    }
    return message;
  }

  /**
   * Starts a new session with a device from its current bundle and sends it an empty key-exchange message (XEP-0384
   * 0.9 §4.5 asks clients to offer this): for a conversation that no longer decrypts on one side. Earlier session
   * states are kept, so messages already on their way still decrypt. Not rate-limited.
   * @param versions the versions to reset (default: every enabled version the device is listed in, else all).
   * @returns the messages sent, one per version.
   * @throws OmemoError `bundle-unavailable`, `invalid-signature`, `untrusted-device` (the bundle shows a key that
   *   is not trusted), `store-error`, `transport-error`.
   */
  resetSession(jid: string, deviceId: number, versions?: readonly OmemoVersion[]): Promise<AutomaticMessage[]> {
    if (!Number.isInteger(deviceId) || deviceId < 1 || deviceId > MAX_ID) throw new RangeError(`device id must be in 1..${MAX_ID}, got ${deviceId}`);
    for (const v of versions ?? []) this.checkVersion(v);
    return this.exclusive(async () => {
      const bare = bareJid(jid);
      const device = (await this.loadDevicesOf([bare])).find((d) => d.deviceId === deviceId);
      const listed = this.versions.filter((v) => device?.activeIn.includes(v));
      const chosen = versions ?? (listed.length > 0 ? listed : this.versions);
      const sent: AutomaticMessage[] = [];
      for (const version of chosen) sent.push(await this.rebuildSession({ version, jid: bare, deviceId }, 'session-reset'));
      return sent;
    });
  }

  /** Starts a history catch-up (MAM): consumed pre keys are kept (unpublished) until `endCatchUp`. */
  startCatchUp(): void {
    this.catchingUp = true;
  }

  /**
   * Ends a history catch-up: the pre keys used meanwhile fall under the `consumedPreKeys` policy again (those it
   * no longer keeps are deleted), the bundle is refilled to PRE_KEY_COUNT and republished.
   * @throws OmemoError `store-error`, `transport-error`.
   */
  endCatchUp(): Promise<void> {
    return this.exclusive(async () => {
      this.catchingUp = false;
      const changes: StoreChanges = {};
      this.pruneUsedPreKeys(changes);
      this.refillPreKeys(changes);
      if (changes.deletePreKeys === undefined && changes.putPreKeys === undefined) return;
      await this.commit(changes);
      for (const v of this.versions) await this.publishBundle(v);
    });
  }

  /**
   * Rotates the signed pre key when it is older than the rotation period (or always with `force`) and
   * republishes the bundles; also deletes the used pre keys the `consumedPreKeys` policy no longer keeps. Call it
   * periodically (e.g. hourly or daily).
   * @returns whether a new signed pre key was made.
   */
  rotateSignedPreKey(force = false): Promise<boolean> {
    return this.exclusive(async () => {
      const changes: StoreChanges = {};
      this.pruneUsedPreKeys(changes);
      if (!this.rotateSignedPreKeyIfDue(changes, force)) {
        if (changes.deletePreKeys !== undefined) await this.commit(changes);
        return false;
      }
      await this.commit(changes);
      for (const v of this.versions) await this.publishBundle(v);
      return true;
    });
  }

  /**
   * Whether our device id is in the last device list of our own JID we saw for `version`. Queued with the
   * other operations (it may fill the list cache).
   */
  async isOwnDevicePublished(version: OmemoVersion): Promise<boolean> {
    this.checkVersion(version);
    return this.exclusive(async () => ((await this.loadList(version, this.jid)) ?? []).includes(this.deviceId));
  }

  /** Ids of our currently published pre keys. */
  preKeyIds(): number[] {
    return [...this.own.preKeys.values()].filter((k) => !k.consumed).map((k) => k.id);
  }

  /**
   * Devices of `jid` (default: our own other devices) that are active in `version` but have no session yet.
   * Queued with the other operations: it fills the session and list caches, and a read that returned after
   * a concurrent encrypt committed would otherwise put an older session back (a message key used twice).
   */
  async devicesWithoutSession(jid: string, version: OmemoVersion): Promise<number[]> {
    this.checkVersion(version);
    const bare = bareJid(jid);
    return this.exclusive(async () => {
      const listed = (await this.loadList(version, bare)) ?? [];
      const ids = listed.filter((id) => !(bare === this.jid && id === this.deviceId));
      const { sessions: have } = await this.sessionsFor(ids.map((deviceId) => ({ version, jid: bare, deviceId })));
      return ids.filter((deviceId) => !have.has(sessionKey({ version, jid: bare, deviceId })));
    });
  }
}
