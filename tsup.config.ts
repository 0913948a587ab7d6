import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'tsup';

// The packages that end up inside dist/ (protobufjs, fast-xml-parser and what they pull in), from esbuild's
// metafile, with their licence texts: bundling them cut the import time of the package in half (cold start).
function writeThirdPartyNotices(): void {
  const packages = new Set<string>();
  for (const file of readdirSync('dist').filter((f) => /^metafile-.*\.json$/.test(f))) {
    const meta = JSON.parse(readFileSync(join('dist', file), 'utf8')) as { inputs: Record<string, unknown> };
    for (const input of Object.keys(meta.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (m) packages.add(m[1]!);
    }
    rmSync(join('dist', file));
  }
  let out = '# Third-party software bundled in dist/\n';
  for (const name of [...packages].sort()) {
    const dir = join('node_modules', name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; license?: string };
    const licenceFile = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    const text =
      licenceFile && existsSync(join(dir, licenceFile))
        ? readFileSync(join(dir, licenceFile), 'utf8').trim()
        : `Licence: ${pkg.license ?? 'see the package'}`;
    out += `\n## ${name} ${pkg.version} (${pkg.license ?? 'see below'})\n\n\`\`\`\n${text}\n\`\`\`\n`;
  }
  writeFileSync(join('dist', 'THIRD_PARTY_NOTICES.md'), out);
}

// ESM + CJS + declarations for the public entry points (package.json "exports"): the package,
// `omemo-wasm/xmpp-client`, `omemo-wasm/sqlite`, `omemo-wasm/postgres` and `omemo-wasm/testing`.
// protobufjs and fast-xml-parser are devDependencies and bundled (tsup bundles what is not a dependency).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'xmpp-client': 'src/adapters/xmpp-client.ts',
    sqlite: 'src/sqlite.ts',
    postgres: 'src/postgres.ts',
    testing: 'src/testing.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'neutral',
  external: ['node:crypto', 'libsodium-wrappers-sumo', 'better-sqlite3', 'pg', '@xmpp/client'],
  treeshake: true,
  metafile: true,
  onSuccess: async () => writeThirdPartyNotices(),
  // Also for CJS: the entries share chunks, hence one OmemoError/OmemoManager/SqliteStore class (instanceof works).
  splitting: true,
});
