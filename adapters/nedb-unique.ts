/**
 * Sparse unique indexes, which nedb gets wrong twice: it leaves a document out of a sparse compound
 * index only when *every* field is missing (so `unique sparse [tenant, email]` would make two
 * e-mail-less users of one tenant collide), and it leaves Dates out of any sparse index. Here a
 * document takes part when all fields are present, which is what `mongodb.ts` builds (`sparse`
 * for one field, a partial index on `$exists: true` per field for several).
 *
 * An array value makes the index multikey, as in MongoDB: the document takes part once per element
 * (with the other fields), repeats inside one document are fine, an element held by another
 * document is a violation, and an empty array takes part as one value of its own. nedb's native
 * compound index does none of this (it indexes the array as one value, and a query for an element
 * then finds nothing), so these indexes get single-field native indexes for lookups instead.
 *
 * Not atomic on its own: callers hold the collection's write lock, so no other write of this
 * process runs between the check and the write (nedb is single-process anyway).
 */
import type { RawDatastore } from './nedb-datastore.js';
import { DuplicateKeyError, type Doc } from './store.js';

/** Reads a dotted path through nested objects (not through arrays; the value itself may be one). */
export function valueAt(doc: Record<string, unknown>, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Stands for an empty array in a key (MongoDB indexes `[]` as one value, `undefined`). */
const EMPTY = Symbol('empty array');
type KeyValue = unknown;

function keyString(values: KeyValue[]): string {
  return JSON.stringify(values.map((value) => (value === EMPTY ? { $empty: true } : value instanceof Date ? { $date: value.getTime() } : value)));
}

/** The keys a document's values make: one per array element (two arrays cannot be indexed together). */
function expand(collection: string, values: unknown[]): KeyValue[][] {
  const arrays = values.filter((value) => Array.isArray(value));
  if (arrays.length > 1) throw new Error(`${collection}: cannot index two array fields in one index (MongoDB refuses parallel arrays too)`);
  const at = values.findIndex((value) => Array.isArray(value));
  if (at < 0) return [values];
  const elements = values[at] as unknown[];
  if (elements.length === 0) return [values.map((value, i) => (i === at ? EMPTY : value))];
  const keys = new Map<string, KeyValue[]>();
  for (const element of elements) {
    const key = values.map((value, i) => (i === at ? element : value));
    keys.set(keyString(key), key);
  }
  return [...keys.values()];
}

export class PartialUniqueIndex {
  constructor(
    readonly collection: string,
    readonly fields: readonly string[],
  ) {}

  /** The document's keys, or `undefined` when a field is missing and the document is not indexed. */
  keysOf(doc: Record<string, unknown>): KeyValue[][] | undefined {
    const values = this.fields.map((field) => valueAt(doc, field));
    return values.some((value) => value === undefined) ? undefined : expand(this.collection, values);
  }

  private duplicate(): DuplicateKeyError {
    return new DuplicateKeyError(this.collection, this.fields.join(','));
  }

  /** Whether a document other than `exceptIds` has `key` (nedb, like MongoDB, matches a scalar against array elements). */
  private async taken(db: RawDatastore, key: KeyValue[], exceptIds: string[]): Promise<boolean> {
    const filter: Record<string, unknown> = Object.fromEntries(this.fields.map((field, i) => [field, key[i] === EMPTY ? { $size: 0 } : key[i]]));
    if (exceptIds.length > 0) filter._id = { $nin: exceptIds };
    return ((await db.countAsync(filter)) as unknown as number) > 0;
  }

  async checkInsert(db: RawDatastore, doc: Doc): Promise<void> {
    for (const key of this.keysOf(doc) ?? []) if (await this.taken(db, key, [])) throw this.duplicate();
  }

  /** `afters` are the `befores` as an update would leave them (matched by `_id`). */
  async checkUpdate(db: RawDatastore, befores: Doc[], afters: Doc[]): Promise<void> {
    const ids = befores.map((doc) => doc._id);
    const beforeKeys = new Map(befores.map((doc) => [doc._id, new Set((this.keysOf(doc) ?? []).map(keyString))]));
    const seen = new Set<string>();
    for (const after of afters) {
      for (const key of this.keysOf(after) ?? []) {
        const text = keyString(key);
        // Two documents of one updateMany landing on the same key.
        if (seen.has(text)) throw this.duplicate();
        seen.add(text);
        // A key the document had was valid before the update and stays valid.
        if (beforeKeys.get(after._id)?.has(text)) continue;
        if (await this.taken(db, key, ids)) throw this.duplicate();
      }
    }
  }

  /** Like MongoDB's index build: refuses when the stored documents already collide. */
  async checkExisting(db: RawDatastore): Promise<void> {
    const filter = { $and: this.fields.map((field) => ({ [field]: { $exists: true } })) };
    const docs = (await db.findAsync(filter)) as unknown as Doc[];
    const seen = new Set<string>();
    for (const doc of docs) {
      for (const key of this.keysOf(doc) ?? []) {
        const text = keyString(key);
        if (seen.has(text)) throw this.duplicate();
        seen.add(text);
      }
    }
  }
}
