// The in-memory reference implementation of OmemoStore (store.ts): for tests and short-lived processes.
// Values are copied in and out, so callers can never alias stored state.
import type { OmemoVersion } from '../versions/backend';
import type {
  OmemoStore,
  SessionAddress,
  StoreChanges,
  StoredDevice,
  StoredIdentity,
  StoredPreKey,
  StoredSignedPreKey,
} from './store';
import { copyStoredDevice, deviceListKey, updateStoredDeviceInPlace } from './store';

// Hand-written copies: structuredClone cost several µs per record and dominated a 1000-device commit.
function copyIdentity(i: StoredIdentity): StoredIdentity {
  return { ...i, identityPrivateKey: i.identityPrivateKey.slice() };
}

function copySignedPreKey(k: StoredSignedPreKey): StoredSignedPreKey {
  return {
    ...k,
    privateKey: k.privateKey.slice(),
    publicKey: k.publicKey.slice(),
    signatures: { oldmemo: k.signatures.oldmemo.slice(), twomemo: k.signatures.twomemo.slice() },
  };
}

function copyPreKey(k: StoredPreKey): StoredPreKey {
  const c: StoredPreKey = { ...k, privateKey: k.privateKey.slice(), publicKey: k.publicKey.slice() };
  if (k.acceptedBaseKeys !== undefined) c.acceptedBaseKeys = k.acceptedBaseKeys.map((b) => b.slice());
  return c;
}

/**
 * Throws for a device record that copyStoredDevice or updateStoredDeviceInPlace could not take: checked before a
 * commit changes anything, so that applying it cannot fail half-way.
 */
function checkDevice(d: StoredDevice): void {
  if (typeof d !== 'object' || d === null) throw new TypeError('a device record must be an object');
  if (!Array.isArray(d.activeIn)) throw new TypeError('a device record needs an activeIn array');
  if (d.identityKey !== undefined && !(d.identityKey instanceof Uint8Array))
    throw new TypeError('a device identity key must be a Uint8Array');
  const previous = d.previousIdentities;
  if (
    previous !== undefined &&
    (!Array.isArray(previous) ||
      !previous.every((p) => typeof p === 'object' && p !== null && p.identityKey instanceof Uint8Array))
  )
    throw new TypeError('previousIdentities must be an array of records with a Uint8Array identity key');
}

function checkAddress(a: SessionAddress): void {
  if (typeof a !== 'object' || a === null) throw new TypeError('a session address must be an object');
}

/** An OmemoStore kept in memory. `commit` validates everything first, then applies it at once. */
export class MemoryStore implements OmemoStore {
  private identity: StoredIdentity | undefined;
  private readonly signedPreKeys = new Map<number, StoredSignedPreKey>();
  private readonly preKeys = new Map<number, StoredPreKey>();
  private readonly deviceLists = new Map<string, number[]>();
  /** Devices by bare JID, then by device id. */
  private readonly devices = new Map<string, Map<number, StoredDevice>>();
  /** Session records by version, bare JID and device id (no string built per device: a fan-out writes 1000s). */
  private readonly sessions = new Map<string, Map<string, Map<number, Uint8Array>>>();
  /**
   * Number of successful commits (lets tests assert batching).
   * @deprecated A test hook; it will leave the public class (subclass MemoryStore to count calls).
   */
  commits = 0;
  /**
   * A hook for tests: throw here to simulate a failing write.
   * @deprecated A test hook; it will leave the public class (subclass MemoryStore and override `commit`).
   */
  beforeCommit: ((changes: StoreChanges) => void) | undefined;

  async loadIdentity(): Promise<StoredIdentity | undefined> {
    return this.identity === undefined ? undefined : copyIdentity(this.identity);
  }

  async loadSignedPreKeys(): Promise<StoredSignedPreKey[]> {
    return [...this.signedPreKeys.values()].map(copySignedPreKey);
  }

  async loadPreKeys(): Promise<StoredPreKey[]> {
    return [...this.preKeys.values()].map(copyPreKey);
  }

  async loadPreKey(id: number): Promise<StoredPreKey | undefined> {
    const k = this.preKeys.get(id);
    return k === undefined ? undefined : copyPreKey(k);
  }

  async loadDeviceList(version: OmemoVersion, jid: string): Promise<number[] | undefined> {
    const l = this.deviceLists.get(deviceListKey(version, jid));
    return l === undefined ? undefined : [...l];
  }

  async loadDevices(jids: readonly string[]): Promise<StoredDevice[]> {
    const out: StoredDevice[] = [];
    for (const jid of new Set(jids))
      for (const d of this.devices.get(jid)?.values() ?? []) out.push(copyStoredDevice(d));
    return out;
  }

  async loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]> {
    return addresses.map((a) => this.sessions.get(a.version)?.get(a.jid)?.get(a.deviceId)?.slice());
  }

  async commit(changes: StoreChanges): Promise<void> {
    this.beforeCommit?.(changes);
    // Copy first: nothing below can throw, so the changes land together.
    const identity = changes.identity && copyIdentity(changes.identity);
    const signedPreKeys = (changes.putSignedPreKeys ?? []).map(copySignedPreKey);
    const preKeys = (changes.putPreKeys ?? []).map(copyPreKey);
    const deviceLists = (changes.putDeviceLists ?? []).map((l): [string, number[]] => [
      deviceListKey(l.version, l.jid),
      [...l.deviceIds],
    ]);
    // Devices are checked, not copied: a stored record takes a new one's values in place (see below).
    const devices = changes.putDevices ?? [];
    for (const d of devices) checkDevice(d);
    const sessions = changes.putSessions ?? [];
    for (const s of sessions) {
      checkAddress(s.address);
      if (!(s.record instanceof Uint8Array)) throw new TypeError('a session record must be a Uint8Array');
    }
    const deletedSessions = changes.deleteSessions ?? [];
    for (const a of deletedSessions) checkAddress(a);
    if (identity) this.identity = identity;
    for (const k of signedPreKeys) this.signedPreKeys.set(k.id, k);
    for (const id of changes.deleteSignedPreKeys ?? []) this.signedPreKeys.delete(id);
    for (const k of preKeys) this.preKeys.set(k.id, k);
    for (const id of changes.deletePreKeys ?? []) this.preKeys.delete(id);
    for (const [k, ids] of deviceLists) this.deviceLists.set(k, ids);
    for (const d of devices) {
      let byId = this.devices.get(d.jid);
      if (byId === undefined) this.devices.set(d.jid, (byId = new Map()));
      // The stored record takes the values in place (no new long-lived object), else a copy becomes the record.
      const stored = byId.get(d.deviceId);
      if (stored === undefined || !updateStoredDeviceInPlace(stored, d)) byId.set(d.deviceId, copyStoredDevice(d));
    }
    // A record of the same length is copied over the stored one (stored values are never handed out).
    for (const { address: a, record } of sessions) {
      let byJid = this.sessions.get(a.version);
      if (byJid === undefined) this.sessions.set(a.version, (byJid = new Map()));
      let byId = byJid.get(a.jid);
      if (byId === undefined) byJid.set(a.jid, (byId = new Map()));
      const stored = byId.get(a.deviceId);
      if (stored?.length === record.length) stored.set(record);
      else byId.set(a.deviceId, new Uint8Array(record));
    }
    for (const a of deletedSessions) {
      const byJid = this.sessions.get(a.version);
      const byId = byJid?.get(a.jid);
      if (byId?.delete(a.deviceId) && byId.size === 0) byJid!.delete(a.jid);
    }
    this.commits += 1;
  }
}
