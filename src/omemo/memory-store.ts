// The in-memory reference implementation of OmemoStore (store.ts): for tests and short-lived processes.
// Values are copied in and out, so callers can never alias stored state.
import type { OmemoVersion } from './namespaces';
import type { OmemoStore, SessionAddress, StoreChanges, StoredDevice, StoredIdentity, StoredPreKey, StoredSignedPreKey } from './store';
import { deviceKey, deviceListKey, sessionKey } from './store';

function cloneBytes<T>(value: T): T {
  return structuredClone(value);
}

/** An OmemoStore kept in memory. `commit` validates everything first, then applies it at once. */
export class MemoryStore implements OmemoStore {
  private identity: StoredIdentity | undefined;
  private readonly signedPreKeys = new Map<number, StoredSignedPreKey>();
  private readonly preKeys = new Map<number, StoredPreKey>();
  private readonly deviceLists = new Map<string, number[]>();
  private readonly devices = new Map<string, StoredDevice>();
  private readonly sessions = new Map<string, Uint8Array>();
  /** Number of successful commits (lets tests assert batching). */
  commits = 0;
  /** A hook for tests: throw here to simulate a failing write. */
  beforeCommit: ((changes: StoreChanges) => void) | undefined;

  async loadIdentity(): Promise<StoredIdentity | undefined> {
    return this.identity === undefined ? undefined : cloneBytes(this.identity);
  }

  async loadSignedPreKeys(): Promise<StoredSignedPreKey[]> {
    return [...this.signedPreKeys.values()].map(cloneBytes);
  }

  async loadPreKeys(): Promise<StoredPreKey[]> {
    return [...this.preKeys.values()].map(cloneBytes);
  }

  async loadPreKey(id: number): Promise<StoredPreKey | undefined> {
    const k = this.preKeys.get(id);
    return k === undefined ? undefined : cloneBytes(k);
  }

  async loadDeviceList(version: OmemoVersion, jid: string): Promise<number[] | undefined> {
    const l = this.deviceLists.get(deviceListKey(version, jid));
    return l === undefined ? undefined : [...l];
  }

  async loadDevices(jids: readonly string[]): Promise<StoredDevice[]> {
    const wanted = new Set(jids);
    return [...this.devices.values()].filter((d) => wanted.has(d.jid)).map(cloneBytes);
  }

  async loadSessions(addresses: readonly SessionAddress[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const a of addresses) {
      const k = sessionKey(a);
      const r = this.sessions.get(k);
      if (r !== undefined) out.set(k, r.slice());
    }
    return out;
  }

  async commit(changes: StoreChanges): Promise<void> {
    this.beforeCommit?.(changes);
    // Copy first: nothing below can throw, so the changes land together.
    const c = cloneBytes(changes);
    if (c.identity) this.identity = c.identity;
    for (const k of c.putSignedPreKeys ?? []) this.signedPreKeys.set(k.id, k);
    for (const id of c.deleteSignedPreKeys ?? []) this.signedPreKeys.delete(id);
    for (const k of c.putPreKeys ?? []) this.preKeys.set(k.id, k);
    for (const id of c.deletePreKeys ?? []) this.preKeys.delete(id);
    for (const l of c.putDeviceLists ?? []) this.deviceLists.set(deviceListKey(l.version, l.jid), l.deviceIds);
    for (const d of c.putDevices ?? []) this.devices.set(deviceKey(d.jid, d.deviceId), d);
    for (const s of c.putSessions ?? []) this.sessions.set(sessionKey(s.address), s.record);
    for (const a of c.deleteSessions ?? []) this.sessions.delete(sessionKey(a));
    this.commits += 1;
  }
}
