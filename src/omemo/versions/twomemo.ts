// XEP-0384 0.9 (OMEMO 2, python-omemo's "twomemo", namespace `urn:xmpp:omemo:2`): the backend of the current
// version.
import { toBase64, utf8Encode } from '../../crypto/bytes';
import type { Rng } from '../../crypto/random';
import { openMessage, sealMessage } from '../../protocol/message-crypto';
import type { BundleFormat } from '../stanzas/bundle';
import type { DeviceListFormat } from '../stanzas/device-list';
import {
  checkKeyCount,
  describe,
  parseKey,
  rejectText,
  type EncryptedFormat,
  type EncryptedKey,
  type KeyFilter,
} from '../stanzas/encrypted-element';
import { ITEM_ID_CURRENT } from '../stanzas/namespaces';
import { checkPlaintext, checkSealed, type KeyMaterialShape, type SealedPayload } from '../stanzas/payload';
import { MAX_ITEMS_NUMERIC_FALLBACK, OPEN_ACCESS, assertNodeKind } from '../stanzas/publish-options';
import type { PublishOptions } from '../stanzas/publish-options';
import type { StanzaSizeBounds } from '../stanzas/stanza-size';
import { assertId, checkBase64Text, parseBase64Text } from '../stanzas/wire-values';
import { attr, malformed } from '../stanzas/xml';
import { escapeXmlAttr } from '../stanzas/xml-serialize';
import type { OmemoBackend } from './backend';
import { stanzaCodecs } from './stanza-codecs';

/** OMEMO 2 namespace (XEP-0384 ≥ 0.8). */
export const NS_OMEMO2 = 'urn:xmpp:omemo:2';
/** OMEMO 2 device list PEP node (item id `current`). */
export const NODE_OMEMO2_DEVICES = 'urn:xmpp:omemo:2:devices';
/** OMEMO 2 bundles PEP node: one node for all devices, item id = device id. */
export const NODE_OMEMO2_BUNDLES = 'urn:xmpp:omemo:2:bundles';

/** Payload key (HKDF input), in bytes. */
const OMEMO2_KEY_BYTES = 32;
/** Truncated HMAC-SHA256 of the payload carried after the key, in bytes. */
const OMEMO2_MAC_BYTES = 16;
/** HKDF info of the payload keys (XEP-0384 0.9 §4.4). */
const OMEMO2_PAYLOAD_INFO = utf8Encode('OMEMO Payload');
/** No associated data: the payload MAC covers the ciphertext only. */
const EMPTY = new Uint8Array(0);

/** OMEMO 2 bundles node: one item per device, so the node must keep as many items as the server allows. */
export const OMEMO2_BUNDLES_OPTIONS: PublishOptions = Object.freeze({
  'pubsub#access_model': 'open',
  'pubsub#max_items': 'max',
});
/** OMEMO2_BUNDLES_OPTIONS for servers that refuse `max`. */
const OMEMO2_BUNDLES_OPTIONS_NUMERIC: PublishOptions = Object.freeze({
  ...OMEMO2_BUNDLES_OPTIONS,
  'pubsub#max_items': MAX_ITEMS_NUMERIC_FALLBACK,
});

/** `<devices xmlns='urn:xmpp:omemo:2'>` with `label` and `labelsig`. */
const DEVICE_LIST: DeviceListFormat = Object.freeze({ ns: NS_OMEMO2, element: 'devices', labels: true });

/** OMEMO 2 keys in bundles: their raw 32 bytes. */
const RAW_KEY_LIMITS = Object.freeze({ lengths: [32], maxBytes: 64 });

/** The OMEMO 2 bundle: short element names, keys as their raw 32 bytes (exported for the bundle reader's tests). */
export const TWOMEMO_BUNDLE_FORMAT: BundleFormat = Object.freeze<BundleFormat>({
  ns: NS_OMEMO2,
  spk: 'spk',
  spkId: 'id',
  spks: 'spks',
  ik: 'ik',
  pk: 'pk',
  pkId: 'id',
  readKey: (el, what) => parseBase64Text(el, what, RAW_KEY_LIMITS),
  checkKey: (el, what) => {
    checkBase64Text(el, what, RAW_KEY_LIMITS);
  },
  writeKey: toBase64,
  keyBytes: 32,
});

/**
 * The OMEMO 2 `<encrypted>`: `<header>` holds one `<keys jid>` group of `<key rid kex>`s per recipient JID (exported
 * for the tests of the plain reader).
 */
