// src/crypto/aes-gcm-stream.ts: XEP-0454 file encryption (AES-256-GCM, tag appended) on both back ends:
// known answers with 12- and 16-byte IVs from test/vectors/aesgcm-files.json, every input kind and chunking,
// tampered/truncated/wrong-key files ending in OmemoError('authentication-failed'), argument checks, the
// WebCrypto buffering cap.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  aes256GcmDecryptStream,
  aes256GcmEncryptStream,
  fileCipherBackend,
  WEBCRYPTO_FILE_MAX_BYTES,
  type FileCipherBackend,
} from '../../src/crypto/aes-gcm-stream';
import type { ByteSource } from '../../src/crypto/byte-source';
import { toHex } from '../../src/crypto/bytes';
import { cryptoReady } from '../../src/crypto/ready';
import { eqBytes, h, isPlainU8, loadVectors, pseudo, rejectsCode, throwsArg } from './helpers';

interface FileVector {
  name: string;
  key: string;
  iv: string;
  plaintextLength: number;
  plaintextSeed: number;
  tag: string;
  sha256: string;
  ciphertext?: string;
}

const { files } = loadVectors<{ files: FileVector[] }>('aesgcm-files.json');
const BACKENDS: FileCipherBackend[] = ['node', 'webcrypto'];

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + seed) % 256;
  return out;
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) {
    isPlainU8(c);
    parts.push(c.slice());
  }
  return new Uint8Array(Buffer.concat(parts));
}

async function* chunked(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.slice(at, at + n);
    at += n;
  }
}

