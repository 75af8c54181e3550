/**
 * One MongoDB collection behind the {@link Collection} port, with the error and index mappings.
 * Input is validated by the same rules as nedb (`store-guard.ts`) so both backends accept the same calls.
 */
import { randomUUID } from 'node:crypto';
import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection as RawCollection,
  type Filter as MongoFilter,
  type IndexDescription,
  type UpdateFilter,
} from 'mongodb';
import { checkDocument, checkFilter, checkFindOptions, checkIndexSpec, checkUpdate, upsertId } from './store-guard.js';
import {
  DuplicateKeyError,
  StoreUnavailableError,
  type Collection,
  type Doc,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type Update,
  type UpdateResult,
} from './store.js';

const duplicateCodes = new Set([11000, 11001, 12582]);
// Server answers that mean "not now" rather than "wrong request": shutdown, elections, unreachable hosts.
const unavailableCodes = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/** Maps driver errors onto the port: 11000 → duplicate key, connectivity → unavailable, the rest as is. */
export function translateMongoError(collection: string, error: unknown): unknown {
  if (error instanceof MongoServerError && duplicateCodes.has(Number(error.code))) {
    const pattern: unknown = error.keyPattern;
    // Older servers only name the index in the message: `index: tenant_1_email_1 dup key`.
    const indexName = /index: (\S+) dup key/.exec(error.message)?.[1];
    const key =
      pattern && typeof pattern === 'object' ? Object.keys(pattern).join(',') : indexName?.replace(/_-?1(_|$)/g, ',').replace(/,$/, '');
    return new DuplicateKeyError(collection, key || undefined);
  }
  const unavailable =
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoOperationTimeoutError ||
    (error instanceof MongoServerError && unavailableCodes.has(Number(error.code))) ||
    (error instanceof MongoError && error.hasErrorLabel('RetryableWriteError'));
  if (unavailable) return new StoreUnavailableError(`MongoDB ${collection}: ${(error as Error).message}`, { cause: error });
  return error;
}

/** Sparse compound indexes become partial ones: Mongo's `sparse` keeps a document that has *any* field. */
export function toIndexDescription(spec: IndexSpec): IndexDescription {
  const description: IndexDescription = { key: Object.fromEntries(spec.fields.map((field) => [field, 1 as const])) };
  if (spec.unique) description.unique = true;
  if (spec.ttl) description.expireAfterSeconds = 0;
  if (spec.sparse && spec.fields.length === 1) description.sparse = true;
  if (spec.sparse && spec.fields.length > 1) {
    description.partialFilterExpression = Object.fromEntries(spec.fields.map((field) => [field, { $exists: true }]));
  }
  return description;
}

/** The port over one driver collection; `assertOpen` throws once the store is closed. */
export class MongoCollection<T extends Doc> implements Collection<T> {
  constructor(
    readonly name: string,
    private readonly raw: RawCollection<Doc>,
    private readonly assertOpen: () => void,
  ) {}

  async #run<R>(task: () => Promise<R>): Promise<R> {
    this.assertOpen();
    try {
      return await task();
    } catch (error) {
      throw translateMongoError(this.name, error);
    }
  }

  #filter(filter: Filter): MongoFilter<Doc> {
    checkFilter(this.name, filter);
    return filter as MongoFilter<Doc>;
  }

  #update(update: Update): UpdateFilter<Doc> {
    checkUpdate(this.name, update);
    return update as UpdateFilter<Doc>;
  }

  async findOne(filter: Filter): Promise<T | null> {
    const query = this.#filter(filter);
    return this.#run(async () => (await this.raw.findOne(query)) as T | null);
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    const query = this.#filter(filter);
    checkFindOptions(this.name, options);
    if (options.limit === 0) return []; // Mongo reads 0 as "no limit"; the port means "nothing"
    const { sort, skip, limit } = options;
    return this.#run(async () => (await this.raw.find(query, { sort, skip, limit }).toArray()) as T[]);
  }

  async count(filter: Filter): Promise<number> {
    const query = this.#filter(filter);
    return this.#run(() => this.raw.countDocuments(query));
  }

  async insertOne(doc: T): Promise<void> {
    checkDocument(this.name, doc);
    await this.#run(() => this.raw.insertOne(doc));
  }

  async updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    const query = this.#filter(filter);
    let modifier = this.#update(update);
    // Without a string _id in the filter Mongo would insert an ObjectId; the port's ids are strings.
    if (options.upsert && upsertId(this.name, filter) === undefined) modifier = { ...modifier, $setOnInsert: { _id: randomUUID() } };
    const result = await this.#run(() => this.raw.updateOne(query, modifier, { upsert: options.upsert === true }));
    return { matched: result.matchedCount, upserted: result.upsertedCount > 0 };
  }

  async updateMany(filter: Filter, update: Update): Promise<number> {
    const query = this.#filter(filter);
    const modifier = this.#update(update);
    return (await this.#run(() => this.raw.updateMany(query, modifier))).matchedCount;
  }

  async findOneAndUpdate(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<T | null> {
    const query = this.#filter(filter);
    let modifier = this.#update(update);
    if (options.upsert && upsertId(this.name, filter) === undefined) modifier = { ...modifier, $setOnInsert: { _id: randomUUID() } };
    // findAndModify is atomic on the server: of two racing callers only one matches (and, with
    // upsert on an _id, the server retries the loser of a racing insert as an update).
    return this.#run(
      async () =>
        (await this.raw.findOneAndUpdate(query, modifier, { returnDocument: 'after', includeResultMetadata: false, upsert: options.upsert === true })) as T | null,
    );
  }

  async deleteOne(filter: Filter): Promise<number> {
    const query = this.#filter(filter);
    return (await this.#run(() => this.raw.deleteOne(query))).deletedCount;
  }

  async deleteMany(filter: Filter): Promise<number> {
    const query = this.#filter(filter);
    return (await this.#run(() => this.raw.deleteMany(query))).deletedCount;
  }

  async ensureIndexes(specs: IndexSpec[]): Promise<void> {
    for (const spec of specs) checkIndexSpec(this.name, spec);
    if (specs.length > 0) await this.#run(() => this.raw.createIndexes(specs.map(toIndexDescription)));
  }
}
