// The ratchet kernel's own primitives (FIPS 180-4 SHA-256, RFC 2104 HMAC, RFC 5869 HKDF, one FIPS-197 AES-256
// block), reached through the rk_test_* exports of the test module that wasm/build.sh builds from the same C
// source with -DRK_TEST_EXPORTS (test/crypto/generated/ratchet-kernel-test.wasm). The shipped module has no
// such exports. No tests here.
import { readFileSync } from 'node:fs';
import { assertBytes } from '../../src/crypto/bytes';

/** Size of the test module's input buffer (TEST_IO_BYTES in wasm/src/ratchet-kernel.c). */
const KERNEL_TEST_IO_BYTES = 4096;
/** Index of the test input buffer's address in the layout table that rk_init() returns. */
const LAYOUT_TEST_IN = 15;

interface TestExports {
  memory: WebAssembly.Memory;
  rk_init(): number;
  rk_test_sha256_init(): void;
  rk_test_sha256_update(length: number): number;
  rk_test_sha256_final(): void;
  rk_test_hmac_sha256(keyLength: number, dataLength: number): number;
  rk_test_hkdf_sha256(ikmLength: number, saltLength: number, infoLength: number, outLength: number): number;
  rk_test_aes256_block(decrypt: number): void;
  rk_test_out(): number;
}

/** The bytes of the test module. */
export function kernelTestModuleBytes(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(new URL('./generated/ratchet-kernel-test.wasm', import.meta.url)));
}

let loaded: { x: TestExports; heap: Uint8Array; testIn: number; testOut: number } | undefined;

function testKernel(): NonNullable<typeof loaded> {
  if (loaded !== undefined) return loaded;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(kernelTestModuleBytes()), {});
  const x = instance.exports as unknown as TestExports;
  const heap = new Uint8Array(x.memory.buffer);
  const testIn = new Uint32Array(x.memory.buffer)[(x.rk_init() >>> 2) + LAYOUT_TEST_IN]!;
  loaded = { x, heap, testIn, testOut: x.rk_test_out() };
  return loaded;
}

function testCall(rc: number): void {
  if (rc !== 0) throw new RangeError('input too large for the kernel test buffer');
}

function checkFits(total: number): void {
  if (total > KERNEL_TEST_IO_BYTES) throw new RangeError('input too large for the kernel test buffer');
}

/** The test module's single-message primitives, for their known-answer tests. */
export const kernelTestHooks = {
  sha256(data: Uint8Array): Uint8Array {
    const k = testKernel();
    k.x.rk_test_sha256_init();
    for (let off = 0; off < data.length; off += KERNEL_TEST_IO_BYTES) {
      const part = data.subarray(off, off + KERNEL_TEST_IO_BYTES);
      k.heap.set(part, k.testIn);
      testCall(k.x.rk_test_sha256_update(part.length));
    }
    k.x.rk_test_sha256_final();
    return k.heap.slice(k.testOut, k.testOut + 32);
  },
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
    const k = testKernel();
    checkFits(key.length + data.length);
    k.heap.set(key, k.testIn);
    k.heap.set(data, k.testIn + key.length);
    testCall(k.x.rk_test_hmac_sha256(key.length, data.length));
    return k.heap.slice(k.testOut, k.testOut + 32);
  },
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    const k = testKernel();
    checkFits(ikm.length + salt.length + info.length);
    k.heap.set(ikm, k.testIn);
    k.heap.set(salt, k.testIn + ikm.length);
    k.heap.set(info, k.testIn + ikm.length + salt.length);
    testCall(k.x.rk_test_hkdf_sha256(ikm.length, salt.length, info.length, length));
    return k.heap.slice(k.testOut, k.testOut + length);
  },
  aes256Block(key: Uint8Array, block: Uint8Array, decrypt: boolean): Uint8Array {
    assertBytes(key, 'key', 32);
    assertBytes(block, 'block', 16);
    const k = testKernel();
    k.heap.set(key, k.testIn);
    k.heap.set(block, k.testIn + 32);
    k.x.rk_test_aes256_block(decrypt ? 1 : 0);
    k.heap.fill(0, k.testIn, k.testIn + 48);
    return k.heap.slice(k.testOut, k.testOut + 16);
  },
};
