import type { Logger } from 'pino';
import { openStore } from '../adapters/index.js';
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
  /** Drains requests, then closes the store. */
  stop(): Promise<void>;
}

/** Opens the store and builds the process-wide context (shared by `start` and admin commands). */
export interface BootOptions {
  /** epoch ms; tests pass a clock they can move */
  clock?: () => number;
}

export async function openApp(config: Config, logger: Logger, options: BootOptions = {}): Promise<AppContext> {
  const store = await openStore({ kind: config.store.kind, dataDir: config.dataDir, mongodb: config.store.mongodb });
  try {
    const master = await resolveMasterKey(config.masterKey, config.dataDir);
    if (master.generated) logger.warn({ path: master.path }, 'generated a development master key; back it up, data encrypted with it cannot be read without it');
    return createAppContext(config, logger, store, master.key, options.clock);
  } catch (error) {
    // Closing releases the file store's lock at once rather than when the process ends.
    await store.close().catch(() => undefined);
    throw error;
  }
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
        await app.changes.close();
        await app.store.close();
      },
    };
  } catch (error) {
    await app.store.close();
    throw error;
  }
}
