// The omemo-wasm modules the public-API adapters use: the built package when run.ts says so (PACKAGE_DIR_ENV, see
// package-entry.ts), else src/ through tsx. Types always come from src/ (the package's .d.ts are generated from it).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Index from '../../src/index';
import type * as Sqlite from '../../src/sqlite';
import { PACKAGE_DIR_ENV } from './package-entry';

const dir = process.env[PACKAGE_DIR_ENV];
const from = (file: string) => pathToFileURL(join(dir!, file)).href;

/** The main entry (`omemo-wasm`). */
export const api: typeof Index = dir ? await import(from('index.js')) : await import('../../src/index');
/** `omemo-wasm/sqlite`. */
export const sqlite: typeof Sqlite = dir ? await import(from('sqlite.js')) : await import('../../src/sqlite');
/** Which build this is, for the rows' notes. */
export const loadedFrom = dir ? 'the built package (dist/, as npm ships it)' : 'src/ through tsx';
