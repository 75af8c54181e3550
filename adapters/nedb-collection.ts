/**
 * One nedb datastore behind the {@link Collection} port.
 *
 * Every write runs under a per-collection queue. nedb already serialises its own operations, but
 * upserts (built here from {@link upsertBase}) and sparse unique indexes (checked by
 * {@link NedbIndexes}) are check-then-write sequences that must not interleave.
 */
import { randomUUID } from 'node:crypto';
import { Datastore, type RawDatastore } from './nedb-datastore.js';
import { NedbIndexes } from './nedb-indexes.js';
import { checkDocument, checkFilter, checkFindOptions, checkUpdate, upsertBase, upsertId } from './store-guard.js';
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

/**
 * The document an upsert inserts, built directly when the update only `$set`s and `$unset`s
 * top-level fields (the oidc adapter's every write); `undefined` sends other updates through nedb's
 * own semantics in a scratch datastore.
 */
function applyFlatSetUnset(base: Record<string, unknown>, update: Update): Doc | undefined {
  const operators = Object.keys(update);
  if (operators.some((operator) => operator !== '$set' && operator !== '$unset')) return undefined;
  const fields = [...Object.keys(update.$set ?? {}), ...Object.keys(update.$unset ?? {})];
  if (fields.some((field) => field.includes('.'))) return undefined;
  const doc: Record<string, unknown> = { ...base };
  for (const [field, value] of Object.entries(update.$set ?? {})) doc[field] = structuredClone(value);
  for (const field of Object.keys(update.$unset ?? {})) delete doc[field];
  return doc as Doc;
}

export class NedbCollection<T extends Doc = Doc> implements Collection<T> {
  #tail: Promise<unknown> = Promise.resolve();
  #scratch: RawDatastore | undefined;
  readonly #indexes: NedbIndexes;

  constructor(
    readonly name: string,
    private readonly db: RawDatastore,
    /** Resolves once the datafile is loaded; rejects with {@link StoreUnavailableError} otherwise. */
    private readonly ready: Promise<void>,
    private readonly assertOpen: () => void,
  ) {
    this.#indexes = new NedbIndexes(name, db);
  }

