// XEP-0454 §2 sending a file: a fresh random AES-256 key and 12-byte IV per file, the ciphertext with the tag
// appended (plaintext + 16 bytes), and the descriptor of the upload once its download URL is known.
import {
  aes256GcmEncryptStream,
  FILE_KEY_BYTES,
  FILE_TAG_BYTES,
  GCM_MAX_PLAINTEXT_BYTES,
} from '../../crypto/aes-gcm-stream';
import { assertByteSource, readChunks, type ByteSource } from '../../crypto/byte-source';
import { randomBytes } from '../../crypto/random';
import { FileDescriptor, type FileMeta } from './file-descriptor';

/** The IV length we write (XEP-0454; receivers accept 16 too, but 12 is what every client reads). */
export const FILE_IV_BYTES_SENT = 12;
/**
 * Largest file size accepted: GCM's limit for one key and IV, 2^39 − 256 bits of plaintext (NIST SP 800-38D
 * §5.2.1.1), i.e. 68,719,476,704 bytes (64 GiB − 32 bytes); past it the counter would wrap and reuse key stream.
 */
export const MAX_FILE_BYTES = GCM_MAX_PLAINTEXT_BYTES;

/** A file ready to upload. */
export interface EncryptedFile {
  /** The ciphertext and tag, `ciphertextBytes` in all; can be iterated once. */
  ciphertext: AsyncGenerator<Uint8Array>;
  /** Plaintext size + 16 (what the upload slot and Content-Length must say). */
  ciphertextBytes: number;
  /** Plaintext size. */
  size: number;
  /** The descriptor of the file once uploaded: `downloadUrl` is the slot's GET URL. */
  describe(downloadUrl: string, meta?: Omit<FileMeta, 'size'>): FileDescriptor;
}

/**
 * Chunks of `source` that must add up to exactly `size` bytes.
 * @throws RangeError (when iterated) when the source yields more or fewer bytes than `size`.
 */
async function* exactly(source: ByteSource, size: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of readChunks(source)) {
    seen += chunk.length;
    if (seen > size) throw new RangeError(`the file is larger than its declared size of ${size} bytes`);
    yield chunk;
  }
  if (seen !== size) throw new RangeError(`the file has ${seen} bytes, not its declared size of ${size}`);
}

/**
 * Encrypts a file for XEP-0454 under a fresh key and IV (`rng`, default the system's CSPRNG). A stream needs
 * its `size` (the upload slot is requested before the first byte is read); it must then yield exactly that
 * many bytes. Nothing is read before the ciphertext is iterated.
 * @throws TypeError for a bad source or a stream without `size`; RangeError for a size that is no integer in
 *   0..MAX_FILE_BYTES or does not match a Uint8Array's length.
 */
export function encryptFile(
  source: ByteSource,
  options: { size?: number; rng?: (length: number) => Uint8Array } = {},
): EncryptedFile {
  assertByteSource(source, 'file');
  let size = options.size;
  if (source instanceof Uint8Array) {
    if (size !== undefined && size !== source.length)
      throw new RangeError(`size ${size} does not match the file's ${source.length} bytes`);
    size = source.length;
  }
  if (size === undefined) throw new TypeError('a streamed file needs its size (options.size)');
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_BYTES)
    throw new RangeError(`size must be an integer in 0..${MAX_FILE_BYTES}, got ${size}`);
  const rng = options.rng ?? randomBytes;
  const key = rng(FILE_KEY_BYTES);
  const iv = rng(FILE_IV_BYTES_SENT);
  const plaintextBytes = size;
  const ciphertext = aes256GcmEncryptStream(key, iv, exactly(source, plaintextBytes));
  const describe = (downloadUrl: string, meta: Omit<FileMeta, 'size'> = {}) =>
    FileDescriptor.fromKey(downloadUrl, iv, key, { ...meta, size: plaintextBytes });
  return { ciphertext, ciphertextBytes: plaintextBytes + FILE_TAG_BYTES, size: plaintextBytes, describe };
}

/**
 * A WHATWG ReadableStream of an async iterable's chunks (a `fetch` body, or what `downloadFile` returns): an
 * error of the iterable errors the stream; cancelling the stream stops the iterable.
 * @throws nothing.
 */
export function toReadableStream(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const r = await it.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (e) {
          controller.error(e);
        }
      },
      async cancel(reason) {
        await it.return?.(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
