// omemo-wasm public API (XEP-0384: OMEMO 0.3 `eu.siacs.conversations.axolotl` and OMEMO 2 `urn:xmpp:omemo:2`).
// Named exports only; everything else is internal and may change.
export { OmemoError, isOmemoError, OMEMO_ERROR_CODES, type OmemoErrorCode } from './crypto/errors';
export { cryptoReady } from './crypto/ready';
export { toBase64, fromBase64, toHex, fromHex } from './crypto/bytes';
export type { Rng } from './crypto/random';

export {
  OmemoManager,
  PRE_KEY_COUNT,
  SIGNED_PRE_KEY_ROTATION_MS,
  HEARTBEAT_AFTER_MESSAGES,
  SESSION_REPAIR_INTERVAL_MS,
  STALE_DEVICE_AFTER_MESSAGES,
  REPUBLISH_DEFERRED_OPERATIONS_MAX,
  type OmemoManagerOptions,
  type DeviceInfo,
  type DeviceReport,
  type RecipientReport,
  type EncryptOptions,
  type EncryptResult,
  type EncryptedElementOut,
  type DecryptResult,
  type AutomaticMessage,
} from './omemo/manager/session-manager';
export type { OmemoTransport, AutomaticMessageKind } from './omemo/manager/transport';
export type { XmlElement as OmemoXmlElement } from './omemo/stanzas/xml';
export { LOG_LEVELS, type OmemoLogger, type LogFields, type LogLevel } from './omemo/manager/logger';
export type {
  OmemoStore,
  StoreChanges,
  StagedCommit,
  StoredIdentity,
  StoredSignedPreKey,
  StoredPreKey,
  StoredDevice,
  SessionAddress,
  TrustLevel,
  PreviousIdentity,
} from './omemo/store/store';
export { MemoryStore } from './omemo/store/memory-store';
export {
  OmemoAccounts,
  ACCOUNTS_MAX_OPEN_MANAGERS,
  type OmemoAccountsOptions,
} from './omemo/accounts/omemo-accounts';
// Group chats (XEP-0384 with XEP-0045 rooms): the room model and its send/receive helpers.
export {
  OmemoRoom,
  MAX_ROOM_MEMBERS,
  MAX_ROOM_OCCUPANTS,
  ROOM_SENT_MESSAGES_KEPT,
  type RoomAffiliation,
  type RoomOccupant,
  type SentMessage,
} from './omemo/rooms/room';
export {
  encryptToRoom,
  resolveRoomSender,
  type RoomEncryptOptions,
  type RoomMessageSender,
  type RoomSender,
} from './omemo/rooms/room-messages';
export { PEP_FETCH_CONCURRENCY, PEP_FETCH_TIMEOUT_MS } from './omemo/manager/bounded-fetch';
export {
  IndexedDbStore,
  INDEXEDDB_SCHEMA_VERSION,
  type IndexedDbStoreOptions,
} from './omemo/store/indexeddb-store';
export { type TrustPolicy, formatFingerprint } from './omemo/policies/trust';
export { type IdentityChange, MAX_PREVIOUS_IDENTITIES_PER_DEVICE } from './omemo/policies/identity-trust';
export {
  type ConsumedPreKeyPolicy,
  CONSUMED_PRE_KEY_KEEP_MS,
  CONSUMED_PRE_KEYS_KEPT_MAX,
  MAX_KEY_EXCHANGES_PER_PRE_KEY,
} from './omemo/policies/pre-key-policy';
export { type StaleDevicePolicy, STALE_DEVICE_AFTER_DAYS } from './omemo/policies/stale-device';
export { DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES } from './omemo/stanzas/stanza-size';
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
export {
  type PublishOptions,
  serializePublishOptions,
  MAX_ITEMS_NUMERIC_FALLBACK,
} from './omemo/stanzas/publish-options';
export { MAX_DEVICES_PER_LIST, type DeviceListEntry } from './omemo/stanzas/device-list';
export { MAX_PREKEYS_PER_BUNDLE, type BundleData } from './omemo/stanzas/bundle';
export { verifyBundleSignature } from './omemo/stanzas/bundle-signature';
export type { EncryptedKey, EncryptedElementData } from './omemo/stanzas/encrypted-element';
export { buildEnvelope, parseEnvelope, type EnvelopeInput, type ParsedEnvelope } from './omemo/stanzas/sce';
export { MAX_STANZA_CHARS } from './omemo/stanzas/xml';

// Encrypted files (XEP-0454 aesgcm:// links): usable with any XMPP library; the @xmpp/client adapter adds the
// XEP-0363 upload (`omemo-wasm/xmpp-client`: sendFile, uploadFile, downloadFile, message.file).
export {
  FileDescriptor,
  fileOfText,
  type FileMeta,
  type FileDescriptorJson,
} from './omemo/files/file-descriptor';
export { isAesgcmBody, MAX_AESGCM_URL_CHARS } from './omemo/files/aesgcm-url';
export { encryptFile, toReadableStream, MAX_FILE_BYTES, type EncryptedFile } from './omemo/files/file-encryption';
export { fileCipherBackend, WEBCRYPTO_FILE_MAX_BYTES, type FileCipherBackend } from './crypto/aes-gcm-stream';
export type { ByteSource } from './crypto/byte-source';
export {
  downloadFile,
  DEFAULT_MAX_DOWNLOAD_BYTES,
  type DownloadFileOptions,
} from './adapters/file-transfer';
export type { FetchLike } from './adapters/http-upload';

// Internals that leaked into the public API in earlier versions: still exported, deprecated, to be removed.
import {
  DEVICE_LIST_CACHE_ENTRIES as deviceListCacheEntries,
  SESSION_CACHE_ENTRIES as sessionCacheEntries,
} from './omemo/manager/session-manager';
import { deviceKey as deviceKeyOf, type SessionAddress, sessionKey as sessionKeyOf } from './omemo/store/store';

/** @deprecated An internal map-key encoding; the store contract speaks in addresses (`SessionAddress`). */
export const sessionKey: (address: SessionAddress) => string = sessionKeyOf;
/** @deprecated An internal map-key encoding of a device; nothing in the API takes it. */
export const deviceKey: (jid: string, deviceId: number) => string = deviceKeyOf;
/** @deprecated The size of an internal cache (see SECURITY.md for the bounds); not part of the API. */
export const SESSION_CACHE_ENTRIES: number = sessionCacheEntries;
/** @deprecated The size of an internal cache (see SECURITY.md for the bounds); not part of the API. */
export const DEVICE_LIST_CACHE_ENTRIES: number = deviceListCacheEntries;