function webStream(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

/** The same bytes as every kind of input, cut in awkward places (around the 16-byte tag too). */
function sources(bytes: Uint8Array): [string, () => ByteSource][] {
  return [
    ['Uint8Array', () => bytes],
    ['1-byte chunks', () => chunked(bytes.length > 4096 ? bytes.slice(0, 0) : bytes, [1])],
    ['chunks 7/16/17/1000', () => chunked(bytes, [7, 16, 17, 1000])],
    ['Node Readable of Buffers', () => Readable.from(chunked(bytes, [65536, 3]), { objectMode: true })],
    ['ReadableStream', () => webStream(bytes, 4099)],
  ];
}

test.before(async () => {
  await cryptoReady();
});

test('the back end on Node is node:crypto (streaming)', async () => {
  assert.is(await fileCipherBackend(), 'node');
});

for (const backend of BACKENDS) {
  test(`${backend}: known answers (12- and 16-byte IVs) encrypt, every input kind`, async () => {
    for (const v of files) {
      const pt = pattern(v.plaintextLength, v.plaintextSeed);
      for (const [kind, make] of sources(pt)) {
        if (kind === '1-byte chunks' && pt.length > 4096) continue;
        const sealed = await drain(aes256GcmEncryptStream(h(v.key), h(v.iv), make(), { backend }));
        const what = `${v.name} from ${kind}`;
        assert.is(sealed.length, v.plaintextLength + 16, what);
        assert.is(createHash('sha256').update(sealed).digest('hex'), v.sha256, what);
        assert.is(toHex(sealed.subarray(sealed.length - 16)), v.tag, what);
        if (v.ciphertext !== undefined) assert.is(toHex(sealed.subarray(0, sealed.length - 16)), v.ciphertext, what);
      }
    }
  });

  test(`${backend}: known answers decrypt, every input kind and chunking`, async () => {
    for (const v of files) {
      const pt = pattern(v.plaintextLength, v.plaintextSeed);
      const sealed = await drain(aes256GcmEncryptStream(h(v.key), h(v.iv), pt, { backend: 'node' }));
      for (const [kind, make] of sources(sealed)) {
        if (kind === '1-byte chunks' && sealed.length > 4096) continue;
        const out = await drain(aes256GcmDecryptStream(h(v.key), h(v.iv), make(), { backend }));
        eqBytes(out, pt, `${v.name} from ${kind}`);
      }
    }
  });

  test(`${backend}: a flipped bit anywhere (first, middle, last, tag) ends in authentication-failed`, async () => {
    const v = files.find((f) => f.plaintextLength === 65537)!;
    const sealed = await drain(aes256GcmEncryptStream(h(v.key), h(v.iv), pattern(65537, 5)));
    for (const at of [0, 30000, 65536, 65537, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[at]! ^= 0x01;
      await rejectsCode(
        () => drain(aes256GcmDecryptStream(h(v.key), h(v.iv), chunked(bad, [4096, 5]), { backend })),
        'authentication-failed',
        `byte ${at}`,
      );
    }
  });

  test(`${backend}: truncated files, a wrong key or the wrong IV length end in authentication-failed`, async () => {
    const key = pseudo(32, 1);
    const iv = pseudo(12, 2);
    const pt = pseudo(10_000, 3);
    const sealed = await drain(aes256GcmEncryptStream(key, iv, pt));
    for (const keep of [sealed.length - 1, sealed.length - 16, sealed.length - 17, 15, 1, 0]) {
      await rejectsCode(
        () => drain(aes256GcmDecryptStream(key, iv, sealed.slice(0, keep), { backend })),
        'authentication-failed',
        `truncated to ${keep}`,
      );
    }
    const otherKey = key.slice();
    otherKey[31]! ^= 0x80;
    await rejectsCode(
      () => drain(aes256GcmDecryptStream(otherKey, iv, sealed, { backend })),
      'authentication-failed',
      'wrong key',
    );
    // The same 12 bytes zero-padded to 16 are a different IV (GHASH-derived J0), not an equivalent one.
    const iv16 = new Uint8Array(16);
    iv16.set(iv);
    await rejectsCode(
      () => drain(aes256GcmDecryptStream(key, iv16, sealed, { backend })),
      'authentication-failed',
      '16-byte IV for a 12-byte-IV file',
    );
  });
}

test('node: plaintext streams out before the end, and the end reports a bad tag (no clean end)', async () => {
  const key = pseudo(32, 4);
  const iv = pseudo(12, 5);
  const pt = pseudo(3 << 20, 6);
  const sealed = await drain(aes256GcmEncryptStream(key, iv, pt));
  sealed[sealed.length - 1]! ^= 1;
  let seen = 0;
  let error: unknown;
  try {
    for await (const c of aes256GcmDecryptStream(key, iv, sealed)) seen += c.length;
  } catch (e) {
    error = e;
  }
  assert.is(seen, pt.length, 'all plaintext chunks were yielded (unauthenticated) before the tag check');
  assert.is((error as { code?: string })?.code, 'authentication-failed');
});

test('argument checks: key and IV lengths, source types, chunk types', async () => {
  const k = new Uint8Array(32);
  const iv = new Uint8Array(12);
  throwsArg(() => aes256GcmEncryptStream(new Uint8Array(16), iv, new Uint8Array(1)), RangeError, 'key');
  throwsArg(() => aes256GcmDecryptStream(k, new Uint8Array(8), new Uint8Array(16)), RangeError, 'iv');
  throwsArg(() => aes256GcmDecryptStream(k, new Uint8Array(32), new Uint8Array(16)), RangeError, 'iv');
  throwsArg(() => aes256GcmEncryptStream(k, iv, 'text' as unknown as Uint8Array), TypeError, 'source');
  throwsArg(() => aes256GcmEncryptStream(k, iv, [new Uint8Array(1)] as unknown as Uint8Array), TypeError, 'source');
  throwsArg(
    () => aes256GcmEncryptStream(k, iv, new Uint8Array(1), { backend: 'wasm' as FileCipherBackend }),
    TypeError,
    'backend',
  );
  const strings = Readable.from(['not bytes']);
  let caught: unknown;
  try {
    await drain(aes256GcmEncryptStream(k, iv, strings));
  } catch (e) {
    caught = e;
  }
  assert.instance(caught, TypeError);
  assert.match((caught as Error).message, /string/);
});

test('the key is copied at the call: zeroing the caller’s array does not change the output', async () => {
  const key = pseudo(32, 7);
  const iv = pseudo(12, 8);
  const expected = await drain(aes256GcmEncryptStream(key, iv, pseudo(100, 9)));
  const mine = key.slice();
  const it = aes256GcmEncryptStream(mine, iv, pseudo(100, 9));
  mine.fill(0);
  eqBytes(await drain(it), expected);
});

test('webcrypto: more than WEBCRYPTO_FILE_MAX_BYTES is refused with file-too-large (no unbounded buffer)', async () => {
  const mib = new Uint8Array(1 << 20);
  const chunks = WEBCRYPTO_FILE_MAX_BYTES / mib.length + 1;
  async function* big() {
    for (let i = 0; i < chunks; i++) yield mib; // the same array: the test itself stays small
  }
  await rejectsCode(
    () => drain(aes256GcmEncryptStream(new Uint8Array(32), new Uint8Array(12), big(), { backend: 'webcrypto' })),
    'file-too-large',
  );
});

test('a consumer that stops early cancels a ReadableStream source', async () => {
  let cancelled = false;
  let pulls = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(c) {
      pulls++;
      c.enqueue(new Uint8Array(1024));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const _ of aes256GcmEncryptStream(new Uint8Array(32), new Uint8Array(12), source)) break;
  assert.ok(cancelled, 'source cancelled');
  assert.ok(pulls < 10, `pulled ${pulls} times`);
});

test.run();
