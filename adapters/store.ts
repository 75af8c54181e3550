/**
 * The store port: a small, Mongo-flavoured collection API that every repository in `src/domain`
 * and the oidc-provider adapter are written against, once. Each backend (`nedb` embedded, `mongodb`)
 * implements it; the adapter contract suite in `test/adapters` proves they behave alike.
 *
 * Only the subset of Mongo's query and update language listed here is part of the contract, so a
 * repository that stays inside it runs unchanged on every backend.
 *
 * Filters: equality on fields (dotted paths allowed), `$in`, `$nin`, `$ne`, `$exists`, `$lt`, `$lte`,
 * `$gt`, `$gte`, `$regex` (a RegExp), `$or`, `$and`.
 * Updates: `$set`, `$unset`, `$inc`, `$push`, `$pull`, `$addToSet`, `$setOnInsert` is NOT supported.
 */
import { BackendUnavailableError } from './unavailable.js';

export type Doc = { _id: string } & Record<string, unknown>;

/** What a collection stores: any object with a string `_id` (repositories use their own interfaces). */
export type Stored = { _id: string };

export type Filter = Record<string, unknown>;

export interface Update {
  $set?: Record<string, unknown>;
  $unset?: Record<string, true | '' | 1>;
  $inc?: Record<string, number>;
  $push?: Record<string, unknown>;
  $pull?: Record<string, unknown>;
  $addToSet?: Record<string, unknown>;
}

export type Sort = Record<string, 1 | -1>;

export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
}

export interface UpdateResult {
  /** documents that matched the filter (0 or 1 for updateOne) */
  matched: number;
  /** true when an upsert inserted a new document */
  upserted: boolean;
}

export interface IndexSpec {
  /**
   * One field, or several for a compound index. A field holding an array makes a single-field or a
   * sparse compound index multikey, as in MongoDB: one entry per element (the contract suite holds
   * every backend to this). Non-sparse compound indexes take scalar fields only.
   */
  fields: string[];
  unique?: boolean;
  /** allow many documents without the field when unique (Mongo `sparse` / partial) */
  sparse?: boolean;
  /**
   * TTL index: the field holds a Date; the document is removed once that date has passed
   * (`expireAfterSeconds: 0` semantics). Only one field.
   */
  ttl?: boolean;
}

export interface Collection<T extends Stored = Doc> {
  readonly name: string;
  findOne(filter: Filter): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  count(filter: Filter): Promise<number>;
  /** Throws {@link DuplicateKeyError} when a unique index (or `_id`) is violated. */
  insertOne(doc: T): Promise<void>;
  /**
   * Updates the first matching document. With `upsert`, inserts one built from the equality fields
   * of the filter plus the update when nothing matches. Throws {@link DuplicateKeyError} on a unique
   * index violation, leaving the stored document unchanged.
   */
  updateOne(filter: Filter, update: Update, options?: { upsert?: boolean }): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update): Promise<number>;
  /**
   * Atomically updates the first matching document and returns it as it is after the update, or
   * `null` when nothing matched. Two concurrent calls whose filter excludes the updated state
   * (e.g. `{ consumed: { $exists: false } }` + `$set: { consumed }`) see exactly one winner.
   * With `upsert`, inserts (as `updateOne` would) when nothing matched and returns the new
   * document: an atomic counter costs one round trip (`{ _id } + $inc`).
   */
  findOneAndUpdate(filter: Filter, update: Update, options?: { upsert?: boolean }): Promise<T | null>;
  /** Returns the number of deleted documents (0 or 1). */
  deleteOne(filter: Filter): Promise<number>;
  deleteMany(filter: Filter): Promise<number>;
}

export interface Store {
  /** `nedb-memory`, `nedb-file` or `mongodb` */
  readonly kind: string;
  collection<T extends Stored = Doc>(name: string): Collection<T>;
  /**
   * Creates the indexes a collection needs. The embedded store calls it at boot (indexes live in
   * memory); for MongoDB it is run by the `migrate` command, not on every start.
   */
  ensureIndexes(collection: string, indexes: IndexSpec[]): Promise<void>;
  /** Resolves when the backend answers; rejects otherwise (used by `/readyz`). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A unique index or `_id` was violated. Repositories map it to a 409 / a domain error. */
export class DuplicateKeyError extends Error {
  override readonly name = 'DuplicateKeyError';
  constructor(
    readonly collection: string,
    readonly key?: string,
  ) {
    super(`duplicate key in ${collection}${key ? ` (${key})` : ''}`);
  }
}

/** The backend could not be reached or failed; callers fail closed (503). */
export class StoreUnavailableError extends BackendUnavailableError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
