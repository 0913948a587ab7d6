// A private PostgreSQL cluster for the PostgresStore tests and bench: initdb into a temp dir, the server on a free
// loopback port with its unix socket in that dir, trust authentication for the local user `postgres`. As root it
// runs as the system user `postgres` (PostgreSQL refuses root) through `setpriv`, which also gives it
// `--pdeathsig KILL`: the cluster dies with the process that started it, SIGKILL included; the directory is
// deleted at exit (and by `stop`). Installs PostgreSQL with scripts/postgres.sh (apt-get as root) when missing.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort, runInstallScript, superviseServer } from '../private-server';

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
const PG_ROOT = '/usr/lib/postgresql';

/** A running private cluster. */
export interface PostgresServer {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` (trust authentication). */
  url(database?: string): string;
  /** Creates a database (a fresh one for each test file or case) and returns its URL. */
  createDatabase(name: string): string;
  readonly dir: string;
  /** The last lines of the server's log. */
  logTail(lines?: number): string;
  /** Stops the server and deletes its directory. Never throws. */
  stop(): Promise<void>;
}

/** The bin directory of the newest installed PostgreSQL, or undefined. */
function binDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(PG_ROOT, versions[0]!, 'bin') : undefined;
}

/** Whether PostgreSQL can be used, installing it first (scripts/postgres.sh: apt-get as root) when missing. */
export function ensurePostgres(): { ok: true; bin: string } | { ok: false; reason: string } {
  let bin = binDir();
  if (bin !== undefined) return { ok: true, bin };
  const failure = runInstallScript('postgres.sh', 'postgresql');
  bin = binDir();
  if (failure === undefined && bin !== undefined) return { ok: true, bin };
  return { ok: false, reason: failure ?? 'scripts/postgres.sh succeeded but no initdb was found' };
}

/** The uid/gid of the system user `postgres` (as root), or undefined when we run as ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) throw new Error('running as root, but there is no system user postgres');
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** Options of `startPostgres`. */
export interface PostgresOptions {
  /** Extra server settings (`-c name=value`). */
  settings?: Readonly<Record<string, string>>;
}

/** Starts a private PostgreSQL cluster; rejects (after cleaning up) when it does not come up. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const found = ensurePostgres();
  if (!found.ok) throw new Error(found.reason);
  const dir = mkdtempSync(join(tmpdir(), 'omemo-postgres-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const cleanupDir = () => rmSync(dir, { recursive: true, force: true });
  const user = runAs();
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const wrap = (argv: string[], pdeathsig: boolean): string[] =>
    user === undefined
      ? pdeathsig && onPath('setpriv')
        ? ['setpriv', '--pdeathsig', 'KILL', ...argv]
        : argv
      : [
          'setpriv',
          `--reuid=${user.uid}`,
          `--regid=${user.gid}`,
          '--init-groups',
          ...(pdeathsig ? ['--pdeathsig', 'KILL'] : []),
          ...argv,
        ];
  const init = wrap(
    [join(found.bin, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-locale'],
    false,
  );
  const r = spawnSync(init[0]!, init.slice(1), { encoding: 'utf8', cwd: dir });
  if (r.status !== 0) {
    cleanupDir();
    throw new Error(`initdb failed (${r.status}): ${r.stderr.trim()}`);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    // The tests kill clients, never the server: its own durability is not under test, so spare the shared disk.
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    logging_collector: 'off',
    ...options.settings,
  };
  const argv = wrap(
    [join(found.bin, 'postgres'), '-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    true,
  );
  const { openSync } = await import('node:fs');
  const logFd = openSync(log, 'a');
  if (user !== undefined) chownSync(log, user.uid, user.gid);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', logFd, logFd], cwd: dir });
  const server = superviseServer(child, { dir, log, stopSignal: 'SIGINT', stopTimeoutMs: STOP_TIMEOUT_MS });
  const { logTail, stop } = server; // SIGINT: PostgreSQL's fast shutdown, which disconnects clients
  const psql = (sql: string, database = 'postgres') => {
    const argv = wrap(
      [
        join(found.bin, 'psql'),
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        database,
        '-v',
        'ON_ERROR_STOP=1',
        '-qAt',
        '-c',
        sql,
      ],
      false,
    );
    return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: dir });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (server.exitCode !== undefined) {
      const tail = logTail();
      await stop();
      throw new Error(`postgres exited with ${server.exitCode} during startup\n${tail}`);
    }
    if ((await canConnect(port)) && psql('SELECT 1').status === 0) break;
    if (Date.now() > deadline) {
      const tail = logTail();
      await stop();
      throw new Error(`postgres did not come up on ${port} within ${START_TIMEOUT_MS} ms\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    dir,
    url,
    createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new RangeError(`bad database name ${name}`);
      const res = psql(`CREATE DATABASE ${name}`);
      if (res.status !== 0) throw new Error(`CREATE DATABASE ${name}: ${res.stderr.trim()}`);
      return url(name);
    },
    logTail,
    stop,
  };
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