export const TWOMEMO_ENCRYPTED_FORMAT: EncryptedFormat = Object.freeze<EncryptedFormat>({
  ns: NS_OMEMO2,
  keyExchangeFlag: 'kex',
  readHeader: (header, keep, transient) => {
    let count = 0;
    for (const group of header.children) {
      if (group.ns !== NS_OMEMO2 || group.name !== 'keys') {
        throw malformed(`OMEMO 2 <header> may contain only <keys>, found ${describe(group)}`);
      }
      rejectText(group);
      for (const c of group.children) {
        if (c.ns !== NS_OMEMO2 || c.name !== 'key') {
          throw malformed(`<keys> may contain only <key>, found ${describe(c)}`);
        }
        count++;
      }
    }
    checkKeyCount(count);
    // Keys come out grouped by JID in order of first appearance (what serializeEncrypted writes), also when a JID
    // has several <keys> groups; within a JID, document order is kept (found by the fuzzer: parse ∘ serialize).
    const byJid = new Map<string, EncryptedKey[]>();
    for (const group of header.children) {
      const jid = attr(group, 'jid');
      if (jid === undefined || jid.trim() === '') throw malformed('<keys> has no jid');
      let list = byJid.get(jid);
      if (list === undefined) byJid.set(jid, (list = []));
      for (const c of group.children) {
        const key = parseKey(c, 'kex', jid, keep, transient);
        if (key !== undefined) list.push(key);
      }
    }
    if (byJid.size === 1) return { keys: byJid.values().next().value! }; // the usual case: no copies
    const keys: EncryptedKey[] = [];
    for (const list of byJid.values()) for (const k of list) keys.push(k);
    return { keys };
  },
  checkKey: (k, i) => {
    if (typeof k.jid !== 'string' || k.jid.trim() === '') {
      // parseEncrypted refuses a <keys> whose jid is empty or white space only: never write one.
      throw new TypeError(`keys[${i}].jid must be a non-empty string (bare JID) for OMEMO 2, not white space only`);
    }
  },
  writeHeader: (data, keyElements, out) => {
    if (data.iv !== undefined) throw new TypeError('iv must be absent for OMEMO 2 (it has no <iv>)');
    // Keys arrive grouped by JID (one fan-out = runs of the same JID): escape each JID once.
    const groups = new Map<string, { first: number; keys: string[] }>();
    keyElements.forEach((el, i) => {
      const jid = data.keys[i]!.jid!; // checkKey: a non-empty string
      const group = groups.get(jid);
      if (group !== undefined) group.keys.push(el);
      else groups.set(jid, { first: i, keys: [el] });
    });
    for (const [jid, g] of groups) {
      out.push(`<keys jid="${escapeXmlAttr(jid, `keys[${g.first}].jid`)}">`);
      for (const el of g.keys) out.push(el);
      out.push('</keys>');
    }
  },
});

/** HKDF → AES-256-CBC + HMAC: the ratchet carries key32 ‖ mac16 (an empty message 32 zeros, or with a MAC). */
const KEY_MATERIAL: KeyMaterialShape = Object.freeze({
  name: 'OMEMO 2',
  keyBytes: OMEMO2_KEY_BYTES,
  tagBytes: OMEMO2_MAC_BYTES,
});

/**
 * HKDF-SHA256(random key, 32 zero bytes, "OMEMO Payload") → AES-256 key 32 ‖ HMAC key 32 ‖ CBC IV 16; AES-256-CBC
 * + HMAC-SHA256 over the ciphertext (protocol/message-crypto.ts: one kernel call where it is loaded). The ratchet
 * carries key32 ‖ mac16; an empty message 32 zeros.
 */
async function sealPayload(plaintext: Uint8Array | undefined, rng: Rng): Promise<SealedPayload> {
  checkPlaintext(plaintext);
  if (plaintext === undefined) {
    return { keyMaterial: new Uint8Array(OMEMO2_KEY_BYTES), iv: undefined, payload: undefined };
  }
  const key = rng(OMEMO2_KEY_BYTES);
  const { ciphertext, mac } = sealMessage(key, OMEMO2_PAYLOAD_INFO, plaintext);
  const keyMaterial = new Uint8Array(OMEMO2_KEY_BYTES + OMEMO2_MAC_BYTES);
  keyMaterial.set(key);
  keyMaterial.set(mac.subarray(0, OMEMO2_MAC_BYTES), OMEMO2_KEY_BYTES);
  return { keyMaterial, iv: undefined, payload: ciphertext };
}

