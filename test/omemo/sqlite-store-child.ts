// Child process of sqlite-store.test.ts (run as `node --import tsx sqlite-store-child.ts <mode> ...`), for
// what one process cannot show about itself:
//   hold <path> <jid>   opens the store, prints "held", then waits to be killed (SIGKILL releases the lock?)
//   try <path> <jid>    opens the store and prints one JSON line: {"ok":true} or {"code","message"}
//   no-driver <path>    blocks the module better-sqlite3 (ESM resolve hook and CommonJS loader), imports the
//                       library's entry points, the main one and omemo-wasm/sqlite (must work: neither loads
//                       better-sqlite3), then prints the result of SqliteStore.open as JSON (must be
//                       `store-error` with a cause)
import Module, { register } from 'node:module';

const [mode, path, jid] = process.argv.slice(2);

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function describe(e: unknown): Record<string, unknown> {
  const err = e as { code?: unknown; message?: unknown; cause?: { message?: unknown } };
  return { code: err.code, message: err.message, cause: err.cause?.message };
}

async function main(): Promise<void> {
  if (mode === 'no-driver') {
    const hook = `export async function resolve(s, c, next) { if (s === 'better-sqlite3') throw new Error('better-sqlite3 is blocked by the test'); return next(s, c); }`;
    register(`data:text/javascript,${encodeURIComponent(hook)}`);
    const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
    const load = loader._load;
    loader._load = (request, ...rest) => {
      if (request === 'better-sqlite3') throw new Error('better-sqlite3 is blocked by the test');
      return load(request, ...rest);
    };
    const lib = await import('../../src/index');
    const sqlite = await import('../../src/sqlite');
    const entries = { entry: typeof lib.OmemoManager, sqliteEntry: typeof sqlite.SqliteStore };
    try {
      const store = await sqlite.SqliteStore.open(path!, { jid: 'nobody@example.org' });
      store.close();
      print({ ok: true, ...entries });
    } catch (e) {
      print({ ...describe(e), ...entries });
    }
    return;
  }
  const { SqliteStore } = await import('../../src/omemo/store/sqlite-store');
  if (mode === 'try') {
    try {
      const store = await SqliteStore.open(path!, { jid: jid!, busyTimeoutMs: 0 });
      store.close();
      print({ ok: true });
    } catch (e) {
      print(describe(e));
    }
    return;
  }
  if (mode === 'hold') {
    // Keep the store referenced: a garbage-collected store's database is finalized, which releases the lock.
    const held = await SqliteStore.open(path!, { jid: jid! });
    process.stdout.write('held\n');
    setInterval(() => held.closed, 1 << 30);
    return;
  }
  throw new Error(`unknown mode ${String(mode)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
