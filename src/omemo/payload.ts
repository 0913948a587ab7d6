// Payload encryption of both versions: OMEMO 0.3 (XEP-0384 0.3.0 §4.5: AES-128-GCM, the ratchet carries
// key16 ‖ tag16, `<payload>` without the tag) and OMEMO 2 (XEP-0384 0.9 §4.4: HKDF-SHA256 "OMEMO Payload"
// → AES-256-CBC + HMAC-SHA256 truncated to 16 bytes, the ratchet carries key32 ‖ mac16).
import { GCM_TAG_BYTES, aes256CbcDecrypt, aes256CbcEncrypt, aesGcmDecrypt, aesGcmEncrypt } from '../crypto/aes';
import { assertBytes, constantTimeEqual, utf8Encode } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import { HKDF_ZERO_SALT, hkdfSha256, hmacSha256 } from '../crypto/hmac';
import type { Rng } from '../crypto/random';
import { randomBytes } from '../crypto/random';
import type { OmemoVersion } from './versions/backend';

/** Largest payload we encrypt or accept, in bytes (an XMPP stanza is far smaller in practice). */
export const MAX_PAYLOAD_BYTES = 128 * 1024;
/** OMEMO 0.3 `<iv>` length we write; 16 is accepted on receipt. */
export const LEGACY_IV_BYTES = 12;
const LEGACY_KEY_BYTES = 16;
const OMEMO2_KEY_BYTES = 32;
const OMEMO2_MAC_BYTES = 16;
const OMEMO2_PAYLOAD_INFO = utf8Encode('OMEMO Payload');

/** What encrypting a payload produces: the key material for the ratchet and the XML parts. */
export interface SealedPayload {
  /** Plaintext of every recipient's ratchet message. */
  keyMaterial: Uint8Array;
  /** OMEMO 0.3 `<iv>`; undefined for OMEMO 2. */
  iv: Uint8Array | undefined;
  /** `<payload>` content; undefined for an empty (key transport) message. */
  payload: Uint8Array | undefined;
}

/** Encrypts a payload (or makes the key material of an empty message when `plaintext` is undefined). */
export function sealPayload(version: OmemoVersion, plaintext: Uint8Array | undefined, rng: Rng = randomBytes): SealedPayload {
  if (plaintext !== undefined) {
    assertBytes(plaintext, 'plaintext');
    if (plaintext.length > MAX_PAYLOAD_BYTES) throw new RangeError(`plaintext must be at most ${MAX_PAYLOAD_BYTES} bytes, got ${plaintext.length}`);
  }
  if (version === 'oldmemo') {
    const iv = rng(LEGACY_IV_BYTES);
    const key = rng(LEGACY_KEY_BYTES);
    // An empty message carries a bare 16-byte key and still has an <iv> (python-omemo's XSD requires it).
    if (plaintext === undefined) return { keyMaterial: key, iv, payload: undefined };
    const { ciphertext, tag } = aesGcmEncrypt(key, iv, plaintext);
    const keyMaterial = new Uint8Array(LEGACY_KEY_BYTES + GCM_TAG_BYTES);
    keyMaterial.set(key);
    keyMaterial.set(tag, LEGACY_KEY_BYTES);
    return { keyMaterial, iv, payload: ciphertext };
  }
  if (plaintext === undefined) return { keyMaterial: new Uint8Array(OMEMO2_KEY_BYTES), iv: undefined, payload: undefined };
  const key = rng(OMEMO2_KEY_BYTES);
  const { encryptionKey, authenticationKey, iv } = omemo2Keys(key);
  const ciphertext = aes256CbcEncrypt(encryptionKey, iv, plaintext);
  const mac = hmacSha256(authenticationKey, ciphertext).subarray(0, OMEMO2_MAC_BYTES);
  const keyMaterial = new Uint8Array(OMEMO2_KEY_BYTES + OMEMO2_MAC_BYTES);
  keyMaterial.set(key);
  keyMaterial.set(mac, OMEMO2_KEY_BYTES);
  return { keyMaterial, iv: undefined, payload: ciphertext };
}

function omemo2Keys(key: Uint8Array) {
  const out = hkdfSha256(key, HKDF_ZERO_SALT, OMEMO2_PAYLOAD_INFO, 80);
  return { encryptionKey: out.subarray(0, 32), authenticationKey: out.subarray(32, 64), iv: out.subarray(64, 80) };
}

function authFailed(what: string): OmemoError {
  return new OmemoError('authentication-failed', what);
}

/**
 * Decrypts a payload with the key material the ratchet delivered. For an empty message (`payload`
 * undefined) it only checks the key material's shape and returns undefined.
 * @throws OmemoError `authentication-failed` for a wrong tag/MAC or key material of the wrong size.
 */
export function openPayload(version: OmemoVersion, keyMaterial: Uint8Array, iv: Uint8Array | undefined, payload: Uint8Array | undefined): Uint8Array | undefined {
  assertBytes(keyMaterial, 'keyMaterial');
  if (payload !== undefined && payload.length > MAX_PAYLOAD_BYTES + 16) throw new OmemoError('malformed-stanza', `payload exceeds ${MAX_PAYLOAD_BYTES} bytes (+16 for CBC padding)`);
  if (version === 'oldmemo') {
    if (payload === undefined) {
      // Key transport: a bare key (16 bytes); some clients send key ‖ tag (32).
      if (keyMaterial.length !== LEGACY_KEY_BYTES && keyMaterial.length !== LEGACY_KEY_BYTES + GCM_TAG_BYTES) throw authFailed(`legacy key material of ${keyMaterial.length} bytes`);
      return undefined;
    }
    if (keyMaterial.length !== LEGACY_KEY_BYTES + GCM_TAG_BYTES) throw authFailed(`legacy key material must be 32 bytes, got ${keyMaterial.length}`);
    if (iv === undefined || (iv.length !== 12 && iv.length !== 16)) throw new OmemoError('malformed-stanza', 'legacy message needs a 12- or 16-byte <iv>');
    return aesGcmDecrypt(keyMaterial.subarray(0, LEGACY_KEY_BYTES), iv, payload, keyMaterial.subarray(LEGACY_KEY_BYTES));
  }
  if (payload === undefined) {
    if (keyMaterial.length !== OMEMO2_KEY_BYTES && keyMaterial.length !== OMEMO2_KEY_BYTES + OMEMO2_MAC_BYTES) throw authFailed(`OMEMO 2 key material of ${keyMaterial.length} bytes`);
    return undefined;
  }
  if (keyMaterial.length !== OMEMO2_KEY_BYTES + OMEMO2_MAC_BYTES) throw authFailed(`OMEMO 2 key material must be 48 bytes, got ${keyMaterial.length}`);
  const { encryptionKey, authenticationKey, iv: cbcIv } = omemo2Keys(keyMaterial.subarray(0, OMEMO2_KEY_BYTES));
  const mac = hmacSha256(authenticationKey, payload).subarray(0, OMEMO2_MAC_BYTES);
  if (!constantTimeEqual(mac, keyMaterial.subarray(OMEMO2_KEY_BYTES))) throw authFailed('OMEMO 2 payload MAC does not verify');
  return aes256CbcDecrypt(encryptionKey, cbcIv, payload);
}
