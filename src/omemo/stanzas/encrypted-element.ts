// XEP-0384 0.3.0 §4.5 / 0.9 §5.4 (message structure): the `<encrypted>` element both versions share —
// `<header sid>`, `<key rid>` and an optional `<payload>` — with each version's header (0.3 `<iv>`, OMEMO 2
// `<keys jid>` groups) read and written by its backend through an EncryptedFormat.

import { assertBytes, toBase64 } from '../../crypto/bytes';
import {
  assertId,
  ElementLabel,
  checkBase64Text,
  parseBase64Text,
  parseBase64TextTransient,
  parseFlag,
  parseId,
  optionalChild,
  requireOneChild,
} from './wire-values';
import { attr, locateElement, malformed, parseXml, type XmlElement } from './xml';

/** Most `<key>` elements accepted in (and written to) one message. */
export const MAX_KEYS_PER_MESSAGE = 10000;
/** Largest decoded content of one `<key>` (real ones are ~100-250 bytes). */
export const MAX_KEY_ELEMENT_BYTES = 1024;

/** One `<key>`: the ratchet message (or key exchange) for one recipient device. */
export interface EncryptedKey {
  /** Bare JID of the recipient (OMEMO 2 `<keys jid>`; absent in legacy, whose wire format has no JID). */
  jid?: string;
  /** Recipient device id. */
  rid: number;
  /** `prekey="true"` (legacy) / `kex="true"` (OMEMO 2). */
  keyExchange: boolean;
  /** Decoded content. */
  data: Uint8Array;
}

/** Content of an `<encrypted>` element. */
export interface EncryptedElementData {
  /** Sender device id. */
  sid: number;
  keys: EncryptedKey[];
  /** Legacy only: 12 or 16 bytes, required (also in empty messages). Absent in OMEMO 2. */
  iv?: Uint8Array;
  /** Absent for an empty message (key transport, session completion, heartbeat). */
  payload?: Uint8Array;
}

/**
 * Which `<key>`s a reader keeps, by recipient (`jid`: OMEMO 2's `<keys jid>`, undefined in 0.3). The others are
 * checked exactly as kept ones (a bad one still makes the element malformed) but not decoded: a device reading a
 * room message needs its own key of hundreds.
 */
export type KeyFilter = (rid: number, jid: string | undefined) => boolean;

/** What one version's `<header>` holds besides `sid`. */
export interface EncryptedHeader {
  keys: EncryptedKey[];
  iv?: Uint8Array;
}

/** How one version writes its `<encrypted>` element: namespace, key exchange flag and `<header>` content. */
export interface EncryptedFormat {
  readonly ns: string;
  /** The `<key>` attribute that marks a key exchange: `prekey` (0.3) or `kex` (OMEMO 2). */
  readonly keyExchangeFlag: string;
  /**
   * 0.3: the lengths of its `<iv>`, which follows the `<key>`s in its `<header>`. Absent for OMEMO 2, whose
   * `<header>` holds `<keys jid>` groups (read by the plain path of encrypted-plain.ts).
   */
  readonly ivLengths?: readonly number[];
  /**
   * The keys (and the 0.3 `<iv>`) of a `<header>` whose `sid` has been read; readKey reads each `<key>`.
   * @throws OmemoError `malformed-stanza` for anything the version's header may not hold, no key, more than
   * MAX_KEYS_PER_MESSAGE keys, or a bad key. With `keep`, only the keys it accepts are returned; `transient` as
   * parseKey's.
   */
  readHeader(header: XmlElement, keep?: KeyFilter, transient?: boolean): EncryptedHeader;
  /**
   * Checks what the version needs of `keys[index]` beyond rid, flag and data (OMEMO 2: a JID), before the next key.
   * @throws TypeError for a key this version cannot write.
   */
  checkKey(key: EncryptedKey, index: number): void;
  /**
   * Appends the content of `<header>` to `out`, in pieces: `keyElements[i]` is the `<key>` element of `data.keys[i]`,
   * already checked.
   * @throws TypeError/RangeError for an `iv` the version needs and lacks or must not have.
   */
  writeHeader(data: EncryptedElementData, keyElements: readonly string[], out: string[]): void;
}

