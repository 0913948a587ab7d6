// XEP-0384 0.3.0 §4.3 / 0.9 §5.3.2: bundles (signed pre key, its signature, identity key, pre keys), read and
// written the same way in both versions but for the names and key encoding each backend's BundleFormat gives.

import { base64Chars, base64FirstByteAt, isCanonicalBase64At } from '../../crypto/base64-at';
import { assertBytes, toBase64 } from '../../crypto/bytes';
import { scanPlainBundle, type PlainBundle } from './bundle-plain';
import { ElementLabel, MAX_ID, assertId, parseBase64Text, parseId, requireOneChild, type Label } from './wire-values';
import { attr, childElements, locateElement, malformed, type XmlElement } from './xml';

/** Most pre keys accepted in (and written to) one bundle. */
export const MAX_PREKEYS_PER_BUNDLE = 200;

/** A bundle's content, with every key as raw 32 bytes whatever the version. */
export interface BundleData {
  signedPreKeyId: number;
  /** 32-byte raw X25519 public key. */
  signedPreKey: Uint8Array;
  /**
   * 64-byte signature (legacy: XEdDSA/Ed25519 over `0x05`‖spk with the sign bit in bit 7 of byte 63; OMEMO 2:
   * Ed25519 over spk).
   */
  signedPreKeySignature: Uint8Array;
  /** 32 bytes. Legacy: raw Curve25519 u (the `0x05` is stripped/added here); OMEMO 2: Ed25519 public key. */
  identityKey: Uint8Array;
  /** At least one, at most MAX_PREKEYS_PER_BUNDLE, unique ids; keys are raw 32-byte X25519. */
  preKeys: { id: number; publicKey: Uint8Array }[];
}

/** How one version writes its bundle: element and attribute names, and the encoding of its public keys. */
export interface BundleFormat {
  readonly ns: string;
  /** The signed pre key element and its id attribute. */
  readonly spk: string;
  readonly spkId: string;
  /** The signature element. */
  readonly spks: string;
  /** The identity key element. */
  readonly ik: string;
  /** A pre key element (inside `<prekeys>`) and its id attribute. */
  readonly pk: string;
  readonly pkId: string;
  /**
   * The raw 32 bytes of a key element's base64 content.
   * @throws OmemoError `malformed-stanza` naming `what` for bad base64 or a wrong length or form.
   */
  readKey(el: XmlElement, what: Label): Uint8Array;
  /**
   * Checks a key element exactly as readKey does, without keeping the key (the pre keys a reader does not use).
   * @throws as readKey.
   */
  checkKey(el: XmlElement, what: Label): void;
  /** The base64 content of a key element holding the raw 32 bytes `key`. */
  writeKey(key: Uint8Array): string;
  /** The bytes of a key on the wire (readKey accepts those and only those): 33 for 0.3, 32 for OMEMO 2. */
  readonly keyBytes: number;
  /** The byte every key on the wire starts with, if any (0.3: `0x05`, Curve25519), which readKey strips. */
  readonly keyTypeByte?: number;
}

/** The signature's limits: 64 bytes, and a bound before decoding. */
const SIGNATURE_LIMITS = Object.freeze({ lengths: [64], maxBytes: 128 });

/**
 * Reads a bundle in the format `n`: see parseBundle (versions/by-version.ts). With `choosePreKey` (given the number
 * of pre keys, the index of the one to use), `preKeys` holds that one only; the others are checked all the same.
 * @throws OmemoError `malformed-stanza` for a missing/repeated element, bad base64, wrong key lengths, a
 * signature that is not 64 bytes, bad or duplicate ids, no pre key, or more than MAX_PREKEYS_PER_BUNDLE pre keys.
 */
export function readBundle(
  xml: string | XmlElement,
  n: BundleFormat,
  choosePreKey?: (count: number) => number,
): BundleData {
  if (typeof xml === 'string') {
    // The plain shape every client publishes: read from the text, no tree (bundle-plain.ts); else every check.
    const plain = scanPlainBundle(xml, n);
    if (plain !== undefined && plain.preKeyIds.length <= MAX_PREKEYS_PER_BUNDLE && distinct(plain.preKeyIds)) {
      return readPlainBundle(plain, choosePreKey);
    }
  }
  return readBundleTree(xml, n, choosePreKey, true);
}

/**
 * readBundle without its fast paths (the plain text of bundle-plain.ts, plainPreKeys): every check, in document
 * order. Exported for the tests that hold the fast paths to it.
 * @throws as readBundle.
 */
