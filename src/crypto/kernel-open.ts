// One message's symmetric crypto on the ratchet kernel (wasm/src/message-open.c; Double Ratchet §5.2 KDF_CK,
// HKDF-SHA256 RFC 5869, HMAC-SHA256 RFC 2104, AES-256-CBC NIST SP 800-38A §6.2 with PKCS#7): `kernelOpen`
// verifies and decrypts, `kernelSeal` encrypts and authenticates, each in one kernel call. What they compute
// is defined in protocol/message-crypto.ts, which also has the portable path and picks between them.
import { aes256CbcDecrypt } from './aes';
import { assertBytes, assertInt } from './bytes';
import { OmemoError, type OmemoErrorCode } from './errors';
import { KERNEL_OPEN_MAX_DATA_BYTES, requireKernel } from './kernel-loader';
import { RATCHET_MAX_INFO_BYTES } from './ratchet-send-lanes';
import { nodeCrypto } from './sodium';

/**
 * Longest ciphertext the kernel decrypts itself when node:crypto is there, in bytes: beyond it node:crypto's
 * AES-NI wins over its fixed per-call setup (~2 µs); the kernel still derives the keys and checks the MAC, and
 * hands node:crypto the key. Measured (bench/crypto.bench.ts "message open", x64 Node 20, 2026-12) with the
 * kernel's four-block CBC decryption: the kernel 1.7 µs ahead at 300 bytes (5.65 against 7.31 µs for the whole
 * open; an SCE text message's payload is ~370), equal at 640 (8.2 against 8.1), node:crypto ahead at 1024 (11.2
 * against 8.5). Without node:crypto the kernel always decrypts.
 */
export const KERNEL_CBC_DECRYPT_MAX_BYTES = 640;
/**
 * Longest plaintext the kernel encrypts when node:crypto is there, in bytes: CBC encryption cannot interleave
 * blocks, but node:crypto's setup costs more when encrypting (measured crossover ~768 B, "message seal").
 */
export const KERNEL_CBC_ENCRYPT_MAX_BYTES = 768;
/** rk_open flag: the key is a chain key; the seed is HMAC(ck, 0x01) and HMAC(ck, 0x02) the next chain key. */
const OPEN_FLAG_CHAIN = 1;
/** rk_open flag: AES-CBC decryption in the kernel (else the kernel hands out encryption key ‖ IV). */
const OPEN_FLAG_DECRYPT = 2;
/** rk_open result: bad PKCS#7 padding. */
const OPEN_ERR_PADDING = -2;
/** rk_open result: the MAC does not verify. */
const OPEN_ERR_MAC = -3;

/**
 * One message to verify and decrypt: keys = HKDF-SHA256(seed, 32 zero bytes, info, 80) = encryption key 32 ‖
 * authentication key 32 ‖ IV 16; HMAC-SHA256(authentication key, macPrefix ‖ macBody) truncated to `macBytes`
 * must equal `mac`; then AES-256-CBC decryption of `ciphertext` with the PKCS#7 check.
 */
export interface MessageOpenRequest {
  /** 32 bytes: the message key seed, or with `chain` the chain key it comes from (KDF_CK). */
  key: Uint8Array;
  /** `key` is a chain key: seed = HMAC(key, 0x01); the result carries nextChainKey = HMAC(key, 0x02). */
  chain: boolean;
  /** HKDF info, at most RATCHET_MAX_INFO_BYTES bytes. */
  info: Uint8Array;
  /** MAC input before `macBody` (associated data); may be empty. */
  macPrefix: Uint8Array;
  macBody: Uint8Array;
  /** The ciphertext; may be `macBody` itself (the same array: then it is not copied twice). */
  ciphertext: Uint8Array;
  /** The expected MAC as received: it verifies only if it has exactly `macBytes` bytes. */
  mac: Uint8Array;
  /** Length of the truncated MAC, 1..32 bytes (a constant of the protocol, never taken from the message). */
  macBytes: number;
  /** The error code and text of a MAC that does not verify. */
  badMacCode: OmemoErrorCode;
  badMacText: string;
}

/** The outcome of a verified, decrypted message. */
export interface MessageOpened {
  plaintext: Uint8Array;
  /** HMAC(key, 0x02) when the request had `chain`. */
  nextChainKey: Uint8Array | undefined;
}

