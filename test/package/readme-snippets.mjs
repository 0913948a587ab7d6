// Part of check-tarball.mjs: the README's TypeScript, as a new user pastes it. Every ```ts block of README.md becomes
// a module of an ESM project that installed the packed tarball, @xmpp/client and @types/xmpp__client, and the
// blocks are type-checked together with `tsc --strict` (module nodenext: top-level await is allowed in ESM).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How both package checks run tsc: strict, Node's module resolution, no emit. */
export const TSC_STRICT_FLAGS = [
  '--noEmit',
  '--strict',
  '--module',
  'nodenext',
  '--moduleResolution',
  'nodenext',
  '--target',
  'es2022',
  '--skipLibCheck',
];

/** Every ```ts block of a Markdown text, with the line it starts on. */
export function tsBlocks(markdown) {
  const blocks = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

// What the README's "Testing your own store" imports from the user's own code: a store of theirs.
const MY_STORE = `import { MemoryStore } from 'omemo-wasm';
export class MyStore extends MemoryStore {
  static async open(_options: { database: string; jid: string }): Promise<MyStore> {
    return new MyStore();
  }
  close(): void {}
}
`;

/**
 * Writes the README's blocks into `scratch/readme` and type-checks each (one tsc run; errors are attributed to
 * their block).
 */
export function checkReadmeSnippets({ root, scratch, check, run }) {
  const dir = join(scratch, 'readme');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme', private: true, type: 'module' }));
  writeFileSync(join(dir, 'my-store.ts'), MY_STORE);
  const blocks = tsBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
  const files = blocks.map((b, i) => {
    const file = `block-${i + 1}.ts`;
    // `export {}` keeps every block a module of its own, as a file of the user's would be.
    writeFileSync(join(dir, file), `${b.code}\nexport {};\n`);
    return file;
  });
  check(`README.md has TypeScript blocks to check (${blocks.length})`, () => {
    if (blocks.length < 5) throw new Error(`only ${blocks.length} \`\`\`ts blocks found`);
  });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  let output = '';
  try {
    run(
      'node',
      [
        tsc,
        ...TSC_STRICT_FLAGS,
        '--pretty',
        'false',
        '--types',
        'node',
        '--typeRoots',
        join(root, 'node_modules', '@types'),
        ...files,
      ],
      dir,
    );
  } catch (e) {
    output = `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
  }
  blocks.forEach((b, i) => {
    check(`README.md block at line ${b.line} type-checks (tsc --strict, ESM, from the tarball)`, () => {
      const errors = output.split('\n').filter((l) => l.startsWith(`${files[i]}(`));
      if (errors.length > 0) throw new Error(errors.join('\n'));
    });
  });
  check('tsc reported nothing outside the README blocks', () => {
    const stray = output.split('\n').filter((l) => l.trim() !== '' && !/^block-\d+\.ts\(/.test(l) && !/^\s/.test(l));
    if (stray.length > 0) throw new Error(stray.join('\n'));
  });
}