/**
 * Throws if `el` has text other than white space.
 * @throws OmemoError `malformed-stanza`.
 */
export function rejectText(el: XmlElement): void {
  if (el.text.trim() !== '') throw malformed(`<${el.name}> must not contain text`);
}

/** `<name xmlns='ns'>` of an element, for error messages. */
export function describe(el: XmlElement): string {
  return `<${el.name}${el.ns === '' ? '' : ` xmlns='${el.ns}'`}>`;
}

/**
 * Both schemas require at least one `<key>` (serializeEncrypted never writes fewer), at most MAX_KEYS_PER_MESSAGE.
 * @throws OmemoError `malformed-stanza` for 0 or more than MAX_KEYS_PER_MESSAGE keys.
 */
export function checkKeyCount(count: number): void {
  if (count === 0) throw malformed('<header> has no <key> (at least one is required)');
  if (count > MAX_KEYS_PER_MESSAGE) {
    throw malformed(`message has ${count} keys, more than MAX_KEYS_PER_MESSAGE (${MAX_KEYS_PER_MESSAGE})`);
  }
}

/**
 * Reads one `<key>`; `flagName` is the version's key exchange attribute, `jid` its `<keys jid>` (OMEMO 2). A key
 * that `keep` (when given) refuses is checked the same way and gives undefined. With `transient` (a decryption that
 * reads the key once), a normal message's bytes may be a view into a buffer shared with other decoded bytes.
 * @throws OmemoError `malformed-stanza` for a bad `rid` or flag, bad base64, an empty key or one over
 * MAX_KEY_ELEMENT_BYTES.
 */
export function parseKey(el: XmlElement, flagName: string, jid: string | undefined): EncryptedKey;
export function parseKey(
  el: XmlElement,
  flagName: string,
  jid: string | undefined,
  keep: KeyFilter | undefined,
  transient?: boolean,
): EncryptedKey | undefined;
export function parseKey(
  el: XmlElement,
  flagName: string,
  jid: string | undefined,
  keep?: KeyFilter,
  transient = false,
): EncryptedKey | undefined {
  const rid = parseId(attr(el, 'rid'), '<key> rid');
  const label = new ElementLabel('key', 'rid', rid); // a room message has hundreds of keys: no string each
  const flag = attr(el, flagName);
  const keyExchange = flag !== undefined && parseFlag(flag, `${label} ${flagName}`);
  if (keep !== undefined && !keep(rid, jid)) {
    if (checkBase64Text(el, label, KEY_LIMITS) === 0) throw malformed(`${label} is empty`);
    return undefined;
  }
  // A key exchange's bytes are kept (its base key marks the pre key it used): an array of its own.
  const data =
    transient && !keyExchange
      ? parseBase64TextTransient(el, label, KEY_LIMITS)
      : parseBase64Text(el, label, KEY_LIMITS);
  if (data.length === 0) throw malformed(`${label} is empty`);
  const key: EncryptedKey = { rid, keyExchange, data };
  if (jid !== undefined) key.jid = jid;
  return key;
}

const KEY_LIMITS = Object.freeze({ maxBytes: MAX_KEY_ELEMENT_BYTES });

/**
 * The first `<encrypted>` (document order) in any of `namespaces`, `xml` parsed unless it is an element already.
 * @throws OmemoError `malformed-stanza` when there is none or `xml` does not parse.
 */
export function findEncrypted(xml: string | XmlElement, namespaces: readonly string[]): XmlElement {
  const root = typeof xml === 'string' ? parseXml(xml) : xml;
  const el = findFirst(root, namespaces);
  if (!el) throw malformed(`no ${namespaces.map((ns) => `<encrypted xmlns='${ns}'>`).join(' or ')} element found`);
  return el;
}

function findFirst(el: XmlElement, namespaces: readonly string[]): XmlElement | undefined {
  if (el.name === 'encrypted' && namespaces.includes(el.ns)) return el;
  for (const c of el.children) {
    const found = findFirst(c, namespaces);
    if (found) return found;
  }
  return undefined;
}

