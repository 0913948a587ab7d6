// AES-256-CBC with PKCS#7 (NIST SP 800-38A §6.2; OMEMO's Double Ratchet and OMEMO 2 payloads) and AES-GCM
// (NIST SP 800-38D; OMEMO 0.3 payloads with 128-bit keys). libsodium's WASM build has no AES, so the
// synchronous functions use node:crypto, AES-CBC falls back to the ratchet kernel's (kernel-aes-cbc.ts) where
// node:crypto is absent, and AES-GCM (OMEMO 0.3 payloads) goes through WebCrypto there (`aesGcmEncryptAsync`,
// `aesGcmDecryptAsync`: the back end is fixed once `cryptoReady()` has looked for node:crypto).
import { assertBytes } from './bytes';
import { OmemoError } from './errors';
import { kernelAes256CbcDecrypt, kernelAes256CbcEncrypt } from './kernel-aes-cbc';
import { ratchetKernelAvailable } from './kernel-loader';
import { nodeCrypto, type NodeCrypto } from './sodium';

/** Output of an AES-GCM encryption: ciphertext and the detached 16-byte tag. */
export interface GcmSealed {
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

/** One AES implementation; every back end produces identical bytes. */
export interface AesBackend {
  readonly name: 'node' | 'webcrypto';
  cbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  cbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  gcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Promise<GcmSealed>;
  gcmDecrypt(
    key: Uint8Array,
    iv: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
    aad?: Uint8Array,
  ): Promise<Uint8Array>;
}

/** Length of the AES-GCM authentication tag we write and accept (128 bits, the full tag). */
export const GCM_TAG_BYTES = 16;

function checkCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, name: string): void {
  assertBytes(key, 'key', 32);
  assertBytes(iv, 'iv', 16);
  assertBytes(data, name);
}

function checkGcm(key: Uint8Array, iv: Uint8Array, data: Uint8Array, name: string, aad?: Uint8Array): void {
  assertBytes(key, 'key', [16, 32]);
  assertBytes(iv, 'iv', [12, 16]);
  assertBytes(data, name);
  if (aad !== undefined) assertBytes(aad, 'aad');
}

/** Where node:crypto is absent (browsers) but the ratchet kernel is loaded: its constant-time AES-256-CBC. */
function cbcOnKernel(): boolean {
  return nodeCrypto() === undefined && ratchetKernelAvailable();
}

function requireNode(): NodeCrypto {
  const nc = nodeCrypto();
  if (nc === undefined) {
    throw new OmemoError(
      'crypto-unavailable',
      'synchronous AES needs node:crypto or, for AES-CBC, the ratchet kernel (after cryptoReady()); ' +
        'without node:crypto, AES-GCM is asynchronous (WebCrypto)',
    );
  }
  return nc;
}

function authFailed(what: string, cause?: unknown): OmemoError {
  return new OmemoError('authentication-failed', what, cause === undefined ? undefined : { cause });
}

function u8(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** AES-256-CBC encryption with PKCS#7 padding. */
export function aes256CbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkCbc(key, iv, plaintext, 'plaintext');
  if (cbcOnKernel()) return kernelAes256CbcEncrypt(key, iv, plaintext);
  const c = requireNode().createCipheriv('aes-256-cbc', key, iv);
  const head = c.update(plaintext);
  const tail = c.final();
  if (tail.length === 0) return u8(head);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

/**
 * AES-256-CBC decryption and PKCS#7 unpadding.
 * @throws OmemoError `authentication-failed` on a bad length or padding.
 */
export function aes256CbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  checkCbc(key, iv, ciphertext, 'ciphertext');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0)
    throw authFailed('AES-CBC ciphertext length is not a positive multiple of 16');
  if (cbcOnKernel()) return kernelAes256CbcDecrypt(key, iv, ciphertext);
  try {
    const d = requireNode().createDecipheriv('aes-256-cbc', key, iv);
    const head = d.update(ciphertext);
    const tail = d.final();
    const out = new Uint8Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  } catch (cause) {
    if (cause instanceof OmemoError) throw cause;
    throw authFailed('AES-CBC padding is invalid', cause);
  }
}

function gcmName(key: Uint8Array): 'aes-128-gcm' | 'aes-256-gcm' {
  return key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
}

/** AES-GCM (128- or 256-bit key, 12- or 16-byte IV) with a detached 16-byte tag. */
export function aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): GcmSealed {
  checkGcm(key, iv, plaintext, 'plaintext', aad);
  const c = requireNode().createCipheriv(gcmName(key), key, iv, { authTagLength: GCM_TAG_BYTES });
  if (aad !== undefined) c.setAAD(aad);
  const head = c.update(plaintext);
  const tail = c.final();
  const ciphertext = tail.length === 0 ? u8(head) : u8(Buffer.concat([head, tail]));
  return { ciphertext, tag: u8(c.getAuthTag()) };
}

/**
 * AES-GCM decryption.
 * @throws OmemoError `authentication-failed` when the tag does not verify; no plaintext is released then.
 */
