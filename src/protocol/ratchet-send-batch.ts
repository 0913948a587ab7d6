// The symmetric Double Ratchet sending step (Signal Double Ratchet §5.2 KDF_CK; OMEMO's message keys,
// AES-256-CBC with PKCS#7 and the truncated HMAC-SHA256 over associated data ‖ header ‖ ciphertext) for every
// session of a fan-out: the WebAssembly kernel's batch when it is available, else lane by lane composed from
// kdf.ts, aes.ts and hmac.ts. Both produce the same bytes (test/protocol/ratchet-send-batch.test.ts).
import { aes256CbcEncrypt } from '../crypto/aes';
import { hmacSha256 } from '../crypto/hmac';
import { ratchetKernelAvailable } from '../crypto/kernel-loader';
import { ratchetSendBatchWasm } from '../crypto/kernel-send-batch';
import {
  checkRatchetSendBatch,
  RATCHET_MAX_ASSOCIATED_DATA_BYTES,
  RATCHET_MAX_HEADER_BYTES,
  RATCHET_MAX_PLAINTEXT_BYTES,
  type RatchetSendLane,
  type RatchetSendParams,
} from '../crypto/ratchet-send-lanes';
import { expandMessageKeys, kdfChainKey } from './kdf';

/** Size of the reused MAC input buffer: the largest associated data ‖ header ‖ ciphertext of a lane, in bytes. */
const MAC_INPUT_MAX_BYTES =
  RATCHET_MAX_ASSOCIATED_DATA_BYTES + RATCHET_MAX_HEADER_BYTES + RATCHET_MAX_PLAINTEXT_BYTES + 16;
let macInput: Uint8Array | undefined;

/**
 * The sending step for every lane with kdf.ts (libsodium's HMAC/HKDF) and aes.ts (node:crypto's AES, or the
 * kernel's where node:crypto is absent). Validates every lane before writing anything.
 * @throws TypeError/RangeError on a malformed lane or parameter (naming it, e.g. `lanes[3].macOffset`).
 * @throws OmemoError `crypto-unavailable` without node:crypto and the kernel, Error before `cryptoReady()`.
 */
export function ratchetSendBatchPortable(lanes: readonly RatchetSendLane[], params: RatchetSendParams): void {
  const ctLen = checkRatchetSendBatch(lanes, params);
  const { info, plaintext, macBytes } = params;
  macInput ??= new Uint8Array(MAC_INPUT_MAX_BYTES);
  const buf = macInput;
  for (let i = 0; i < lanes.length; i++) {
    const lane = lanes[i]!;
    const { seed, next } = kdfChainKey(lane.chainKey);
    const okm = expandMessageKeys(seed, info);
    const ct = aes256CbcEncrypt(okm.subarray(0, 32), okm.subarray(64, 80), plaintext);
    const m = lane.message;
    const ho = lane.headerOffset;
    const hl = lane.headerLength;
    m.set(ct, ho + hl);
    const ad = lane.associatedData;
    buf.set(ad);
    buf.set(m.subarray(ho, ho + hl + ctLen), ad.length);
    const mac = hmacSha256(okm.subarray(32, 64), buf.subarray(0, ad.length + hl + ctLen));
    m.set(mac.subarray(0, macBytes), lane.macOffset);
    lane.nextChainKey.set(next);
    seed.fill(0);
    next.fill(0);
    okm.fill(0);
  }
}

/**
 * The symmetric Double Ratchet sending step for every lane (session), in one synchronous call:
 *   seed, nextChainKey = KDF_CK(chainKey) (kdf.ts `kdfChainKey`);
 *   encKey ‖ authKey ‖ iv = `expandMessageKeys`(seed, info);
 *   message[headerOffset + headerLength ...] = AES-256-CBC(encKey, iv, PKCS#7(plaintext));
 *   message[macOffset ...] = HMAC-SHA256(authKey, associatedData ‖ header ‖ ciphertext)[0, macBytes).
 * Uses the WebAssembly kernel when it is available and the portable path otherwise; both produce the same
 * bytes. Every lane is validated before anything is written. Lanes must not share output regions, and no
 * output may overlap another lane's inputs or the lane's own associated data or header.
 * @throws TypeError/RangeError on a malformed lane or parameter (naming it, e.g. `lanes[3].macOffset`).
 * @throws OmemoError `crypto-unavailable` when neither the kernel nor node:crypto is available.
 */
export function ratchetSendBatch(lanes: readonly RatchetSendLane[], params: RatchetSendParams): void {
  if (ratchetKernelAvailable()) ratchetSendBatchWasm(lanes, params);
  else ratchetSendBatchPortable(lanes, params);
}