/**
 * Opens what sealPayload made, MAC first; an empty message's key material is only checked for its size.
 * Synchronous: a promise here cost every decrypt an allocation and a turn of the microtask queue.
 */
function openPayload(
  keyMaterial: Uint8Array,
  _iv: Uint8Array | undefined,
  payload: Uint8Array | undefined,
): Uint8Array | undefined {
  checkSealed(keyMaterial, payload, KEY_MATERIAL);
  if (payload === undefined) return undefined;
  return openMessage({
    key: keyMaterial.subarray(0, OMEMO2_KEY_BYTES),
    chain: false,
    info: OMEMO2_PAYLOAD_INFO,
    macPrefix: EMPTY,
    macBody: payload,
    ciphertext: payload,
    mac: keyMaterial.subarray(OMEMO2_KEY_BYTES),
    macBytes: OMEMO2_MAC_BYTES,
    badMacCode: 'authentication-failed',
    badMacText: 'OMEMO 2 payload MAC does not verify',
  }).plaintext;
}

/** Keys addressed to device `deviceId` of `jid` (our bare JID, compared exactly with `<keys jid>`). */
function keyFilter(jid: string | undefined, deviceId: number): KeyFilter {
  assertId(deviceId, 'deviceId');
  if (typeof jid !== 'string' || jid === '') throw new TypeError('jid (own bare JID) is required for OMEMO 2');
  return (rid, keyJid) => rid === deviceId && keyJid === jid;
}

/** OMEMO 2 empty messages carry 32 zero bytes as key material (XEP-0384 0.9 §4.4). */
function isEmptyMessageKey(keyMaterial: Uint8Array): boolean {
  return keyMaterial.length === OMEMO2_KEY_BYTES && keyMaterial.every((b) => b === 0);
}

/**
 * Largest `<key>` contents, every varint at its longest (5 bytes): OMEMOAuthenticatedMessage{mac 16,
 * OMEMOMessage{n, pn, dh_pub 32, ciphertext 64}}; as OMEMOKeyExchange: + pk_id, spk_id, ik 32, ek 32, message.
 * AES-CBC with PKCS#7 pads the payload to the next block.
 */
const SIZE: StanzaSizeBounds = Object.freeze<StanzaSizeBounds>({
  keyMessageBytes: 18 + 2 + 6 + 6 + 34 + 66,
  keyExchangeBytes: 6 + 6 + 34 + 34 + 2 + 132,
  keysPerJid: true,
  payloadCiphertextBytes: (plaintextBytes) => (plaintextBytes & ~15) + 16,
});

/** OMEMO 2. */
export const TWOMEMO_BACKEND: OmemoBackend = Object.freeze<OmemoBackend>({
  version: 'twomemo',
  namespace: NS_OMEMO2,
  preference: 2,
  wrapsText: true,
  deviceListNode: NODE_OMEMO2_DEVICES,

  pepLocations: (deviceId: number) => {
    assertId(deviceId, 'deviceId');
    return {
      deviceListNode: NODE_OMEMO2_DEVICES,
      deviceListItemId: ITEM_ID_CURRENT,
      bundleNode: NODE_OMEMO2_BUNDLES,
      bundleItemId: String(deviceId),
    };
  },
  publishOptions: (node: unknown, opts: { numericMaxItems?: boolean } = {}) => {
    assertNodeKind(node);
    if (node === 'devicelist') return OPEN_ACCESS; // one item: the default max_items fits
    return opts.numericMaxItems ? OMEMO2_BUNDLES_OPTIONS_NUMERIC : OMEMO2_BUNDLES_OPTIONS;
  },

  ...stanzaCodecs('twomemo', {
    deviceList: DEVICE_LIST,
    bundle: TWOMEMO_BUNDLE_FORMAT,
    encrypted: TWOMEMO_ENCRYPTED_FORMAT,
    size: SIZE,
  }),
  keyFor: (jid, rid, keyExchange, data) => ({ jid, rid, keyExchange, data }),
  findKey: (keys, jid, deviceId) => {
    const isOurs = keyFilter(jid, deviceId);
    return keys.find((k) => isOurs(k.rid, k.jid));
  },
  keyFilter,

  sealPayload,
  openPayload,
  isEmptyMessageKey,
});
