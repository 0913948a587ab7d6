// XEP-0384 0.3.0 §4.3 / 0.9 §5.3.2: bundles (signed pre key, its signature, identity key, pre keys).

import { assertBytes, toBase64 } from '../../crypto/bytes';
import { NS_LEGACY } from '../versions/oldmemo';
import { NS_OMEMO2 } from '../versions/twomemo';
import { assertVersion, type OmemoVersion } from '../versions/backend';
import { assertId, parseBase64Text, parseId, requireOneChild } from './wire-values';
import { attr, childElements, locateElement, malformed, type XmlElement } from './xml';

/** Most pre keys accepted in (and written to) one bundle. */
export const MAX_PREKEYS_PER_BUNDLE = 200;

/** Type byte of a Curve25519 public key in libsignal's serialisation (legacy OMEMO only). */
const DJB_TYPE = 0x05;

/** A bundle's content, with every key as raw 32 bytes whatever the version. */
export interface BundleData {
  signedPreKeyId: number;
  /** 32-byte raw X25519 public key. */
  signedPreKey: Uint8Array;
  /** 64-byte signature (legacy: XEdDSA/Ed25519 over `0x05`‖spk with the sign bit in bit 7 of byte 63; OMEMO 2: Ed25519 over spk). */
  signedPreKeySignature: Uint8Array;
  /** 32 bytes. Legacy: raw Curve25519 u (the `0x05` is stripped/added here); OMEMO 2: Ed25519 public key. */
  identityKey: Uint8Array;
  /** At least one, at most MAX_PREKEYS_PER_BUNDLE, unique ids; keys are raw 32-byte X25519. */
  preKeys: { id: number; publicKey: Uint8Array }[];
}

interface Names {
  ns: string;
  spk: string;
  spkId: string;
  spks: string;
  ik: string;
  pk: string;
  pkId: string;
}

const LEGACY: Names = {
  ns: NS_LEGACY,
  spk: 'signedPreKeyPublic',
  spkId: 'signedPreKeyId',
  spks: 'signedPreKeySignature',
  ik: 'identityKey',
  pk: 'preKeyPublic',
  pkId: 'preKeyId',
};
const OMEMO2: Names = { ns: NS_OMEMO2, spk: 'spk', spkId: 'id', spks: 'spks', ik: 'ik', pk: 'pk', pkId: 'id' };

function readKey(el: XmlElement, version: OmemoVersion, what: string): Uint8Array {
  if (version === 'twomemo') return parseBase64Text(el, what, { lengths: [32], maxBytes: 64 });
  const bytes = parseBase64Text(el, what, { maxBytes: 64 });
  if (bytes.length !== 33 || bytes[0] !== DJB_TYPE) {
    throw malformed(`${what} must be 33 bytes 0x05‖key (libsignal's serialisation), got ${bytes.length} bytes` +
      (bytes.length > 0 ? ` starting 0x${bytes[0]!.toString(16).padStart(2, '0')}` : ''));
  }
  return bytes.slice(1);
}

function writeKey(key: Uint8Array, version: OmemoVersion): string {
  if (version === 'twomemo') return toBase64(key);
  const wire = new Uint8Array(33);
  wire[0] = DJB_TYPE;
  wire.set(key, 1);
  return toBase64(wire);
}

/**
 * Parses a bundle. `xml` may be the `<bundle>` itself or anything containing it (a PEP `<item>`, an IQ
 * result). Children may come in any order (python-oldmemo's schema requires the XEP's order; we do not) and
 * unknown children are ignored; each known child must appear exactly once.
 * Throws OmemoError('malformed-stanza') for a missing/repeated element, bad base64, wrong key lengths
 * (legacy keys must be 33 bytes starting 0x05, OMEMO 2 keys 32 bytes), a signature that is not 64 bytes,
 * bad or duplicate ids, no pre key, or more than MAX_PREKEYS_PER_BUNDLE pre keys.
 */
