// XEP-0384 0.3.0 / 0.9, the per-version API by version name: `parseBundle(xml, version)` and the like, each a
// one-line dispatch to backendFor(version), so that callers name a version instead of holding a backend.
import { randomBytes, type Rng } from '../../crypto/random';
import type { BundleData } from '../stanzas/bundle';
import type { DeviceListEntry } from '../stanzas/device-list';
import {
  findEncrypted,
  type EncryptedElementData,
  type EncryptedKey,
  type KeyFilter,
} from '../stanzas/encrypted-element';
import { plainEncryptedNamespace } from '../stanzas/encrypted-plain';
import type { PepLocations } from '../stanzas/namespaces';
import type { SealedPayload } from '../stanzas/payload';
import type { OmemoNodeKind, PublishOptions } from '../stanzas/publish-options';
import type { XmlElement } from '../stanzas/xml';
import {
  OMEMO_BACKENDS_BY_PREFERENCE,
  backendFor,
  backendForNamespace,
  type OmemoBackend,
  type OmemoVersion,
  type ParsedEncrypted,
} from './backend';

/** The `<encrypted>` namespaces, most preferred first (the order parseEncrypted names them in its error). */
const ENCRYPTED_NAMESPACES: readonly string[] = Object.freeze(OMEMO_BACKENDS_BY_PREFERENCE.map((b) => b.namespace));

/**
 * The backend of the `<encrypted>` that is the root of `xml` when its start tag shows it (text that starts with
 * `<encrypted xmlns="…"`, as the adapter and the bench hand it over): then the backend reads the text itself, through
 * its plain path when it can, and it finds the same element findEncrypted would (the root, first in document order).
 */
function plainRootBackend(xml: string | XmlElement): OmemoBackend | undefined {
  if (typeof xml !== 'string') return undefined;
  return OMEMO_BACKENDS_BY_PREFERENCE[plainEncryptedNamespace(xml, ENCRYPTED_NAMESPACES)]; // [−1]: undefined
}

/**
 * The XML namespace of a version.
 * @throws TypeError for an unknown version.
 */
export function namespaceOf(version: OmemoVersion): string {
  return backendFor(version).namespace;
}

/**
 * PEP nodes and item ids of `deviceId`'s device list and bundle for `version`.
 * @throws TypeError for an unknown version; TypeError/RangeError unless `deviceId` is an integer in 1..2^31-1.
 */
export function pepLocations(version: OmemoVersion, deviceId: number): PepLocations {
  return backendFor(version).pepLocations(deviceId);
}

/**
 * The publish options for a node. Only the OMEMO 2 bundles node needs `pubsub#max_items`; with
 * `numericMaxItems` it is MAX_ITEMS_NUMERIC_FALLBACK instead of `max` (retry after a `precondition-not-met`
 * or `not-acceptable` error).
 * @throws TypeError for an unknown version or node kind.
 */
export function publishOptionsFor(
  version: OmemoVersion,
  node: OmemoNodeKind,
  opts: { numericMaxItems?: boolean } = {},
): PublishOptions {
  return backendFor(version).publishOptions(node, opts);
}

/**
 * Parses a device list. `xml` may be the `<list>`/`<devices>` element itself or anything containing it (a
 * PEP `<item>`, an `<event>` message). Legacy: only `id` is read, other attributes are ignored (python-omemo
 * would reject them). OMEMO 2: `label` and `labelsig` are read too (a `labelsig` without `label` is
 * ignored). Children other than `<device>` are
 * ignored. An empty list gives `[]` (python-omemo rejects it; the caller decides what an empty list means).
 * @throws OmemoError('malformed-stanza') for a missing element, a bad or duplicate id (decimal 1..2^31-1), a
 * bad `labelsig` or more than MAX_DEVICES_PER_LIST devices; TypeError for an unknown version.
 */
export function parseDeviceList(xml: string | XmlElement, version: OmemoVersion): DeviceListEntry[] {
  return backendFor(version).parseDeviceList(xml);
}

/**
 * Serialises a device list as `<list xmlns='eu.siacs.conversations.axolotl'>` (legacy: only `id` is written,
 * a `label` would make python-omemo reject the whole list) or `<devices xmlns='urn:xmpp:omemo:2'>` (with
 * `label` and `labelsig` when given). Note: python-twomemo 1.0.3 (XEP-0384 0.8 schema) rejects a list with
 * `labelsig`; only pass `labelSignature` when the peers understand 0.9.
 * @throws TypeError/RangeError for an unknown version, bad ids, duplicates, more than MAX_DEVICES_PER_LIST
 * entries, or a `labelSignature` without `label`.
 */
