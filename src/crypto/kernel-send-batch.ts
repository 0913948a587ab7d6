// The symmetric Double Ratchet sending step (Signal Double Ratchet §5.2 KDF_CK; OMEMO's 80-byte message key
// expansion, AES-256-CBC with PKCS#7 and the truncated HMAC-SHA256) for many sessions in one call, on the
// WebAssembly SIMD kernel (wasm/src/ratchet-kernel.c). What the step computes is defined in
// protocol/kdf.ts; protocol/ratchet-send-batch.ts asks the kernel for it and has the portable path.
import { KERNEL_MAX_LANES_PER_CALL, KERNEL_SHA_PAD_BYTES, requireKernel, type Kernel } from './kernel-loader';
import {
  checkRatchetSendBatch,
  RATCHET_MAX_ASSOCIATED_DATA_BYTES,
  RATCHET_MAX_HEADER_BYTES,
  type RatchetSendLane,
  type RatchetSendParams,
} from './ratchet-send-lanes';

/** Copies one chunk of lanes into the kernel, runs it, and copies the results out. */
function runChunk(k: Kernel, lanes: readonly RatchetSendLane[], start: number, count: number, run: ChunkRun): void {
  const { heap, u32, keys, lengths32, macs, data } = k;
  const { stride, ctLen, params } = run;
  try {
    for (let i = 0; i < count; i++) {
      const lane = lanes[start + i]!;
      const ad = lane.associatedData;
      const ho = lane.headerOffset;
      const hl = lane.headerLength;
      const d = data + stride * i;
      heap.set(lane.chainKey, keys + 32 * i);
      u32[lengths32 + 2 * i] = ad.length;
      u32[lengths32 + 2 * i + 1] = hl;
      heap.set(ad, d);
      heap.set(lane.message.subarray(ho, ho + hl), d + ad.length);
    }
    if (k.x.rk_send_batch(count, stride, params.info.length, params.plaintext.length) !== 0) {
      throw new Error('the ratchet kernel rejected a checked batch (bug)');
    }
    for (let i = 0; i < count; i++) {
      const lane = lanes[start + i]!;
      const m = lane.message;
      const hl = lane.headerLength;
      const ct = data + stride * i + lane.associatedData.length + hl;
      const key = keys + 32 * i;
      const mac = macs + 32 * i;
      lane.nextChainKey.set(heap.subarray(key, key + 32));
      m.set(heap.subarray(ct, ct + ctLen), lane.headerOffset + hl);
      m.set(heap.subarray(mac, mac + params.macBytes), lane.macOffset);
    }
  } finally {
    heap.fill(0, keys, keys + 32 * count);
  }
}

/** What every chunk of one batch shares. */
interface ChunkRun {
  stride: number;
  ctLen: number;
  params: RatchetSendParams;
}

/**
 * The sending step for every lane in the WebAssembly kernel, KERNEL_MAX_LANES_PER_CALL lanes per kernel call:
 *   seed = HMAC-SHA256(chainKey, 0x01), nextChainKey = HMAC-SHA256(chainKey, 0x02);
 *   encKey ‖ authKey ‖ iv = HKDF-SHA256(seed, 32 zero bytes, info, 80);
 *   message[headerOffset + headerLength ...] = AES-256-CBC(encKey, iv, PKCS#7(plaintext));
 *   message[macOffset ...] = HMAC-SHA256(authKey, associatedData ‖ header ‖ ciphertext)[0, macBytes).
 * Validates every lane before writing anything. Lanes must not share output regions, and no output may
 * overlap another lane's inputs or the lane's own associated data or header.
 * @throws TypeError/RangeError on a malformed lane or parameter (naming it, e.g. `lanes[3].macOffset`).
 * @throws OmemoError `crypto-unavailable` when the kernel is not loaded.
 */
export function ratchetSendBatchWasm(lanes: readonly RatchetSendLane[], params: RatchetSendParams): void {
  const ctLen = checkRatchetSendBatch(lanes, params);
  const k = requireKernel();
  const { heap } = k;
  const { info, plaintext } = params;
  // Room for any lane: AD and header at their maxima, the ciphertext, SHA-256 padding; 16-byte aligned.
  const laneBytes = RATCHET_MAX_ASSOCIATED_DATA_BYTES + RATCHET_MAX_HEADER_BYTES + ctLen + KERNEL_SHA_PAD_BYTES;
  const run: ChunkRun = { stride: (laneBytes + 15) & ~15, ctLen, params };
  heap.set(info, k.info);
  heap.set(plaintext, k.plaintext);
  try {
    for (let start = 0; start < lanes.length; start += KERNEL_MAX_LANES_PER_CALL) {
      runChunk(k, lanes, start, Math.min(KERNEL_MAX_LANES_PER_CALL, lanes.length - start), run);
    }
  } finally {
    heap.fill(0, k.plaintext, k.plaintext + plaintext.length);
  }
}