/**
 * Checks the types and lengths of a request (any path): key 32 bytes, macBytes 1..32, every other field a
 * Uint8Array. The lengths of the message's own fields (MAC, ciphertext) are network data: they fail the MAC or
 * the decryption instead.
 * @throws TypeError/RangeError naming the field.
 */
export function checkOpenRequest(req: MessageOpenRequest): void {
  assertBytes(req.key, 'key', 32);
  assertBytes(req.info, 'info');
  assertBytes(req.macPrefix, 'macPrefix');
  assertBytes(req.macBody, 'macBody');
  assertBytes(req.ciphertext, 'ciphertext');
  assertBytes(req.mac, 'mac');
  assertInt(req.macBytes, 'macBytes', 1, 32);
}

/**
 * True when the kernel takes the request in one call: info at most RATCHET_MAX_INFO_BYTES, the ciphertext a
 * positive multiple of 16 bytes, MAC data and ciphertext (each from a 16-byte boundary) within KERNEL_OPEN_MAX_DATA_BYTES.
 */
export function kernelOpenFits(req: MessageOpenRequest): boolean {
  const n = req.ciphertext.length;
  if (req.info.length > RATCHET_MAX_INFO_BYTES || n === 0 || n % 16 !== 0) return false;
  const macLength = req.macPrefix.length + req.macBody.length;
  const ctBytes = req.ciphertext === req.macBody ? 0 : n;
  return ((macLength + 15) & ~15) + ctBytes <= KERNEL_OPEN_MAX_DATA_BYTES;
}

/** True when the kernel is the faster AES-CBC decryption of `ciphertextLength` bytes (KERNEL_CBC_DECRYPT_MAX_BYTES). */
function kernelDecryptsHere(ciphertextLength: number): boolean {
  return ciphertextLength <= KERNEL_CBC_DECRYPT_MAX_BYTES || nodeCrypto() === undefined;
}

/**
 * Verifies and decrypts one message in one kernel call (see MessageOpenRequest). For a ciphertext over
 * KERNEL_CBC_DECRYPT_MAX_BYTES where node:crypto is there, the kernel verifies the MAC and hands out the
 * encryption key and IV, and aes.ts (node:crypto) decrypts; `decryptHere` overrides that choice (tests and
 * benchmarks compare both). The request must pass `checkOpenRequest` and `kernelOpenFits` (checked here, before
 * anything is written to the kernel's memory). Key material is wiped from the kernel's memory before this returns.
 * @throws OmemoError `req.badMacCode` when the MAC does not verify, `authentication-failed` on bad padding;
 *   `crypto-unavailable` when the kernel is not loaded. TypeError/RangeError for a request out of range.
 */
export function kernelOpen(
  req: MessageOpenRequest,
  decryptHere = kernelDecryptsHere(req.ciphertext.length),
): MessageOpened {
  checkOpenRequest(req);
  if (!kernelOpenFits(req)) {
    throw new RangeError('info, macPrefix ‖ macBody or ciphertext out of what the kernel takes (kernelOpenFits)');
  }
  const { macPrefix, macBody, ciphertext, mac } = req;
  if (mac.length !== req.macBytes) throw new OmemoError(req.badMacCode, req.badMacText);
  const k = requireKernel();
  const { heap, openKey, openMac, openKeysOut, openInfo, openData } = k;
  const macLength = macPrefix.length + macBody.length;
  const inPlace = ciphertext === macBody;
  const ctOffset = inPlace ? macPrefix.length : (macLength + 15) & ~15;
  heap.set(req.key, openKey);
  heap.set(mac, openMac);
  heap.set(req.info, openInfo);
  heap.set(macPrefix, openData);
  heap.set(macBody, openData + macPrefix.length);
  if (!inPlace) heap.set(ciphertext, openData + ctOffset);
  const flags = (req.chain ? OPEN_FLAG_CHAIN : 0) | (decryptHere ? OPEN_FLAG_DECRYPT : 0);
  const n = k.x.rk_open(flags, req.info.length, macLength, ctOffset, ciphertext.length, mac.length);
  const ct = openData + ctOffset;
  try {
    if (n === OPEN_ERR_MAC) throw new OmemoError(req.badMacCode, req.badMacText);
    if (n === OPEN_ERR_PADDING) throw new OmemoError('authentication-failed', 'AES-CBC padding is invalid');
    if (n < 0) throw new RangeError('the ratchet kernel refused the arguments of a message to open');
    const nextChainKey = req.chain ? heap.slice(openKey, openKey + 32) : undefined;
    if (decryptHere) return { plaintext: heap.slice(ct, ct + n), nextChainKey };
    const keys = heap.subarray(openKeysOut, openKeysOut + 48);
    try {
      return { plaintext: aes256CbcDecrypt(keys.subarray(0, 32), keys.subarray(32, 48), ciphertext), nextChainKey };
    } catch (error) {
      nextChainKey?.fill(0);
      throw error;
    }
  } finally {
    heap.fill(0, openKey, openKey + 32);
    heap.fill(0, openKeysOut, openKeysOut + 48);
    if (decryptHere && n > 0) heap.fill(0, ct, ct + n);
  }
}

