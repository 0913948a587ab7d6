// X25519 Diffie-Hellman (RFC 7748 §5, §6.1), as used by X3DH and the Double Ratchet.
// On Node the DH runs in node:crypto (OpenSSL: 32 µs against libsodium's 65 µs in WASM) with KeyObjects kept
// per key array: keys are imported as JWK (6 µs for a public key, 37 µs for a private one; DER import costs
// 77 µs) and generated pairs keep theirs. Elsewhere, and for public-key derivation, libsodium. Both give identical bytes.
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

type KeyObject = import('node:crypto').KeyObject;

/** A node:crypto KeyObject remembered for the Uint8Array it was made from, with a copy to detect reuse. */
interface Handle {
  bytes: Uint8Array;
  key: KeyObject;
}

// Keyed by the array object, so a handle lives exactly as long as the session or identity holding the key
// (bounded by what the caller keeps, no eviction policy needed); the byte copy makes a rewritten array miss.
const privateHandles = new WeakMap<Uint8Array, Handle>();
const publicHandles = new WeakMap<Uint8Array, Handle>();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** base64url of a 32-byte key (the JWK form node:crypto imports fastest); only used where Buffer exists. */
function jwkBytes(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64url');
}

/** base64url of 32 zero bytes (a constant: Buffer does not exist in browsers at load time). */
const ZERO_X = 'A'.repeat(43);

function makeNodeBackend(nc: NodeCrypto): X25519Backend & { generate(): KeyPair } {
  const privateKeyObject = (privateKey: Uint8Array): KeyObject => {
    const h = privateHandles.get(privateKey);
    if (h !== undefined && sameBytes(h.bytes, privateKey)) return h.key;
    // Node 20 requires `x` in a private JWK but derives the public key from `d`; should a later release check
    // `x`, import with the real one (libsodium derives it) instead.
    let key: KeyObject;
    try {
      key = nc.createPrivateKey({
        key: { kty: 'OKP', crv: 'X25519', d: jwkBytes(privateKey), x: ZERO_X },
        format: 'jwk',
      });
    } catch {
      key = nc.createPrivateKey({
        key: {
          kty: 'OKP',
          crv: 'X25519',
          d: jwkBytes(privateKey),
          x: jwkBytes(libsodiumBackend.publicKey(privateKey)),
        },
        format: 'jwk',
      });
    }
    privateHandles.set(privateKey, { bytes: privateKey.slice(), key });
    return key;
  };
  const publicKeyObject = (publicKey: Uint8Array): KeyObject => {
    const h = publicHandles.get(publicKey);
    if (h !== undefined && sameBytes(h.bytes, publicKey)) return h.key;
    let key: KeyObject;
    try {
      key = nc.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: jwkBytes(publicKey) }, format: 'jwk' });
    } catch (cause) {
      throw new OmemoError('invalid-key', 'X25519 public key rejected', { cause });
    }
    publicHandles.set(publicKey, { bytes: publicKey.slice(), key });
    return key;
  };
  return {
    name: 'node',
    publicKey: (privateKey) => {
      const jwk = nc.createPublicKey(privateKeyObject(privateKey)).export({ format: 'jwk' });
      return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
    },
    sharedSecret: (privateKey, publicKey) => {
      try {
        return new Uint8Array(
          nc.diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(publicKey) }),
        );
      } catch (cause) {
        if (cause instanceof OmemoError) throw cause;
        // OpenSSL refuses an all-zero result (a low-order public key).
        throw new OmemoError('invalid-key', 'X25519 with a low-order public key', { cause });
      }
    },
    generate: () => {
      // Not generateKeyPairSync: on Node 20 a GC during the JWK export of a freshly generated pair can run the
      // key-generation job's destructor, which waits for a lock the export holds, and the process hangs. Our
      // own random scalar imported as JWK gives the same KeyObject without a KeyGenJob (37 µs + 1 µs export).
      const privateKey = clamp(randomBytes(32));
      // The private key's JWK carries the public key OpenSSL derived on import (x): 0.95 µs, against 2.7 for a
      // public key object and its export. No public key object is kept: we never take our own public key as a
      // DH's other side, and sessions keep their public keys for life (a native key object each, for nothing).
      const jwk = privateKeyObject(privateKey).export({ format: 'jwk' });
      const publicKey = new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
      return { privateKey, publicKey };
    },
  };
}

function clamp(privateKey: Uint8Array): Uint8Array {
  privateKey[0]! &= 248;
  privateKey[31]! &= 127;
  privateKey[31]! |= 64;
  return privateKey;
}

let nodeBackend: ReturnType<typeof makeNodeBackend> | undefined;

function node(): ReturnType<typeof makeNodeBackend> | undefined {
  if (nodeBackend !== undefined) return nodeBackend;
  const nc = nodeCrypto();
  return nc === undefined ? undefined : (nodeBackend = makeNodeBackend(nc));
}

/** Every X25519 back end available here (libsodium always, node:crypto on Node), for tests and benchmarks. */
export function x25519Backends(): X25519Backend[] {
  const n = node();
  return n === undefined ? [libsodiumBackend] : [libsodiumBackend, n];
}

/** A fresh X25519 key pair (private key clamped). `usedSoon: false` for keys that are stored for later. */
export function x25519GenerateKeyPair(rng: Rng = randomBytes, options: { usedSoon?: boolean } = {}): KeyPair {
  // With production randomness on Node, a pair used right away (X3DH ephemeral, ratchet keys) is made through
  // node:crypto so its KeyObjects come along. Pairs that are stored and maybe never used (one-time pre keys)
  // skip that: a bundle would otherwise pin 100 native key objects per account.
  const n = rng === randomBytes && options.usedSoon !== false ? node() : undefined;
  if (n !== undefined) return n.generate();
  const privateKey = rng(32);
  assertBytes(privateKey, 'rng output', 32);
  return { privateKey: clamp(privateKey), publicKey: x25519PublicKey(privateKey) };
}

/**
 * A copy of a private key that shares the original's node:crypto key object, if it has one: a session that starts
 * from our signed pre key keeps its own copy of it, and importing that copy again would cost ~37 µs. Key objects
 * are immutable, so sharing one is safe; every use compares the array with the bytes the object was made from.
 */
export function x25519CopyPrivateKey(privateKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  const copy = privateKey.slice();
  const h = privateHandles.get(privateKey);
  if (h !== undefined) privateHandles.set(copy, h);
  return copy;
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
  const out = (node() ?? libsodiumBackend).sharedSecret(privateKey, publicKey);
  let acc = 0;
  for (let i = 0; i < 32; i++) acc |= out[i]!;
  if (acc === 0) throw new OmemoError('invalid-key', 'X25519 with a low-order public key');
  return out;
}
