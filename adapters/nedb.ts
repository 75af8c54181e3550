/**
 * The embedded store (`@seald-io/nedb`): one datafile per collection under a directory, or memory
 * only. One process owns a directory: nedb keeps every document in memory and appends to the file,
 * so a directory is locked while open (store-lock.ts) and a second opener is refused.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NedbCollection } from './nedb-collection.js';
import { Datastore, type RawDatastore } from './nedb-datastore.js';
import { checkCollectionName } from './store-guard.js';
import { lockStore, StoreLockedError, type StoreLock } from './store-lock.js';
import { StoreUnavailableError, type Collection, type Doc, type IndexSpec, type Store } from './store.js';

export interface NedbStoreOptions {
  /** Directory of the datafiles (`{dir}/{collection}.db`), created when missing; omit for memory only. */
  dir?: string;
  /** How often expired documents are removed and datafiles compacted; 10 minutes by default. */
  maintenanceIntervalMs?: number;
}

function unavailable(message: string, cause: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`${message}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

/**
 * Opens the embedded store: `nedb-file` with `dir`, `nedb-memory` without. Datafiles are loaded
 * when a collection is first used (and `ensureIndexes` at boot uses them all); a datafile that
 * cannot be read makes that collection's operations and `ping` fail with {@link StoreUnavailableError}.
 */
export async function openNedbStore(options: NedbStoreOptions): Promise<Store> {
  const { dir, maintenanceIntervalMs = 10 * 60_000 } = options;
  let lock: StoreLock | undefined;
  if (dir) {
    try {
      // Owner-only: the files hold password hashes and encrypted keys.
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await access(dir, constants.R_OK | constants.W_OK);
      lock = await lockStore(dir);
    } catch (error) {
      if (error instanceof StoreLockedError) throw error;
      throw unavailable(`cannot use the data directory ${dir}`, error);
    }
  }

  let closed = false;
  const assertOpen = () => {
    if (closed) throw new StoreUnavailableError('the store is closed');
  };
  const collections = new Map<string, { collection: NedbCollection; ready: Promise<void> }>();

  const open = (name: string): NedbCollection => {
    const known = collections.get(name);
    if (known) return known.collection;
    checkCollectionName(name);
    let db: RawDatastore;
    let ready: Promise<void>;
    if (dir) {
      db = new Datastore({ filename: join(dir, `${name}.db`), modes: { fileMode: 0o600, dirMode: 0o700 } });
      ready = db.loadDatabaseAsync().catch((error: unknown) => {
        throw unavailable(`cannot load ${name}.db`, error);
      });
      // Every operation awaits `ready` and sees the error; this only stops an unhandled rejection.
      ready.catch(() => undefined);
    } else {
      db = new Datastore({ inMemoryOnly: true });
      ready = Promise.resolve();
    }
    const collection = new NedbCollection(name, db, ready, assertOpen);
    collections.set(name, { collection, ready });
    return collection;
  };

  let maintaining = false;
  const maintain = async () => {
    if (maintaining) return;
    maintaining = true;
    try {
      for (const { collection } of collections.values()) {
        // A failure here (disk full...) resurfaces on the next write, where a caller can see it.
        await collection.sweepExpired().catch(() => undefined);
        if (dir) await collection.compact().catch(() => undefined);
      }
    } finally {
      maintaining = false;
    }
  };
  const timer = setInterval(() => void maintain(), maintenanceIntervalMs);
  timer.unref(); // never the reason the process stays alive

  return {
    kind: dir ? 'nedb-file' : 'nedb-memory',
    collection: <T extends Doc = Doc>(name: string) => {
      assertOpen();
      return open(name) as unknown as Collection<T>;
    },
    async ensureIndexes(name: string, specs: IndexSpec[]) {
      assertOpen();
      await open(name).ensureIndexes(specs);
    },
    async ping() {
      assertOpen();
      await Promise.all([...collections.values()].map(({ ready }) => ready));
      if (dir) await access(dir, constants.W_OK).catch((error: unknown) => Promise.reject(unavailable('data directory not writable', error)));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      const failures: unknown[] = [];
      for (const { collection } of collections.values()) {
        await collection.idle();
        // Compacting leaves one line per live document, so the next start loads fast.
        if (dir) await collection.compact().catch((error: unknown) => failures.push(error));
      }
      // Only now: nothing of this process writes the files any more.
      await lock?.release().catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw unavailable('closing the store failed', failures[0]);
    },
  };
}
