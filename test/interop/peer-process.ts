// A running interop peer (../shared/interop/README.md, "Protocol") driven from a test: one JSON request per
// line on stdin, one answer per line on stdout. Our peer (test/interop/peer.ts under tsx) or python-omemo's
// (omemo_peer.py). No tests here.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as assert from 'uvu/assert';
import { PROJECT_ROOT, PYTHON, PYTHON_PEER } from '../shared-dir';

/** How long one request may take before the test gives up on the peer (ms). */
export const PEER_REQUEST_TIMEOUT_MS = 30_000;
/** Our peer's script (`npm run --silent peer` runs it with tsx). */
const OUR_PEER = join(PROJECT_ROOT, 'test', 'interop', 'peer.ts');
/** Lines of a peer's stderr kept for error messages. */
const STDERR_LINES_KEPT = 20;

export type Answer = Record<string, unknown> & { ok: boolean; error?: string; error_type?: string };

export class PeerProcess {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void }[] = [];
  private readonly stderr: string[] = [];
  private nextId = 1;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;

  private constructor(
    readonly name: string,
    command: string,
    args: string[],
  ) {
    this.proc = spawn(command, args, { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.proc.stderr }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > STDERR_LINES_KEPT) this.stderr.shift();
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w === undefined) return;
      try {
        w.resolve(JSON.parse(line) as Answer);
      } catch {
        w.reject(new Error(`${this.name} wrote a line that is not JSON: ${line.slice(0, 200)}`));
      }
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        const gone = new Error(`${this.name} exited (${signal ?? code})${this.log()}`);
        for (const w of this.waiting.splice(0)) w.reject(gone);
        resolve(signal ?? code ?? -1);
      });
    });
  }

  /** Our peer, as `npm run --silent peer` runs it (node with tsx, from the project root). */
  static ours(name: string): PeerProcess {
    return new PeerProcess(name, process.execPath, ['--import', 'tsx', OUR_PEER]);
  }

  /** python-omemo's peer (check `pythonPeerAvailable` first). */
  static python(name: string): PeerProcess {
    return new PeerProcess(name, PYTHON, [PYTHON_PEER]);
  }

  private log(): string {
    return this.stderr.length ? `; its stderr ends with:\n${this.stderr.join('\n')}` : '';
  }

  /** Sends one request and waits for its answer. */
  request(req: Record<string, unknown>): Promise<Answer> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeout = () => reject(new Error(`${this.name}: no answer to ${String(req.cmd)}${this.log()}`));
      const timer = setTimeout(timeout, PEER_REQUEST_TIMEOUT_MS);
      this.waiting.push({
        resolve: (a) => {
          clearTimeout(timer);
          if (a.id !== id) reject(new Error(`${this.name} answered id ${String(a.id)} to request ${id}`));
          else resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** Sends a request and asserts that it succeeded. */
  async ok(req: Record<string, unknown>): Promise<Answer> {
    const a = await this.request(req);
    assert.ok(a.ok, `${this.name}: ${String(req.cmd)} failed: ${String(a.error_type)}: ${String(a.error)}`);
    return a;
  }

  /** Kills the process with `signal` (no chance to clean up for SIGKILL) and waits until it is gone. */
  async kill(signal: NodeJS.Signals): Promise<number | string> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }

  /** `quit`, then waits for the exit; returns the exit status. */
  async quit(): Promise<number | string> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    await this.request({ cmd: 'quit' }).catch(() => undefined);
    return this.exited;
  }
}
