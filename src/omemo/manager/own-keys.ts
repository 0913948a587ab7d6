// Our own keys (XEP-0384 0.3.0 §4.3 and 0.9 §5.3: identity, signed pre key, one-time pre keys): created or loaded
// with the account, pre keys refilled with never-reused ids, the signed pre key rotated, used pre keys kept or
// pruned under the `consumedPreKeys` policy, and the bundle they make.
import { OmemoError } from '../../crypto/errors';
import type { Rng } from '../../crypto/random';
import { x25519GenerateKeyPair } from '../../crypto/x25519';
import {
  generateIdentityKeyPair,
  identityFromPrivate,
  identityWireKey,
  signSignedPreKey,
} from '../../protocol/identity-key';
import { expiredPreKeys } from '../policies/pre-key-policy';
import { serializeBundle } from '../versions/by-version';
import type { BundleData } from '../stanzas/bundle';
import type { OmemoVersion } from '../versions/backend';
import type { StoreChanges, StoredIdentity, StoredPreKey, StoredSignedPreKey } from '../store/store';
import { MAX_ID } from '../stanzas/wire-values';

import type { ManagerCore } from './manager-core';
import { publishBundle } from './publishing';
import { storeError } from './manager-core';
import { fetchDeviceList } from './publishing';
import type { OmemoManagerOptions } from './manager-types';
import { OMEMO_VERSIONS } from '../versions/backend';

/** Pre keys kept published (XEP-0384: at least 20 for 0.3, 25 for OMEMO 2; everyone uses 100). */
export const PRE_KEY_COUNT = 100;
/** Default signed pre key rotation period. */
export const SIGNED_PRE_KEY_ROTATION_MS = 7 * 24 * 3600 * 1000;
/** Attempts at a random device id that is not in our published device lists. */
const DEVICE_ID_ATTEMPTS = 32;

function randomId(rng: Rng): number {
  for (;;) {
    const b = rng(4);
    const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) & MAX_ID;
    if (v !== 0) return v;
  }
}

/** Loads our keys from the store, or creates the identity and keys of a new device; prunes, refills, rotates. */
export async function loadOwnKeys(core: ManagerCore, options: OmemoManagerOptions): Promise<void> {
  let stored: StoredIdentity | undefined;
  let signedPreKeys: StoredSignedPreKey[];
  let preKeys: StoredPreKey[];
  try {
    stored = await core.store.loadIdentity();
    signedPreKeys = await core.store.loadSignedPreKeys();
    preKeys = await core.store.loadPreKeys();
  } catch (cause) {
    throw storeError(cause);
  }
  if (stored !== undefined) {
    if (stored.jid !== core.jid)
      throw new OmemoError('store-owner-mismatch', `this store belongs to ${stored.jid}, not ${core.jid}`);
    core.own = {
      identity: identityFromPrivate(stored.identityPrivateKey),
      stored,
      signedPreKeys,
      preKeys: new Map(preKeys.map((k) => [k.id, k])),
    };
    const changes: StoreChanges = {};
    pruneUsedPreKeys(core, changes);
    refillPreKeys(core, changes);
    rotateSignedPreKeyIfDue(core, changes, false);
    if (changes.putPreKeys?.length || changes.putSignedPreKeys?.length || changes.deletePreKeys?.length)
      await core.commit(changes);
    return;
  }
  const deviceId = options.deviceId ?? (await pickDeviceId(core));
  const identity = generateIdentityKeyPair(core.rng);
  core.own = {
    identity,
    stored: {
      jid: core.jid,
      deviceId,
      identityPrivateKey: identity.privateKey,
      nextPreKeyId: 1,
      nextSignedPreKeyId: 1,
      ...(options.label ? { label: options.label } : {}),
    },
    signedPreKeys: [],
    preKeys: new Map(),
  };
  const changes: StoreChanges = {};
  rotateSignedPreKeyIfDue(core, changes, true);
  refillPreKeys(core, changes);
  await core.commit(changes);
  core.log('info', `created our identity: device ${deviceId}`, { event: 'identity-created', deviceId });
}

/** A random device id not present in our published device lists (XEP-0384 §4.1). */
export async function pickDeviceId(core: ManagerCore): Promise<number> {
  const taken = new Set<number>();
  for (const v of core.versions) {
    for (const id of (await fetchDeviceList(core, core.jid, v)) ?? []) taken.add(id);
  }
  for (let i = 0; i < DEVICE_ID_ATTEMPTS; i++) {
    const id = randomId(core.rng);
    if (!taken.has(id)) return id;
  }
  throw new RangeError('could not pick a free device id');
}

/** Tops the live pre keys up to PRE_KEY_COUNT with never-reused ids (into `changes`). */
export function refillPreKeys(core: ManagerCore, changes: StoreChanges): void {
  const live = [...core.own.preKeys.values()].filter((k) => !k.consumed).length;
  if (live >= PRE_KEY_COUNT) return;
  const fresh: StoredPreKey[] = [];
  for (let i = live; i < PRE_KEY_COUNT; i++) {
    const kp = x25519GenerateKeyPair(core.rng, { usedSoon: false });
    const k: StoredPreKey = {
      id: core.own.stored.nextPreKeyId,
      privateKey: kp.privateKey,
      publicKey: kp.publicKey,
      consumed: false,
    };
    core.own.stored = { ...core.own.stored, nextPreKeyId: core.own.stored.nextPreKeyId + 1 };
    core.own.preKeys.set(k.id, k);
    fresh.push(k);
  }
  changes.putPreKeys = [...(changes.putPreKeys ?? []), ...fresh];
  changes.identity = core.own.stored;
  core.log('debug', `made ${fresh.length} new pre keys`, { event: 'pre-keys-refilled', count: fresh.length });
}