/**
 * Reads an `<encrypted>` element in the format `f`: see parseEncrypted (versions/by-version.ts); with `keep`, only
 * the keys it accepts (see KeyFilter). With `transient` (a decryption that reads them once), the payload and normal
 * messages' keys are decoded by parseBase64TextTransient.
 * @throws OmemoError `malformed-stanza` for anything but one `<header>` and at most one `<payload>`, a bad `sid`,
 * text where none belongs, and whatever `f.readHeader` refuses.
 */
export function readEncrypted(
  xml: string | XmlElement,
  f: EncryptedFormat,
  keep?: KeyFilter,
  transient = false,
): EncryptedElementData {
  const enc = locateElement(xml, 'encrypted', f.ns);
  const ns = enc.ns;
  rejectText(enc);
  for (const c of enc.children) {
    if (c.ns !== ns || (c.name !== 'header' && c.name !== 'payload')) {
      throw malformed(`<encrypted> may contain only <header> and <payload>, found ${describe(c)}`);
    }
  }
  const header = requireOneChild(enc, 'header', ns);
  const payloadEl = optionalChild(enc, 'payload', ns);
  const sid = parseId(attr(header, 'sid'), '<header> sid');
  rejectText(header);

  const { keys, iv } = f.readHeader(header, keep, transient);
  const out: EncryptedElementData = { sid, keys };
  if (iv !== undefined) out.iv = iv;
  if (payloadEl) {
    out.payload = transient
      ? parseBase64TextTransient(payloadEl, '<payload>')
      : parseBase64Text(payloadEl, '<payload>');
  }
  return out;
}

/**
 * Writes an `<encrypted>` element in the format `f`: see serializeEncrypted (versions/by-version.ts).
 * @throws TypeError/RangeError for invalid data.
 */
export function writeEncrypted(data: EncryptedElementData, f: EncryptedFormat): string {
  if (typeof data !== 'object' || data === null) throw new TypeError('data must be an object');
  assertId(data.sid, 'sid');
  if (!Array.isArray(data.keys)) throw new TypeError('keys must be an array');
  if (data.keys.length === 0) throw new RangeError('keys must contain at least one key');
  if (data.keys.length > MAX_KEYS_PER_MESSAGE) {
    const n = data.keys.length;
    throw new RangeError(`keys has ${n} entries, more than MAX_KEYS_PER_MESSAGE (${MAX_KEYS_PER_MESSAGE})`);
  }
  // A plain loop, the key-exchange attribute written once: a fan-out writes one <key> per device.
  const kex = ` ${f.keyExchangeFlag}="true">`;
  const keyElements = new Array<string>(data.keys.length);
  for (let i = 0; i < keyElements.length; i++) {
    const k = data.keys[i]!;
    if (typeof k !== 'object' || k === null) throw new TypeError(`keys[${i}] must be an object`);
    assertId(k.rid, `keys[${i}].rid`);
    if (typeof k.keyExchange !== 'boolean') {
      throw new TypeError(`keys[${i}].keyExchange must be a boolean, got ${typeof k.keyExchange}`);
    }
    assertBytes(k.data, `keys[${i}].data`);
    if (k.data.length === 0 || k.data.length > MAX_KEY_ELEMENT_BYTES) {
      throw new RangeError(`keys[${i}].data must be 1..${MAX_KEY_ELEMENT_BYTES} bytes, got ${k.data.length}`);
    }
    f.checkKey(k, i);
    keyElements[i] = `<key rid="${k.rid}"${k.keyExchange ? kex : '>'}${toBase64(k.data)}</key>`;
  }
  // One join of all the pieces: a flat string. Concatenation would return a tree of strings (a V8 cons string), which
  // every reader scans through the slow path (a decrypt of our own output took ~1.2 µs longer, issue #16).
  const out = [`<encrypted xmlns="${f.ns}"><header sid="${data.sid}">`];
  f.writeHeader(data, keyElements, out);
  out.push('</header>');
  if (data.payload !== undefined) {
    assertBytes(data.payload, 'payload');
    out.push('<payload>', toBase64(data.payload), '</payload>');
  }
  out.push('</encrypted>');
  return out.join('');
}