export function readBundleThoroughly(
  xml: string | XmlElement,
  n: BundleFormat,
  choosePreKey?: (count: number) => number,
): BundleData {
  return readBundleTree(xml, n, choosePreKey, false);
}

/** readBundle from the tree, the pre keys through plainPreKeys first if `plainFirst`. */
function readBundleTree(
  xml: string | XmlElement,
  n: BundleFormat,
  choosePreKey: ((count: number) => number) | undefined,
  plainFirst: boolean,
): BundleData {
  const bundle = locateElement(xml, 'bundle', n.ns);

  const spkEl = requireOneChild(bundle, n.spk, n.ns);
  const signedPreKeyId = parseId(attr(spkEl, n.spkId), `<${n.spk}> ${n.spkId}`);
  const signedPreKey = n.readKey(spkEl, `<${n.spk}>`);
  const signedPreKeySignature = parseBase64Text(requireOneChild(bundle, n.spks, n.ns), `<${n.spks}>`, SIGNATURE_LIMITS);
  const identityKey = n.readKey(requireOneChild(bundle, n.ik, n.ns), `<${n.ik}>`);

  const pkEls = childElements(requireOneChild(bundle, 'prekeys', n.ns), n.pk, n.ns);
  if (pkEls.length === 0) throw malformed('bundle has no pre key');
  if (pkEls.length > MAX_PREKEYS_PER_BUNDLE) {
    const n = pkEls.length;
    throw malformed(`bundle has ${n} pre keys, more than MAX_PREKEYS_PER_BUNDLE (${MAX_PREKEYS_PER_BUNDLE})`);
  }
  // With choosePreKey, only the chosen pre key is decoded; every other one is checked the same way.
  const chosen = choosePreKey === undefined ? -1 : choosePreKey(pkEls.length);
  const preKeys = (plainFirst ? plainPreKeys(pkEls, n, chosen) : undefined) ?? checkedPreKeys(pkEls, n, chosen);
  return { signedPreKeyId, signedPreKey, signedPreKeySignature, identityKey, preKeys };
}

/**
 * The pre keys `chosen` picks (all when it is negative) when every pre key element is plain (an id of digits only,
 * no child, a key as readKey accepts it without white space) and no id repeats, else undefined: checkedPreKeys
 * decides. Nothing is allocated per pre key that is not chosen.
 */
function plainPreKeys(
  pkEls: readonly XmlElement[],
  n: BundleFormat,
  chosen: number,
): BundleData['preKeys'] | undefined {
  const ids: number[] = [];
  const chars = base64Chars(n.keyBytes);
  for (const el of pkEls) {
    const id = plainId(attr(el, n.pkId));
    const text = el.text;
    const fine =
      id > 0 &&
      el.children.length === 0 &&
      text.length === chars &&
      isCanonicalBase64At(text, 0, n.keyBytes) &&
      (n.keyTypeByte === undefined || base64FirstByteAt(text, 0) === n.keyTypeByte);
    if (!fine) return undefined;
    ids.push(id);
  }
  if (!distinct(ids)) return undefined;
  const preKeys: BundleData['preKeys'] = [];
  for (let i = 0; i < pkEls.length; i++) {
    if (chosen >= 0 && i !== chosen) continue;
    preKeys.push({ id: ids[i]!, publicKey: n.readKey(pkEls[i]!, new ElementLabel(n.pk, n.pkId, ids[i]!)) });
  }
  return preKeys;
}

/** The value of an id parseId accepts (1 to 10 digits, 1..MAX_ID), or −1 (parseId then says why). */
function plainId(value: string | undefined): number {
  if (value === undefined || value.length === 0 || value.length > 10) return -1;
  let id = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    id = id * 10 + d;
  }
  return id >= 1 && id <= MAX_ID ? id : -1;
}

/**
 * The pre keys `chosen` picks, each pre key checked in document order: its id, that the id is new, its key; the
 * first failure throws.
 * @throws OmemoError `malformed-stanza` for a bad or repeated id or a bad key.
 */