export function aesGcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad?: Uint8Array,
): Uint8Array {
  checkGcm(key, iv, ciphertext, 'ciphertext', aad);
  assertBytes(tag, 'tag', GCM_TAG_BYTES);
  const d = requireNode().createDecipheriv(gcmName(key), key, iv, { authTagLength: GCM_TAG_BYTES });
  d.setAuthTag(tag);
  if (aad !== undefined) d.setAAD(aad);
  const head = d.update(ciphertext);
  try {
    const tail = d.final();
    return tail.length === 0 ? u8(head) : u8(Buffer.concat([head, tail]));
  } catch (cause) {
    head.fill(0);
    throw authFailed('AES-GCM tag does not verify', cause);
  }
}

const nodeBackend: AesBackend = {
  name: 'node',
  cbcEncrypt: async (k, iv, pt) => aes256CbcEncrypt(k, iv, pt),
  cbcDecrypt: async (k, iv, ct) => aes256CbcDecrypt(k, iv, ct),
  gcmEncrypt: async (k, iv, pt, aad) => aesGcmEncrypt(k, iv, pt, aad),
  gcmDecrypt: async (k, iv, ct, tag, aad) => aesGcmDecrypt(k, iv, ct, tag, aad),
};

/** WebCrypto's typings want ArrayBuffer-backed views; ours always are (no SharedArrayBuffer is used). */
function bs(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new OmemoError('crypto-unavailable', 'WebCrypto is not available');
  return s;
}

const webCryptoBackend: AesBackend = {
  name: 'webcrypto',
  async cbcEncrypt(key, iv, plaintext) {
    checkCbc(key, iv, plaintext, 'plaintext');
    const k = await subtle().importKey('raw', bs(key), 'AES-CBC', false, ['encrypt']);
    return new Uint8Array(await subtle().encrypt({ name: 'AES-CBC', iv: bs(iv) }, k, bs(plaintext)));
  },
  async cbcDecrypt(key, iv, ciphertext) {
    checkCbc(key, iv, ciphertext, 'ciphertext');
    if (ciphertext.length === 0 || ciphertext.length % 16 !== 0)
      throw authFailed('AES-CBC ciphertext length is not a positive multiple of 16');
    const k = await subtle().importKey('raw', bs(key), 'AES-CBC', false, ['decrypt']);
    try {
      return new Uint8Array(await subtle().decrypt({ name: 'AES-CBC', iv: bs(iv) }, k, bs(ciphertext)));
    } catch (cause) {
      throw authFailed('AES-CBC padding is invalid', cause);
    }
  },
  async gcmEncrypt(key, iv, plaintext, aad) {
    checkGcm(key, iv, plaintext, 'plaintext', aad);
    const k = await subtle().importKey('raw', bs(key), 'AES-GCM', false, ['encrypt']);
    const params: AesGcmParams = {
      name: 'AES-GCM',
      iv: bs(iv),
      tagLength: 128,
      ...(aad ? { additionalData: bs(aad) } : {}),
    };
    const sealed = new Uint8Array(await subtle().encrypt(params, k, bs(plaintext)));
    return {
      ciphertext: sealed.slice(0, sealed.length - GCM_TAG_BYTES),
      tag: sealed.slice(sealed.length - GCM_TAG_BYTES),
    };
  },
  async gcmDecrypt(key, iv, ciphertext, tag, aad) {
    checkGcm(key, iv, ciphertext, 'ciphertext', aad);
    assertBytes(tag, 'tag', GCM_TAG_BYTES);
    const k = await subtle().importKey('raw', bs(key), 'AES-GCM', false, ['decrypt']);
    const joined = new Uint8Array(ciphertext.length + GCM_TAG_BYTES);
    joined.set(ciphertext);
    joined.set(tag, ciphertext.length);
    const params: AesGcmParams = {
      name: 'AES-GCM',
      iv: bs(iv),
      tagLength: 128,
      ...(aad ? { additionalData: bs(aad) } : {}),
    };
    try {
      return new Uint8Array(await subtle().decrypt(params, k, joined));
    } catch (cause) {
      throw authFailed('AES-GCM tag does not verify', cause);
    }
  },
};

/**
 * AES-GCM encryption where node:crypto may be absent: node:crypto when `cryptoReady()` found it, WebCrypto
 * otherwise (browsers). Same bytes either way.
 * @throws OmemoError `crypto-unavailable` (rejects) where neither exists; TypeError/RangeError for bad lengths.
 */
export async function aesGcmEncryptAsync(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Promise<GcmSealed> {
  if (nodeCrypto() !== undefined) return aesGcmEncrypt(key, iv, plaintext, aad);
  return webCryptoBackend.gcmEncrypt(key, iv, plaintext, aad);
}

/**
 * AES-GCM decryption where node:crypto may be absent (see aesGcmEncryptAsync).
 * @throws OmemoError `authentication-failed` (rejects) when the tag does not verify; `crypto-unavailable` where
 *   neither node:crypto nor WebCrypto exists.
 */
export async function aesGcmDecryptAsync(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad?: Uint8Array,
): Promise<Uint8Array> {
  if (nodeCrypto() !== undefined) return aesGcmDecrypt(key, iv, ciphertext, tag, aad);
  return webCryptoBackend.gcmDecrypt(key, iv, ciphertext, tag, aad);
}

/** Every AES back end available here: node:crypto (on Node) and WebCrypto (where `crypto.subtle` exists). */
export function aesBackends(): AesBackend[] {
  const out: AesBackend[] = [];
  if (nodeCrypto() !== undefined) out.push(nodeBackend);
  if (globalThis.crypto?.subtle !== undefined) out.push(webCryptoBackend);
  return out;
}
