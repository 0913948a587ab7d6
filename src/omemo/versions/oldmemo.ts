// XEP-0384 0.3.0 (OMEMO 0.3, python-omemo's "oldmemo", namespace `eu.siacs.conversations.axolotl`): the backend
// of the legacy version.
import { GCM_TAG_BYTES, aesGcmDecryptAsync, aesGcmEncryptAsync } from '../../crypto/aes';
import { assertBytes, base64DecodedLength, concatBytes, fromBase64, toBase64 } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import type { Rng } from '../../crypto/random';
import { LEGACY_KEY_TYPE_DJB } from '../../protocol/constants';
import type { BundleFormat } from '../stanzas/bundle';
import type { DeviceListFormat } from '../stanzas/device-list';
import { checkKeyCount, describe, parseKey } from '../stanzas/encrypted-element';
import type { EncryptedFormat, EncryptedKey, KeyFilter } from '../stanzas/encrypted-element';
import { ITEM_ID_CURRENT } from '../stanzas/namespaces';
import { checkPlaintext, checkSealed, type KeyMaterialShape, type SealedPayload } from '../stanzas/payload';
import { OPEN_ACCESS, assertNodeKind } from '../stanzas/publish-options';
import type { StanzaSizeBounds } from '../stanzas/stanza-size';
import { assertId, optionalChild, parseBase64Text, type Label } from '../stanzas/wire-values';
import { malformed, type XmlElement } from '../stanzas/xml';
import type { OmemoBackend } from './backend';
import { stanzaCodecs } from './stanza-codecs';

/** Legacy OMEMO 0.3 namespace. */
export const NS_LEGACY = 'eu.siacs.conversations.axolotl';
/** Legacy device list PEP node (item id `current`). */
export const NODE_LEGACY_DEVICELIST = 'eu.siacs.conversations.axolotl.devicelist';
/** Prefix of the legacy per-device bundle nodes; the full node is `PREFIX + deviceId`. */
export const NODE_LEGACY_BUNDLES_PREFIX = 'eu.siacs.conversations.axolotl.bundles:';
/** Accepted lengths of the legacy `<iv>` (python-omemo writes 12, some clients 16). */
export const LEGACY_IV_LENGTHS: readonly number[] = Object.freeze([12, 16]);
/** OMEMO 0.3 `<iv>` length we write, in bytes; 16 is accepted on receipt. */
export const LEGACY_IV_BYTES = 12;
/** AES-128-GCM payload key, in bytes. */
const LEGACY_KEY_BYTES = 16;

/**
 * Legacy bundle node of one device: `eu.siacs.conversations.axolotl.bundles:<deviceId>`.
 * @throws TypeError/RangeError unless `deviceId` is an integer in 1..MAX_ID.
 */
export function legacyBundleNode(deviceId: number): string {
  assertId(deviceId, 'deviceId');
  return `${NODE_LEGACY_BUNDLES_PREFIX}${deviceId}`;
}

/** `<list xmlns='eu.siacs.conversations.axolotl'>`: ids only (python-oldmemo rejects any other attribute). */
const DEVICE_LIST: DeviceListFormat = Object.freeze({ ns: NS_LEGACY, element: 'list', labels: false });

/**
 * The raw key of a 0.3 key element: 33 bytes `0x05`‖key on the wire (libsignal's serialisation).
 * @throws OmemoError `malformed-stanza` naming `what` for bad base64 or any other length or type byte.
 */
function readDjbKey(el: XmlElement, what: Label): Uint8Array {
  const bytes = parseBase64Text(el, what, { maxBytes: 64 });
  if (bytes.length !== 33 || bytes[0] !== LEGACY_KEY_TYPE_DJB) {
    throw malformed(
      `${what} must be 33 bytes 0x05‖key (libsignal's serialisation), got ${bytes.length} bytes` +
        (bytes.length > 0 ? ` starting 0x${bytes[0]!.toString(16).padStart(2, '0')}` : ''),
    );
  }
  return bytes.slice(1);
}

