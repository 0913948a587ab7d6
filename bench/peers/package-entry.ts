// Which build of omemo-wasm bench:peers measures: the package as npm ships it (dist/, built by tsup), rebuilt first
// when missing or older than src/. The Signal libraries run as the JavaScript their packages ship, and so do we:
// through tsx every closure our code creates costs ~0.45 µs more (tsx transpiles with esbuild's keepNames, which
// names each function as it is created), which the package does not pay. When the build fails, src/ is loaded
// through tsx and the rows say so. The raw layer (internal modules, not in the package) always runs from src/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST_DIR = join(ROOT, 'dist');
/** Set by run.ts for its children: the directory of the built package to load, or absent for src/ via tsx. */
export const PACKAGE_DIR_ENV = 'OMEMO_WASM_BENCH_PACKAGE_DIR';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether the built package can be used (building it now if it is missing or older than src/), and whether it was rebuilt. */
export function ensureBuiltPackage(log: (s: string) => void): { built: boolean; rebuilt: boolean } {
  const entry = join(DIST_DIR, 'index.js');
  const stale = !existsSync(entry) || statSync(entry).mtimeMs < newestMtime(join(ROOT, 'src'));
  if (stale) {
    log('  dist/ is missing or older than src/: npm run build …\n');
    const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (r.status !== 0 || !existsSync(entry)) return { built: false, rebuilt: false };
  }
  return { built: true, rebuilt: stale };
}

/** What a row says when the build failed and src/ ran through tsx instead. */
export const BUILD_FAILED_NOTE = 'npm run build failed, so src/ was loaded through tsx (slower than the package)';
