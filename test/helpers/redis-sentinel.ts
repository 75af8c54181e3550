/**
 * A real Redis Sentinel (redis-server in sentinel mode) watching one primary from
 * `startRedisServer`, for the Sentinel run of the short-lived state tests. One sentinel and no
 * replicas: what is tested is that Gatehouse finds the primary through the sentinels, not failover.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './gatehouse.js';
import type { RedisServer } from './redis-server.js';

export interface RedisSentinel {
  /** `host:port` of the sentinel */
  readonly address: string;
  readonly name: string;
  close(): Promise<void>;
}

export async function startRedisSentinel(primary: RedisServer, name = 'gatehouse-primary'): Promise<RedisSentinel> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its configuration file, so it gets one of its own.
  await writeFile(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`, ''].join('\n'));
  const child: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis sentinel did not start within 10 s:\n${output}`));
    }, 10_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('+monitor master')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis sentinel exited with ${code}:\n${output}`));
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    name,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
