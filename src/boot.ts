import type { Logger } from 'pino';
import type { EphemeralStore } from '../adapters/ephemeral.js';
import type { ChangeFeed } from '../adapters/change-feed.js';
import { openChangeFeed, openEphemeral, openStore } from '../adapters/index.js';
import { redisConfigured, type RedisSettings } from '../adapters/redis/client.js';
import type { Config } from '../config/schema.js';
import { createAppContext, type AppContext } from './app-context.js';
import { resolveMasterKey } from './domain/master-key.js';
import { bootstrapAdmin } from './admin/bootstrap.js';
import { backfillIdentifierKeys, ensureSystemTenant, seedDemo } from './seed.js';
import { startServer, type Gatehouse } from './server.js';

export interface Running {
  app: AppContext;
  gatehouse: Gatehouse;
  demo: { username: string; password: string } | null;
  /** Closes the server (in-flight requests finish within the grace period), then short-lived state and the store. */
  stop(): Promise<void>;
  /** SIGTERM: readiness red first, requests served for `http.drainDelayMs`, then {@link stop}. */
  drain(): Promise<void>;
}

/** Opens the store and builds the process-wide context (shared by `start` and admin commands). */
export interface BootOptions {
  /** epoch ms; tests pass a clock they can move */
  clock?: () => number;
}

/**
 * What a start should say about the deployment's shape. MongoDB is how several instances share a
 * store, and they also need Redis: without it each keeps its own caches (a client secret rotated on
 * one is accepted by the others until they refresh) and there is no change feed between them.
 */
export function startupWarnings(config: { env: string; store: { kind: string }; redis: Pick<RedisSettings, 'url' | 'sentinel' | 'cluster'> }): string[] {
  if (config.env !== 'production' || config.store.kind !== 'mongodb' || redisConfigured(config.redis)) return [];
  return [
    'store.kind is mongodb but no Redis is configured: fine for one instance, but several instances need Redis ' +
      '(GATEHOUSE_REDIS_URL) for shared short-lived state and the change feed that tells every instance about changes at once',
  ];
}

export async function openApp(config: Config, logger: Logger, options: BootOptions = {}): Promise<AppContext> {
  const clock = options.clock ?? Date.now;
  const store = await openStore({ kind: config.store.kind, dataDir: config.dataDir, mongodb: config.store.mongodb });
  let ephemeral: EphemeralStore | undefined;
  let changes: ChangeFeed | undefined;
  try {
    // Without Redis the context builds short-lived state over the (timed) store itself.
    ephemeral = redisConfigured(config.redis) ? await openEphemeral(config.redis, logger) : undefined;
    changes = await openChangeFeed(config.redis, ephemeral, logger);
    for (const warning of startupWarnings(config)) logger.warn(warning);
    const master = await resolveMasterKey(config.masterKey, config.dataDir);
    if (master.generated) logger.warn({ path: master.path }, 'generated a development master key; back it up, data encrypted with it cannot be read without it');
    return createAppContext(config, logger, store, master.key, clock, ephemeral, changes);
  } catch (error) {
    await changes?.close().catch(() => undefined);
    await ephemeral?.close().catch(() => undefined);
    // Closing releases the file store's lock at once rather than when the process ends.
    await store.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Closes what `openApp` opened (short-lived state first: it may live in the store), once the work
 * requests left running (notifications) has finished its writes, or the grace period has passed.
 */
export async function closeApp(app: AppContext): Promise<void> {
  await app.outboundTrust?.close().catch(() => undefined);
  await app.background.idle(app.config.http.shutdownGraceMs);
  app.email.close?.();
  await app.changes.close().catch(() => undefined);
  await app.ephemeral.close().catch(() => undefined);
  await app.store.close();
}

/** Starts Gatehouse: store, system tenant, demo seed (development), HTTP server. */
export async function boot(config: Config, logger: Logger, options: BootOptions = {}): Promise<Running> {
  const app = await openApp(config, logger, options);
  try {
    // The embedded store builds its indexes at every start, so it can give old users their keys now;
    // MongoDB's are built by `gatehouse migrate`, which does the same after building them.
    if (app.store.kind !== 'mongodb') await backfillIdentifierKeys(app);
    await ensureSystemTenant(app);
    const bootstrap = await bootstrapAdmin(app);
    if (bootstrap.adminCreated) logger.info({ username: config.bootstrap.adminUsername }, 'created the bootstrap operator in the system tenant');
    if (bootstrap.clientCreated) logger.info({ clientId: config.bootstrap.clientId }, 'created the bootstrap service account in the system tenant');
    const demo = config.demo.seed ? await seedDemo(app) : null;
    const gatehouse = await startServer(app, { host: config.host, port: config.port });
    return {
      app,
      gatehouse,
      demo,
      async stop() {
        await gatehouse.close();
        await closeApp(app);
      },
      async drain() {
        await gatehouse.drain();
        await closeApp(app);
      },
    };
  } catch (error) {
    await closeApp(app);
    throw error;
  }
}
