/**
 * `interview serve` processes started by a test (E2E_INTERVIEW_BIN, set by scripts/e2e.sh),
 * for tests that need a server configured their own way or one they can kill.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFailed } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const INTERVIEW_BIN = process.env.E2E_INTERVIEW_BIN ?? join(repo, '.venv/bin/interview');
/** The Python beside it, for checks a test runs with the server's own libraries. */
export const PYTHON_BIN = join(dirname(INTERVIEW_BIN), 'python');
/** PostgreSQL + Redis (shared by every process) when scripts/e2e.sh found them. */
export const SHARED_STORE = !!process.env.INTERVIEW_DATABASE_URL && !!process.env.INTERVIEW_REDIS_URL;

export interface ServerProcess {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  log: string;
}

export const scratch = mkdtempSync(join(tmpdir(), 'e2e-servers-'));
const started: ServerProcess[] = [];
// Never leave a server behind, even if the test run itself dies.
process.once('exit', () => {
  for (const proc of started) if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
});

/** On failure, print the logs of the servers the test started. */
export function showLogsOnFailure(): void {
  const from = started.length;
  onTestFailed(() => {
    for (const proc of started.slice(from)) console.error(tail(proc));
  });
}

/** Console errors, less the failed connection attempts while no server was listening. */
export function unexpected(errors: string[]): string[] {
  return errors.filter((e) => !/WebSocket connection to .* failed/.test(e));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** Starts `interview serve` on `port` with `env` over the test run's own, and waits until it is ready. */
export async function startServer(name: string, port: number, env: Record<string, string> = {}): Promise<ServerProcess> {
  const log = join(scratch, `${name}.log`);
  const out = openSync(log, 'a');
  const child = spawn(INTERVIEW_BIN, ['serve', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: scratch,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const proc = { name, port, url: `http://127.0.0.1:${port}`, child, log };
  started.push(proc);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${proc.url}/readyz`)).ok) return proc;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not become ready:\n${tail(proc)}`);
}

export async function kill(proc: ServerProcess): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((done) => proc.child.once('exit', done));
  proc.child.kill('SIGKILL');
  await exited;
}

/** Stops every server this test file started, and removes their scratch directory. */
export async function stopAll(): Promise<void> {
  for (const proc of started) await kill(proc);
  rmSync(scratch, { recursive: true, force: true });
}

export function tail(proc: ServerProcess, lines = 40): string {
  if (!existsSync(proc.log)) return '';
  return `--- ${proc.name} (${proc.log}) ---\n${readFileSync(proc.log, 'utf8').split('\n').slice(-lines).join('\n')}`;
}
