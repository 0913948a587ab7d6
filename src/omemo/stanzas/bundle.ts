// XEP-0384 0.3.0 §4.3 / 0.9 §5.3.2: bundles (signed pre key, its signature, identity key, pre keys), read and
// written the same way in both versions but for the names and key encoding each backend's BundleFormat gives.

import { assertBytes, toBase64 } from '../../crypto/bytes';
import { ElementLabel, assertId, parseBase64Text, parseId, requireOneChild, type Label } from './wire-values';
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
}

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
  const bundle = locateElement(xml, 'bundle', n.ns);

  const spkEl = requireOneChild(bundle, n.spk, n.ns);
  const signedPreKeyId = parseId(attr(spkEl, n.spkId), `<${n.spk}> ${n.spkId}`);
  const signedPreKey = n.readKey(spkEl, `<${n.spk}>`);
  const signedPreKeySignature = parseBase64Text(requireOneChild(bundle, n.spks, n.ns), `<${n.spks}>`, {
    lengths: [64],
    maxBytes: 128,
  });
  const identityKey = n.readKey(requireOneChild(bundle, n.ik, n.ns), `<${n.ik}>`);

  const pkEls = childElements(requireOneChild(bundle, 'prekeys', n.ns), n.pk, n.ns);
  if (pkEls.length === 0) throw malformed('bundle has no pre key');
  if (pkEls.length > MAX_PREKEYS_PER_BUNDLE) {
    const n = pkEls.length;
    throw malformed(`bundle has ${n} pre keys, more than MAX_PREKEYS_PER_BUNDLE (${MAX_PREKEYS_PER_BUNDLE})`);
  }
  // With choosePreKey, only the chosen pre key is decoded; every other one is checked the same way.
  const chosen = choosePreKey === undefined ? -1 : choosePreKey(pkEls.length);
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
  return { signedPreKeyId, signedPreKey, signedPreKeySignature, identityKey, preKeys };
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
