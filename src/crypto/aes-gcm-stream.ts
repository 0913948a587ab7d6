// NIST SP 800-38D AES-256-GCM over a stream of chunks, as XEP-0454 (OMEMO media sharing) uses it: the file's
// ciphertext with the 16-byte tag appended. node:crypto streams in constant memory; WebCrypto (browsers) is
// one-shot, so there the whole file is buffered up to WEBCRYPTO_FILE_MAX_BYTES. The back end is chosen here only.
import { assertBytes, concatBytes } from './bytes';
import { assertByteSource, readChunks, type ByteSource } from './byte-source';
import { OmemoError } from './errors';
import { cryptoReady } from './ready';
import { nodeCrypto } from './sodium';

/** Length of the tag appended to the ciphertext (128 bits, as every XEP-0454 client writes it). */
export const FILE_TAG_BYTES = 16;
/**
 * Most plaintext one key and IV may encrypt: 2^39 − 256 bits (NIST SP 800-38D §5.2.1.1), 64 GiB − 32 bytes; past
 * it the 32-bit block counter would wrap and reuse key stream. Longer streams are refused, not wrapped.
 */
export const GCM_MAX_PLAINTEXT_BYTES = 2 ** 36 - 32;
/** Key length: AES-256. */
export const FILE_KEY_BYTES = 32;
/** IV lengths accepted: 12 (XEP-0454, what we write) and 16 (older Conversations, Monal until 2019, others). */
export const FILE_IV_BYTES: readonly number[] = Object.freeze([12, 16]);
/**
 * Largest plaintext the WebCrypto back end takes: it cannot stream, so the whole file (and its ciphertext) is
 * held in memory. node:crypto has no such bound (constant memory).
 */
export const WEBCRYPTO_FILE_MAX_BYTES = 256 * 1024 * 1024;

/** How files are encrypted: 'node' streams (node:crypto), 'webcrypto' buffers (browsers). */
export type FileCipherBackend = 'node' | 'webcrypto';

/** Options of the stream functions. */
export interface FileCipherOptions {
  /** Force a back end (tests, benchmarks); default: node:crypto where present, else WebCrypto. */
  backend?: FileCipherBackend;
}

/**
 * The back end files are encrypted with here: node:crypto on Node, WebCrypto elsewhere.
 * @throws OmemoError `crypto-unavailable` (rejects) when neither exists.
 */
export async function fileCipherBackend(): Promise<FileCipherBackend> {
  await cryptoReady();
  if (nodeCrypto() !== undefined) return 'node';
  if (globalThis.crypto?.subtle !== undefined) return 'webcrypto';
  throw new OmemoError('crypto-unavailable', 'neither node:crypto nor WebCrypto is available for file encryption');
}

function check(key: Uint8Array, iv: Uint8Array, source: unknown, options: FileCipherOptions): void {
  assertBytes(key, 'key', FILE_KEY_BYTES);
  assertBytes(iv, 'iv', FILE_IV_BYTES);
  assertByteSource(source, 'source');
  const b = options.backend;
  if (b !== undefined && b !== 'node' && b !== 'webcrypto') throw new TypeError(`unknown backend ${String(b)}`);
}

async function backendFor(options: FileCipherOptions): Promise<FileCipherBackend> {
  await cryptoReady();
  if (options.backend === 'node' && nodeCrypto() === undefined)
    throw new OmemoError('crypto-unavailable', 'node:crypto is not available');
  return options.backend ?? fileCipherBackend();
}

function authFailed(what: string, cause?: unknown): OmemoError {
  return new OmemoError('authentication-failed', what, cause === undefined ? undefined : { cause });
}

function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new OmemoError('crypto-unavailable', 'WebCrypto is not available');
  return s;
}

/** All of `source` in one array, refusing more than `max` bytes (WebCrypto cannot stream). */
async function collect(source: ByteSource, max: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of readChunks(source)) {
    length += chunk.length;
    if (length > max) {
      throw new OmemoError(
        'file-too-large',
        `WebCrypto cannot stream AES-GCM: files are buffered, at most ${WEBCRYPTO_FILE_MAX_BYTES} bytes`,
      );
    }
    parts.push(chunk);
  }
  return concatBytes(...parts);
}

/** WebCrypto's typings want ArrayBuffer-backed views; ours always are. */
function bs(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

async function* encryptNode(key: Uint8Array, iv: Uint8Array, source: ByteSource): AsyncGenerator<Uint8Array> {
  const c = nodeCrypto()!.createCipheriv('aes-256-gcm', key, iv, { authTagLength: FILE_TAG_BYTES });
  let total = 0;
  for await (const chunk of readChunks(source)) {
    total += chunk.length;
    if (total > GCM_MAX_PLAINTEXT_BYTES) throw new RangeError('source is longer than GCM allows for one key and IV');
    const out = c.update(chunk);
    if (out.length > 0) yield plain(out);
  }
  const tail = c.final();
  if (tail.length > 0) yield plain(tail);
  yield plain(c.getAuthTag());
}

async function* encryptWeb(key: Uint8Array, iv: Uint8Array, source: ByteSource): AsyncGenerator<Uint8Array> {
  const plaintext = await collect(source, WEBCRYPTO_FILE_MAX_BYTES);
  const k = await subtle().importKey('raw', bs(key), 'AES-GCM', false, ['encrypt']);
  yield new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: bs(iv), tagLength: 128 }, k, bs(plaintext)));
}

type CipherRun = (key: Uint8Array, iv: Uint8Array, source: ByteSource) => AsyncGenerator<Uint8Array>;

