// XEP-0454 §3 (OMEMO media sharing): `aesgcm://host/path#hex(IV ‖ key)`: the HTTPS download URL with the
// scheme replaced and the AES-256-GCM key material in the fragment. We write 12-byte IVs (the XEP) and read
// 12- or 16-byte ones (older Conversations, Monal until 2019 and others still send 16).
import { fromHex, toHex } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import { FILE_IV_BYTES, FILE_KEY_BYTES } from '../../crypto/aes-gcm-stream';

/** The URL scheme of XEP-0454. */
export const AESGCM_SCHEME = 'aesgcm:';
/** Longest aesgcm URL parsed (a body that is longer is no file link): bounds the work on untrusted text. */
export const MAX_AESGCM_URL_CHARS = 8192;

/** The parts of an aesgcm URL. */
export interface AesgcmUrlParts {
  /** The download URL: `https://` + host and path of the aesgcm URL (no fragment). */
  httpsUrl: string;
  /** 12 or 16 bytes. */
  iv: Uint8Array;
  /** 32 bytes. */
  key: Uint8Array;
}

function malformed(what: string): OmemoError {
  return new OmemoError('malformed-file-url', what);
}

/**
 * Splits an `aesgcm://` URL into its HTTPS download URL and key material. The scheme is matched in any case;
 * the fragment must be hex (either case) of a 12- or 16-byte IV followed by a 32-byte key.
 * @throws OmemoError `malformed-file-url` for anything else (never echoing the fragment); TypeError for a
 *   non-string.
 */
export function parseAesgcmUrl(text: string): AesgcmUrlParts {
  if (typeof text !== 'string') throw new TypeError('an aesgcm URL must be a string');
  if (text.length > MAX_AESGCM_URL_CHARS) throw malformed(`aesgcm URL longer than ${MAX_AESGCM_URL_CHARS} chars`);
  if (text.slice(0, AESGCM_SCHEME.length + 2).toLowerCase() !== `${AESGCM_SCHEME}//`)
    throw malformed('not an aesgcm:// URL');
  const hash = text.indexOf('#');
  if (hash < 0) throw malformed('aesgcm URL without a key fragment');
  const fragment = text.slice(hash + 1);
  const keyHex = FILE_KEY_BYTES * 2;
  const ivBytes = (fragment.length - keyHex) / 2;
  if (!FILE_IV_BYTES.includes(ivBytes))
    throw malformed(`aesgcm fragment of ${fragment.length} chars: want hex of a 12- or 16-byte IV and a 32-byte key`);
  if (!/^[0-9a-fA-F]*$/.test(fragment)) throw malformed('aesgcm fragment is not hex');
  const rest = text.slice(AESGCM_SCHEME.length + 2, hash);
  let url: URL;
  try {
    url = new URL(`https://${rest}`);
  } catch {
    throw malformed('aesgcm URL has no valid host and path');
  }
  // `https:///x` would parse with `x` as the host: the host must come right after the slashes.
  const hostFirst = /^[^/\\?#]/.test(rest);
  if (!hostFirst || url.hostname === '' || /\s/.test(rest) || url.username !== '' || url.password !== '')
    throw malformed('aesgcm URL has no valid host and path');
  const material = fromHex(fragment);
  return { httpsUrl: url.href, iv: material.slice(0, ivBytes), key: material.slice(ivBytes) };
}

/**
 * The aesgcm URL of an HTTPS (or, for tests, HTTP) download URL and its key material.
 * @throws TypeError for a URL that is not http(s) or has a fragment; RangeError for a key that is not 32 bytes
 *   or an IV that is not 12 or 16 bytes.
 */
export function formatAesgcmUrl(downloadUrl: string, iv: Uint8Array, key: Uint8Array): string {
  if (!(iv instanceof Uint8Array) || !FILE_IV_BYTES.includes(iv.length))
    throw new RangeError('iv must be 12 or 16 bytes');
  if (!(key instanceof Uint8Array) || key.length !== FILE_KEY_BYTES) throw new RangeError('key must be 32 bytes');
  let url: URL;
  try {
    url = new URL(downloadUrl);
  } catch {
    throw new TypeError('downloadUrl is not a URL');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hash !== '' || downloadUrl.includes('#'))
    throw new TypeError('downloadUrl must be an http(s) URL without a fragment');
  return `${AESGCM_SCHEME}//${url.href.slice(url.protocol.length + 2)}#${toHex(iv)}${toHex(key)}`;
}

/**
 * True when a message body is exactly one aesgcm URL (surrounding white space allowed, as clients send it):
 * what Conversations, Dino, Gajim, Monal, Converse and Profanity display as a file.
 * @throws nothing.
 */
export function isAesgcmBody(text: string | undefined): boolean {
  if (typeof text !== 'string') return false;
  try {
    parseAesgcmUrl(text.trim());
    return true;
  } catch {
    return false;
  }
}