/** Makes a new signed pre key when due (or `force`), keeping the previous one a period; returns whether it did. */
export function rotateSignedPreKeyIfDue(core: ManagerCore, changes: StoreChanges, force: boolean): boolean {
  const now = core.now();
  const newest = core.own.signedPreKeys.reduce<StoredSignedPreKey | undefined>(
    (a, k) => (a === undefined || k.id > a.id ? k : a),
    undefined,
  );
  if (!force && newest !== undefined && now - newest.createdAt < core.rotationMs) return false;
  const kp = x25519GenerateKeyPair(core.rng);
  const spk: StoredSignedPreKey = {
    id: core.own.stored.nextSignedPreKeyId,
    privateKey: kp.privateKey,
    publicKey: kp.publicKey,
    // Each version signs its own form of the key (0.3: XEdDSA over 0x05 ‖ key; OMEMO 2: Ed25519 over the key).
    signatures: Object.fromEntries(
      OMEMO_VERSIONS.map((v) => [v, signSignedPreKey(core.own.identity, v, kp.publicKey, core.rng)]),
    ) as Record<OmemoVersion, Uint8Array>,
    createdAt: now,
  };
  core.own.stored = { ...core.own.stored, nextSignedPreKeyId: spk.id + 1 };
  // Keep the previous key one more period for key exchanges still in flight; drop anything older.
  const keep = newest === undefined ? [] : [newest];
  const drop = core.own.signedPreKeys.filter((k) => !keep.includes(k)).map((k) => k.id);
  core.own.signedPreKeys = [...keep, spk];
  changes.putSignedPreKeys = [...(changes.putSignedPreKeys ?? []), spk];
  changes.deleteSignedPreKeys = [...(changes.deleteSignedPreKeys ?? []), ...drop];
  changes.identity = core.own.stored;
  core.log('info', `new signed pre key ${spk.id}`, { event: 'signed-pre-key-rotated', id: spk.id });
  return true;
}

/** The newest signed pre key (the one published). */
export function currentSignedPreKey(core: ManagerCore): StoredSignedPreKey {
  return core.own.signedPreKeys.reduce((a, k) => (k.id > a.id ? k : a));
}

/** Our bundle's content for a version: signed pre key, its signature for that version, identity key, live pre keys. */
export function bundleData(core: ManagerCore, version: OmemoVersion): BundleData {
  const spk = currentSignedPreKey(core);
  return {
    signedPreKeyId: spk.id,
    signedPreKey: spk.publicKey,
    signedPreKeySignature: spk.signatures[version],
    identityKey: identityWireKey(core.own.identity, version),
    preKeys: [...core.own.preKeys.values()]
      .filter((k) => !k.consumed)
      .map((k) => ({ id: k.id, publicKey: k.publicKey })),
  };
}

/** Whether a used pre key is still kept under the policy (outside a catch-up). */
export function keepsUsedPreKey(core: ManagerCore, key: StoredPreKey): boolean {
  return core.now() - (key.consumedAt ?? 0) < core.preKeyPolicy.keepMs;
}

/** Deletes the used pre keys the policy no longer keeps. */
export function pruneUsedPreKeys(core: ManagerCore, changes: StoreChanges): void {
  if (core.catchingUp) return;
  // Every first message of a burst asks; one pass tells whether any used key is due at all (none is too old and
  // they are within the count kept) and finds the oldest, which alone is due when a key exchange used one more than
  // the count kept (the steady state of a burst), without the sort expiredPreKeys does.
  const now = core.now();
  let used = 0;
  let oldest: StoredPreKey | undefined;
  for (const k of core.own.preKeys.values()) {
    if (!k.consumed) continue;
    used++;
    const at = k.consumedAt ?? 0;
    const oldestAt = oldest?.consumedAt ?? 0;
    if (oldest === undefined || at < oldestAt || (at === oldestAt && k.id < oldest.id)) oldest = k;
  }
  if (oldest === undefined) return;
  const young = now - (oldest.consumedAt ?? 0) < core.preKeyPolicy.keepMs;
  if (young && used <= core.preKeyPolicy.maxKept) return;
  const expired =
    young && used === core.preKeyPolicy.maxKept + 1
      ? [oldest.id]
      : expiredPreKeys(core.own.preKeys.values(), core.preKeyPolicy, now, core.catchingUp);
  if (expired.length === 0) return;
  for (const id of expired) core.own.preKeys.delete(id);
  changes.deletePreKeys = [...(changes.deletePreKeys ?? []), ...expired];
}

/** Our bundle for a version, as published. */
export function bundleXml(core: ManagerCore, version: OmemoVersion): string {
  core.checkVersion(version);
  return serializeBundle(bundleData(core, version), version);
}

/** Ids of our currently published pre keys. */
export function preKeyIds(core: ManagerCore): number[] {
  return [...core.own.preKeys.values()].filter((k) => !k.consumed).map((k) => k.id);
}

/**
 * Deletes the used pre keys the policy no longer keeps and rotates the signed pre key when due (or `force`),
 * republishing the bundles after a rotation.
 * @returns whether a new signed pre key was made.
 */
export async function maintainKeys(core: ManagerCore, force: boolean): Promise<boolean> {
  const changes: StoreChanges = {};
  pruneUsedPreKeys(core, changes);
  if (!rotateSignedPreKeyIfDue(core, changes, force)) {
    if (changes.deletePreKeys !== undefined) await core.commit(changes);
    return false;
  }
  await core.commit(changes);
  for (const v of core.versions) await publishBundle(core, v);
  return true;
}
