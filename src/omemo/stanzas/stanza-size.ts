// Upper bounds of the size of an `<encrypted>` element (XEP-0384 0.3.0 §4.5 / 0.9 §4.4), computed before anything
// is encrypted: servers close the stream on a stanza over their limit (Prosody: 256 KiB for clients by default),
// so a send that cannot fit must fail first, with its own error, and change nothing.
import type { OmemoVersion } from '../versions/backend';

/** Default bound of one `<encrypted>` element: Prosody's 256 KiB client stanza limit less 4 KiB for the rest of
 * the `<message>` (addresses, fallback body, EME, hints, origin-id). */
export const DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES = 252 * 1024;

// Largest `<key>` content per version (bytes before base64), with every varint at its longest (5 bytes):
// 0.3: 0x33 ‖ WhisperMessage{ratchetKey 33, counter, previousCounter, ciphertext 48} ‖ MAC 8;
//      as PreKeyWhisperMessage: + preKeyId, signedPreKeyId, baseKey 33, identityKey 33, message.
// OMEMO 2: OMEMOAuthenticatedMessage{mac 16, OMEMOMessage{n, pn, dh_pub 32, ciphertext 64}};
//      as OMEMOKeyExchange: + pk_id, spk_id, ik 32, ek 32, message.
const KEY_BYTES: Record<OmemoVersion, { plain: number; keyExchange: number }> = {
  oldmemo: { plain: 1 + 35 + 6 + 6 + 50 + 8, keyExchange: 1 + 6 + 6 + 35 + 35 + 2 + 106 },
  twomemo: { plain: 18 + 2 + 6 + 6 + 34 + 66, keyExchange: 6 + 6 + 34 + 34 + 2 + 132 },
};
/** `<key rid="4294967295" kex="true">` + `</key>`, and a `<keys jid="…">` group per JID for OMEMO 2. */
const KEY_TAG_CHARS = 48;
const KEYS_TAG_CHARS = 24;
/** `<encrypted xmlns='…'><header sid='…'><iv>…</iv></header><payload></payload></encrypted>`. */
const ELEMENT_TAG_CHARS = 200;

const base64Chars = (n: number) => 4 * Math.ceil(n / 3);

/** Payload ciphertext length: AES-GCM keeps the length (0.3), AES-CBC with PKCS#7 pads to the next block (2). */
export function payloadCiphertextBytes(version: OmemoVersion, plaintextBytes: number): number {
  return version === 'oldmemo' ? plaintextBytes : (plaintextBytes & ~15) + 16;
}

/** An upper bound of one `<key>` element with its content, in bytes. */
export function keyElementBytes(version: OmemoVersion, keyExchange: boolean): number {
  const k = KEY_BYTES[version];
  return KEY_TAG_CHARS + base64Chars(keyExchange ? k.keyExchange : k.plain);
}

/**
 * An upper bound of an `<encrypted>` element with keys of the given sizes (`keyBytes`, see keyElementBytes), one
 * `<keys>` group per JID of `jids` (OMEMO 2), and a payload of `plaintextBytes` (undefined: an empty message).
 */
export function encryptedElementBytes(version: OmemoVersion, keyBytes: number, jids: readonly string[], plaintextBytes: number | undefined): number {
  let n = ELEMENT_TAG_CHARS + keyBytes;
  if (version === 'twomemo') for (const jid of jids) n += KEYS_TAG_CHARS + 6 * jid.length; // XML-escaped at worst
  if (plaintextBytes !== undefined) n += base64Chars(payloadCiphertextBytes(version, plaintextBytes));
  return n;
}
