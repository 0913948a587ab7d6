// A private Prosody for the adapter integration tests: own config, data, pid file and log under a temp dir,
// c2s on a free loopback port, no s2s, no http, internal_plain auth with plain SASL allowed without TLS.
// Accounts are registered with prosodyctl before the start; shared roster groups (mod_groups) make accounts
// mutual contacts, which PEP +notify needs. Servers are killed when the process exits, however it exits
// (SIGKILL of the test runner included: the server runs under `setpriv --pdeathsig KILL`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Virtual host of the test servers. */
export const PROSODY_DOMAIN = 'localhost';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const running = new Set<{ child: ChildProcess; dir: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
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

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Whether Prosody can be used, installing it first (scripts/prosody.sh: apt-get as root) when missing. */
export function ensureProsody(): { ok: true } | { ok: false; reason: string } {
  if (onPath('prosody') && onPath('prosodyctl')) return { ok: true };
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'prosody.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'pipe'],
    timeout: 300_000,
  });
  if (r.status === 0 && onPath('prosody')) return { ok: true };
  return {
    ok: false,
    reason: `prosody is not installed and scripts/prosody.sh failed: ${(r.stderr ?? '').trim().split('\n').pop() ?? r.error?.message}`,
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const lua = (s: string) => JSON.stringify(s); // JSON string literals are valid Lua for our paths

/** A running private Prosody. */
export interface ProsodyServer {
  readonly domain: string;
  readonly port: number;
  /** `xmpp://127.0.0.1:<port>` for @xmpp/client's `service`. */
  readonly service: string;
  readonly dir: string;
  readonly pid: number;
  /** The bare JID of a user. */
  jid(user: string): string;
  /** The last lines of Prosody's log (for failure messages). */
  logTail(lines?: number): string;
  /** Stops the server and deletes its directory. Never throws. */
  stop(): Promise<void>;
  /** With `httpFileShare`: the upload component's JID and the http port. */
  upload?: { jid: string; httpPort: number };
}

/** Options of `startProsody`. */
export interface ProsodyOptions {
  /** Accounts to register (all with `password`). */
  users: readonly string[];
  password: string;
  /** Shared roster groups (name → users): members are mutual contacts with subscription "both". */
  groups?: Readonly<Record<string, readonly string[]>>;
  /**
   * XEP-0045 components (mod_muc with mod_muc_mam), each with its room defaults: OMEMO-ready rooms are
   * members-only with public (non-anonymous) JIDs.
   */
  muc?: readonly { host: string; membersOnly: boolean; publicJids: boolean }[];
  /**
   * XEP-0363 upload: mod_http_file_share as component `upload.<domain>` on a free loopback http port (plain http;
   * `http_host`/`http_external_url` point at 127.0.0.1, or the PUT gets a 404), with this size limit in bytes.
   */
  httpFileShare?: { maxBytes: number };
}

/** Starts a private Prosody; rejects (after cleaning up) when it does not come up. */
export async function startProsody(options: ProsodyOptions): Promise<ProsodyServer> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'omemo-prosody-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  mkdirSync(join(dir, 'certs'));
  const port = await freePort();
  const share = options.httpFileShare;
  const httpPort = share === undefined ? undefined : await freePort();
  const uploadJid = `upload.${PROSODY_DOMAIN}`;
  const config = join(dir, 'prosody.cfg.lua');
  const groupsFile = join(dir, 'groups.txt');
  const log = join(dir, 'prosody.log');
  const groups = Object.entries(options.groups ?? {})
    .map(([name, members]) => `[${name}]\n${members.map((u) => `${u}@${PROSODY_DOMAIN}`).join('\n')}\n`)
    .join('\n');
  writeFileSync(groupsFile, groups);
  const isRoot = process.getuid?.() === 0;
  writeFileSync(
    config,
    [
      '-- Generated by test/adapters/prosody-server.ts',
      // mod_posix refuses to run as root unless told to; CI runs as root.
      isRoot ? 'run_as_root = true' : '',
      `pidfile = ${lua(join(dir, 'prosody.pid'))}`,
      `data_path = ${lua(data)}`,
      `certificates = ${lua(join(dir, 'certs'))}`,
      `log = { { levels = { min = "info" }, to = "file", filename = ${lua(log)} } }`,
      'interfaces = { "127.0.0.1" }',
      'local_interfaces = { "127.0.0.1" }',
      `c2s_ports = { ${port} }`,
      'c2s_direct_tls_ports = { }',
      'legacy_ssl_ports = { }',
      httpPort === undefined ? 'http_ports = { }' : `http_ports = { ${httpPort} }`,
      httpPort === undefined ? '' : 'http_interfaces = { "127.0.0.1" }',
      'https_ports = { }',
      'c2s_require_encryption = false',
      'allow_unencrypted_plain_auth = true',
      'authentication = "internal_plain"',
      'storage = "internal"',
      'modules_enabled = { "roster", "saslauth", "disco", "pep", "carbons", "mam", "offline", "posix", "groups", "ping" }',
      httpPort === undefined ? 'modules_disabled = { "s2s", "http" }' : 'modules_disabled = { "s2s" }',
      `groups_file = ${lua(groupsFile)}`,
      `VirtualHost ${lua(PROSODY_DOMAIN)}`,
      ...(options.muc ?? []).flatMap((c) => [
        `Component ${lua(c.host)} "muc"`,
        '  modules_enabled = { "muc_mam" }',
        `  muc_room_default_members_only = ${c.membersOnly}`,
        `  muc_room_default_public_jids = ${c.publicJids}`,
        '  muc_log_by_default = true',
      ]),
      ...(share === undefined || httpPort === undefined
        ? []
        : [
            `Component ${lua(uploadJid)} "http_file_share"`,
            `  http_file_share_size_limit = ${Math.floor(share.maxBytes)}`,
            `  http_file_share_daily_quota = ${Math.floor(share.maxBytes) * 100}`,
            '  http_host = "127.0.0.1"',
            `  http_external_url = "http://127.0.0.1:${httpPort}/"`,
          ]),
      '',
    ].join('\n'),
  );

  const cleanupDir = () => rmSync(dir, { recursive: true, force: true });
  // Accounts before the start: prosodyctl writes the internal storage directly (~40 ms each).
  const failures = await Promise.all(
    options.users.map(
      (user) =>
        new Promise<string | undefined>((resolve) => {
          const p = spawn('prosodyctl', ['--config', config, 'register', user, PROSODY_DOMAIN, options.password], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let err = '';
          p.stderr.on('data', (d: Buffer) => (err += d.toString()));
          p.on('error', (e) => resolve(`${user}: ${e.message}`));
          p.on('exit', (code) => resolve(code === 0 ? undefined : `${user}: exit ${code} ${err.trim()}`));
        }),
    ),
  );
  const failed = failures.filter((f) => f !== undefined);
  if (failed.length > 0) {
    cleanupDir();
    throw new Error(`prosodyctl register failed: ${failed.join('; ')}`);
  }

  const argv = ['prosody', '-F', '--config', config];
  const child = onPath('setpriv')
    ? spawn('setpriv', ['--pdeathsig', 'KILL', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const entry = { child, dir };
  running.add(entry);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 10_000) stderr += d.toString();
  });
  let exited: number | null | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exited = code;
      resolve();
    });
    child.once('error', (e) => {
      stderr += e.message;
      exited = -1;
      resolve();
    });
  });

  const logTail = (lines = 30) => {
    try {
      return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exited === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exitPromise;
      clearTimeout(timer);
    }
    running.delete(entry);
    cleanupDir();
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      const tail = logTail();
      await stop();
      throw new Error(`prosody exited with ${exited} during startup: ${stderr.trim()}\n${tail}`);
    }
    // Prosody may accept connections a moment before its pid file is written (seen under load): wait for both.
    const listening = await canConnect(port);
    if (listening && existsSync(join(dir, 'prosody.pid'))) break;
    if (Date.now() > deadline) {
      const tail = logTail();
      await stop();
      const what = listening ? 'write its pid file' : `listen on ${port}`;
      throw new Error(`prosody did not ${what} within ${START_TIMEOUT_MS} ms\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    domain: PROSODY_DOMAIN,
    port,
    service: `xmpp://127.0.0.1:${port}`,
    dir,
    pid: child.pid!,
    jid: (user) => `${user}@${PROSODY_DOMAIN}`,
    logTail,
    stop,
    ...(httpPort === undefined ? {} : { upload: { jid: uploadJid, httpPort } }),
  };
}
