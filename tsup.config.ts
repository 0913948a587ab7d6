import { defineConfig } from 'tsup';

// ESM + CJS + declarations for the public entry points (the package and `omemo-wasm/xmpp-client`); the JSON-lines interop peer is built as a CLI too.
export default defineConfig({
  entry: { index: 'src/index.ts', 'xmpp-client': 'src/adapters/xmpp-client.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'neutral',
  external: ['node:crypto', 'libsodium-wrappers-sumo', 'protobufjs', 'fast-xml-parser', 'better-sqlite3', '@xmpp/client'],
  treeshake: true,
  // Also for CJS: both entries share one chunk, hence one OmemoError/OmemoManager class (instanceof works).
  splitting: true,
});
