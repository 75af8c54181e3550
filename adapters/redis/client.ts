/**
 * Opens ioredis connections from Gatehouse's `redis.*` settings: one server (`redis.url`,
 * `rediss:` for TLS), Sentinel or Cluster. Every connection fails fast and closed: no offline queue
 * (a command while disconnected rejects at once), a bounded time per command, no command resent
 * after a lost connection (it may have run: a resent increment would count twice, a resent take
 * could hand one value to two callers), and reconnection forever with a capped backoff, so service
 * comes back by itself within seconds of Redis returning. Callers turn rejections into
 * `EphemeralUnavailableError` (503).
 */
import { readFile } from 'node:fs/promises';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { EphemeralUnavailableError } from '../ephemeral.js';

export interface RedisSettings {
  /** `redis://` or `rediss://` (TLS), with username, password and database; with Sentinel or Cluster only its scheme and credentials count. */
  url?: string | undefined;
  sentinel?: { sentinels: readonly string[]; name: string; password?: string | undefined } | undefined;
  cluster?: { nodes: readonly string[] } | undefined;
  tls: { caFile?: string | undefined; rejectUnauthorized: boolean };
  /** Put before every key, so several deployments can share one Redis. */
  keyPrefix: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  /** Refuse to start unless Redis is set never to evict keys (see `checkRedisServer`). */
  requireNoEviction: boolean;
}

/** Where connection trouble is reported: once when the connection is lost, once when it is back. */
export interface RedisLog {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

export type RedisConnection = Redis | Cluster;

/** True when any Redis is configured (else short-lived state lives in the store). */
export function redisConfigured<T extends Pick<RedisSettings, 'url' | 'sentinel' | 'cluster'>>(settings: T | undefined): settings is T {
  return settings !== undefined && (settings.url !== undefined || settings.sentinel !== undefined || settings.cluster !== undefined);
}

/** Reconnect after 100 ms, 200 ms, 400 ms ... at most every 2 s, and never give up. */
export function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt - 1, 5), 2000);
}

function hostPort(entry: string): { host: string; port: number } {
  const at = entry.lastIndexOf(':');
  const host = entry.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(entry.slice(at + 1)) };
}

interface UrlParts {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

function urlParts(url: string | undefined): UrlParts {
  if (url === undefined) return { host: '127.0.0.1', port: 6379, db: 0, tls: false };
  const parsed = new URL(url);
  const parts: UrlParts = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
    tls: parsed.protocol === 'rediss:',
  };
  if (parsed.username) parts.username = decodeURIComponent(parsed.username);
  if (parsed.password) parts.password = decodeURIComponent(parsed.password);
  return parts;
}

async function tlsOptions(settings: RedisSettings, servername: string | undefined): Promise<ConnectionOptions> {
  const options: ConnectionOptions = { rejectUnauthorized: settings.tls.rejectUnauthorized };
  if (servername) options.servername = servername;
  if (settings.tls.caFile !== undefined) {
    try {
      options.ca = await readFile(settings.tls.caFile);
    } catch (error) {
      throw new Error(`redis.tls.caFile: cannot read ${settings.tls.caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }
  return options;
}

/** What every connection shares, whichever topology. */
function commonOptions(settings: RedisSettings, purpose: string): RedisOptions {
  return {
    connectionName: `gatehouse-${purpose}`,
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: settings.commandTimeoutMs,
    connectTimeout: settings.connectTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Commands issued in the same tick (a burst of concurrent requests, a request's several
    // lookups) share one write and one round trip instead of a write each: writes were a fifth of
    // a token request's main-thread time without it.
    enableAutoPipelining: true,
    retryStrategy: reconnectDelay,
    // After a failover the old primary answers READONLY until the connection moves to the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
}

async function createConnection(settings: RedisSettings, purpose: string): Promise<RedisConnection> {
  const url = urlParts(settings.url);
  const common = commonOptions(settings, purpose);
  const credentials = { ...(url.username ? { username: url.username } : {}), ...(url.password ? { password: url.password } : {}) };
  if (settings.cluster) {
    const tls = url.tls ? await tlsOptions(settings, undefined) : undefined;
    const options: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: settings.connectTimeoutMs,
      redisOptions: { ...common, ...credentials, ...(tls ? { tls } : {}) },
      // Managed clusters present certificates for the names they were given, not for the addresses
      // they announce: keep the names when connecting over TLS.
      ...(tls ? { dnsLookup: (address: string, callback: (error: Error | null, address: string) => void) => callback(null, address) } : {}),
    };
    return new Cluster(settings.cluster.nodes.map(hostPort), options);
  }
  if (settings.sentinel) {
    const tls = url.tls ? await tlsOptions(settings, undefined) : undefined;
    return new Redis({
      ...common,
      ...credentials,
      db: url.db,
      sentinels: settings.sentinel.sentinels.map(hostPort),
      name: settings.sentinel.name,
      ...(settings.sentinel.password !== undefined ? { sentinelPassword: settings.sentinel.password } : {}),
      ...(tls ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      sentinelRetryStrategy: reconnectDelay,
      sentinelCommandTimeout: settings.commandTimeoutMs,
    });
  }
  const tls = url.tls ? await tlsOptions(settings, url.host) : undefined;
  return new Redis({ ...common, ...credentials, host: url.host, port: url.port, db: url.db, ...(tls ? { tls } : {}) });
}

/** Where a connection points, for messages: never the password. */
export function describeRedis(settings: RedisSettings): string {
  if (settings.cluster) return `Redis Cluster ${settings.cluster.nodes.join(', ')}`;
  if (settings.sentinel) return `Redis Sentinel ${settings.sentinel.name} via ${settings.sentinel.sentinels.join(', ')}`;
  const url = urlParts(settings.url);
  return `Redis ${url.tls ? 'rediss' : 'redis'}://${url.host}:${url.port}/${url.db}`;
}

/**
 * Opens one connection and waits until it is ready (at most about `connectTimeoutMs` plus a
 * second). The short-lived state uses one; the change feed opens another with
 * `purpose: 'subscriber'`, since a subscribed connection can run no other command.
 *
 * @throws EphemeralUnavailableError naming the server (never the password) when it cannot be reached in time
 */
export async function openRedisConnection(settings: RedisSettings, options: { purpose: string; log?: RedisLog }): Promise<RedisConnection> {
  const connection = await createConnection(settings, options.purpose);
  const where = describeRedis(settings);
  let up = false;
  let lastError = '';
  // A listener keeps ioredis from printing every failed reconnection; one line per outage is enough.
  connection.on('error', (error: Error) => {
    lastError = error.message;
  });
  // 'reconnecting' follows a lost connection, never a deliberate close.
  connection.on('reconnecting', () => {
    if (!up) return;
    up = false;
    options.log?.warn({ purpose: options.purpose, redis: where, error: lastError || undefined }, 'Redis connection lost; failing closed until it is back');
  });
  connection.on('ready', () => {
    if (up) return;
    if (lastError !== '') options.log?.info({ purpose: options.purpose, redis: where }, 'Redis connection is back');
    up = true;
    lastError = '';
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connection.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), settings.connectTimeoutMs + 1000);
      }),
    ]);
    return connection;
  } catch (error) {
    connection.disconnect();
    throw new EphemeralUnavailableError(`cannot reach ${where}: ${(error as Error).message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection politely (QUIT), or at once if Redis does not answer. */
export async function closeRedisConnection(connection: RedisConnection): Promise<void> {
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
}