  /** Runs `task` unless the store is closed; `exclusive` tasks queue behind the collection's writes. */
  async #run<R>(task: () => Promise<R>, exclusive: boolean, doc?: Doc): Promise<R> {
    this.assertOpen();
    return this.#exec(task, exclusive, doc);
  }

  /** Runs `task` when the datafile is loaded, translating nedb's failures into the port's errors. */
  async #exec<R>(task: () => Promise<R>, exclusive: boolean, doc?: Doc): Promise<R> {
    await this.ready;
    const guarded = async () => {
      try {
        return await task();
      } catch (error) {
        throw this.#translate(error, doc);
      }
    };
    if (!exclusive) return guarded();
    const result = this.#tail.then(guarded);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  #translate(error: unknown, doc?: Doc): unknown {
    const err = error as { errorType?: unknown; key?: unknown; code?: unknown } | undefined;
    if (err?.errorType === 'uniqueViolated') return new DuplicateKeyError(this.name, this.#indexes.violatedFields(err.key, doc));
    // Node system errors (ENOSPC, EACCES, EIO...) mean the disk, not the caller, failed.
    if (typeof err?.code === 'string' && error instanceof Error) {
      return new StoreUnavailableError(`nedb ${this.name}: ${error.message}`, { cause: error });
    }
    return error;
  }

  /** Resolves when queued writes are done (used by close). */
  async idle(): Promise<void> {
    await this.#tail;
  }

  /** Applies `update` to copies of `docs` in a scratch in-memory datastore: nedb's own semantics, nothing stored. */
  async #preview(docs: Record<string, unknown>[], update: Update): Promise<Doc[]> {
    this.#scratch ??= new Datastore({ inMemoryOnly: true });
    await this.#scratch.insertAsync(docs);
    try {
      const { affectedDocuments } = await this.#scratch.updateAsync({}, update, { multi: true, returnUpdatedDocs: true });
      return (affectedDocuments ?? []) as unknown as Doc[];
    } finally {
      await this.#scratch.removeAsync({}, { multi: true });
    }
  }

  async #checkUpdate(befores: Doc[], update: Update): Promise<void> {
    if (!this.#indexes.checksWrites || befores.length === 0) return;
    await this.#indexes.checkUpdate(befores, await this.#preview(befores, update));
  }

  async findOne(filter: Filter): Promise<T | null> {
    checkFilter(this.name, filter);
    return this.#run(async () => ((await this.db.findOneAsync(filter)) as unknown as T | null) ?? null, false);
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    checkFilter(this.name, filter);
    checkFindOptions(this.name, options);
    // nedb and MongoDB both read limit 0 as "no limit"; the port means "nothing".
    if (options.limit === 0) return [];
    return this.#run(async () => {
      let cursor = this.db.findAsync(filter);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit) cursor = cursor.limit(options.limit);
      return (await cursor) as unknown as T[];
    }, false);
  }

  async count(filter: Filter): Promise<number> {
    checkFilter(this.name, filter);
    return this.#run(async () => (await this.db.countAsync(filter)) as unknown as number, false);
  }

  async insertOne(doc: T): Promise<void> {
    checkDocument(this.name, doc);
    await this.#run(async () => {
      await this.#indexes.checkInsert(doc);
      await this.db.insertAsync(doc);
    }, true, doc);
  }

  async updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    checkFilter(this.name, filter);
    checkUpdate(this.name, update);
    return this.#run(async () => {
      if (!this.#indexes.checksWrites) {
        // No check-then-write index: nedb matches and updates in one step of its executor.
        const { numAffected } = await this.db.updateAsync(filter, update, { multi: false });
        if (numAffected > 0) return { matched: numAffected, upserted: false };
      } else {
        const before = (await this.db.findOneAsync(filter)) as unknown as Doc | null;
        if (before) {
          await this.#checkUpdate([before], update);
          // By _id: the document checked is the one changed, whatever order nedb walks its candidates in.
          const { numAffected } = await this.db.updateAsync({ _id: before._id }, update, {});
          return { matched: numAffected, upserted: false };
        }
      }
      if (!options.upsert) return { matched: 0, upserted: false };
      await this.#insertUpserted(filter, update);
      return { matched: 0, upserted: true };
    }, true);
  }

  /** Inserts what an upsert of `filter` + `update` creates when nothing matched; the caller holds the write lock. */
  async #insertUpserted(filter: Filter, update: Update): Promise<Doc> {
    const base = { ...upsertBase(filter), _id: upsertId(this.name, filter) ?? randomUUID() };
    const doc = applyFlatSetUnset(base, update) ?? (await this.#preview([base], update))[0];
    checkDocument(this.name, doc);
    await this.#indexes.checkInsert(doc!);
    await this.db.insertAsync(doc!);
    return doc!;
  }

  async updateMany(filter: Filter, update: Update): Promise<number> {
    checkFilter(this.name, filter);
    checkUpdate(this.name, update);
    return this.#run(async () => {
      if (!this.#indexes.checksWrites) return (await this.db.updateAsync(filter, update, { multi: true })).numAffected;
      const befores = (await this.db.findAsync(filter)) as unknown as Doc[];
      await this.#checkUpdate(befores, update);
      const ids = befores.map((doc) => doc._id);
      return (await this.db.updateAsync({ _id: { $in: ids } }, update, { multi: true })).numAffected;
    }, true);
  }

  async findOneAndUpdate(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<T | null> {
    checkFilter(this.name, filter);
    checkUpdate(this.name, update);
    return this.#run(async () => {
      let target: Filter = filter;
      if (this.#indexes.checksWrites) {
        const before = (await this.db.findOneAsync(filter)) as unknown as Doc | null;
        if (!before) return options.upsert ? ((await this.#insertUpserted(filter, update)) as T) : null;
        await this.#checkUpdate([before], update);
        target = { _id: before._id };
      }
      // One nedb update: match and modify happen in one step of its executor.
      const result = await this.db.updateAsync(target, update, { multi: false, returnUpdatedDocs: true });
      const updated = (result.affectedDocuments as unknown as T | undefined) ?? null;
      // Inside the write lock, so no other writer can insert between the miss and the insert.
      if (!updated && options.upsert) return (await this.#insertUpserted(filter, update)) as T;
      return updated;
    }, true);
  }

  async deleteOne(filter: Filter): Promise<number> {
    checkFilter(this.name, filter);
    return this.#run(() => this.db.removeAsync(filter, { multi: false }), true);
  }

  async deleteMany(filter: Filter): Promise<number> {
    checkFilter(this.name, filter);
    return this.#run(() => this.db.removeAsync(filter, { multi: true }), true);
  }

  /** Creates the indexes (see {@link NedbIndexes.ensure}). */
  async ensureIndexes(specs: IndexSpec[]): Promise<void> {
    await this.#run(() => this.#indexes.ensure(specs), true);
  }

  /** Removes documents past their TTL date; also runs while the store closes. */
  async sweepExpired(now = new Date()): Promise<void> {
    await this.#exec(() => this.#indexes.sweepExpired(now), true);
  }

  /** Rewrites the append-only datafile (file stores only); also runs while the store closes. */
  async compact(): Promise<void> {
    await this.#exec(() => this.db.compactDatafileAsync(), true);
  }
}
