// Crypto primitive benchmarks (tinybench), straight from the crypto layer: X25519 per back end, XEdDSA,
// Ed25519, HMAC/HKDF-SHA256, AES-CBC/GCM (sync and every async back end), the batched ratchet sending step
// (WebAssembly kernel vs the portable path of protocol/ratchet-send-batch.ts, µs per lane), one message's
// open/seal (kernel vs portable, protocol/message-crypto.ts), random bytes.
// `npm run bench` runs it with the others; `npx tsx bench/crypto.bench.ts` runs it alone.
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { aes256CbcDecrypt, aes256CbcEncrypt, aesBackends, aesGcmDecrypt, aesGcmEncrypt } from '../src/crypto/aes';
import { ed25519KeyPairFromSeed, ed25519Sign, ed25519Verify } from '../src/crypto/ed25519';
import { hkdfSha256, hmacSha256 } from '../src/crypto/hmac';
import { kernelAes256CbcDecrypt, kernelAes256CbcEncrypt } from '../src/crypto/kernel-aes-cbc';
import { ratchetKernelAvailable } from '../src/crypto/kernel-loader';
import { kernelOpen, kernelSeal, type MessageOpenRequest } from '../src/crypto/kernel-open';
import { ratchetSendBatchWasm } from '../src/crypto/kernel-send-batch';
import { randomBytes } from '../src/crypto/random';
import type { RatchetSendLane } from '../src/crypto/ratchet-send-lanes';
import { cryptoReady } from '../src/crypto/ready';
import { x25519Backends, x25519GenerateKeyPair } from '../src/crypto/x25519';
import { xeddsaSign, xeddsaVerify } from '../src/crypto/xeddsa';
import { expandMessageKeys, kdfChainKey } from '../src/protocol/kdf';
import { openMessagePortable, sealMessagePortable } from '../src/protocol/message-crypto';
import { ratchetSendBatchPortable } from '../src/protocol/ratchet-send-batch';
import { formatTable, runBench, type BenchResult } from './harness';

/** Distinct private keys used round-robin, more than the node back end's cache of imported keys (256). */
const UNCACHED_KEYS = 1024;
/** Sessions per ratchet-step batch (a large fan-out); results are reported per lane. */
const RATCHET_LANES = 1000;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`crypto bench self-check failed: ${what}`);
}

