// XEP-0384 0.3.0 and 0.9 side by side: one backend per OMEMO version (python-omemo keeps one `Backend` per
// version), found by version name or by XML namespace. Everything that differs between the versions above the
// ratchet is a member of OmemoBackend; the code around it names no version.
import type { Rng } from '../../crypto/random';
import type { ProtocolVersion } from '../../protocol/constants';
import type { BundleData } from '../stanzas/bundle';
import type { DeviceListEntry } from '../stanzas/device-list';
import type { EncryptedElementData, EncryptedKey, KeyFilter } from '../stanzas/encrypted-element';
import type { XmlElement } from '../stanzas/xml';
import type { PepLocations } from '../stanzas/namespaces';
import type { SealedPayload } from '../stanzas/payload';
import type { OmemoNodeKind, PublishOptions } from '../stanzas/publish-options';
import { OLDMEMO_BACKEND } from './oldmemo';
import { TWOMEMO_BACKEND } from './twomemo';

/** The two wire formats: legacy OMEMO 0.3 ("oldmemo") and OMEMO 2 ("twomemo"), named as python-omemo does. */
export type OmemoVersion = ProtocolVersion;

/** A parsed `<encrypted>`, with the version taken from its namespace. */
export interface ParsedEncrypted extends EncryptedElementData {
  version: OmemoVersion;
}

/** What one OMEMO version does its own way: namespace, PEP nodes, stanza codecs, payload crypto, size bounds. */
export interface OmemoBackend {
  /** The version this backend speaks. */
  readonly version: OmemoVersion;
  /** Its XML namespace: of `<encrypted>`, `<bundle>` and the device list. */
  readonly namespace: string;
  /** Rank among the versions a device runs: the highest one is used (OMEMO 2 is preferred over 0.3). */
  readonly preference: number;
  /** Whether its device lists carry labels (`label`, `labelsig`: OMEMO 2 only). */
  readonly supportsLabels: boolean;
  /** Whether a text message is wrapped in an SCE envelope (XEP-0420) before it is encrypted (OMEMO 2 only). */
  readonly wrapsText: boolean;
  /** The PEP node of its device list (item id ITEM_ID_CURRENT). */
  readonly deviceListNode: string;

  /**
   * PEP nodes and item ids of `deviceId`'s device list and bundle.
   * @throws TypeError/RangeError unless `deviceId` is an integer in 1..MAX_ID.
   */
  pepLocations(deviceId: number): PepLocations;
  /**
   * The publish options of a node. With `numericMaxItems`, MAX_ITEMS_NUMERIC_FALLBACK instead of `max` where
   * `pubsub#max_items` is needed (retry after a `precondition-not-met` or `not-acceptable` error).
   * @throws TypeError unless `node` is 'devicelist' or 'bundle'.
   */
  publishOptions(node: OmemoNodeKind, opts?: { numericMaxItems?: boolean }): PublishOptions;

  /**
   * Parses its device list (`<list>` in 0.3, `<devices>` with labels in OMEMO 2), also inside a PEP `<item>`.
   * @throws OmemoError `malformed-stanza` for a missing element, a bad or duplicate id, a bad `labelsig` or more
   * than MAX_DEVICES_PER_LIST devices.
   */
  parseDeviceList(xml: string | XmlElement): DeviceListEntry[];
  /**
   * Serialises its device list; labels are written only where supportsLabels.
   * @throws TypeError/RangeError for bad ids, duplicates, more than MAX_DEVICES_PER_LIST entries, or a
   * `labelSignature` without `label`.
   */
  serializeDeviceList(entries: readonly DeviceListEntry[]): string;
  /**
   * Parses its bundle, also inside a PEP `<item>`; keys come out as raw 32 bytes.
   * @throws OmemoError `malformed-stanza` for a missing/repeated element, bad base64, wrong key lengths, a
   * signature that is not 64 bytes, bad or duplicate ids, no pre key, or more than MAX_PREKEYS_PER_BUNDLE. With
   * `choosePreKey` (the number of pre keys → the index of the one to use), only that pre key is decoded and returned.
   */
  parseBundle(xml: string | XmlElement, choosePreKey?: (count: number) => number): BundleData;
  /**
   * Serialises its bundle from raw 32-byte keys.
   * @throws TypeError/RangeError for wrong lengths, bad or duplicate ids, no pre key or more than
   * MAX_PREKEYS_PER_BUNDLE.
   */
  serializeBundle(bundle: BundleData): string;
  /**
   * Parses its `<encrypted>` element, also inside a whole `<message>`: 0.3 `<key>`s with `prekey` and one `<iv>`,
   * OMEMO 2 `<keys jid>` groups of `<key>`s with `kex`.
   * @throws OmemoError `malformed-stanza` for anything its schema does not allow, bad ids, bad base64, an empty
   * key, no key at all, more than MAX_KEYS_PER_MESSAGE keys or a key over MAX_KEY_ELEMENT_BYTES. With `keep`, only
   * the keys it accepts are returned (the others are checked all the same). With `transient` (a decryption that
   * reads them once), the payload and normal messages' keys may be views into a buffer shared with other decoded bytes.
   */
  parseEncrypted(xml: string | XmlElement, keep?: KeyFilter, transient?: boolean): ParsedEncrypted;
  /**
   * Serialises its `<encrypted>` element (0.3: `iv` required, `jid` not written; OMEMO 2: `jid` required on every
   * key, keys grouped per JID, `iv` absent). No `payload` = an empty message.
   * @throws TypeError/RangeError for invalid data.
   */
  serializeEncrypted(data: EncryptedElementData): string;
  /**
   * The `<key>` for device `rid` of `jid` in its shape: 0.3 keys carry no JID, OMEMO 2 keys do.
   * @throws nothing (serializeEncrypted checks the values).
   */
  keyFor(jid: string, rid: number, keyExchange: boolean, data: Uint8Array): EncryptedKey;
  /**
   * The key addressed to device `deviceId` of `jid` (our bare JID, compared exactly) among `keys`, or undefined.
   * 0.3 matches the first key with that `rid` and ignores `jid` (its wire format has none).
   * @throws TypeError/RangeError unless `deviceId` is an id; TypeError without `jid` where keys carry JIDs.
   */
  findKey(keys: readonly EncryptedKey[], jid: string | undefined, deviceId: number): EncryptedKey | undefined;
  /**
   * Whether a key is addressed to device `deviceId` of `jid`, as findKey decides it (for parseEncrypted's `keep`).
   * @throws as findKey.
   */
  keyFilter(jid: string | undefined, deviceId: number): KeyFilter;

