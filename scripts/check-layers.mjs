#!/usr/bin/env node
// The layering rule of src/ (README "Layout"): imports only point down crypto → protocol → omemo → adapters →
// testing → the entry files directly in src/, nothing in src/ imports from outside src/, and only src/crypto
// touches libsodium, node:crypto or WebCrypto. Parsed with the TypeScript compiler, so comments and strings never
// count as imports.
// Usage: node scripts/check-layers.mjs [projectRoot]   One line per violation; exit 1 if any, else 0.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * Layers from the bottom: a file may import from its own layer or any layer below. `testing` (the conformance
 * suite of omemo-wasm/testing) may use the whole library, and nothing in the library may use it.
 */
const LAYERS = ['crypto', 'protocol', 'omemo', 'adapters', 'testing'];
/** Rank of the files directly in src/ (the entry points sit on top of everything). */
const TOP_RANK = LAYERS.length;
/** Module specifiers only src/crypto may import. */
const CRYPTO_ONLY_MODULES = /^(?:libsodium-wrappers(?:-sumo)?|(?:node:)?crypto(?:\/.*)?)$/;
/** Members of the global `crypto` (WebCrypto) that count as using it. */
const WEB_CRYPTO_MEMBERS = new Set(['subtle', 'getRandomValues', 'randomUUID']);
/** Globals through which WebCrypto is reached. */
const GLOBAL_OBJECTS = new Set(['globalThis', 'self', 'window', 'global']);
/** Files checked (declaration files too: they can import). */
const SOURCE_FILE = /\.(?:[cm]?ts|tsx)$/;

const root = resolve(process.argv[2] ?? '.');
const src = join(root, 'src');

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE_FILE.test(name)) out.push(path);
  }
  return out;
}

/** The layer rank of a path inside src/, or undefined when it belongs to no layer. */
function rankOf(path) {
  const parts = relative(src, path).split(sep);
  if (parts.length === 1) return TOP_RANK;
  const i = LAYERS.indexOf(parts[0]);
  return i < 0 ? undefined : i;
}

/** Every module specifier of a file: imports, re-exports, dynamic import(), require(), import types. */
function specifiers(file) {
  const out = [];
  const add = (node) => {
    if (node !== undefined && ts.isStringLiteralLike(node)) out.push(node.text);
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        add(node.arguments[0]);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** Whether a file reaches WebCrypto: `crypto.subtle`, `crypto.getRandomValues`, `globalThis.crypto`, …. */
function usesWebCrypto(file) {
  let found = false;
  const visit = (node) => {
    if (found) return;
    if (ts.isPropertyAccessExpression(node)) {
      const object = node.expression;
      const name = node.name.text;
      if (ts.isIdentifier(object) && object.text === 'crypto' && WEB_CRYPTO_MEMBERS.has(name)) found = true;
      if (ts.isIdentifier(object) && GLOBAL_OBJECTS.has(object.text) && name === 'crypto') found = true;
    } else if (ts.isElementAccessExpression(node)) {
      const object = node.expression;
      const key = node.argumentExpression;
      const isGlobal = ts.isIdentifier(object) && GLOBAL_OBJECTS.has(object.text);
      if (isGlobal && ts.isStringLiteralLike(key) && key.text === 'crypto') found = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const problems = [];
let files;
try {
  files = sourceFiles(src);
} catch (e) {
  console.log(`${src}: cannot be read (${e.message})`);
  process.exit(1);
}
for (const path of files) {
  const rel = relative(root, path);
  const from = rankOf(path);
  if (from === undefined) {
    problems.push(`${rel}: not in a layer (src/{${LAYERS.join(',')}}/ or src/ itself)`);
    continue;
  }
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  for (const spec of specifiers(file)) {
    if (spec.startsWith('.')) {
      const target = resolve(dirname(path), spec);
      if (target !== src && !target.startsWith(src + sep)) {
        problems.push(`${rel}: imports ${spec}, outside src/`);
        continue;
      }
      const to = target === src ? TOP_RANK : rankOf(target);
      if (to === undefined) problems.push(`${rel}: imports ${spec}, which is in no layer`);
      else if (to > from) problems.push(`${rel}: imports upward ${spec} (${layerName(from)} → ${layerName(to)})`);
    } else if (CRYPTO_ONLY_MODULES.test(spec) && from !== 0) {
      problems.push(`${rel}: imports ${spec} outside src/crypto`);
    }
  }
  if (from !== 0 && usesWebCrypto(file)) problems.push(`${rel}: uses WebCrypto outside src/crypto`);
}

function layerName(rank) {
  return rank === TOP_RANK ? 'index' : LAYERS[rank];
}

for (const p of problems) console.log(p);
process.exit(problems.length > 0 ? 1 : 0);
