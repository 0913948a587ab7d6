import { defineConfig } from 'tsup';

// ESM + CJS + declarations for the public entry point; the JSON-lines interop peer is built as a CLI too.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'neutral',
  external: ['node:crypto', 'libsodium-wrappers-sumo', 'protobufjs', 'fast-xml-parser'],
  treeshake: true,
});