  /**
   * Encrypts a payload (0.3: AES-128-GCM, key material key16 ‖ tag16 and an `<iv>`; OMEMO 2: HKDF-SHA256 →
   * AES-256-CBC + HMAC-SHA256, key material key32 ‖ mac16), or makes the key material of an empty message when
   * `plaintext` is undefined (0.3: a random 16-byte key and an `<iv>`; OMEMO 2: 32 zero bytes).
   * Asynchronous because 0.3's AES-GCM is WebCrypto's where node:crypto is absent.
   * @throws TypeError unless `plaintext` is bytes or undefined; RangeError over MAX_PAYLOAD_BYTES (rejects).
   */
  sealPayload(plaintext: Uint8Array | undefined, rng: Rng): Promise<SealedPayload>;
  /**
   * Decrypts a payload with the key material the ratchet delivered. For an empty message (`payload`
   * undefined) it only checks the key material's shape and returns undefined. OMEMO 2 answers synchronously
   * (the kernel or node:crypto; no promise for a decrypt to wait on), 0.3 with a promise (WebCrypto's AES-GCM
   * where node:crypto is absent); a failure is thrown, or rejected, never both.
   * @throws OmemoError `authentication-failed` for a wrong tag/MAC or key material of the wrong size;
   * `malformed-stanza` for a payload over MAX_PAYLOAD_BYTES or a missing/bad 0.3 `<iv>`.
   */
  openPayload(
    keyMaterial: Uint8Array,
    iv: Uint8Array | undefined,
    payload: Uint8Array | undefined,
  ): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /**
   * Whether key material that came without a payload is an empty message's (OMEMO 2: 32 zero bytes) rather than
   * the key of a message whose payload went missing. 0.3 cannot tell them apart: always true.
   * @throws nothing.
   */
  isEmptyMessageKey(keyMaterial: Uint8Array): boolean;

  /**
   * Payload ciphertext length, in bytes, of a plaintext of `plaintextBytes` (0.3 keeps it, OMEMO 2 pads to blocks).
   * @throws nothing.
   */
  payloadCiphertextBytes(plaintextBytes: number): number;
  /**
   * An upper bound of one of its `<key>` elements with its content, in bytes.
   * @throws nothing.
   */
  keyElementBytes(keyExchange: boolean): number;
  /**
   * An upper bound of its `<encrypted>` element, in bytes, with keys of `keyBytes` in all (see keyElementBytes),
   * addressed to `jids`, and a payload of `plaintextBytes` (undefined: an empty message).
   * @throws nothing.
   */
  encryptedElementBytes(keyBytes: number, jids: readonly string[], plaintextBytes: number | undefined): number;
}

/** Every backend, in the order of OMEMO_VERSIONS (newest last). */
export const OMEMO_BACKENDS: readonly OmemoBackend[] = Object.freeze([OLDMEMO_BACKEND, TWOMEMO_BACKEND]);

/** Every backend, most preferred first. */
export const OMEMO_BACKENDS_BY_PREFERENCE: readonly OmemoBackend[] = Object.freeze(
  [...OMEMO_BACKENDS].sort((a, b) => b.preference - a.preference),
);

/** Both versions, newest last. */
export const OMEMO_VERSIONS: readonly OmemoVersion[] = Object.freeze(OMEMO_BACKENDS.map((b) => b.version));

/**
 * The backend of a version.
 * @throws TypeError unless `version` is one of OMEMO_VERSIONS.
 */
export function backendFor(version: OmemoVersion): OmemoBackend {
  for (const backend of OMEMO_BACKENDS) if (backend.version === version) return backend;
  const names = OMEMO_VERSIONS.map((v) => `'${v}'`).join(' or ');
  throw new TypeError(`version must be ${names}, got ${JSON.stringify(version) ?? typeof version}`);
}

/**
 * The backend whose namespace is `ns`, or undefined.
 * @throws nothing.
 */
export function backendForNamespace(ns: string): OmemoBackend | undefined {
  return OMEMO_BACKENDS.find((b) => b.namespace === ns);
}

/**
 * The version whose namespace is `ns`, or undefined.
 * @throws nothing.
 */
export function versionOfNamespace(ns: string): OmemoVersion | undefined {
  return backendForNamespace(ns)?.version;
}