export async function run(): Promise<BenchResult[]> {
  await cryptoReady();
  const bench = new Bench({ name: 'crypto', time: 400, warmupTime: 100, iterations: 64, throws: true });
  let sink = 0;

  // X25519: key generation (random scalar + public key) and the shared secret, per back end.
  const alice = x25519GenerateKeyPair();
  const bob = x25519GenerateKeyPair();
  const many = Array.from({ length: UNCACHED_KEYS }, () => x25519GenerateKeyPair().privateKey);
  for (const b of x25519Backends()) {
    check(
      Buffer.from(b.sharedSecret(alice.privateKey, bob.publicKey)).equals(
        b.sharedSecret(bob.privateKey, alice.publicKey),
      ),
      `${b.name} X25519 agreement`,
    );
    bench.add(`X25519 keygen (${b.name})`, () => {
      const priv = randomBytes(32);
      priv[0]! &= 248;
      priv[31]! = (priv[31]! & 127) | 64;
      sink ^= b.publicKey(priv)[0]!;
    });
    bench.add(`X25519 shared secret (${b.name})`, () => {
      sink ^= b.sharedSecret(alice.privateKey, bob.publicKey)[0]!;
    });
    if (b.name === 'node') {
      let i = 0;
      bench.add(`X25519 shared secret (${b.name}, new private key)`, () => {
        sink ^= b.sharedSecret(many[i++ % UNCACHED_KEYS]!, bob.publicKey)[0]!;
      });
    }
  }

  // XEdDSA (OMEMO 0.3 signed pre key signature: 33-byte serialized public key) and Ed25519.
  const spk = new Uint8Array(33);
  spk[0] = 5;
  spk.set(bob.publicKey, 1);
  const xsig = xeddsaSign(alice.privateKey, spk);
  check(xeddsaVerify(alice.publicKey, spk, xsig), 'XEdDSA verify');
  bench.add('XEdDSA sign (33 B)', () => {
    sink ^= xeddsaSign(alice.privateKey, spk)[0]!;
  });
  bench.add('XEdDSA verify (33 B)', () => {
    sink ^= xeddsaVerify(alice.publicKey, spk, xsig) ? 1 : 0;
  });
  const seed = randomBytes(32);
  const ed = ed25519KeyPairFromSeed(seed);
  const esig = ed25519Sign(seed, bob.publicKey);
  check(ed25519Verify(ed.publicKey, bob.publicKey, esig), 'Ed25519 verify');
  bench.add('Ed25519 sign (32 B)', () => {
    sink ^= ed25519Sign(seed, bob.publicKey)[0]!;
  });
  bench.add('Ed25519 verify (32 B)', () => {
    sink ^= ed25519Verify(ed.publicKey, bob.publicKey, esig) ? 1 : 0;
  });

  // HMAC-SHA256 (ratchet chain step: 1 byte; message MAC: ~32-160 bytes) and HKDF (message keys: 80 bytes).
  const key32 = randomBytes(32);
  const data32 = randomBytes(32);
  const data160 = randomBytes(160);
  const salt = new Uint8Array(32);
  const info = new TextEncoder().encode('OMEMO Message Key Material');
  bench.add('HMAC-SHA256 (32 B)', () => {
    sink ^= hmacSha256(key32, data32)[0]!;
  });
  bench.add('HMAC-SHA256 (160 B)', () => {
    sink ^= hmacSha256(key32, data160)[0]!;
  });
  bench.add('HKDF-SHA256 32 → 80 B', () => {
    sink ^= hkdfSha256(key32, salt, info, 80)[0]!;
  });

  // AES: CBC on a 32-byte key-material block (OMEMO 2 key transport), GCM on a 1 KiB payload.
  const iv16 = randomBytes(16);
  const iv12 = randomBytes(12);
  const cbc = aes256CbcEncrypt(key32, iv16, data32);
  check(Buffer.from(aes256CbcDecrypt(key32, iv16, cbc)).equals(data32), 'AES-CBC round trip');
  bench.add('AES-256-CBC encrypt 32 B (sync)', () => {
    sink ^= aes256CbcEncrypt(key32, iv16, data32)[0]!;
  });
  bench.add('AES-256-CBC decrypt 32 B (sync)', () => {
    sink ^= aes256CbcDecrypt(key32, iv16, cbc)[0]!;
  });
  const kib = randomBytes(1024);
  for (const bits of [128, 256] as const) {
    const key = randomBytes(bits / 8);
    const sealed = aesGcmEncrypt(key, iv12, kib);
    check(
      Buffer.from(aesGcmDecrypt(key, iv12, sealed.ciphertext, sealed.tag)).equals(kib),
      `AES-${bits}-GCM round trip`,
    );
    bench.add(`AES-${bits}-GCM encrypt 1 KiB (sync)`, () => {
      sink ^= aesGcmEncrypt(key, iv12, kib).tag[0]!;
    });
    bench.add(`AES-${bits}-GCM decrypt 1 KiB (sync)`, () => {
      sink ^= aesGcmDecrypt(key, iv12, sealed.ciphertext, sealed.tag)[0]!;
    });
    for (const b of aesBackends()) {
      const out = await b.gcmDecrypt(key, iv12, sealed.ciphertext, sealed.tag);
      check(Buffer.from(out).equals(kib), `AES-${bits}-GCM ${b.name} round trip`);
      bench.add(`AES-${bits}-GCM encrypt 1 KiB (${b.name}, async)`, async () => {
        sink ^= (await b.gcmEncrypt(key, iv12, kib)).tag[0]!;
      });
      bench.add(`AES-${bits}-GCM decrypt 1 KiB (${b.name}, async)`, async () => {
        sink ^= (await b.gcmDecrypt(key, iv12, sealed.ciphertext, sealed.tag))[0]!;
      });
    }
  }

  // Batched ratchet sending step, OMEMO 2 shape: 48-byte key material, 64-byte AD, ~45-byte header, 16-byte MAC.
  const per: Record<string, number> = {};
  const key48 = randomBytes(48);
  check(
    Buffer.from(kernelAes256CbcEncrypt(key32, iv16, key48)).equals(aes256CbcEncrypt(key32, iv16, key48)),
    'kernel AES-CBC',
  );
  const cbc48 = aes256CbcEncrypt(key32, iv16, key48);
  bench.add('AES-256-CBC encrypt 48 B (kernel)', () => {
    sink ^= kernelAes256CbcEncrypt(key32, iv16, key48)[0]!;
  });
  bench.add('AES-256-CBC encrypt 48 B (sync)', () => {
    sink ^= aes256CbcEncrypt(key32, iv16, key48)[0]!;
  });
  bench.add('AES-256-CBC decrypt 48 B (kernel)', () => {
    sink ^= kernelAes256CbcDecrypt(key32, iv16, cbc48)[0]!;
  });
  bench.add('AES-256-CBC decrypt 48 B (sync)', () => {
    sink ^= aes256CbcDecrypt(key32, iv16, cbc48)[0]!;
  });
  const ratchetParams = { info, plaintext: key48, macBytes: 16 };
  const lanes: RatchetSendLane[] = Array.from({ length: RATCHET_LANES }, () => {
    const message = randomBytes(2 + 16 + 2 + 45 + 64);
    const chainKey = randomBytes(32);
    return {
      chainKey,
      nextChainKey: chainKey,
      associatedData: randomBytes(64),
      message,
      headerOffset: 20,
      headerLength: 45,
      macOffset: 2,
    };
  });
  check(ratchetKernelAvailable(), 'the ratchet kernel loads');
  const batches: [string, typeof ratchetSendBatchWasm][] = [
    ['kernel', ratchetSendBatchWasm],
    ['portable', ratchetSendBatchPortable],
  ];
  for (const [name, run] of batches) {
    const task = `ratchet send step ×${RATCHET_LANES}, per lane (${name})`;
    per[task] = RATCHET_LANES;
    bench.add(task, () => {
      run(lanes, ratchetParams); // nextChainKey = chainKey: each run advances every chain
      sink ^= lanes[0]!.message[2]!;
    });
  }

  // One message's open/seal (protocol/message-crypto.ts): the OMEMO 2 payload of an SCE text message (~300 B)
  // and a ciphertext at the decrypt crossover, in the kernel (AES there or by node:crypto) and on the portable
  // path; the ratchet step of a steady OMEMO 2 decrypt (KDF_CK included, 64-byte AD, 90-byte body, 48-byte ct).
  // Sizes chosen to show the crossovers KERNEL_CBC_DECRYPT_MAX_BYTES / KERNEL_CBC_ENCRYPT_MAX_BYTES.
  const payloadInfo = new TextEncoder().encode('OMEMO Payload');
  for (const n of [48, 300, 640, 1024]) {
    const pt = randomBytes(n);
    const sealed = sealMessagePortable(key32, payloadInfo, pt);
    const req: MessageOpenRequest = {
      key: key32,
      chain: false,
      info: payloadInfo,
      macPrefix: new Uint8Array(0),
      macBody: sealed.ciphertext,
      ciphertext: sealed.ciphertext,
      mac: sealed.mac.subarray(0, 16),
      macBytes: 16,
      badMacCode: 'authentication-failed',
      badMacText: 'payload MAC does not verify',
    };
    check(Buffer.from(kernelOpen(req, true).plaintext).equals(pt), `message open ${n} B`);
    const opens: [string, () => Uint8Array][] = [
      ['kernel, AES in the kernel', () => kernelOpen(req, true).plaintext],
      ['kernel, AES by node:crypto', () => kernelOpen(req, false).plaintext],
      ['portable', () => openMessagePortable(req).plaintext],
    ];
    for (const [how, open] of opens) {
      bench.add(`message open ${n} B (${how})`, () => {
        sink ^= open()[0]!;
      });
    }
    bench.add(`message seal ${n} B (kernel)`, () => {
      sink ^= kernelSeal(key32, payloadInfo, pt).mac[0]!;
    });
    bench.add(`message seal ${n} B (portable)`, () => {
      sink ^= sealMessagePortable(key32, payloadInfo, pt).mac[0]!;
    });
  }
  const step = kdfChainKey(key32);
  const okm = expandMessageKeys(step.seed, info);
  const body = randomBytes(90); // OMEMOMessage: n, pn, dh_pub, then the ciphertext (64 B) at 26
  body.set(aes256CbcEncrypt(okm.subarray(0, 32), okm.subarray(64, 80), key48), 26);
  const ad = randomBytes(64);
  const stepReq: MessageOpenRequest = {
    key: key32,
    chain: true,
    info,
    macPrefix: ad,
    macBody: body,
    ciphertext: body.slice(26),
    mac: hmacSha256(okm.subarray(32, 64), Buffer.concat([ad, body])).subarray(0, 16),
    macBytes: 16,
    badMacCode: 'bad-mac',
    badMacText: 'message MAC does not verify',
  };
  check(Buffer.from(kernelOpen(stepReq).nextChainKey!).equals(step.next), 'ratchet open step');
  bench.add('ratchet open step OMEMO 2 (kernel)', () => {
    sink ^= kernelOpen(stepReq).plaintext[0]!;
  });
  bench.add('ratchet open step OMEMO 2 (portable)', () => {
    sink ^= openMessagePortable(stepReq).plaintext[0]!;
  });

  bench.add('random bytes (32 B)', () => {
    sink ^= randomBytes(32)[0]!;
  });

  const results = await runBench(bench, per);
  if (sink === -1) console.log(sink); // keeps the results observable
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatTable([{ title: 'crypto', results: await run() }]));
}