export function parseBundle(xml: string | XmlElement, version: OmemoVersion): BundleData {
  assertVersion(version);
  const n = version === 'oldmemo' ? LEGACY : OMEMO2;
  const bundle = locateElement(xml, 'bundle', n.ns);

  const spkEl = requireOneChild(bundle, n.spk, n.ns);
  const signedPreKeyId = parseId(attr(spkEl, n.spkId), `<${n.spk}> ${n.spkId}`);
  const signedPreKey = readKey(spkEl, version, `<${n.spk}>`);
  const signedPreKeySignature = parseBase64Text(requireOneChild(bundle, n.spks, n.ns), `<${n.spks}>`, {
    lengths: [64],
    maxBytes: 128,
  });
  const identityKey = readKey(requireOneChild(bundle, n.ik, n.ns), version, `<${n.ik}>`);

  const pkEls = childElements(requireOneChild(bundle, 'prekeys', n.ns), n.pk, n.ns);
  if (pkEls.length === 0) throw malformed('bundle has no pre key');
  if (pkEls.length > MAX_PREKEYS_PER_BUNDLE) {
    throw malformed(`bundle has ${pkEls.length} pre keys, more than MAX_PREKEYS_PER_BUNDLE (${MAX_PREKEYS_PER_BUNDLE})`);
  }
  const seen = new Set<number>();
  const preKeys = pkEls.map((el) => {
    const id = parseId(attr(el, n.pkId), `<${n.pk}> ${n.pkId}`);
    if (seen.has(id)) throw malformed(`pre key id ${id} appears twice in the bundle`);
    seen.add(id);
    return { id, publicKey: readKey(el, version, `<${n.pk} ${n.pkId}="${id}">`) };
  });
  return { signedPreKeyId, signedPreKey, signedPreKeySignature, identityKey, preKeys };
}

/**
 * Serialises a bundle in the XEP's child order (signed pre key, signature, identity key, pre keys).
 * Legacy keys are written as 33 bytes `0x05`‖key. Throws TypeError/RangeError for wrong lengths, bad or
 * duplicate ids, no pre key or more than MAX_PREKEYS_PER_BUNDLE.
 */
export function serializeBundle(b: BundleData, version: OmemoVersion): string {
  assertVersion(version);
  if (typeof b !== 'object' || b === null) throw new TypeError('bundle must be an object');
  const n = version === 'oldmemo' ? LEGACY : OMEMO2;
  assertId(b.signedPreKeyId, 'signedPreKeyId');
  assertBytes(b.signedPreKey, 'signedPreKey', 32);
  assertBytes(b.signedPreKeySignature, 'signedPreKeySignature', 64);
  assertBytes(b.identityKey, 'identityKey', 32);
  if (!Array.isArray(b.preKeys)) throw new TypeError('preKeys must be an array');
  if (b.preKeys.length === 0) throw new RangeError('preKeys must contain at least one pre key');
  if (b.preKeys.length > MAX_PREKEYS_PER_BUNDLE) {
    throw new RangeError(`preKeys has ${b.preKeys.length} entries, more than MAX_PREKEYS_PER_BUNDLE (${MAX_PREKEYS_PER_BUNDLE})`);
  }
  const seen = new Set<number>();
  let pks = '';
  b.preKeys.forEach((pk, i) => {
    if (typeof pk !== 'object' || pk === null) throw new TypeError(`preKeys[${i}] must be an object`);
    assertId(pk.id, `preKeys[${i}].id`);
    if (seen.has(pk.id)) throw new RangeError(`preKeys[${i}].id ${pk.id} is a duplicate`);
    seen.add(pk.id);
    assertBytes(pk.publicKey, `preKeys[${i}].publicKey`, 32);
    pks += `<${n.pk} ${n.pkId}="${pk.id}">${writeKey(pk.publicKey, version)}</${n.pk}>`;
  });
  return (
    `<bundle xmlns="${n.ns}">` +
    `<${n.spk} ${n.spkId}="${b.signedPreKeyId}">${writeKey(b.signedPreKey, version)}</${n.spk}>` +
    `<${n.spks}>${toBase64(b.signedPreKeySignature)}</${n.spks}>` +
    `<${n.ik}>${writeKey(b.identityKey, version)}</${n.ik}>` +
    `<prekeys>${pks}</prekeys>` +
    `</bundle>`
  );
}
