// Upper bounds of the size of an `<encrypted>` element (XEP-0384 0.3.0 §4.5 / 0.9 §4.4), computed before anything
// is encrypted: servers close the stream on a stanza over their limit (Prosody: 256 KiB for clients by default),
// so a send that cannot fit must fail first, with its own error, and change nothing. The per-version numbers are
// each backend's StanzaSizeBounds.

/** Default bound of one `<encrypted>` element: Prosody's 256 KiB client stanza limit less 4 KiB for the rest of
 * the `<message>` (addresses, fallback body, EME, hints, origin-id). */
export const DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES = 252 * 1024;

/** One version's sizes: its largest `<key>` contents, its key grouping and its payload cipher's expansion. */
export interface StanzaSizeBounds {
  /** Largest `<key>` content of a ratchet message, in bytes before base64, every varint at its longest. */
  readonly keyMessageBytes: number;
  /** Largest `<key>` content of a key exchange, in bytes before base64. */
  readonly keyExchangeBytes: number;
  /** Whether keys are grouped in one `<keys jid>` per JID (OMEMO 2). */
  readonly keysPerJid: boolean;
  /** Payload ciphertext length, in bytes, of a plaintext of `plaintextBytes`. */
  payloadCiphertextBytes(plaintextBytes: number): number;
}

/** `<key rid="4294967295" kex="true">` + `</key>`, in characters. */
const KEY_TAG_CHARS = 48;
/** `<keys jid="">` + `</keys>` around the (escaped) JID, in characters. */
const KEYS_TAG_CHARS = 24;
/** `<encrypted xmlns='…'><header sid='…'><iv>…</iv></header><payload></payload></encrypted>`, in characters. */
const ELEMENT_TAG_CHARS = 200;
/** Characters an attribute value may need escaped (`&quot;` is the longest escape: 5 characters more). */
const ESCAPED_IN_ATTRIBUTE = /[&<>"'\t\n\r]/g;
const MAX_EXTRA_CHARS_PER_ESCAPE = 5;

/** An upper bound of the length of `value` escaped as an XML attribute value. */
function escapedAttributeChars(value: string): number {
  return value.length + MAX_EXTRA_CHARS_PER_ESCAPE * (value.match(ESCAPED_IN_ATTRIBUTE)?.length ?? 0);
}

const base64Chars = (n: number) => 4 * Math.ceil(n / 3);

/**
 * An upper bound of one `<key>` element with its content, in bytes.
 * @throws nothing.
 */
export function keyElementBound(bounds: StanzaSizeBounds, keyExchange: boolean): number {
  return KEY_TAG_CHARS + base64Chars(keyExchange ? bounds.keyExchangeBytes : bounds.keyMessageBytes);
}

/**
 * An upper bound of an `<encrypted>` element with keys of the given sizes (`keyBytes`, see keyElementBound), one
 * `<keys>` group per JID of `jids` where keysPerJid, and a payload of `plaintextBytes` (undefined: an empty message).
 * @throws nothing.
 */
export function encryptedElementBound(
  bounds: StanzaSizeBounds,
  keyBytes: number,
  jids: readonly string[],
  plaintextBytes: number | undefined,
): number {
  let n = ELEMENT_TAG_CHARS + keyBytes;
  if (bounds.keysPerJid) for (const jid of jids) n += KEYS_TAG_CHARS + escapedAttributeChars(jid);
  if (plaintextBytes !== undefined) n += base64Chars(bounds.payloadCiphertextBytes(plaintextBytes));
  return n;
}
