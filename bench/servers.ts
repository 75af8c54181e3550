/**
 * The servers under test as child processes: start one under tsx, wait for its handshake, send it
 * commands (profiling), stop it.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { RunnerRequest, ServerInfo } from './shared.js';

export interface ServerProcess {
  info: ServerInfo;
  pid: number | undefined;
  /** Sends a command and resolves when the server has carried it out. */
  command(body: RunnerRequest): Promise<void>;
  /** Closes its stdin (the server drains and exits), killing it if it lingers. */
  stop(): Promise<void>;
}

/**
 * Starts `file` (relative to `cwd`) with `node --import tsx`, `env` added to ours, and resolves
 * once it has announced itself. Its stderr is kept and shown only if it fails, so the baseline's
 * "development-only adapter" warning does not clutter the output.
 */
export function startServer(cwd: string, file: string, name: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, () => void>();
  let nextId = 1;

  const server = (info: ServerInfo): ServerProcess => ({
    info,
    pid: child.pid,
    command(body) {
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not answer ${body.cmd}`)), 30_000);
        pending.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin.write(`${JSON.stringify({ ...body, id })}\n`);
      });
    },
    async stop() {
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  });

  return new Promise((resolve, reject) => {
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 60 s:\n${stderr}`));
    }, 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const message = JSON.parse(line) as { ready?: ServerInfo; done?: number };
      if (message.ready) {
        clearTimeout(timeout);
        resolve(server(message.ready));
      } else if (message.done !== undefined) {
        pending.get(message.done)?.();
        pending.delete(message.done);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timeout);
      reject(new Error(`${name} exited with ${code} before it was ready:\n${stderr}`));
    });
  });
}
