// What the tests' private servers (Prosody in test/adapters/prosody-server.ts, PostgreSQL in
// test/omemo/postgres-server.ts) share: their installation script, a free loopback port, waiting for the port, and
// watching and stopping them, and killing them (and deleting their directories) when the test process exits,
// however it exits.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** How long an installation script (apt-get) may take. */
const INSTALL_TIMEOUT_MS = 300_000;

/** A server process and its directory, killed and deleted at exit unless untracked first. */
export interface TrackedServer {
  child: ChildProcess;
  dir: string;
}

const running = new Set<TrackedServer>();
let exitHookInstalled = false;

/** Kills `server` and deletes its directory when the test process exits (also on SIGINT/SIGTERM). */
export function trackServer(server: TrackedServer): void {
  running.add(server);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const r of running) {
      try {
        r.child.kill('SIGKILL');
      } catch {
        // already gone
      }
      rmSync(r.dir, { recursive: true, force: true });
    }
    running.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

/** Forgets a server that was stopped (and its directory deleted) on purpose. */
export function untrackServer(server: TrackedServer): void {
  running.delete(server);
}

/**
 * Runs `scripts/<script>` (apt-get as root when the package is missing); undefined when it succeeded, else why not
 * (the last line it printed on stderr).
 */
export function runInstallScript(script: string, what: string): string | undefined {
  const r = spawnSync('bash', [join(ROOT, 'scripts', script)], {
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'pipe'],
    timeout: INSTALL_TIMEOUT_MS,
  });
  if (r.status === 0) return undefined;
  return `${what} is not installed and scripts/${script} failed: ${(r.stderr ?? '').trim().split('\n').pop() ?? r.error?.message}`;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A started server process: its exit, its log and how to stop it. */
export interface SupervisedServer {
  /** The exit code once it exited (-1: it could not be started), undefined while it runs. */
  readonly exitCode: number | null | undefined;
  /** The last lines of its log file. */
  logTail(lines?: number): string;
  /** Stops it (`stopSignal`, then SIGKILL after `stopTimeoutMs`) and deletes its directory. Never throws. */
  stop(): Promise<void>;
}

/**
 * Watches a server process started by a test: tracked for the exit hook (see trackServer) until stopped.
 * `onSpawnError` hears why it could not be started.
 */
export function superviseServer(
  child: ChildProcess,
  options: {
    dir: string;
    log: string;
    stopSignal: NodeJS.Signals;
    stopTimeoutMs: number;
    onSpawnError?: (e: Error) => void;
  },
): SupervisedServer {
  const entry = { child, dir: options.dir };
  trackServer(entry);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve();
    });
    child.once('error', (e) => {
      options.onSpawnError?.(e);
      exitCode = -1;
      resolve();
    });
  });
  let stopped = false;
  return {
    get exitCode() {
      return exitCode;
    },
    logTail(lines = 30) {
      try {
        return readFileSync(options.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (exitCode === undefined) {
        child.kill(options.stopSignal);
        const timer = setTimeout(() => child.kill('SIGKILL'), options.stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      }
      untrackServer(entry);
      rmSync(options.dir, { recursive: true, force: true });
    },
  };
}
