// XEP-0384 0.3.0 §4.5 / 0.9 §5.4 (message structure): the `<encrypted>` element of both versions.

import { assertBytes, toBase64 } from '../../crypto/bytes';
import { NS_LEGACY } from '../versions/oldmemo';
import { NS_OMEMO2 } from '../versions/twomemo';
import { assertVersion, type OmemoVersion } from '../versions/backend';
import { namespaceOf } from '../versions/by-version';
import { assertId, parseBase64Text, parseFlag, parseId, optionalChild, requireOneChild } from './wire-values';
import { attr, escapeXmlAttr, locateElement, malformed, parseXml, type XmlElement } from './xml';

/** Most `<key>` elements accepted in (and written to) one message. */
export const MAX_KEYS_PER_MESSAGE = 10000;
/** Largest decoded content of one `<key>` (real ones are ~100-250 bytes). */
export const MAX_KEY_ELEMENT_BYTES = 1024;
/** Accepted lengths of the legacy `<iv>` (python-omemo writes 12, some clients 16). */
export const LEGACY_IV_LENGTHS: readonly number[] = Object.freeze([12, 16]);

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

/** A parsed `<encrypted>`, with the version taken from its namespace. */
export interface ParsedEncrypted extends EncryptedElementData {
  version: OmemoVersion;
}

function findEncrypted(xml: string | XmlElement, version: OmemoVersion | undefined): [XmlElement, OmemoVersion] {
  if (version !== undefined) {
    assertVersion(version);
    return [locateElement(xml, 'encrypted', namespaceOf(version)), version];
  }
  const root = typeof xml === 'string' ? parseXml(xml) : xml;
  const el = findFirst(root);
  if (!el) {
    throw malformed(`no <encrypted xmlns='${NS_OMEMO2}'> or <encrypted xmlns='${NS_LEGACY}'> element found`);
  }
  return [el, el.ns === NS_LEGACY ? 'oldmemo' : 'twomemo'];
}

function findFirst(el: XmlElement): XmlElement | undefined {
  if (el.name === 'encrypted' && (el.ns === NS_OMEMO2 || el.ns === NS_LEGACY)) return el;
  for (const c of el.children) {
    const found = findFirst(c);
    if (found) return found;
  }
  return undefined;
}

function rejectText(el: XmlElement): void {
  if (el.text.trim() !== '') throw malformed(`<${el.name}> must not contain text`);
}

function describe(el: XmlElement): string {
  return `<${el.name}${el.ns === '' ? '' : ` xmlns='${el.ns}'`}>`;
}

/** Both schemas require at least one `<key>` (serializeEncrypted never writes fewer), at most MAX_KEYS_PER_MESSAGE. */
function checkKeyCount(count: number): void {
  if (count === 0) throw malformed('<header> has no <key> (at least one is required)');
  if (count > MAX_KEYS_PER_MESSAGE) {
    throw malformed(`message has ${count} keys, more than MAX_KEYS_PER_MESSAGE (${MAX_KEYS_PER_MESSAGE})`);
  }
}

function parseKey(el: XmlElement, flagName: string, jid: string | undefined): EncryptedKey {
  const rid = parseId(attr(el, 'rid'), '<key> rid');
  const keyExchange = parseFlag(attr(el, flagName), `<key rid="${rid}"> ${flagName}`);
  const data = parseBase64Text(el, `<key rid="${rid}">`, { maxBytes: MAX_KEY_ELEMENT_BYTES });
  if (data.length === 0) throw malformed(`<key rid="${rid}"> is empty`);
  const key: EncryptedKey = { rid, keyExchange, data };
  if (jid !== undefined) key.jid = jid;
  return key;
}

/**
 * Parses an `<encrypted>` element. `xml` may be the element or anything containing it (a whole `<message>`).
 * Without `version`, the first `<encrypted>` of either namespace (document order) is used and its
 * namespace gives the version; pass `version` when a stanza carries both.
 * `<encrypted>` may contain only `<header>` and at most one `<payload>`; legacy `<header>` only `<key>`s and
 * exactly one `<iv>` (12 or 16 bytes, also in empty messages); OMEMO 2 `<header>` only `<keys jid>` groups
 * of `<key>`s. `prekey`/`kex` read "true"/"1" as true and "false"/"0"/absent as false.
 * Throws OmemoError('malformed-stanza') for anything else, bad ids, bad base64, an empty key, no key at all,
 * more than MAX_KEYS_PER_MESSAGE keys or a key over MAX_KEY_ELEMENT_BYTES.
 */
export function parseEncrypted(xml: string | XmlElement, version?: OmemoVersion): ParsedEncrypted {
  const [enc, v] = findEncrypted(xml, version);
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

  const keys: EncryptedKey[] = [];
  let iv: Uint8Array | undefined;
  if (v === 'oldmemo') {
    let count = 0;
    for (const c of header.children) {
      if (c.ns !== ns || (c.name !== 'key' && c.name !== 'iv')) {
        throw malformed(`legacy <header> may contain only <key> and <iv>, found ${describe(c)}`);
      }
      if (c.name === 'key') count++;
    }
    checkKeyCount(count);
    const ivEl = optionalChild(header, 'iv', ns);
    if (!ivEl) throw malformed('legacy <header> has no <iv> (required, also in empty messages)');
    iv = parseBase64Text(ivEl, '<iv>', { lengths: LEGACY_IV_LENGTHS, maxBytes: 64 });
    for (const c of header.children) if (c.name === 'key') keys.push(parseKey(c, 'prekey', undefined));
  } else {
    let count = 0;
    for (const group of header.children) {
      if (group.ns !== ns || group.name !== 'keys') {
        throw malformed(`OMEMO 2 <header> may contain only <keys>, found ${describe(group)}`);
      }
      rejectText(group);
      for (const c of group.children) {
        if (c.ns !== ns || c.name !== 'key') throw malformed(`<keys> may contain only <key>, found ${describe(c)}`);
        count++;
      }
    }
    checkKeyCount(count);
    for (const group of header.children) {
      const jid = attr(group, 'jid');
      if (jid === undefined || jid.trim() === '') throw malformed('<keys> has no jid');
      for (const c of group.children) keys.push(parseKey(c, 'kex', jid));
    }
  }

  const out: ParsedEncrypted = { version: v, sid, keys };
  if (iv !== undefined) out.iv = iv;
  if (payloadEl) out.payload = parseBase64Text(payloadEl, '<payload>');
  return out;
}

