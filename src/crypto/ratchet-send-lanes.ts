// The lanes of a batched symmetric Double Ratchet sending step (Signal Double Ratchet §5.2 KDF_CK, OMEMO's
// message keys, AES-256-CBC, truncated HMAC-SHA256): what each session of a fan-out hands over, the limits,
// and the check every path runs before it writes anything.
import { assertBytes, assertInt } from './bytes';

/** Largest shared plaintext of a batch, in bytes (OMEMO carries 32- or 48-byte key material). */
export const RATCHET_MAX_PLAINTEXT_BYTES = 1024;
/** Largest associated data (MAC prefix) per lane, in bytes. */
export const RATCHET_MAX_ASSOCIATED_DATA_BYTES = 128;
/** Largest header per lane, in bytes. */
export const RATCHET_MAX_HEADER_BYTES = 128;
/** Largest HKDF info string, in bytes. */
export const RATCHET_MAX_INFO_BYTES = 128;
/** Shortest MAC truncation accepted, in bytes (OMEMO 0.3 uses 8, OMEMO 2 16). */
export const RATCHET_MIN_MAC_BYTES = 8;
/** Longest MAC, in bytes: the full HMAC-SHA256 output. */
export const RATCHET_MAX_MAC_BYTES = 32;

/** One session's sending step. The caller has written `header` bytes into `message` at headerOffset. */
export interface RatchetSendLane {
  /** 32 bytes (read). */
  chainKey: Uint8Array;
  /** 32 bytes (written); may be `chainKey` itself. */
  nextChainKey: Uint8Array;
  /** At most 128 bytes: the MAC prefix (e.g. both identity keys). */
  associatedData: Uint8Array;
  /** The final wire message buffer, allocated by the caller. */
  message: Uint8Array;
  /** header = message[headerOffset, headerOffset + headerLength). */
  headerOffset: number;
  /** At most 128; the ciphertext is written at headerOffset + headerLength. */
  headerLength: number;
  /** The MAC (macBytes) is written at message[macOffset ...]; must not overlap the header or ciphertext. */
  macOffset: number;
}

/** What every lane of a batch shares. */
export interface RatchetSendParams {
  /** HKDF info, e.g. "OMEMO Message Key Material" or "WhisperMessageKeys" (at most 128 bytes). */
  info: Uint8Array;
  /** At most 1024 bytes; encrypted for every lane. */
  plaintext: Uint8Array;
  /** MAC truncation length, 8..32 (OMEMO 0.3: 8, OMEMO 2: 16). */
  macBytes: number;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

/** A non-negative integer below 2^32 (the fast test; the slow path explains what is wrong). */
function isIndex(value: unknown): value is number {
  return (value as number) >>> 0 === value;
}

function laneName(i: number, field: string): string {
  return `lanes[${i}].${field}`;
}

function checkParams(params: RatchetSendParams): void {
  if (typeof params !== 'object' || params === null) {
    throw new TypeError(`params must be an object, got ${kind(params)}`);
  }
  const { info, plaintext, macBytes } = params;
  assertBytes(info, 'params.info');
  if (info.length > RATCHET_MAX_INFO_BYTES) {
    throw new RangeError(`params.info must be at most ${RATCHET_MAX_INFO_BYTES} bytes, got ${info.length}`);
  }
  assertBytes(plaintext, 'params.plaintext');
  if (plaintext.length > RATCHET_MAX_PLAINTEXT_BYTES) {
    const limit = RATCHET_MAX_PLAINTEXT_BYTES;
    throw new RangeError(`params.plaintext must be at most ${limit} bytes, got ${plaintext.length}`);
  }
  assertInt(macBytes, 'params.macBytes', RATCHET_MIN_MAC_BYTES, RATCHET_MAX_MAC_BYTES);
}

function checkLane(lane: RatchetSendLane, i: number, ctLen: number, macBytes: number): void {
  if (typeof lane !== 'object' || lane === null) {
    throw new TypeError(`lanes[${i}] must be an object, got ${kind(lane)}`);
  }
  const ck = lane.chainKey;
  if (!(ck instanceof Uint8Array) || ck.length !== 32) assertBytes(ck, laneName(i, 'chainKey'), 32);
  const nk = lane.nextChainKey;
  if (!(nk instanceof Uint8Array) || nk.length !== 32) assertBytes(nk, laneName(i, 'nextChainKey'), 32);
  const ad = lane.associatedData;
  if (!(ad instanceof Uint8Array) || ad.length > RATCHET_MAX_ASSOCIATED_DATA_BYTES) {
    assertBytes(ad, laneName(i, 'associatedData'));
    const limit = RATCHET_MAX_ASSOCIATED_DATA_BYTES;
    throw new RangeError(`${laneName(i, 'associatedData')} must be at most ${limit} bytes, got ${ad.length}`);
  }
  const m = lane.message;
  if (!(m instanceof Uint8Array)) assertBytes(m, laneName(i, 'message'));
  const ho = lane.headerOffset;
  const hl = lane.headerLength;
  const mo = lane.macOffset;
  if (!isIndex(ho) || ho > m.length) assertInt(ho, laneName(i, 'headerOffset'), 0, m.length);
  if (!isIndex(hl) || hl > RATCHET_MAX_HEADER_BYTES) {
    assertInt(hl, laneName(i, 'headerLength'), 0, RATCHET_MAX_HEADER_BYTES);
  }
  const ctEnd = ho + hl + ctLen;
  if (ctEnd > m.length) {
    const what = `header ${ho}+${hl} and ${ctLen} ciphertext bytes end at ${ctEnd}`;
    throw new RangeError(`${laneName(i, 'message')} is too short: ${what}, it has ${m.length} bytes`);
  }
  if (!isIndex(mo) || mo + macBytes > m.length) assertInt(mo, laneName(i, 'macOffset'), 0, m.length - macBytes);
  if (mo < ctEnd && mo + macBytes > ho) {
    const where = `the header and ciphertext at ${ho}..${ctEnd}`;
    throw new RangeError(`${laneName(i, 'macOffset')} ${mo}: the ${macBytes}-byte MAC would overlap ${where}`);
  }
}

/**
 * Checks every lane and the shared parameters of a batch before anything is written.
 * @returns the ciphertext length of every lane: AES-256-CBC with PKCS#7 of the plaintext.
 * @throws TypeError/RangeError on a malformed lane or parameter, naming it (e.g. `lanes[3].macOffset`).
 */
export function checkRatchetSendBatch(lanes: readonly RatchetSendLane[], params: RatchetSendParams): number {
  if (!Array.isArray(lanes)) throw new TypeError(`lanes must be an array, got ${kind(lanes)}`);
  checkParams(params);
  const ctLen = (params.plaintext.length & ~15) + 16;
  for (let i = 0; i < lanes.length; i++) checkLane(lanes[i]!, i, ctLen, params.macBytes);
  return ctLen;
}
