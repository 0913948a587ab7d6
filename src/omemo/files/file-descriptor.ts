// XEP-0454 §3 file links as the library hands them around: where a file is, what it is called and what type it
// has, with the key material private (no property, not in JSON, toString or Node's inspect) so that logging a
// message or its descriptor never writes a key.
import { aes256GcmDecryptStream } from '../../crypto/aes-gcm-stream';
import type { ByteSource } from '../../crypto/byte-source';
import { formatAesgcmUrl, isAesgcmBody, parseAesgcmUrl } from './aesgcm-url';
import { mediaTypeOfName } from './media-type';

/** What is known about a file besides its key. */
export interface FileMeta {
  /** File name (for display and saving; not trusted: sanitise before using it as a path). */
  name?: string;
  /** MIME type, e.g. `image/jpeg`. */
  mediaType?: string;
  /** Plaintext size in bytes, when known (the sender knows it; a receiver learns it on download). */
  size?: number;
}

/** The JSON of a descriptor: everything but the key material. */
export interface FileDescriptorJson extends FileMeta {
  url: string;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** The last path segment of a URL, decoded; undefined when there is none. */
function nameOfUrl(url: string): string | undefined {
  const path = new URL(url).pathname;
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (last === '') return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * An encrypted file (XEP-0454): its download URL, name, media type and size, and a private key. The full
 * `aesgcm://` link (with the key) is only ever given out by `aesgcmUrl()`.
 */
export class FileDescriptor {
  /** The HTTPS download URL (no key in it). */
  readonly url: string;
  /** File name: given by the sender, else the last segment of the URL. */
  readonly name: string | undefined;
  /** MIME type: given by the sender, else guessed from the name's extension. */
  readonly mediaType: string | undefined;
  /** Plaintext size in bytes, when known. */
  readonly size: number | undefined;
  readonly #iv: Uint8Array;
  readonly #key: Uint8Array;

  private constructor(url: string, iv: Uint8Array, key: Uint8Array, meta: FileMeta) {
    this.url = url;
    this.#iv = iv;
    this.#key = key;
    this.name = meta.name ?? nameOfUrl(url);
    this.mediaType = meta.mediaType ?? (this.name === undefined ? undefined : mediaTypeOfName(this.name));
    this.size = meta.size;
  }

  /**
   * The descriptor of an `aesgcm://` link (12- or 16-byte IV).
   * @throws OmemoError `malformed-file-url` for a link that is not valid XEP-0454.
   */
  static fromAesgcmUrl(aesgcmUrl: string, meta: FileMeta = {}): FileDescriptor {
    const { httpsUrl, iv, key } = parseAesgcmUrl(aesgcmUrl.trim());
    return new FileDescriptor(httpsUrl, iv, key, meta);
  }

  /**
   * The descriptor of a file uploaded to `downloadUrl`, encrypted with `key` and `iv` (copied).
   * @throws TypeError/RangeError for a bad URL, key or IV.
   */
  static fromKey(downloadUrl: string, iv: Uint8Array, key: Uint8Array, meta: FileMeta = {}): FileDescriptor {
    formatAesgcmUrl(downloadUrl, iv, key); // validates all three
    return new FileDescriptor(new URL(downloadUrl).href, iv.slice(), key.slice(), meta);
  }

  /** Length of the IV in the link: 12 (XEP-0454) or 16 (older clients). */
  get ivLength(): number {
    return this.#iv.length;
  }

  /** The `aesgcm://` link with the key in its fragment: the message body that shares the file. Keep it secret. */
  aesgcmUrl(): string {
    return formatAesgcmUrl(this.url, this.#iv, this.#key);
  }

  /**
   * Decrypts the file's bytes (see `aes256GcmDecryptStream`: chunks are unauthenticated until a normal end).
   * @throws TypeError for a bad source; while iterating OmemoError `authentication-failed` on a wrong tag or
   *   truncation.
   */
  decrypt(ciphertext: ByteSource): AsyncGenerator<Uint8Array> {
    return aes256GcmDecryptStream(this.#key, this.#iv, ciphertext);
  }

  /** A copy with other metadata (the same key). */
  withMeta(meta: FileMeta): FileDescriptor {
    return new FileDescriptor(this.url, this.#iv, this.#key, { ...this.toJSON(), ...meta });
  }

  /** Everything but the key material. */
  toJSON(): FileDescriptorJson {
    const out: FileDescriptorJson = { url: this.url };
    if (this.name !== undefined) out.name = this.name;
    if (this.mediaType !== undefined) out.mediaType = this.mediaType;
    if (this.size !== undefined) out.size = this.size;
    return out;
  }

  /** `FileDescriptor(<url>)`, without the key. */
  toString(): string {
    return `FileDescriptor(${this.url})`;
  }

  /** Node's `util.inspect` (console.log) shows the JSON form. */
  [INSPECT](): string {
    return `FileDescriptor ${JSON.stringify(this.toJSON())}`;
  }
}

/**
 * The file a decrypted message body shares: a descriptor when the body is exactly one aesgcm:// link (white
 * space around it allowed), else undefined. What the adapter sets as `message.file`, for rooms too.
 * @throws nothing.
 */
export function fileOfText(text: string | undefined): FileDescriptor | undefined {
  return text !== undefined && isAesgcmBody(text) ? FileDescriptor.fromAesgcmUrl(text) : undefined;
}
