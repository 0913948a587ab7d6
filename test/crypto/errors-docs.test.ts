// Every error code is documented where a user looks (the project's error rule): in the TSDoc list of
// OMEMO_ERROR_CODES (src/crypto/errors.ts, which the build keeps in the shipped declarations; check-tarball.mjs
// checks those) and in the README's "Error codes" table, each exactly once, and neither documents a code that does
// not exist. A new code in OMEMO_ERROR_CODES fails here until both are written.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OMEMO_ERROR_CODES } from '../../src/crypto/errors';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README.md has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

function counts(found: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const c of found) m.set(c, (m.get(c) ?? 0) + 1);
  return m;
}

function assertDocumented(found: string[], where: string): void {
  const seen = counts(found);
  const missing = OMEMO_ERROR_CODES.filter((c) => !seen.has(c));
  assert.equal(missing, [], `codes not documented in ${where}`);
  const unknown = [...seen.keys()].filter((c) => !(OMEMO_ERROR_CODES as readonly string[]).includes(c));
  assert.equal(unknown, [], `${where} documents codes that do not exist`);
  const twice = [...seen].filter(([, n]) => n > 1).map(([c]) => c);
  assert.equal(twice, [], `${where} documents codes twice`);
}

test("the README's Error codes table has one row with a meaning per code", () => {
  const table = section(readFileSync(join(root, 'README.md'), 'utf8'), 'Error codes');
  const rows = [...table.matchAll(/^\| `([a-z0-9-]+)` \| (.*) \|$/gm)];
  for (const [, code, meaning] of rows) assert.ok(meaning!.trim().length > 10, `no meaning for ${code}`);
  assertDocumented(
    rows.map((r) => r[1]!),
    "README.md's Error codes table",
  );
});

test('the TSDoc of OMEMO_ERROR_CODES has one line with a meaning per code', () => {
  const source = readFileSync(join(root, 'src', 'crypto', 'errors.ts'), 'utf8');
  const doc = source.slice(0, source.indexOf('export const OMEMO_ERROR_CODES'));
  const comment = doc.slice(doc.lastIndexOf('/**'));
  const lines = [...comment.matchAll(/^ \* - `([a-z0-9-]+)`: \S/gm)].map((m) => m[1]!);
  assertDocumented(lines, 'the TSDoc of OMEMO_ERROR_CODES');
});

test.run();
