// Runs examples/echo-bot.ts (what `npm run bot` runs) as a child process for the integration tests and the
// round-trip measurement; the child is killed with the test process (pdeathsig) or at exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const READY_TIMEOUT_MS = 30_000;
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** A running echo bot. */
export interface EchoBot {
  deviceId: number;
  /** stderr lines so far (errors the bot reported). */
  stderr: string[];
  /** Stops it with SIGTERM (it closes its store) and waits for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the echo bot and resolves once it printed its ready line. */
export async function startEchoBot(args: {
  service: string;
  jid: string;
  password: string;
  store: string;
  verbose?: boolean;
}): Promise<EchoBot> {
  const argv = [
    process.execPath,
    '--import',
    'tsx',
    join(ROOT, 'examples', 'echo-bot.ts'),
    '--service',
    args.service,
    '--jid',
    args.jid,
    '--password',
    args.password,
    '--store',
    args.store,
    ...(args.verbose ? ['--verbose'] : []),
  ];
  const hasSetpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { stdio: 'ignore' }).status === 0;
  const child = hasSetpriv
    ? spawn('setpriv', ['--pdeathsig', 'KILL', ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => children.delete(child));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const deviceId = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`echo bot not ready within ${READY_TIMEOUT_MS} ms: ${stderr.join('\n')}`)),
      READY_TIMEOUT_MS,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = / ready: device (\d+),/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`echo bot exited with ${code}: ${stderr.join('\n')}`));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  return { deviceId, stderr, stop };
}

/** Runs the echo bot until it exits by itself (e.g. a failed login); kills it after `timeoutMs`. */
export async function runEchoBotToExit(
  args: { service: string; jid: string; password: string; store: string },
  timeoutMs = READY_TIMEOUT_MS,
): Promise<{ code: number | null; stdout: string[]; stderr: string[] }> {
  const argv = ['--import', 'tsx', join(ROOT, 'examples', 'echo-bot.ts')];
  for (const [k, v] of Object.entries(args)) argv.push(`--${k}`, v);
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  children.delete(child);
  return { code, stdout, stderr };
}
