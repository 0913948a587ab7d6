// XEP-0384 0.3.0 §4.5 / 0.9 §4.4: what the `<payload>` of both versions shares — its size bound, what sealing it
// yields and the checks before opening it. Each backend seals and opens its own: OMEMO 0.3 AES-128-GCM with
// key16 ‖ tag16 in the ratchet, OMEMO 2 HKDF-SHA256 → AES-256-CBC + HMAC-SHA256 with key32 ‖ mac16.
import { assertBytes } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';

/** Largest payload we encrypt or accept, in bytes (an XMPP stanza is far smaller in practice). */
export const MAX_PAYLOAD_BYTES = 128 * 1024;
/** What a ciphertext may exceed MAX_PAYLOAD_BYTES by, in bytes: one AES block of CBC padding (OMEMO 2). */
const MAX_PADDING_BYTES = 16;

/** What encrypting a payload produces: the key material for the ratchet and the XML parts. */
export interface SealedPayload {
  /** Plaintext of every recipient's ratchet message. */
  keyMaterial: Uint8Array;
  /** OMEMO 0.3 `<iv>`; undefined for OMEMO 2. */
  iv: Uint8Array | undefined;
  /** `<payload>` content; undefined for an empty (key transport) message. */
  payload: Uint8Array | undefined;
}

/**
 * Checks a plaintext before it is sealed (undefined: an empty message).
 * @throws TypeError unless bytes; RangeError over MAX_PAYLOAD_BYTES.
 */
export function checkPlaintext(plaintext: Uint8Array | undefined): void {
  if (plaintext === undefined) return;
  assertBytes(plaintext, 'plaintext');
  if (plaintext.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`plaintext must be at most ${MAX_PAYLOAD_BYTES} bytes, got ${plaintext.length}`);
  }
}

/** The key material of one version's payload cipher: key ‖ tag (or MAC). */
export interface KeyMaterialShape {
  /** The version's name in error messages. */
  readonly name: string;
  /** Payload key, in bytes. */
  readonly keyBytes: number;
  /** Tag or MAC after the key, in bytes. */
  readonly tagBytes: number;
}

/**
 * Checks what a received message delivers before its payload is opened: the payload's size and the key material's
 * (key ‖ tag; for an empty message, payload undefined, the bare key or key ‖ tag: some clients send one).
 * @throws TypeError unless `keyMaterial` is bytes; OmemoError `malformed-stanza` for a payload over
 * MAX_PAYLOAD_BYTES (+16 for CBC padding), `authentication-failed` for key material of another size.
 */
export function checkSealed(keyMaterial: Uint8Array, payload: Uint8Array | undefined, shape: KeyMaterialShape): void {
  assertBytes(keyMaterial, 'keyMaterial');
  if (payload !== undefined && payload.length > MAX_PAYLOAD_BYTES + MAX_PADDING_BYTES) {
    throw new OmemoError('malformed-stanza', `payload exceeds ${MAX_PAYLOAD_BYTES} bytes (+16 for CBC padding)`);
  }
  const { name, keyBytes, tagBytes } = shape;
  const n = keyMaterial.length;
  if (payload === undefined) {
    if (n !== keyBytes && n !== keyBytes + tagBytes) throw authFailed(`${name} key material of ${n} bytes`);
  } else if (n !== keyBytes + tagBytes) {
    throw authFailed(`${name} key material must be ${keyBytes + tagBytes} bytes, got ${n}`);
  }
}

/** The error of key material or a payload that does not authenticate. */
function authFailed(what: string): OmemoError {
  return new OmemoError('authentication-failed', what);
}
