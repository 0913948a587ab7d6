// XEP-0454 (OMEMO media sharing) over XEP-0363: encrypt, check the service's limit, request a slot, PUT the
// ciphertext (sending the aesgcm:// link is the caller's, 1:1 or in a room), and download + decrypt a received
// link as a stream of plaintext, https only unless the caller opts in.
import type { SendOptions } from './xmpp-client-options';
import { fileCipherBackend, FILE_TAG_BYTES } from '../crypto/aes-gcm-stream';
import type { ByteSource } from '../crypto/byte-source';
import { concatBytes, toHex } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import { randomBytes } from '../crypto/random';
import type { FileDescriptor } from '../omemo/files/file-descriptor';
import { encryptFile, toReadableStream } from '../omemo/files/file-encryption';
import { extensionOf, mediaTypeOfName } from '../omemo/files/media-type';
import type { FetchLike, HttpUpload } from './http-upload';

/** Default download cap: larger files are refused before (Content-Length) or while (count) downloading. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;
/** The content type of every upload: the ciphertext, so the server learns nothing about the file's type. */
const UPLOAD_CONTENT_TYPE = 'application/octet-stream';

/** Options of `uploadFile` / `sendFile`. */
export interface UploadFileOptions {
  /**
   * File name, kept in the returned descriptor. By default only its extension travels: the slot (and so the link
   * the recipient sees) gets a random name, like Conversations does. See `revealName`.
   */
  name?: string;
  /**
   * Use `name` as the slot's file name (white space and path separators replaced), so that recipients see it
   * (like Gajim and Dino do); the server learns it too. Default false.
   */
  revealName?: boolean;
  /** MIME type (default: guessed from the name). Kept in the descriptor; the server only sees octet-stream. */
  mediaType?: string;
  /** Plaintext size in bytes: required for a stream, checked against a Uint8Array. */
  size?: number;
  /** Aborts the upload. */
  signal?: AbortSignal;
}

/** Options of `downloadFile`. */
export interface DownloadFileOptions {
  /** Largest plaintext accepted (default DEFAULT_MAX_DOWNLOAD_BYTES); more fails with `file-too-large`. */
  maxBytes?: number;
  /** Download over plain http instead of https (loopback test servers only). Default false. */
  allowHttp?: boolean;
  /** Aborts the download. */
  signal?: AbortSignal;
  /** The fetch function (default the global one). */
  fetch?: FetchLike;
}

/**
 * Encrypts and uploads a file; resolves to its descriptor (`aesgcmUrl()` is the message body to send).
 * The size is checked against the service's `max-file-size` before anything is uploaded.
 * @throws TypeError/RangeError for a bad file, size or name; OmemoError `file-too-large` (service limit),
 *   `upload-unavailable`, `file-transfer-failed`, `transport-error`.
 */
export async function uploadFile(
  upload: HttpUpload,
  file: ByteSource,
  options: UploadFileOptions = {},
): Promise<FileDescriptor> {
  if (options.name !== undefined && typeof options.name !== 'string') throw new TypeError('name must be a string');
  if (options.mediaType !== undefined && typeof options.mediaType !== 'string')
    throw new TypeError('mediaType must be a string');
  const encrypted = encryptFile(file, options.size === undefined ? {} : { size: options.size });
  try {
    const service = await upload.service();
    if (service.maxFileSize !== undefined && encrypted.ciphertextBytes > service.maxFileSize) {
      throw new OmemoError(
        'file-too-large',
        `${encrypted.size} bytes (+16 tag) exceed the upload service's limit of ${service.maxFileSize} bytes`,
      );
    }
    const slotName = slotFileName(options);
    const slot = await upload.requestSlot(service, slotName, encrypted.ciphertextBytes, UPLOAD_CONTENT_TYPE);
    // WebCrypto buffers anyway, and browsers stream request bodies only over HTTP/2: send one array there.
    const body =
      (await fileCipherBackend()) === 'webcrypto'
        ? await collect(encrypted.ciphertext)
        : toReadableStream(encrypted.ciphertext);
    await upload.put(slot, body, encrypted.ciphertextBytes, UPLOAD_CONTENT_TYPE, options.signal);
    const mediaType = options.mediaType ?? (options.name === undefined ? undefined : mediaTypeOfName(options.name));
    return encrypted.describe(slot.getUrl, {
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(mediaType !== undefined ? { mediaType } : {}),
    });
  } finally {
    // Stop reading the file after a failure (not awaited: a stalled source must not hold the caller).
    encrypted.ciphertext.return(undefined).catch(() => undefined);
  }
}

