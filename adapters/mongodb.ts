/**
 * The production store: a thin shim over the official `mongodb` driver. The port is already
 * Mongo's language, so this only connects, hands out collections (`mongodb-collection.ts`) and
 * answers ping. Indexes are built by the `migrate` command, not at boot.
 */
import { MongoClient } from 'mongodb';
import { MongoCollection } from './mongodb-collection.js';
import { checkCollectionName } from './store-guard.js';
import { StoreUnavailableError, type Collection, type Doc, type IndexSpec, type Store } from './store.js';

export { toIndexDescription, translateMongoError } from './mongodb-collection.js';

export interface MongoStoreOptions {
  /** `mongodb://` or `mongodb+srv://`; may carry credentials, so it never appears in an error. */
  uri: string;
  database: string;
  /** Shown in the server's logs and `currentOp`; `gatehouse` by default. */
  appName?: string;
}

/** The driver's message without the URI's credentials, should it ever quote them. */
function redactedMessage(error: unknown, uri: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const userinfo = /^[a-z+]+:\/\/([^@/]+)@/i.exec(uri)?.[1];
  return userinfo ? message.replaceAll(userinfo, '***') : message;
}

/**
 * Connects to MongoDB and returns the store. Fails fast ({@link StoreUnavailableError} after about
 * five seconds of server selection) when the server is down; afterwards the driver reconnects by
 * itself and operations fail with {@link StoreUnavailableError} while it cannot.
 */
export async function openMongoStore(options: MongoStoreOptions): Promise<Store> {
  let client: MongoClient;
  try {
    client = new MongoClient(options.uri, {
      appName: options.appName ?? 'gatehouse',
      serverSelectionTimeoutMS: 5_000,
      // Drop undefined fields like nedb does, instead of storing null (and never widen a filter).
      ignoreUndefined: true,
    });
  } catch (error) {
    throw new Error(`the MongoDB connection string is invalid: ${redactedMessage(error, options.uri)}`);
  }
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new StoreUnavailableError(`cannot reach MongoDB: ${redactedMessage(error, options.uri)}`, { cause: error });
  }

  const db = client.db(options.database);
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new StoreUnavailableError('the store is closed');
  };
  const collections = new Map<string, MongoCollection<Doc>>();
  const open = (name: string): MongoCollection<Doc> => {
    let collection = collections.get(name);
    if (!collection) {
      checkCollectionName(name);
      collection = new MongoCollection(name, db.collection<Doc>(name), assertOpen);
      collections.set(name, collection);
    }
    return collection;
  };

  return {
    kind: 'mongodb',
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
      try {
        await db.command({ ping: 1 });
      } catch (error) {
        throw new StoreUnavailableError(`MongoDB ping failed: ${(error as Error).message}`, { cause: error });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}
