// src/crypto/kernel-loader.ts: the embedded release module is wasm/ratchet-kernel.wasm, has no imports and no
// rk_test_* exports (the test module built from the same source adds exactly those), and loads on Node.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromBase64, toHex } from '../../src/crypto/bytes';
import { RATCHET_KERNEL_WASM_BASE64, RATCHET_KERNEL_WASM_BYTES } from '../../src/crypto/generated/ratchet-kernel-wasm';
import { ratchetKernelAvailable } from '../../src/crypto/kernel-loader';
import { cryptoReady } from '../../src/crypto/ready';
import { kernelTestModuleBytes } from './kernel-test-hooks';

test.before(async () => {
  await cryptoReady();
});

test('kernel: loads on Node (WebAssembly SIMD); the embedded module is wasm/ratchet-kernel.wasm', () => {
  assert.ok(ratchetKernelAvailable());
  const embedded = fromBase64(RATCHET_KERNEL_WASM_BASE64)! as Uint8Array<ArrayBuffer>;
  const file = new Uint8Array(readFileSync(new URL('../../wasm/ratchet-kernel.wasm', import.meta.url)));
  assert.is(embedded.length, RATCHET_KERNEL_WASM_BYTES);
  assert.is(toHex(createHash('sha256').update(embedded).digest()), toHex(createHash('sha256').update(file).digest()));
  assert.ok(WebAssembly.validate(embedded));
  const mod = new WebAssembly.Module(embedded);
  assert.equal(WebAssembly.Module.imports(mod), [], 'no imports');
  assert.ok(WebAssembly.Module.exports(mod).some((e) => e.name === 'memory' && e.kind === 'memory'));
});

test('kernel: the shipped module has no rk_test_* exports; the test module adds exactly those', () => {
  const names = (bytes: Uint8Array<ArrayBuffer>) =>
    WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
  const shipped = names(fromBase64(RATCHET_KERNEL_WASM_BASE64)! as Uint8Array<ArrayBuffer>);
  const test = names(kernelTestModuleBytes());
  assert.equal(
    shipped.filter((n) => n.startsWith('rk_test_')),
    [],
  );
  assert.equal(test.filter((n) => !n.startsWith('rk_test_')).sort(), [...shipped].sort());
  assert.ok(test.includes('rk_test_sha256_init') && test.includes('rk_test_out'));
});

test.run();