/** Checks a 0.3 key element as readDjbKey does; only a key that may be bad is decoded (for readDjbKey's error). */
function checkDjbKey(el: XmlElement, what: Label): void {
  const text = el.text;
  const fine =
    el.children.length === 0 &&
    base64DecodedLength(text) === 33 &&
    fromBase64(text.slice(0, 4))?.[0] === LEGACY_KEY_TYPE_DJB;
  if (!fine) readDjbKey(el, what);
}

/** The base64 of `0x05`‖key. */
function writeDjbKey(key: Uint8Array): string {
  const wire = new Uint8Array(33);
  wire[0] = LEGACY_KEY_TYPE_DJB;
  wire.set(key, 1);
  return toBase64(wire);
}

/** The 0.3 bundle: libsignal's element names, keys as `0x05`‖key (exported for the tests of the bundle reader). */
export const OLDMEMO_BUNDLE_FORMAT: BundleFormat = Object.freeze<BundleFormat>({
  ns: NS_LEGACY,
  spk: 'signedPreKeyPublic',
  spkId: 'signedPreKeyId',
  spks: 'signedPreKeySignature',
  ik: 'identityKey',
  pk: 'preKeyPublic',
  pkId: 'preKeyId',
  readKey: readDjbKey,
  checkKey: checkDjbKey,
  writeKey: writeDjbKey,
  keyBytes: 33,
  keyTypeByte: LEGACY_KEY_TYPE_DJB,
});

/**
 * The 0.3 `<encrypted>`: `<key rid prekey>`s and one `<iv>` (also in empty messages) directly in `<header>` (exported
 * for the tests of the plain reader).
 */
export const OLDMEMO_ENCRYPTED_FORMAT: EncryptedFormat = Object.freeze<EncryptedFormat>({
  ns: NS_LEGACY,
  keyExchangeFlag: 'prekey',
  ivLengths: LEGACY_IV_LENGTHS,
  readHeader: (header, keep, transient) => {
    let count = 0;
    for (const c of header.children) {
      if (c.ns !== NS_LEGACY || (c.name !== 'key' && c.name !== 'iv')) {
        throw malformed(`legacy <header> may contain only <key> and <iv>, found ${describe(c)}`);
      }
      if (c.name === 'key') count++;
    }
    checkKeyCount(count);
    const ivEl = optionalChild(header, 'iv', NS_LEGACY);
    if (!ivEl) throw malformed('legacy <header> has no <iv> (required, also in empty messages)');
    const iv = parseBase64Text(ivEl, '<iv>', { lengths: LEGACY_IV_LENGTHS, maxBytes: 64 });
    const keys: EncryptedKey[] = [];
    for (const c of header.children) {
      if (c.name !== 'key') continue;
      const key = parseKey(c, 'prekey', undefined, keep, transient);
      if (key !== undefined) keys.push(key);
    }
    return { keys, iv };
  },
  checkKey: () => undefined, // no JID in 0.3: whatever `jid` a key has is not written
  writeHeader: (data, keyElements, out) => {
    if (data.iv === undefined) throw new TypeError('iv is required for legacy OMEMO (also in empty messages)');
    assertBytes(data.iv, 'iv', LEGACY_IV_LENGTHS);
    for (const el of keyElements) out.push(el);
    out.push('<iv>', toBase64(data.iv), '</iv>');
  },
});

/** Keys addressed to device `deviceId`: the legacy wire format has no JID, so `jid` is ignored. */
function keyFilter(_jid: string | undefined, deviceId: number): KeyFilter {
  assertId(deviceId, 'deviceId');
  return (rid) => rid === deviceId;
}

/** AES-128-GCM: the ratchet carries key16 ‖ tag16 (an empty message's key 16 alone, or with a tag). */
const KEY_MATERIAL: KeyMaterialShape = Object.freeze({
  name: 'legacy',
  keyBytes: LEGACY_KEY_BYTES,
  tagBytes: GCM_TAG_BYTES,
});

