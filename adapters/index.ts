/**
 * Opens the store the configuration asks for. The only place that knows which backends exist.
 */
import { join } from 'node:path';
import { ensureAllIndexes } from './indexes.js';
import { openMongoStore } from './mongodb.js';
import { openNedbStore } from './nedb.js';
import type { Store } from './store.js';

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