export function serializeDeviceList(entries: readonly DeviceListEntry[], version: OmemoVersion): string {
  return backendFor(version).serializeDeviceList(entries);
}

/**
 * Parses a bundle. `xml` may be the `<bundle>` itself or anything containing it (a PEP `<item>`, an IQ
 * result). Children may come in any order (python-oldmemo's schema requires the XEP's order; we do not) and
 * unknown children are ignored; each known child must appear exactly once.
 * @throws OmemoError('malformed-stanza') for a missing/repeated element, bad base64, wrong key lengths
 * (legacy keys must be 33 bytes starting 0x05, OMEMO 2 keys 32 bytes), a signature that is not 64 bytes,
 * bad or duplicate ids, no pre key, or more than MAX_PREKEYS_PER_BUNDLE pre keys; TypeError for an unknown
 * version.
 */
export function parseBundle(xml: string | XmlElement, version: OmemoVersion): BundleData {
  return backendFor(version).parseBundle(xml);
}

/**
 * parseBundle for a session build, which uses one pre key: `choosePreKey` gets the number of pre keys and returns
 * the index of the one to use; only that one is decoded and `preKeys` holds it alone. Every other pre key is
 * checked exactly as parseBundle checks it.
 * @throws as parseBundle.
 */
export function parseBundleChoosing(
  xml: string | XmlElement,
  version: OmemoVersion,
  choosePreKey: (count: number) => number,
): BundleData {
  return backendFor(version).parseBundle(xml, choosePreKey);
}

/**
 * Serialises a bundle in the XEP's child order (signed pre key, signature, identity key, pre keys).
 * Legacy keys are written as 33 bytes `0x05`‖key.
 * @throws TypeError/RangeError for an unknown version, wrong lengths, bad or duplicate ids, no pre key or more
 * than MAX_PREKEYS_PER_BUNDLE.
 */
export function serializeBundle(b: BundleData, version: OmemoVersion): string {
  return backendFor(version).serializeBundle(b);
}

/**
 * Parses an `<encrypted>` element. `xml` may be the element or anything containing it (a whole `<message>`).
 * Without `version`, the first `<encrypted>` of either namespace (document order) is used and its
 * namespace gives the version; pass `version` when a stanza carries both.
 * `<encrypted>` may contain only `<header>` and at most one `<payload>`; legacy `<header>` only `<key>`s and
 * exactly one `<iv>` (12 or 16 bytes, also in empty messages); OMEMO 2 `<header>` only `<keys jid>` groups
 * of `<key>`s. `prekey`/`kex` read "true"/"1" as true and "false"/"0"/absent as false.
 * @throws OmemoError('malformed-stanza') for anything else, bad ids, bad base64, an empty key, no key at all,
 * more than MAX_KEYS_PER_MESSAGE keys or a key over MAX_KEY_ELEMENT_BYTES; TypeError for an unknown version.
 */
export function parseEncrypted(xml: string | XmlElement, version?: OmemoVersion): ParsedEncrypted {
  if (version !== undefined) return backendFor(version).parseEncrypted(xml);
  const plain = plainRootBackend(xml);
  if (plain !== undefined) return plain.parseEncrypted(xml);
  const el = findEncrypted(xml, ENCRYPTED_NAMESPACES);
  return backendForNamespace(el.ns)!.parseEncrypted(el); // findEncrypted: one of their namespaces
}

/**
 * parseEncrypted for a reader that needs only its own key: `keys` holds the keys addressed to device `deviceId`
 * of `jid` (keysFor's choice first); every other key is checked exactly as parseEncrypted checks it, not decoded.
 * For the decryption that follows: the payload and normal messages' keys may be views into a buffer shared with other
 * decoded bytes.
 * @throws as parseEncrypted; TypeError/RangeError as keysFor for a bad `deviceId` or a missing OMEMO 2 `jid`.
 */