/**
 * AES-128-GCM with a random key and `<iv>`: the ratchet carries key16 ‖ tag16, `<payload>` has no tag. Async:
 * where node:crypto is absent (browsers) AES-GCM is WebCrypto's.
 */
async function sealPayload(plaintext: Uint8Array | undefined, rng: Rng): Promise<SealedPayload> {
  checkPlaintext(plaintext);
  const iv = rng(LEGACY_IV_BYTES);
  const key = rng(LEGACY_KEY_BYTES);
  // An empty message carries a bare 16-byte key and still has an <iv> (python-omemo's XSD requires it).
  if (plaintext === undefined) return { keyMaterial: key, iv, payload: undefined };
  const { ciphertext, tag } = await aesGcmEncryptAsync(key, iv, plaintext);
  return { keyMaterial: concatBytes(key, tag), iv, payload: ciphertext };
}

/** Opens what sealPayload made; an empty message's key material is only checked for its size. */
async function openPayload(
  keyMaterial: Uint8Array,
  iv: Uint8Array | undefined,
  payload: Uint8Array | undefined,
): Promise<Uint8Array | undefined> {
  checkSealed(keyMaterial, payload, KEY_MATERIAL);
  if (payload === undefined) return undefined;
  if (iv === undefined || !LEGACY_IV_LENGTHS.includes(iv.length)) {
    throw new OmemoError('malformed-stanza', 'legacy message needs a 12- or 16-byte <iv>');
  }
  const key = keyMaterial.subarray(0, LEGACY_KEY_BYTES);
  return aesGcmDecryptAsync(key, iv, payload, keyMaterial.subarray(LEGACY_KEY_BYTES));
}

/**
 * Largest `<key>` contents, every varint at its longest (5 bytes): 0x33 ‖ WhisperMessage{ratchetKey 33, counter,
 * previousCounter, ciphertext 48} ‖ MAC 8; as PreKeyWhisperMessage: + preKeyId, signedPreKeyId, baseKey 33,
 * identityKey 33, message. AES-GCM keeps the payload's length.
 */
const SIZE: StanzaSizeBounds = Object.freeze<StanzaSizeBounds>({
  keyMessageBytes: 1 + 35 + 6 + 6 + 50 + 8,
  keyExchangeBytes: 1 + 6 + 6 + 35 + 35 + 2 + 106,
  keysPerJid: false,
  payloadCiphertextBytes: (plaintextBytes) => plaintextBytes,
});

/** OMEMO 0.3. */
export const OLDMEMO_BACKEND: OmemoBackend = Object.freeze<OmemoBackend>({
  version: 'oldmemo',
  namespace: NS_LEGACY,
  preference: 1,
  wrapsText: false,
  deviceListNode: NODE_LEGACY_DEVICELIST,

  pepLocations: (deviceId: number) => ({
    deviceListNode: NODE_LEGACY_DEVICELIST,
    deviceListItemId: ITEM_ID_CURRENT,
    bundleNode: legacyBundleNode(deviceId),
    bundleItemId: ITEM_ID_CURRENT,
  }),
  publishOptions: (node: unknown) => {
    assertNodeKind(node);
    return OPEN_ACCESS;
  },

  ...stanzaCodecs('oldmemo', {
    deviceList: DEVICE_LIST,
    bundle: OLDMEMO_BUNDLE_FORMAT,
    encrypted: OLDMEMO_ENCRYPTED_FORMAT,
    size: SIZE,
  }),
  keyFor: (_jid, rid, keyExchange, data) => ({ rid, keyExchange, data }),
  findKey: (keys, jid, deviceId) => {
    const isOurs = keyFilter(jid, deviceId);
    return keys.find((k) => isOurs(k.rid, k.jid));
  },
  keyFilter,

  sealPayload,
  openPayload,
  // Key transport carries a bare 16-byte key (XEP-0384 0.3.0 §4.6); a message without <payload> whose key is
  // key ‖ tag (32 bytes) is a message whose payload went missing.
  isEmptyMessageKey: (keyMaterial) => keyMaterial.length === LEGACY_KEY_BYTES,
});
