// The symmetric crypto of one message (Signal Double Ratchet §5.2 KDF_CK; OMEMO's message keys: HKDF-SHA256 to
// 80 bytes = encryption key ‖ authentication key ‖ IV, the truncated HMAC-SHA256, AES-256-CBC with PKCS#7;
// XEP-0384 0.9 §4.4 for OMEMO 2 payloads): the ratchet kernel's single-message call when it is loaded
// (crypto/kernel-open.ts), else composed from kdf.ts, hmac.ts and aes.ts. Both give the same bytes and the same
// errors (test/protocol/message-crypto.test.ts).
import { aes256CbcDecrypt, aes256CbcEncrypt } from '../crypto/aes';
import { constantTimeEqual } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import { hmacSha256 } from '../crypto/hmac';
import { ratchetKernelAvailable } from '../crypto/kernel-loader';
import {
  checkOpenRequest,
  checkSealRequest,
  kernelOpen,
  kernelOpenFits,
  kernelSeal,
  kernelSealPreferred,
  type MessageOpened,
  type MessageOpenRequest,
  type MessageSealed,
} from '../crypto/kernel-open';
import { MAX_RATCHET_PLAINTEXT_BYTES, VERSIONS, type ProtocolVersion } from './constants';
import { expandMessageKeys, kdfChainKey } from './kdf';
import type { ParsedMessage } from './wire';

export type { MessageOpened, MessageOpenRequest, MessageSealed } from '../crypto/kernel-open';

/**
 * The portable path of `openMessage`: kdf.ts (libsodium), hmac.ts and aes.ts.
 * @throws as `openMessage`.
 */
export function openMessagePortable(req: MessageOpenRequest): MessageOpened {
  checkOpenRequest(req);
  let seed = req.key;
  let nextChainKey: Uint8Array | undefined;
  if (req.chain) ({ seed, next: nextChainKey } = kdfChainKey(req.key));
  const okm = expandMessageKeys(seed, req.info);
  try {
    const input = new Uint8Array(req.macPrefix.length + req.macBody.length);
    input.set(req.macPrefix);
    input.set(req.macBody, req.macPrefix.length);
    const mac = hmacSha256(okm.subarray(32, 64), input).subarray(0, req.macBytes);
    // constantTimeEqual is false for arrays of different lengths: a MAC of another length never verifies.
    if (!constantTimeEqual(mac, req.mac)) throw new OmemoError(req.badMacCode, req.badMacText);
    return { plaintext: aes256CbcDecrypt(okm.subarray(0, 32), okm.subarray(64, 80), req.ciphertext), nextChainKey };
  } catch (error) {
    nextChainKey?.fill(0);
    throw error;
  } finally {
    okm.fill(0);
    if (req.chain) seed.fill(0);
  }
}

/**
 * Verifies and decrypts one message (see MessageOpenRequest): [seed, next = KDF_CK(key)] → HKDF(seed, 32 zero
 * bytes, info, 80) → HMAC over macPrefix ‖ macBody, truncated to macBytes, compared in constant time → AES-256-CBC
 * decryption with the PKCS#7 check. The kernel when it is loaded and the message fits it, else the portable path;
 * same results. Nothing is released on failure.
 * @throws OmemoError `req.badMacCode` when the MAC does not verify (checked first); `authentication-failed` on
 *   a ciphertext that is not a positive multiple of 16 bytes or bad padding. TypeError/RangeError on bad
 *   arguments (key not 32 bytes, macBytes not in 1..32).
 */
export function openMessage(req: MessageOpenRequest): MessageOpened {
  checkOpenRequest(req);
  // Odd ciphertext or MAC lengths take the portable path, which reports them as before: a MAC of another length
  // never verifies; a ciphertext that is no whole number of blocks fails after the MAC, as aes.ts reports it.
  if (!kernelOpenFits(req) || !ratchetKernelAvailable()) return openMessagePortable(req);
  return kernelOpen(req);
}

/**
 * Verifies and decrypts a ratchet message (Double Ratchet §3.5 DECRYPT): `openMessage` with the info and MAC
 * length of `version`, the MAC over `macPrefix` (the identity keys) ‖ the message's MAC input, under `key`, a
 * message key seed or, with `chain`, the chain key whose KDF_CK step gives it (the next chain key is returned).
 * @throws OmemoError `bad-mac`, `authentication-failed` (padding), `malformed-message` (a plaintext over
 *   MAX_RATCHET_PLAINTEXT_BYTES); nothing is released then.
 */
export function openRatchetMessage(
  version: ProtocolVersion,
  key: Uint8Array,
  chain: boolean,
  macPrefix: Uint8Array,
  message: ParsedMessage,
): MessageOpened {
  const opened = openMessage({
    key,
    chain,
    info: VERSIONS[version].messageKeyInfo,
    macPrefix,
    macBody: message.macInput,
    ciphertext: message.ciphertext,
    mac: message.mac,
    macBytes: VERSIONS[version].macBytes,
    badMacCode: 'bad-mac',
    badMacText: 'message MAC does not verify',
  });
  if (opened.plaintext.length > MAX_RATCHET_PLAINTEXT_BYTES) {
    opened.plaintext.fill(0);
    opened.nextChainKey?.fill(0);
    throw new OmemoError('malformed-message', 'ratchet plaintext is too long');
  }
  return opened;
}

/**
 * The portable path of `sealMessage`.
 * @throws as `sealMessage`.
 */
export function sealMessagePortable(key: Uint8Array, info: Uint8Array, plaintext: Uint8Array): MessageSealed {
  checkSealRequest(key, info, plaintext);
  const okm = expandMessageKeys(key, info);
  try {
    const ciphertext = aes256CbcEncrypt(okm.subarray(0, 32), okm.subarray(64, 80), plaintext);
    return { ciphertext, mac: hmacSha256(okm.subarray(32, 64), ciphertext) };
  } finally {
    okm.fill(0);
  }
}

/**
 * Encrypts one message: HKDF(key, 32 zero bytes, info, 80) → AES-256-CBC(PKCS#7(plaintext)) → the full 32-byte
 * HMAC-SHA256 over the ciphertext (the caller truncates). The kernel where `kernelSealPreferred` says so, else
 * the portable path; same bytes.
 * @throws TypeError/RangeError on bad arguments (key not 32 bytes); OmemoError `crypto-unavailable` without
 *   node:crypto and the kernel.
 */
export function sealMessage(key: Uint8Array, info: Uint8Array, plaintext: Uint8Array): MessageSealed {
  checkSealRequest(key, info, plaintext);
  if (kernelSealPreferred(info, plaintext.length) && ratchetKernelAvailable()) return kernelSeal(key, info, plaintext);
  return sealMessagePortable(key, info, plaintext);
}
