/**
 * A real three-primary Redis Cluster on loopback (three redis-server processes from
 * `startRedisServer`, joined with `redis-cli --cluster create`), for the Cluster run of the
 * short-lived state contract. No replicas: failover is Redis's business, not what is tested here.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './gatehouse.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

export interface RedisCluster {
  /** `host:port` of every node */
  readonly nodes: string[];
  close(): Promise<void>;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i += 1) {
      // The cluster bus gets a port of its own (the default, port + 10000, may not exist).
      servers.push(await startRedisServer(['--cluster-enabled', 'yes', '--cluster-port', String(await freePort())]));
    }
    const nodes = servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-yes']);
    // Every node must agree the cluster is up before clients load its slot map.
    for (const server of servers) {
      const until = Date.now() + 15_000;
      while (!(await run('redis-cli', ['-p', String(server.port), 'cluster', 'info'])).includes('cluster_state:ok')) {
        if (Date.now() > until) throw new Error(`cluster node ${server.port} did not come up`);
        await sleep(100);
      }
    }
    return { nodes, close: async () => void (await Promise.all(servers.map((server) => server.close()))) };
  } catch (error) {
    await Promise.all(servers.map((server) => server.close()));
    throw error;
  }
}
