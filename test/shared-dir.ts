// Where the python-omemo interop peer lives (../shared/interop/README.md, next to the project root, or
// $OMEMO_SHARED_DIR as in scripts/test.sh), and the rule for tests that need it: when it is missing they
// print a loud `!!! SKIPPED` line, and under CI=true they fail instead. No tests here.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';

/** The project root (the directory of package.json), whatever the current directory is. */
export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The shared directory: $OMEMO_SHARED_DIR (relative to the project root unless absolute) or ../shared. */
export const SHARED_DIR = resolve(PROJECT_ROOT, process.env.OMEMO_SHARED_DIR || '../shared');

/** The python-omemo peer (one JSON request per line on stdin, one answer per line on stdout). */
export const PYTHON_PEER = join(SHARED_DIR, 'interop', 'omemo_peer.py');

/** Debian's python3: a pyenv/venv python3 on PATH cannot see the python-omemo packages (README "Install"). */
export const PYTHON = '/usr/bin/python3';

/**
 * Whether the python-omemo peer can be run. When it cannot, says so loudly; under CI=true it also registers
 * a failing test on `test`, so a CI run without the peer fails rather than passing with less checked.
 * @param what what does not run without it (for the message)
 */
export function pythonPeerAvailable(test: Test, what: string): boolean {
  const missing = [PYTHON, PYTHON_PEER].filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const why = `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing`;
  if (process.env.CI === 'true') {
    test(`${what}: the python-omemo peer is required under CI=true`, () => {
      assert.unreachable(`${why} (install it with ${join(SHARED_DIR, 'interop', 'install.sh')})`);
    });
  } else {
    console.warn(`!!! SKIPPED: ${what} did not run: ${why}. Interop is the definition of correct: run it.`);
  }
  return false;
}