export function parseEncryptedFor(
  xml: string | XmlElement,
  jid: string | undefined,
  deviceId: number,
  version?: OmemoVersion,
): ParsedEncrypted {
  if (version === undefined) {
    const b = plainRootBackend(xml);
    if (b !== undefined) {
      let keep: KeyFilter;
      try {
        keep = b.keyFilter(jid, deviceId);
      } catch (e) {
        findEncrypted(xml, ENCRYPTED_NAMESPACES); // a malformed element is reported first, as without the start tag
        throw e;
      }
      return b.parseEncrypted(xml, keep, true);
    }
  }
  const backend = version !== undefined ? backendFor(version) : undefined;
  const el = backend === undefined ? findEncrypted(xml, ENCRYPTED_NAMESPACES) : xml;
  const b = backend ?? backendForNamespace((el as XmlElement).ns)!; // findEncrypted: one of their namespaces
  return b.parseEncrypted(el, b.keyFilter(jid, deviceId), true);
}

/**
 * Serialises an `<encrypted>` element. Keys are written in the given order; OMEMO 2 keys are grouped into
 * one `<keys jid>` per JID, groups in order of first appearance. `prekey="true"`/`kex="true"` is written only
 * for key exchanges (never "false": python-omemo reads any value as true). Legacy: `iv` is required (12 or
 * 16 bytes) and `jid` is not written; OMEMO 2: `jid` is required on every key and `iv` must be absent.
 * No `payload` = an empty message.
 * @throws TypeError/RangeError for an unknown version or invalid data.
 */
export function serializeEncrypted(data: EncryptedElementData, version: OmemoVersion): string {
  return backendFor(version).serializeEncrypted(data);
}

/**
 * The `<key>` addressed to us, or undefined. Legacy: the first key whose `rid` is `deviceId` (the legacy wire
 * format has no JID, `jid` is ignored). OMEMO 2: the key with `rid` = `deviceId` inside `<keys jid>` equal to
 * `jid` (our bare JID, compared exactly); `jid` is required.
 * @throws TypeError for an unknown version or a missing OMEMO 2 `jid`; TypeError/RangeError for a bad `deviceId`.
 */
export function keysFor(
  data: Pick<ParsedEncrypted, 'version' | 'keys'>,
  jid: string | undefined,
  deviceId: number,
): EncryptedKey | undefined {
  return backendFor(data.version).findKey(data.keys, jid, deviceId);
}

/**
 * Encrypts a payload (or makes the key material of an empty message when `plaintext` is undefined).
 * @throws TypeError for an unknown version or a `plaintext` that is not bytes; RangeError over MAX_PAYLOAD_BYTES.
 */
export function sealPayload(
  version: OmemoVersion,
  plaintext: Uint8Array | undefined,
  rng: Rng = randomBytes,
): Promise<SealedPayload> {
  return backendFor(version).sealPayload(plaintext, rng);
}

/**
 * Decrypts a payload with the key material the ratchet delivered. For an empty message (`payload`
 * undefined) it only checks the key material's shape and returns undefined.
 * @throws OmemoError `authentication-failed` for a wrong tag/MAC or key material of the wrong size;
 * `malformed-stanza` for an oversized payload or a bad 0.3 `<iv>`; TypeError for an unknown version.
 */
export async function openPayload(
  version: OmemoVersion,
  keyMaterial: Uint8Array,
  iv: Uint8Array | undefined,
  payload: Uint8Array | undefined,
): Promise<Uint8Array | undefined> {
  return backendFor(version).openPayload(keyMaterial, iv, payload);
}

/**
 * Payload ciphertext length, in bytes: AES-GCM keeps the length (0.3), AES-CBC with PKCS#7 pads to the next block (2).
 * @throws TypeError for an unknown version.
 */
export function payloadCiphertextBytes(version: OmemoVersion, plaintextBytes: number): number {
  return backendFor(version).payloadCiphertextBytes(plaintextBytes);
}

/**
 * An upper bound of one `<key>` element with its content, in bytes.
 * @throws TypeError for an unknown version.
 */
export function keyElementBytes(version: OmemoVersion, keyExchange: boolean): number {
  return backendFor(version).keyElementBytes(keyExchange);
}

/**
 * An upper bound of an `<encrypted>` element with keys of the given sizes (`keyBytes`, see keyElementBytes), one
 * `<keys>` group per JID of `jids` (OMEMO 2), and a payload of `plaintextBytes` (undefined: an empty message).
 * @throws TypeError for an unknown version.
 */
export function encryptedElementBytes(
  version: OmemoVersion,
  keyBytes: number,
  jids: readonly string[],
  plaintextBytes: number | undefined,
): number {
  return backendFor(version).encryptedElementBytes(keyBytes, jids, plaintextBytes);
}
