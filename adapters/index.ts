/**
 * Opens the store and the short-lived state the configuration asks for. The only place that knows
 * which backends exist.
 */
import { join } from 'node:path';
import type { EphemeralStore } from './ephemeral.js';
import { ensureAllIndexes } from './indexes.js';
import { openMongoStore } from './mongodb.js';
import { openNedbStore } from './nedb.js';
import { closeRedisConnection, describeRedis, openRedisConnection, redisConfigured, type RedisLog, type RedisSettings } from './redis/client.js';
import { RedisEphemeral } from './redis/ephemeral.js';
import { RedisChangeFeed } from './redis/change-feed.js';
import { LocalChangeFeed } from './local-change-feed.js';
import type { ChangeFeed } from './change-feed.js';
import type { Logger } from 'pino';
import { checkRedisServer } from './redis/server-check.js';
import type { Store } from './store.js';

export type { RedisSettings } from './redis/client.js';

export interface StoreSettings {
  /** `nedb`: files under `{dataDir}/store`; `memory`: nothing persisted (tests); `mongodb`: production. */
  kind: 'nedb' | 'memory' | 'mongodb';
  dataDir: string;
  mongodb: { uri?: string; database: string };
}

/**
 * Opens and returns the configured store. The embedded kinds build their indexes now (nedb keeps
 * them in memory); MongoDB's are built by the `migrate` command, so a start never rebuilds them.
 */
export async function openStore(settings: StoreSettings): Promise<Store> {
  if (settings.kind === 'mongodb') {
    const { uri, database } = settings.mongodb;
    if (!uri) throw new Error('store.kind is mongodb but store.mongodb.uri (GATEHOUSE_MONGODB_URI) is not set');
    return openMongoStore({ uri, database });
  }
  const store = await openNedbStore(settings.kind === 'nedb' ? { dir: join(settings.dataDir, 'store') } : {});
  try {
    await ensureAllIndexes(store);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

/**
 * Opens short-lived state on Redis (connected and checked never to evict before this resolves).
 * Without Redis there is nothing to open: the app context keeps short-lived state in the store.
 *
 * @throws EphemeralUnavailableError when Redis cannot be reached; Error when it may evict keys
 */
export async function openEphemeral(settings: RedisSettings, log?: RedisLog): Promise<RedisEphemeral> {
  if (!redisConfigured(settings)) throw new TypeError('openEphemeral needs redis.url, redis.sentinel or redis.cluster');
  const connection = await openRedisConnection(settings, { purpose: 'ephemeral', ...(log ? { log } : {}) });
  try {
    await checkRedisServer(connection, { requireNoEviction: settings.requireNoEviction, where: describeRedis(settings), log });
  } catch (error) {
    await closeRedisConnection(connection);
    throw error;
  }
  return new RedisEphemeral(connection, settings.keyPrefix);
}

/**
 * Opens the change feed: Redis pub/sub beside Redis short-lived state (publishing on its
 * connection, subscribed on one of its own, in place before this resolves), else one process's.
 */
export async function openChangeFeed(settings: RedisSettings | undefined, ephemeral: EphemeralStore | undefined, logger: Logger): Promise<ChangeFeed> {
  if (!redisConfigured(settings) || !(ephemeral instanceof RedisEphemeral)) return new LocalChangeFeed();
  const subscriber = await openRedisConnection(settings, { purpose: 'subscriber', log: logger });
  const feed = new RedisChangeFeed(ephemeral.redis, subscriber, logger, { keyPrefix: settings.keyPrefix });
  try {
    await feed.ready();
  } catch (error) {
    await feed.close();
    throw error;
  }
  return feed;
}
