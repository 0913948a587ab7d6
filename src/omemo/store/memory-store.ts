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
import { copyStoredDevice, deviceListKey, sessionKey, updateStoredDeviceInPlace } from './store';

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

/** An OmemoStore kept in memory. `commit` validates everything first, then applies it at once. */
export class MemoryStore implements OmemoStore {
  private identity: StoredIdentity | undefined;
  private readonly signedPreKeys = new Map<number, StoredSignedPreKey>();
  private readonly preKeys = new Map<number, StoredPreKey>();
  private readonly deviceLists = new Map<string, number[]>();
  /** Devices by bare JID, then by device id. */
  private readonly devices = new Map<string, Map<number, StoredDevice>>();
  private readonly sessions = new Map<string, Uint8Array>();
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
    return addresses.map((a) => this.sessions.get(sessionKey(a))?.slice());
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
    const devices = (changes.putDevices ?? []).map(copyStoredDevice);
    const sessions = (changes.putSessions ?? []).map((s) => {
      if (!(s.record instanceof Uint8Array)) throw new TypeError('a session record must be a Uint8Array');
      return [sessionKey(s.address), s.record] as const;
    });
    const deletedSessions = (changes.deleteSessions ?? []).map(sessionKey);
    if (identity) this.identity = identity;
    for (const k of signedPreKeys) this.signedPreKeys.set(k.id, k);
    for (const id of changes.deleteSignedPreKeys ?? []) this.signedPreKeys.delete(id);
    for (const k of preKeys) this.preKeys.set(k.id, k);
    for (const id of changes.deletePreKeys ?? []) this.preKeys.delete(id);
    for (const [k, ids] of deviceLists) this.deviceLists.set(k, ids);
    for (const d of devices) {
      let byId = this.devices.get(d.jid);
      if (byId === undefined) this.devices.set(d.jid, (byId = new Map()));
      // Our copy becomes the record, unless the stored one takes its values in place (no new long-lived object).
      const stored = byId.get(d.deviceId);
      if (stored === undefined || !updateStoredDeviceInPlace(stored, d)) byId.set(d.deviceId, d);
    }
    // A record of the same length is copied over the stored one (stored values are never handed out).
    for (const [k, record] of sessions) {
      const stored = this.sessions.get(k);
      if (stored?.length === record.length) stored.set(record);
      else this.sessions.set(k, record.slice());
    }
    for (const k of deletedSessions) this.sessions.delete(k);
    this.commits += 1;
  }
}
