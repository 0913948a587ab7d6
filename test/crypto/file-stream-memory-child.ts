// Child of file-stream-memory.test.ts and bench/files.ts: streams N MiB of plaintext through the XEP-0454 file
// cipher (encrypt piped into decrypt, node:crypto) and prints one JSON line: bytes, the RSS before and its peak
// while streaming (KiB, sampled at every chunk: getrusage's maxRSS would include the parent's RSS at fork time) and
// whether the plaintext came back intact (a running checksum).
// Usage: node --import tsx test/crypto/file-stream-memory-child.ts <MiB>
import { aes256GcmDecryptStream, aes256GcmEncryptStream } from '../../src/crypto/aes-gcm-stream';
import { randomBytes } from '../../src/crypto/random';
import { cryptoReady } from '../../src/crypto/ready';

const MIB = 1 << 20;
const mib = Number(process.argv[2] ?? '200');

/** Fresh 1 MiB chunks (as a file read would give), each derived from a counter so the check is exact. */
async function* plaintext(sum: { value: number }): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < mib; i++) {
    const chunk = new Uint8Array(MIB);
    chunk.fill(i & 255);
    chunk[0] = (i * 31) & 255;
    sum.value = (sum.value + chunk[0]! + (i & 255)) % 1_000_000_007;
    yield chunk;
  }
}

async function main(): Promise<void> {
  await cryptoReady();
  const key = randomBytes(32);
  const iv = randomBytes(12);
  global.gc?.();
  const before = process.memoryUsage.rss() >> 10;
  let peak = before;
  const sent = { value: 0 };
  let received = 0;
  let bytes = 0;
  const t0 = performance.now();
  for await (const chunk of aes256GcmDecryptStream(key, iv, aes256GcmEncryptStream(key, iv, plaintext(sent)))) {
    // Chunks may be split anywhere: the first byte of each 1 MiB block and one filler byte are counted.
    for (let at = 0; at < chunk.length; at++) {
      const pos = bytes + at;
      if (pos % MIB === 0) received = (received + chunk[at]! + ((pos / MIB) & 255)) % 1_000_000_007;
    }
    bytes += chunk.length;
    peak = Math.max(peak, process.memoryUsage.rss() >> 10);
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ bytes, rssBeforeKiB: before, rssPeakKiB: peak, intact: sent.value === received, ms }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