/** Longest file name put in a slot request (with `revealName`; longer ones keep their extension). */
const MAX_SLOT_NAME_CHARS = 200;

/** The slot's file name: random with the real extension (receivers guess the type from it), or the name itself. */
function slotFileName(options: UploadFileOptions): string {
  const name = options.name;
  if (options.revealName !== true || name === undefined || name.trim() === '')
    return `${toHex(randomBytes(16))}${extensionOf(name)}`;
  const ext = extensionOf(name);
  const clean = name
    .replace(/[\\/\s]+/g, ' ')
    .trim()
    .replace(/^\.+/, '_');
  return clean.length <= MAX_SLOT_NAME_CHARS ? clean : `${clean.slice(0, MAX_SLOT_NAME_CHARS - ext.length)}${ext}`;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return concatBytes(...parts);
}

/** The response body's chunks, failing with `file-too-large` past `max` bytes. */
async function* capped(body: ReadableStream<Uint8Array>, max: number): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  let done = false;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw new OmemoError('file-transfer-failed', `download failed: ${String((e as Error)?.message ?? e)}`, {
          cause: e,
        });
      }
      if (r.done) {
        done = true;
        return;
      }
      seen += r.value.length;
      if (seen > max) throw new OmemoError('file-too-large', `the download exceeds ${max} bytes`);
      yield r.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
  }
}

/**
 * Downloads a received file and decrypts it: resolves (once the server answered) to a ReadableStream of
 * plaintext. The stream ends normally only when the whole file arrived and its tag verified; otherwise it errors
 * with OmemoError `authentication-failed` (tampered, truncated, wrong key), `file-too-large` or
 * `file-transfer-failed`. Chunks before the end are not authenticated yet: keep the result only after the end.
 * @throws TypeError for a descriptor that is not one; RangeError for a bad `maxBytes`; OmemoError (rejects)
 *   `file-transfer-failed` (HTTP status, network), `file-too-large` (Content-Length over the cap).
 */
export async function downloadFile(
  descriptor: FileDescriptor,
  options: DownloadFileOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  if (typeof descriptor?.decrypt !== 'function' || typeof descriptor.url !== 'string')
    throw new TypeError('descriptor must be a FileDescriptor (message.file)');
  const max = options.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`maxBytes must be a non-negative integer`);
  const url = new URL(descriptor.url);
  if (options.allowHttp === true) url.protocol = 'http:';
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  let response: Response;
  try {
    response = await doFetch(url.href, {
      method: 'GET',
      // Some upload services redirect GETs (to object storage): followed, but never from https to http.
      redirect: 'follow',
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    throw new OmemoError('file-transfer-failed', `download failed: ${String((e as Error)?.message ?? e)}`, {
      cause: e,
    });
  }
  const landed = response.url === '' ? url : new URL(response.url);
  if (landed.protocol !== 'https:' && !(options.allowHttp === true && landed.protocol === 'http:')) {
    await response.body?.cancel().catch(() => undefined);
    throw new OmemoError('file-transfer-failed', `download was redirected to ${landed.protocol} (https only)`);
  }
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel().catch(() => undefined);
    throw new OmemoError('file-transfer-failed', `download answered HTTP ${response.status} ${response.statusText}`);
  }
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const maxCiphertext = max + FILE_TAG_BYTES;
  if (Number.isFinite(length) && length > maxCiphertext) {
    await response.body.cancel().catch(() => undefined);
    throw new OmemoError('file-too-large', `the file has ${length - FILE_TAG_BYTES} bytes, more than ${max}`);
  }
  return toReadableStream(descriptor.decrypt(capped(response.body, maxCiphertext)));
}

/** Options of `sendFile`: the upload's and the message's. */
export type SendFileOptions = UploadFileOptions & SendOptions;

/** The upload's and the message's parts of SendFileOptions (the upload's without undefined values). */
export function splitFileOptions(options: SendFileOptions): { upload: UploadFileOptions; send: SendOptions } {
  const { name, mediaType, size, signal, revealName, ...send } = options;
  const upload: UploadFileOptions = {};
  if (name !== undefined) upload.name = name;
  if (mediaType !== undefined) upload.mediaType = mediaType;
  if (size !== undefined) upload.size = size;
  if (signal !== undefined) upload.signal = signal;
  if (revealName !== undefined) upload.revealName = revealName;
  return { upload, send };
}
