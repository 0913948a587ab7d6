// X25519 Diffie-Hellman (RFC 7748 §5, §6.1), as used by X3DH and the Double Ratchet.
// libsodium is the path used everywhere: node:crypto was measured slower here (~100 µs with an imported key,
// ~400 µs with a fresh one, against ~65 µs), since raw keys must go through a DER import. The node back end is
// kept, tested against the same vectors and benchmarked, so the choice can be revisited per Node release.
import { assertBytes } from './bytes';
import { OmemoError } from './errors';
import type { Rng } from './random';
import { randomBytes } from './random';
import { nodeCrypto, sodium, type NodeCrypto } from './sodium';

/** A Curve25519 key pair: 32-byte private scalar (unclamped bytes are fine) and 32-byte public u. */
export interface KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** One X25519 implementation; both are tested against the same vectors. */
export interface X25519Backend {
  readonly name: 'libsodium' | 'node';
  publicKey(privateKey: Uint8Array): Uint8Array;
  sharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

const libsodiumBackend: X25519Backend = {
  name: 'libsodium',
  publicKey: (privateKey) => sodium().crypto_scalarmult_base(privateKey),
  sharedSecret: (privateKey, publicKey) => {
    try {
      return sodium().crypto_scalarmult(privateKey, publicKey);
    } catch (cause) {
      // libsodium refuses an all-zero result (a low-order public key).
      throw new OmemoError('invalid-key', 'X25519 with a low-order public key', { cause });
    }
  },
};

const PKCS8_X25519_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const SPKI_X25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);
/** Imported private keys kept for reuse (identity and signed pre keys are used for every key exchange). */
const NODE_PRIVATE_KEY_CACHE_ENTRIES = 256;

function makeNodeBackend(nc: NodeCrypto): X25519Backend {
  const cache = new Map<string, import('node:crypto').KeyObject>();
  const der = (prefix: Uint8Array, key: Uint8Array) => {
    const out = new Uint8Array(prefix.length + 32);
    out.set(prefix);
    out.set(key, prefix.length);
    return out;
  };
  const privateKeyObject = (privateKey: Uint8Array) => {
    const id = String.fromCharCode(...privateKey);
    let ko = cache.get(id);
    if (ko === undefined) {
      ko = nc.createPrivateKey({ key: der(PKCS8_X25519_PREFIX, privateKey) as never, format: 'der', type: 'pkcs8' });
      if (cache.size >= NODE_PRIVATE_KEY_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(id, ko);
    }
    return ko;
  };
  return {
    name: 'node',
    publicKey: (privateKey) => {
      const spki = nc.createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' });
      return new Uint8Array(spki.subarray(spki.length - 32));
    },
    sharedSecret: (privateKey, publicKey) => {
      const pub = nc.createPublicKey({ key: der(SPKI_X25519_PREFIX, publicKey) as never, format: 'der', type: 'spki' });
      let out: Uint8Array;
      try {
        out = new Uint8Array(nc.diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: pub }));
      } catch (cause) {
        throw new OmemoError('invalid-key', 'X25519 with a low-order public key', { cause });
      }
      return out;
    },
  };
}

let nodeBackend: X25519Backend | undefined;

/** Every X25519 back end available here (libsodium always, node:crypto on Node), for tests and benchmarks. */
export function x25519Backends(): X25519Backend[] {
  const nc = nodeCrypto();
  if (nc === undefined) return [libsodiumBackend];
  nodeBackend ??= makeNodeBackend(nc);
  return [libsodiumBackend, nodeBackend];
}

/** A fresh X25519 key pair (private key clamped). */
export function x25519GenerateKeyPair(rng: Rng = randomBytes): KeyPair {
  const privateKey = rng(32);
  assertBytes(privateKey, 'rng output', 32);
  privateKey[0]! &= 248;
  privateKey[31]! &= 127;
  privateKey[31]! |= 64;
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
}

/** The public key u = k·9 of a private key. */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  return libsodiumBackend.publicKey(privateKey);
}

/**
 * X25519(privateKey, publicKey): the 32-byte shared secret.
 * @throws OmemoError `invalid-key` when the public key is of low order (all-zero result).
 */
export function x25519SharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  assertBytes(publicKey, 'publicKey', 32);
  const out = libsodiumBackend.sharedSecret(privateKey, publicKey);
  let acc = 0;
  for (let i = 0; i < 32; i++) acc |= out[i]!;
  if (acc === 0) throw new OmemoError('invalid-key', 'X25519 with a low-order public key');
  return out;
}