function checkedPreKeys(pkEls: readonly XmlElement[], n: BundleFormat, chosen: number): BundleData['preKeys'] {
  const idLabel = `<${n.pk}> ${n.pkId}`;
  const seen = new Set<number>();
  const preKeys: BundleData['preKeys'] = [];
  for (let i = 0; i < pkEls.length; i++) {
    const el = pkEls[i]!;
    const id = parseId(attr(el, n.pkId), idLabel);
    if (seen.has(id)) throw malformed(`pre key id ${id} appears twice in the bundle`);
    seen.add(id);
    const label = new ElementLabel(n.pk, n.pkId, id); // a bundle has 100 pre keys: no string each
    if (chosen < 0 || i === chosen) preKeys.push({ id, publicKey: n.readKey(el, label) });
    else n.checkKey(el, label);
  }
  return preKeys;
}

/**
 * readBundle's result for a bundle scanPlainBundle has checked (so every key decodes): the same pre keys chosen, in
 * the same order of calls.
 */
function readPlainBundle(p: PlainBundle, choosePreKey?: (count: number) => number): BundleData {
  const signedPreKey = p.signedPreKey();
  const signedPreKeySignature = p.signedPreKeySignature();
  const identityKey = p.identityKey();
  const ids = p.preKeyIds;
  const chosen = choosePreKey === undefined ? -1 : choosePreKey(ids.length);
  const preKeys: BundleData['preKeys'] = [];
  for (let i = 0; i < ids.length; i++) {
    if (chosen < 0 || i === chosen) preKeys.push({ id: ids[i]!, publicKey: p.preKey(i) });
  }
  return { signedPreKeyId: p.signedPreKeyId, signedPreKey, signedPreKeySignature, identityKey, preKeys };
}

/**
 * True when the ids (at most MAX_PREKEYS_PER_BUNDLE, each in 1..2^31-1) are all different: in increasing order
 * (how most clients write them) at a glance, else sorted as 32-bit integers (no Set of 100 numbers).
 */
function distinct(ids: readonly number[]): boolean {
  let i = 1;
  while (i < ids.length && ids[i - 1]! < ids[i]!) i++;
  if (i >= ids.length) return true;
  const sorted = Int32Array.from(ids).sort();
  for (let j = 1; j < sorted.length; j++) if (sorted[j - 1] === sorted[j]) return false;
  return true;
}

/**
 * Writes a bundle in the format `n`, in the XEP's child order: see serializeBundle (versions/by-version.ts).
 * @throws TypeError/RangeError for wrong lengths, bad or duplicate ids, no pre key or more than
 * MAX_PREKEYS_PER_BUNDLE.
 */
export function writeBundle(b: BundleData, n: BundleFormat): string {
  if (typeof b !== 'object' || b === null) throw new TypeError('bundle must be an object');
  assertId(b.signedPreKeyId, 'signedPreKeyId');
  assertBytes(b.signedPreKey, 'signedPreKey', 32);
  assertBytes(b.signedPreKeySignature, 'signedPreKeySignature', 64);
  assertBytes(b.identityKey, 'identityKey', 32);
  if (!Array.isArray(b.preKeys)) throw new TypeError('preKeys must be an array');
  if (b.preKeys.length === 0) throw new RangeError('preKeys must contain at least one pre key');
  if (b.preKeys.length > MAX_PREKEYS_PER_BUNDLE) {
    const n = b.preKeys.length;
    throw new RangeError(`preKeys has ${n} entries, more than MAX_PREKEYS_PER_BUNDLE (${MAX_PREKEYS_PER_BUNDLE})`);
  }
  const seen = new Set<number>();
  let pks = '';
  b.preKeys.forEach((pk, i) => {
    if (typeof pk !== 'object' || pk === null) throw new TypeError(`preKeys[${i}] must be an object`);
    assertId(pk.id, `preKeys[${i}].id`);
    if (seen.has(pk.id)) throw new RangeError(`preKeys[${i}].id ${pk.id} is a duplicate`);
    seen.add(pk.id);
    assertBytes(pk.publicKey, `preKeys[${i}].publicKey`, 32);
    pks += `<${n.pk} ${n.pkId}="${pk.id}">${n.writeKey(pk.publicKey)}</${n.pk}>`;
  });
  return (
    `<bundle xmlns="${n.ns}">` +
    `<${n.spk} ${n.spkId}="${b.signedPreKeyId}">${n.writeKey(b.signedPreKey)}</${n.spk}>` +
    `<${n.spks}>${toBase64(b.signedPreKeySignature)}</${n.spks}>` +
    `<${n.ik}>${n.writeKey(b.identityKey)}</${n.ik}>` +
    `<prekeys>${pks}</prekeys>` +
    `</bundle>`
  );
}
