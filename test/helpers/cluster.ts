import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { openChangeFeed, openEphemeral, openStore } from '../../adapters/index.js';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import type { ChangeFeed } from '../../adapters/change-feed.js';
import { RedisChangeFeed } from '../../adapters/redis/change-feed.js';
import type { Store } from '../../adapters/store.js';
import { loadConfig } from '../../config/load.js';
import type { ConfigInput } from '../../config/schema.js';
import { bootstrapAdmin } from '../../src/admin/bootstrap.js';
import { createAppContext, type AppContext } from '../../src/app-context.js';
import { ensureSystemTenant } from '../../src/seed.js';
import { startServer, type Gatehouse } from '../../src/server.js';
import { startBalancer, type Balancer } from './balancer.js';
import { freePort, type TestGatehouse } from './gatehouse.js';

export interface ClusterInstance {
  app: AppContext;
  server: Gatehouse;
  /** this instance's own Redis connections (with `redisUrl`): the subscriber is the feed's */
  redis?: { publisher: Redis; subscriber: Redis };
  /** the instance addressed directly, bypassing the balancer (its URLs are still the public ones) */
  direct: TestGatehouse;
}

export interface Cluster {
  instances: ClusterInstance[];
  store: Store;
  balancer: Balancer;
  /** the balanced entry point, as a `TestGatehouse` for the existing helpers (`app` is instance 0's) */
  gh: TestGatehouse;
  /** Stops instance `index` and starts a fresh one (nothing kept in memory) on its port. */
  restart(index: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * N Gatehouse instances in one test process that share nothing in memory but the durable store's
 * handle (separate AppContexts, pools and caches) and, with `redisUrl`, one real Redis for the
 * change feed, behind a round-robin balancer whose origin is every instance's public URL. The
 * short-lived state is the store-backed default, shared through the one store object.
 */
export async function startCluster(
  options: {
    size?: number;
    redisUrl?: string;
    /**
     * With `redisUrl`: `redis` opens short-lived state and the change feed on it exactly as a start
     * does (`openEphemeral`, `openChangeFeed`); `store` (the default) keeps short-lived state in the
     * shared store and opens only the feed's connections here, which tests then cut.
     */
    shortLived?: 'store' | 'redis';
    overrides?: ConfigInput;
    wrapStore?: (store: Store) => Store;
  } = {},
): Promise<Cluster> {
  const size = options.size ?? 3;
  const balancerPort = await freePort();
  const publicUrl = `http://127.0.0.1:${balancerPort}`;
  const masterKey = randomBytes(32);
  const opened = await openStore({ kind: 'memory', dataDir: '.', mongodb: { database: 'unused' } });
  const store = options.wrapStore ? options.wrapStore(opened) : opened;
  const instances: ClusterInstance[] = [];
  const balancer = await startBalancer(balancerPort, () => instances.map((instance) => instance.server.url));
  const startInstance = async (index: number, port: number): Promise<ClusterInstance> => {
    const config = loadConfig({
      env: { NODE_ENV: 'test' },
      overrides: {
        publicUrl,
        host: '127.0.0.1',
        port,
        store: { kind: 'memory' },
        masterKey: masterKey.toString('base64'),
        log: { level: 'silent' },
        http: { shutdownGraceMs: 500 },
        ...(options.redisUrl && options.shortLived === 'redis' ? { redis: { url: options.redisUrl } } : {}),
        ...options.overrides,
      },
    });
    const logger = pino({ level: process.env['GATEHOUSE_TEST_LOG'] ?? 'silent' }).child({ instance: index });
    let feed: ChangeFeed | undefined;
    let ephemeral: EphemeralStore | undefined;
    let redis: ClusterInstance['redis'];
    if (options.redisUrl && options.shortLived === 'redis') {
      ephemeral = await openEphemeral(config.redis, logger);
      feed = await openChangeFeed(config.redis, ephemeral, logger);
    } else if (options.redisUrl) {
      // Commands fail at once while Redis is down, as the real client factory's bounded timeouts make them.
      redis = { publisher: new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }), subscriber: new Redis(options.redisUrl) };
      redis.publisher.on('error', () => undefined);
      const redisFeed = new RedisChangeFeed(redis.publisher, redis.subscriber, logger, { keyPrefix: 'gatehouse:' });
      await redisFeed.ready();
      feed = redisFeed;
    }
    const app = createAppContext(config, logger, store, masterKey, undefined, ephemeral, feed);
    if (index === 0 && !instances[0]) {
      await ensureSystemTenant(app);
      await bootstrapAdmin(app);
    }
    const server = await startServer(app, { host: '127.0.0.1', port });
    const direct: TestGatehouse = { app, gatehouse: server, demo: null, stop: () => server.close(), drain: () => server.drain(), origin: server.url, issuer: (tenant) => `${publicUrl}/t/${tenant}` };
    return { app, server, ...(redis ? { redis } : {}), direct };
  };
  const stopInstance = async (instance: ClusterInstance) => {
    await instance.server.close();
    await instance.app.changes.close();
    if (instance.app.ephemeral.kind === 'redis') await instance.app.ephemeral.close();
    instance.redis?.publisher.disconnect();
    instance.redis?.subscriber.disconnect();
  };
  for (let index = 0; index < size; index += 1) instances.push(await startInstance(index, await freePort()));
  const first = instances[0]!;
  return {
    instances,
    store,
    balancer,
    gh: { app: first.app, gatehouse: first.server, demo: null, stop: async () => undefined, drain: async () => undefined, origin: publicUrl, issuer: (tenant) => `${publicUrl}/t/${tenant}` },
    async restart(index) {
      const old = instances[index]!;
      const port = Number(new URL(old.server.url).port);
      await stopInstance(old);
      // A new process in all but name: a new context, pool and caches, on the same port.
      instances[index] = await startInstance(index, port);
    },
    async close() {
      await balancer.close();
      for (const instance of instances) await stopInstance(instance);
      await opened.close();
    },
  };
}

/** A client-credentials grant sent straight to one instance (no balancer): the HTTP status. */
export async function clientCredentialsStatus(instance: ClusterInstance, tenant: string, clientId: string, secret: string): Promise<number> {
  const response = await fetch(`${instance.server.url}/t/${tenant}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  await response.arrayBuffer();
  return response.status;
}

/** {@link clientCredentialsStatus} on every instance at once, in instance order. */
export function clientCredentialsEverywhere(cluster: Cluster, tenant: string, clientId: string, secret: string): Promise<number[]> {
  return Promise.all(cluster.instances.map((instance) => clientCredentialsStatus(instance, tenant, clientId, secret)));
}