/** Largest plaintext `kernelSeal` takes, in bytes (its padding block fits behind the kernel's data buffer). */
export const KERNEL_SEAL_MAX_PLAINTEXT_BYTES = KERNEL_OPEN_MAX_DATA_BYTES;

/**
 * Checks the arguments of a seal (any path): key 32 bytes, info and plaintext Uint8Arrays.
 * @throws TypeError/RangeError naming the argument.
 */
export function checkSealRequest(key: Uint8Array, info: Uint8Array, plaintext: Uint8Array): void {
  assertBytes(key, 'key', 32);
  assertBytes(info, 'info');
  assertBytes(plaintext, 'plaintext');
}

/**
 * True when `kernelSeal` is the faster way to seal `plaintextLength` bytes under `info`: it takes them, and they
 * are at most KERNEL_CBC_ENCRYPT_MAX_BYTES or node:crypto is absent.
 */
export function kernelSealPreferred(info: Uint8Array, plaintextLength: number): boolean {
  if (plaintextLength > KERNEL_SEAL_MAX_PLAINTEXT_BYTES || info.length > RATCHET_MAX_INFO_BYTES) return false;
  return plaintextLength <= KERNEL_CBC_ENCRYPT_MAX_BYTES || nodeCrypto() === undefined;
}

/** Encrypted and authenticated by `kernelSeal`. */
export interface MessageSealed {
  ciphertext: Uint8Array;
  /** The full 32-byte HMAC over the ciphertext (the caller truncates). */
  mac: Uint8Array;
}

/**
 * Encrypts one message in one kernel call: keys = HKDF-SHA256(key, 32 zero bytes, info, 80),
 * ciphertext = AES-256-CBC(PKCS#7(plaintext)), mac = HMAC-SHA256(authentication key, ciphertext). The caller
 * info at most RATCHET_MAX_INFO_BYTES, plaintext at most KERNEL_SEAL_MAX_PLAINTEXT_BYTES. Key material and the plaintext are wiped from the kernel's memory.
 * @throws OmemoError `crypto-unavailable` when the kernel is not loaded; TypeError/RangeError for arguments out
 *   of range (nothing is written to the kernel's memory then).
 */
export function kernelSeal(key: Uint8Array, info: Uint8Array, plaintext: Uint8Array): MessageSealed {
  checkSealRequest(key, info, plaintext);
  if (info.length > RATCHET_MAX_INFO_BYTES)
    throw new RangeError(`info must be at most ${RATCHET_MAX_INFO_BYTES} bytes`);
  if (plaintext.length > KERNEL_SEAL_MAX_PLAINTEXT_BYTES) {
    throw new RangeError(`plaintext must be at most ${KERNEL_SEAL_MAX_PLAINTEXT_BYTES} bytes for the kernel`);
  }
  const k = requireKernel();
  const { heap, openKey, openMac, openInfo, openData } = k;
  heap.set(key, openKey);
  heap.set(info, openInfo);
  heap.set(plaintext, openData);
  const n = k.x.rk_seal(info.length, 0, plaintext.length);
  try {
    if (n < 0) throw new RangeError('the ratchet kernel refused the arguments of a message to seal');
    return { ciphertext: heap.slice(openData, openData + n), mac: heap.slice(openMac, openMac + 32) };
  } finally {
    heap.fill(0, openKey, openKey + 32);
    heap.fill(0, openData, openData + plaintext.length + 16);
  }
}