/** Checks the arguments now, copies key and IV, and runs the backend's cipher when iterated; wipes the key copy. */
function runCipher(
  key: Uint8Array,
  iv: Uint8Array,
  source: ByteSource,
  options: FileCipherOptions,
  onNode: CipherRun,
  onWeb: CipherRun,
): AsyncGenerator<Uint8Array> {
  check(key, iv, source, options);
  const k = key.slice();
  const n = iv.slice();
  return (async function* () {
    try {
      yield* (await backendFor(options)) === 'node' ? onNode(k, n, source) : onWeb(k, n, source);
    } finally {
      k.fill(0);
    }
  })();
}

/**
 * Encrypts a file with AES-256-GCM (no associated data): yields the ciphertext chunk by chunk and then the
 * 16-byte tag, i.e. `plaintext length + FILE_TAG_BYTES` bytes in all. With node:crypto the memory used does not
 * depend on the file's size; with WebCrypto the file is buffered (at most WEBCRYPTO_FILE_MAX_BYTES).
 * The key and IV are copied at the call. Never reuse a key/IV pair.
 * @throws TypeError/RangeError at the call for a key that is not 32 bytes, an IV that is not 12 or 16 bytes, a
 *   source that is not a ByteSource; while iterating: OmemoError `file-too-large` (WebCrypto cap),
 *   `crypto-unavailable`, TypeError for a chunk that is not a Uint8Array, RangeError past
 *   GCM_MAX_PLAINTEXT_BYTES, and whatever the source throws.
 */
export function aes256GcmEncryptStream(
  key: Uint8Array,
  iv: Uint8Array,
  source: ByteSource,
  options: FileCipherOptions = {},
): AsyncGenerator<Uint8Array> {
  return runCipher(key, iv, source, options, encryptNode, encryptWeb);
}

async function* decryptNode(key: Uint8Array, iv: Uint8Array, source: ByteSource): AsyncGenerator<Uint8Array> {
  const d = nodeCrypto()!.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: FILE_TAG_BYTES });
  // The tag is the stream's last 16 bytes: hold back the latest 16 until the source ends.
  let held: Uint8Array = new Uint8Array(0);
  let total = 0;
  for await (const chunk of readChunks(source)) {
    total += chunk.length;
    if (total > GCM_MAX_PLAINTEXT_BYTES + FILE_TAG_BYTES)
      throw new OmemoError('file-too-large', 'encrypted file is longer than GCM allows for one key and IV');
    if (chunk.length >= FILE_TAG_BYTES) {
      if (held.length > 0) {
        const out = d.update(held);
        if (out.length > 0) yield plain(out);
      }
      const body = chunk.subarray(0, chunk.length - FILE_TAG_BYTES);
      if (body.length > 0) yield plain(d.update(body));
      held = chunk.slice(chunk.length - FILE_TAG_BYTES);
    } else {
      const joined = new Uint8Array(held.length + chunk.length);
      joined.set(held);
      joined.set(chunk, held.length);
      const cut = joined.length - FILE_TAG_BYTES;
      if (cut > 0) {
        const out = d.update(joined.subarray(0, cut));
        if (out.length > 0) yield plain(out);
        held = joined.slice(cut);
      } else held = joined;
    }
  }
  if (held.length < FILE_TAG_BYTES) throw authFailed('encrypted file is truncated: shorter than its 16-byte tag');
  d.setAuthTag(held);
  try {
    d.final();
  } catch (cause) {
    throw authFailed('AES-GCM tag of the file does not verify (tampered, truncated or wrong key)', cause);
  }
}

async function* decryptWeb(key: Uint8Array, iv: Uint8Array, source: ByteSource): AsyncGenerator<Uint8Array> {
  const sealed = await collect(source, WEBCRYPTO_FILE_MAX_BYTES + FILE_TAG_BYTES);
  if (sealed.length < FILE_TAG_BYTES) throw authFailed('encrypted file is truncated: shorter than its 16-byte tag');
  const k = await subtle().importKey('raw', bs(key), 'AES-GCM', false, ['decrypt']);
  let plaintext: ArrayBuffer;
  try {
    plaintext = await subtle().decrypt({ name: 'AES-GCM', iv: bs(iv), tagLength: 128 }, k, bs(sealed));
  } catch (cause) {
    throw authFailed('AES-GCM tag of the file does not verify (tampered, truncated or wrong key)', cause);
  }
  if (plaintext.byteLength > 0) yield new Uint8Array(plaintext);
}

/**
 * Decrypts an AES-256-GCM file whose last 16 bytes are the tag. With node:crypto, plaintext chunks are yielded
 * as they are decrypted (constant memory) and are NOT yet authenticated: only a normal end of the iteration
 * means the tag verified. A wrong tag, a truncated or tampered file or a wrong key end the iteration with an
 * error instead, so write to a temporary place and keep the result only after the end. With WebCrypto nothing
 * is yielded before the tag verified (the file is buffered, at most WEBCRYPTO_FILE_MAX_BYTES).
 * @throws TypeError/RangeError at the call for a key that is not 32 bytes, an IV that is not 12 or 16 bytes or
 *   a bad source; while iterating: OmemoError `authentication-failed` (tag, truncation), `file-too-large`
 *   (WebCrypto cap, or past GCM_MAX_PLAINTEXT_BYTES), `crypto-unavailable`, and whatever the source throws.
 */
export function aes256GcmDecryptStream(
  key: Uint8Array,
  iv: Uint8Array,
  source: ByteSource,
  options: FileCipherOptions = {},
): AsyncGenerator<Uint8Array> {
  return runCipher(key, iv, source, options, decryptNode, decryptWeb);
}
