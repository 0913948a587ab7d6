// Storage interfaces of the session manager (the state python-omemo keeps in omemo/storage.py, split into
// small typed records). Reads are batched; every change of one logical operation is handed over in one
// `commit`, which must apply all of it or none of it (a database store maps it to one transaction).
import type { OmemoVersion } from '../versions/backend';

/** Trust in a remote device's identity key. */
export type TrustLevel = 'undecided' | 'blind' | 'verified' | 'distrusted';

/** Our own identity and device. */
export interface StoredIdentity {
  /** Bare JID of the account; a store belongs to exactly one account. */
  jid: string;
  deviceId: number;
  /** Curve25519 private key (the Ed25519 form is derived). */
  identityPrivateKey: Uint8Array;
  /** Next pre key id to hand out: ids are never reused. */
  nextPreKeyId: number;
  /** Next signed pre key id. */
  nextSignedPreKeyId: number;
  /** Our device label (OMEMO 2 device lists), if any. */
  label?: string;
}

/** A signed pre key with its signatures for each version (they sign different byte strings). */
export interface StoredSignedPreKey {
  id: number;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  signatures: Record<OmemoVersion, Uint8Array>;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** A one-time pre key. */
export interface StoredPreKey {
  id: number;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  /**
   * Used by a key exchange and no longer published, but kept for a while: for key exchanges from contacts that
   * fetched the same bundle (see `ConsumedPreKeyPolicy`) and during a history catch-up.
   */
  consumed: boolean;
  /** Milliseconds since the epoch of the first key exchange that used it (consumed keys; 0 or absent: unknown). */
  consumedAt?: number;
  /**
   * Base keys (32-byte X25519 ephemeral keys) of the key exchanges accepted with this consumed key: the same key
   * exchange again is a replay and is refused as `duplicate-message`.
   */
  acceptedBaseKeys?: Uint8Array[];
}

/** An identity key a device used before its current one, with the trust it had (trust belongs to a key). */
export interface PreviousIdentity {
  /** Curve25519 form. */
  identityKey: Uint8Array;
  trust: TrustLevel;
}

/** What we know of one remote device (one JID + device id, shared by both versions). */
export interface StoredDevice {
  jid: string;
  deviceId: number;
  /** Versions whose published device list currently contains the device. */
  activeIn: OmemoVersion[];
  label?: string;
  /** Curve25519 form of its identity key, once learned from a bundle or a key exchange. */
  identityKey?: Uint8Array;
  /** Trust in `identityKey` (in the device while it has no known key yet). */
  trust: TrustLevel;
  /** Identity keys it had before `identityKey`, newest first, each with its own trust (bounded). */
  previousIdentities?: PreviousIdentity[];
  /** Messages we encrypted to it since it last sent us one (stale-device rule). */
  sentSinceLastReceived: number;
  /** Milliseconds since the epoch of the last message received from it, or 0. */
  lastReceivedAt: number;
  /** Milliseconds since the epoch of the first of the `sentSinceLastReceived` messages (0 or absent: none). */
  unansweredSince?: number;
}

/** A deep copy of a device record (stores and caches hand out copies: callers may change what they get). */
export function copyStoredDevice(d: StoredDevice): StoredDevice {
  const c: StoredDevice = {
    jid: d.jid,
    deviceId: d.deviceId,
    activeIn: d.activeIn.slice(),
    trust: d.trust,
    sentSinceLastReceived: d.sentSinceLastReceived,
    lastReceivedAt: d.lastReceivedAt,
  };
  if (d.label !== undefined) c.label = d.label;
  if (d.identityKey !== undefined) c.identityKey = d.identityKey.slice();
  if (d.previousIdentities !== undefined) {
    c.previousIdentities = d.previousIdentities.map((p) => ({ identityKey: p.identityKey.slice(), trust: p.trust }));
  }
  if (d.unansweredSince !== undefined) c.unansweredSince = d.unansweredSince;
  return c;
}

/**
 * Copies `d` into `into`, a record of the same device that the caller owns, when both have the same optional fields:
 * `into`'s arrays whose contents are unchanged are kept. Returns false (and changes nothing) when the fields differ.
 * Stores and caches that rewrite a device record with every message (a fan-out touches thousands) then keep one
 * long-lived object per device instead of promoting a new copy each time.
 */
export function updateStoredDeviceInPlace(into: StoredDevice, d: StoredDevice): boolean {
  if (
    into.jid !== d.jid ||
    into.deviceId !== d.deviceId ||
    (into.label === undefined) !== (d.label === undefined) ||
    (into.identityKey === undefined) !== (d.identityKey === undefined) ||
    (into.previousIdentities === undefined) !== (d.previousIdentities === undefined) ||
    (into.unansweredSince === undefined) !== (d.unansweredSince === undefined)
  )
    return false;
  if (!sameItems(into.activeIn, d.activeIn)) into.activeIn = d.activeIn.slice();
  into.trust = d.trust;
  into.sentSinceLastReceived = d.sentSinceLastReceived;
  into.lastReceivedAt = d.lastReceivedAt;
  if (d.label !== undefined) into.label = d.label;
  if (d.identityKey !== undefined && !sameItems(into.identityKey!, d.identityKey))
    into.identityKey = d.identityKey.slice();
  if (d.previousIdentities !== undefined) {
    into.previousIdentities = d.previousIdentities.map((p) => ({ identityKey: p.identityKey.slice(), trust: p.trust }));
  }
  if (d.unansweredSince !== undefined) into.unansweredSince = d.unansweredSince;
  return true;
}

function sameItems<T>(a: ArrayLike<T>, b: ArrayLike<T>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Key of a session: version, remote bare JID, remote device id. */
export interface SessionAddress {
  version: OmemoVersion;
  jid: string;
  deviceId: number;
}

/** The string form of a session address used as a map key. */
export function sessionKey(a: SessionAddress): string {
  return `${a.version}\u0000${a.jid}\u0000${a.deviceId}`;
}

/** The string form of a (version, JID) device-list address used as a map key. */
export function deviceListKey(version: OmemoVersion, jid: string): string {
  return `${version}\u0000${jid}`;
}

/** The string form of a device address used as a map key. */
export function deviceKey(jid: string, deviceId: number): string {
  return `${jid}\u0000${deviceId}`;
}

/** One logical operation's changes. Absent fields change nothing. */
export interface StoreChanges {
  identity?: StoredIdentity;
  putSignedPreKeys?: StoredSignedPreKey[];
  deleteSignedPreKeys?: number[];
  putPreKeys?: StoredPreKey[];
  deletePreKeys?: number[];
  /** Device ids per (version, JID) as last seen in the published device list. */
  putDeviceLists?: { version: OmemoVersion; jid: string; deviceIds: number[] }[];
  putDevices?: StoredDevice[];
  putSessions?: { address: SessionAddress; record: Uint8Array }[];
  deleteSessions?: SessionAddress[];
}

/**
 * Everything the session manager persists. Implementations: `MemoryStore` (reference, in memory) and
 * `SqliteStore` (`omemo-wasm/sqlite`); any other store implements the same interface and proves it with the
 * conformance suite of `omemo-wasm/testing` (`storeConformanceCases`). Errors thrown by a store are wrapped by the
 * manager in an OmemoError with code `store-error`.
 */
export interface OmemoStore {
  loadIdentity(): Promise<StoredIdentity | undefined>;
  loadSignedPreKeys(): Promise<StoredSignedPreKey[]>;
  /** All pre keys (including consumed ones kept during a catch-up). */
  loadPreKeys(): Promise<StoredPreKey[]>;
  loadPreKey(id: number): Promise<StoredPreKey | undefined>;
  /** The device ids last seen in a JID's device list for a version, or undefined if never fetched. */
  loadDeviceList(version: OmemoVersion, jid: string): Promise<number[] | undefined>;
  /** The known devices of the given JIDs. */
  loadDevices(jids: readonly string[]): Promise<StoredDevice[]>;
  /**
   * Session records of the given addresses, one entry per address in the same order: the record, or undefined
   * where there is none (an address given twice gets its record twice). One batched read.
   */
  loadSessions(addresses: readonly SessionAddress[]): Promise<(Uint8Array | undefined)[]>;
  /** Applies all changes atomically: after a throw, none of them is visible. */
  commit(changes: StoreChanges): Promise<void>;
  /**
   * Optional group commit (SqliteStore has it; a store without it is used through `commit`). Applies all changes
   * atomically to what this store's loads return from now on, or throws with none of them applied; the returned
   * `durable` settles once they are durable, after the changes staged before them. Stores batch the changes staged
   * close together into one transaction, so many small operations share one write to disk. When `durable` rejects,
   * these changes and all others of their batch are lost (each batch member's `durable` rejects); the loads then
   * return the state of the last batch that became durable. The manager acknowledges nothing (resolves no call, sends
   * nothing) that depends on staged changes before their `durable` resolved.
   */
  stage?(changes: StoreChanges): StagedCommit;
}

/** Changes applied by `OmemoStore.stage`: `durable` settles when they are on disk or lost. */
export interface StagedCommit {
  readonly durable: Promise<void>;
}
