// omemo-wasm public API (XEP-0384: OMEMO 0.3 `eu.siacs.conversations.axolotl` and OMEMO 2 `urn:xmpp:omemo:2`).
// Named exports only; everything else is internal and may change.
export { OmemoError, isOmemoError, type OmemoErrorCode } from './crypto/errors';
export { cryptoReady } from './crypto/sodium';
export { toBase64, fromBase64, toHex, fromHex } from './crypto/bytes';
export type { Rng } from './crypto/random';

export {
  OmemoManager,
  PRE_KEY_COUNT,
  SIGNED_PRE_KEY_ROTATION_MS,
  HEARTBEAT_AFTER_MESSAGES,
  STALE_DEVICE_AFTER_MESSAGES,
  SESSION_CACHE_ENTRIES,
  DEVICE_LIST_CACHE_ENTRIES,
  type OmemoManagerOptions,
  type DeviceInfo,
  type DeviceReport,
  type EncryptOptions,
  type EncryptResult,
  type EncryptedElementOut,
  type DecryptResult,
  type AutomaticMessage,
} from './omemo/session-manager';
export type { OmemoTransport, AutomaticMessageKind } from './omemo/transport';
export {
  type OmemoStore,
  type StoreChanges,
  type StoredIdentity,
  type StoredSignedPreKey,
  type StoredPreKey,
  type StoredDevice,
  type SessionAddress,
  type TrustLevel,
  sessionKey,
  deviceKey,
} from './omemo/store';
export { MemoryStore } from './omemo/memory-store';
export { SqliteStore, SQLITE_BUSY_TIMEOUT_MS } from './omemo/sqlite-store';
export { type TrustPolicy, formatFingerprint } from './omemo/trust';
export { type OmemoVersion, type ParsedEncrypted, OMEMO_VERSIONS, versionOfNamespace } from './omemo/versions/backend';
export { NS_LEGACY, NODE_LEGACY_DEVICELIST, legacyBundleNode } from './omemo/versions/oldmemo';
export { NS_OMEMO2, NODE_OMEMO2_DEVICES, NODE_OMEMO2_BUNDLES } from './omemo/versions/twomemo';
export {
  pepLocations,
  publishOptionsFor,
  parseDeviceList,
  serializeDeviceList,
  parseBundle,
  serializeBundle,
  parseEncrypted,
  serializeEncrypted,
  keysFor,
} from './omemo/versions/by-version';
export { NS_SCE, type PepLocations } from './omemo/stanzas/namespaces';
export { type PublishOptions, serializePublishOptions, MAX_ITEMS_NUMERIC_FALLBACK } from './omemo/stanzas/publish-options';
export { MAX_DEVICES_PER_LIST, type DeviceListEntry } from './omemo/stanzas/device-list';
export { MAX_PREKEYS_PER_BUNDLE, type BundleData } from './omemo/stanzas/bundle';
export { verifyBundleSignature } from './omemo/stanzas/bundle-signature';
export type { EncryptedKey, EncryptedElementData } from './omemo/stanzas/encrypted-element';
export { buildEnvelope, parseEnvelope, type EnvelopeInput, type ParsedEnvelope } from './omemo/stanzas/sce';
export { MAX_STANZA_CHARS } from './omemo/stanzas/xml';