/**
 * Serialises an `<encrypted>` element. Keys are written in the given order; OMEMO 2 keys are grouped into
 * one `<keys jid>` per JID, groups in order of first appearance. `prekey="true"`/`kex="true"` is written only
 * for key exchanges (never "false": python-omemo reads any value as true). Legacy: `iv` is required (12 or
 * 16 bytes) and `jid` is not written; OMEMO 2: `jid` is required on every key and `iv` must be absent.
 * No `payload` = an empty message. Throws TypeError/RangeError for invalid data.
 */
export function serializeEncrypted(data: EncryptedElementData, version: OmemoVersion): string {
  assertVersion(version);
  if (typeof data !== 'object' || data === null) throw new TypeError('data must be an object');
  assertId(data.sid, 'sid');
  if (!Array.isArray(data.keys)) throw new TypeError('keys must be an array');
  if (data.keys.length === 0) throw new RangeError('keys must contain at least one key');
  if (data.keys.length > MAX_KEYS_PER_MESSAGE) {
    throw new RangeError(`keys has ${data.keys.length} entries, more than MAX_KEYS_PER_MESSAGE (${MAX_KEYS_PER_MESSAGE})`);
  }
  const ns = namespaceOf(version);
  const flag = version === 'oldmemo' ? 'prekey' : 'kex';
  const groups = new Map<string, { first: number; keys: string[] }>();
  let legacyKeys = '';
  data.keys.forEach((k, i) => {
    if (typeof k !== 'object' || k === null) throw new TypeError(`keys[${i}] must be an object`);
    assertId(k.rid, `keys[${i}].rid`);
    if (typeof k.keyExchange !== 'boolean') {
      throw new TypeError(`keys[${i}].keyExchange must be a boolean, got ${typeof k.keyExchange}`);
    }
    assertBytes(k.data, `keys[${i}].data`);
    if (k.data.length === 0 || k.data.length > MAX_KEY_ELEMENT_BYTES) {
      throw new RangeError(`keys[${i}].data must be 1..${MAX_KEY_ELEMENT_BYTES} bytes, got ${k.data.length}`);
    }
    const el = `<key rid="${k.rid}"${k.keyExchange ? ` ${flag}="true"` : ''}>${toBase64(k.data)}</key>`;
    if (version === 'oldmemo') {
      legacyKeys += el;
      return;
    }
    if (typeof k.jid !== 'string' || k.jid.trim() === '') {
      // parseEncrypted refuses a <keys> whose jid is empty or white space only: never write one.
      throw new TypeError(`keys[${i}].jid must be a non-empty string (bare JID) for OMEMO 2, not white space only`);
    }
    // Keys arrive grouped by JID (one fan-out = runs of the same JID): escape each JID once.
    const group = groups.get(k.jid);
    if (group !== undefined) group.keys.push(el);
    else groups.set(k.jid, { first: i, keys: [el] });
  });

  let header: string;
  if (version === 'oldmemo') {
    if (data.iv === undefined) throw new TypeError('iv is required for legacy OMEMO (also in empty messages)');
    assertBytes(data.iv, 'iv', LEGACY_IV_LENGTHS);
    header = `${legacyKeys}<iv>${toBase64(data.iv)}</iv>`;
  } else {
    if (data.iv !== undefined) throw new TypeError('iv must be absent for OMEMO 2 (it has no <iv>)');
    header = '';
    for (const [jid, g] of groups) header += `<keys jid="${escapeXmlAttr(jid, `keys[${g.first}].jid`)}">${g.keys.join('')}</keys>`;
  }
  let out = `<encrypted xmlns="${ns}"><header sid="${data.sid}">${header}</header>`;
  if (data.payload !== undefined) {
    assertBytes(data.payload, 'payload');
    out += `<payload>${toBase64(data.payload)}</payload>`;
  }
  return `${out}</encrypted>`;
}

/**
 * The `<key>` addressed to us, or undefined. Legacy: the first key whose `rid` is `deviceId` (the legacy wire
 * format has no JID, `jid` is ignored). OMEMO 2: the key with `rid` = `deviceId` inside `<keys jid>` equal to
 * `jid` (our bare JID, compared exactly); `jid` is required.
 */
export function keysFor(
  data: Pick<ParsedEncrypted, 'version' | 'keys'>,
  jid: string | undefined,
  deviceId: number,
): EncryptedKey | undefined {
  assertVersion(data.version);
  assertId(deviceId, 'deviceId');
  if (data.version === 'oldmemo') return data.keys.find((k) => k.rid === deviceId);
  if (typeof jid !== 'string' || jid === '') throw new TypeError('jid (own bare JID) is required for OMEMO 2');
  return data.keys.find((k) => k.rid === deviceId && k.jid === jid);
}
