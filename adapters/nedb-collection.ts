/**
 * One nedb datastore behind the {@link Collection} port.
 *
 * Every write runs under a per-collection queue. nedb already serialises its own operations, but
 * upserts (built here from {@link upsertBase}) and the compound sparse unique indexes
 * ({@link PartialUniqueIndex}) are check-then-write sequences that must not interleave.
 */
import { randomUUID } from 'node:crypto';
import * as nedb from '@seald-io/nedb';
import { PartialUniqueIndex, violatedFields } from './nedb-unique.js';
import { checkDocument, checkFilter, checkFindOptions, checkIndexSpec, checkUpdate, upsertBase, upsertId } from './store-guard.js';
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

// The package is CommonJS (`module.exports = Datastore`) but its typings declare `export default`, so
// under NodeNext the checker expects the class one `.default` deeper than Node puts it.
export const Datastore = nedb.default as unknown as typeof nedb.default.default;
export type RawDatastore = nedb.default<Record<string, unknown>>;

export class NedbCollection<T extends Doc = Doc> implements Collection<T> {
  #tail: Promise<unknown> = Promise.resolve();
  #scratch: RawDatastore | undefined;
  readonly #partialUniques: PartialUniqueIndex[] = [];
  readonly #ttlFields = new Set<string>();
  /** Native single-field unique indexes, to name the field nedb's error leaves out. */
  readonly #uniqueFields = new Set<string>();

  constructor(
    readonly name: string,
    private readonly db: RawDatastore,
    /** Resolves once the datafile is loaded; rejects with {@link StoreUnavailableError} otherwise. */
    private readonly ready: Promise<void>,
    private readonly assertOpen: () => void,
  ) {}

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
    if (err?.errorType === 'uniqueViolated') return new DuplicateKeyError(this.name, violatedFields(err.key, this.#uniqueFields, doc));
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

  async #checkPartialUniques(befores: Doc[], update: Update): Promise<void> {
    if (this.#partialUniques.length === 0 || befores.length === 0) return;
    const afters = await this.#preview(befores, update);
    for (const index of this.#partialUniques) await index.checkUpdate(this.db, befores, afters);
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
      for (const index of this.#partialUniques) await index.checkInsert(this.db, doc);
      await this.db.insertAsync(doc);
    }, true, doc);
  }

  async updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    checkFilter(this.name, filter);
    checkUpdate(this.name, update);
    return this.#run(async () => {
      const before = (await this.db.findOneAsync(filter)) as unknown as Doc | null;
      if (before) {
        await this.#checkPartialUniques([before], update);
        // By _id: the document checked is the one changed, whatever order nedb walks its candidates in.
        const { numAffected } = await this.db.updateAsync({ _id: before._id }, update, {});
        return { matched: numAffected, upserted: false };
      }
      if (!options.upsert) return { matched: 0, upserted: false };
      const base = { ...upsertBase(filter), _id: upsertId(this.name, filter) ?? randomUUID() };
      const [doc] = await this.#preview([base], update);
      checkDocument(this.name, doc);
      for (const index of this.#partialUniques) await index.checkInsert(this.db, doc);
      await this.db.insertAsync(doc);
      return { matched: 0, upserted: true };
    }, true);
  }

  async updateMany(filter: Filter, update: Update): Promise<number> {
    checkFilter(this.name, filter);
    checkUpdate(this.name, update);
    return this.#run(async () => {
      if (this.#partialUniques.length === 0) return (await this.db.updateAsync(filter, update, { multi: true })).numAffected;
      const befores = (await this.db.findAsync(filter)) as unknown as Doc[];
      await this.#checkPartialUniques(befores, update);
      const ids = befores.map((doc) => doc._id);
      return (await this.db.updateAsync({ _id: { $in: ids } }, update, { multi: true })).numAffected;
    }, true);
  }

  async findOneAndUpdate(filter: Filter, update: Update): Promise<T | null> {
    checkFilter(this.name, filter);
    checkUpdate(this.name, update);
    return this.#run(async () => {
      let target: Filter = filter;
      if (this.#partialUniques.length > 0) {
        const before = (await this.db.findOneAsync(filter)) as unknown as Doc | null;
        if (!before) return null;
        await this.#checkPartialUniques([before], update);
        target = { _id: before._id };
      }
      // One nedb update: match and modify happen in one step of its executor.
      const result = await this.db.updateAsync(target, update, { multi: false, returnUpdatedDocs: true });
      return (result.affectedDocuments as unknown as T | undefined) ?? null;
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

  /**
   * Creates nedb indexes. nedb never gets `sparse`: its sparse check (`Object.values(key)` all
   * undefined) also drops Dates and empty arrays from the index, so queries through it miss them.
   * Sparse unique indexes are enforced by {@link PartialUniqueIndex} over a plain lookup index.
   */
  async ensureIndexes(specs: IndexSpec[]): Promise<void> {
    for (const spec of specs) checkIndexSpec(this.name, spec);
    await this.#run(async () => {
      for (const { fields, unique = false, sparse = false, ttl = false } of specs) {
        const fieldName = fields.length === 1 ? (fields[0] as string) : [...fields];
        if (ttl) {
          await this.db.ensureIndexAsync({ fieldName, expireAfterSeconds: 0 });
          this.#ttlFields.add(fields[0] as string);
        } else if (unique && sparse) {
          const index = new PartialUniqueIndex(this.name, fields);
          await index.checkExisting(this.db);
          await this.db.ensureIndexAsync({ fieldName });
          if (!this.#partialUniques.some((known) => known.fields.join() === fields.join())) this.#partialUniques.push(index);
        } else {
          await this.db.ensureIndexAsync({ fieldName, unique });
          if (unique && fields.length === 1) this.#uniqueFields.add(fields[0] as string);
        }
      }
    }, true);
  }

  /**
   * Removes documents whose TTL date has passed: nedb itself only drops them when a read meets them,
   * so without this a session nobody looks up again would stay in the datafile for ever.
   */
  async sweepExpired(now = new Date()): Promise<void> {
    if (this.#ttlFields.size === 0) return;
    await this.#exec(async () => {
      for (const field of this.#ttlFields) await this.db.removeAsync({ [field]: { $lt: now } }, { multi: true });
    }, true);
  }

  /** Rewrites the append-only datafile (file stores only); also runs while the store closes. */
  async compact(): Promise<void> {
    await this.#exec(() => this.db.compactDatafileAsync(), true);
  }
}
