/**
 * Start-up checks of the Redis server(s) short-lived state will live on. An evicted key is a
 * security check that fails open (a replay-detection entry gone lets a replay through, a counter
 * gone resets a rate limit), so Redis must be set never to evict: `maxmemory-policy noeviction`.
 * Read through `INFO`, which managed services (ElastiCache, Azure Cache, Memorystore) allow where
 * `CONFIG GET` is disabled.
 */
import { Cluster, type Redis } from 'ioredis';
import type { RedisConnection, RedisLog } from './client.js';

/** GETDEL (the atomic take) arrived in Redis 6.2. */
const MINIMUM_VERSION = [6, 2] as const;

function infoField(info: string, field: string): string | undefined {
  const line = info.split(/\r?\n/).find((entry) => entry.startsWith(`${field}:`));
  return line?.slice(field.length + 1).trim();
}

function oldVersion(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < MINIMUM_VERSION[0] || (major === MINIMUM_VERSION[0] && minor < MINIMUM_VERSION[1]);
}

async function checkNode(node: Redis, options: { requireNoEviction: boolean; where: string; log?: RedisLog | undefined }): Promise<void> {
  const version = infoField(await node.info('server'), 'redis_version') ?? 'unknown';
  if (oldVersion(version)) {
    throw new Error(`${options.where} runs Redis ${version}; Gatehouse needs Redis ${MINIMUM_VERSION.join('.')} or later (GETDEL)`);
  }
  const policy = infoField(await node.info('memory'), 'maxmemory_policy');
  if (policy === 'noeviction') return;
  const message =
    `${options.where} has maxmemory-policy ${policy ?? '(not reported)'}, so it may evict Gatehouse's keys under memory pressure ` +
    `(an evicted replay-detection or rate-limit key is a security check that passes when it should not); ` +
    `set "maxmemory-policy noeviction" in redis.conf, or with CONFIG SET maxmemory-policy noeviction, ` +
    `or in the parameter group of a managed Redis`;
  if (options.requireNoEviction) {
    throw new Error(`${message}; to start anyway, set redis.requireNoEviction (GATEHOUSE_REDIS_REQUIRE_NO_EVICTION) to false`);
  }
  options.log?.warn({ redis: options.where, maxmemoryPolicy: policy }, `SECURITY WARNING: ${message}. Starting anyway because redis.requireNoEviction is false`);
}

/**
 * Checks every server that holds keys (each primary of a Cluster; the current primary behind
 * Sentinel, so set the policy on its replicas too: one of them becomes the primary on failover).
 *
 * @throws Error saying exactly what to set, unless `requireNoEviction` is false (then it warns)
 */
export async function checkRedisServer(connection: RedisConnection, options: { requireNoEviction: boolean; where: string; log?: RedisLog | undefined }): Promise<void> {
  const nodes = connection instanceof Cluster ? connection.nodes('master') : [connection];
  for (const node of nodes) await checkNode(node, options);
}
