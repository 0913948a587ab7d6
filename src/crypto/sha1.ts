// SHA-1 (FIPS 180-4) for XEP-0115 entity capabilities only (the `ver` hash Prosody and most servers require):
// never for anything security-relevant. node:crypto on Node, WebCrypto in browsers, hence asynchronous.
import { assertBytes } from './bytes';
import { cryptoReady } from './ready';
import { nodeCrypto } from './sodium';

/**
 * SHA-1 digest (20 bytes) of `data`.
 * @throws TypeError when `data` is not a Uint8Array.
 */
export async function sha1(data: Uint8Array): Promise<Uint8Array> {
  assertBytes(data, 'data');
  await cryptoReady();
  const node = nodeCrypto();
  if (node !== undefined) return new Uint8Array(node.createHash('sha1').update(data).digest());
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-1', new Uint8Array(data)));
}
