/**
 * Sparse unique indexes, which nedb gets wrong twice: it leaves a document out of a sparse compound
 * index only when *every* field is missing (so `unique sparse [tenant, email]` would make two
 * e-mail-less users of one tenant collide), and it leaves Dates out of any sparse index. Here a
 * document takes part when all fields are present, which is what `mongodb.ts` builds (`sparse`
 * for one field, a partial index on `$exists: true` per field for several).
 *
 * Not atomic on its own: callers hold the collection's write lock, so no other write of this
 * process runs between the check and the write (nedb is single-process anyway).
 */
import type { RawDatastore } from './nedb-collection.js';
import { DuplicateKeyError, type Doc } from './store.js';

/** Reads a dotted path through nested objects (not arrays: unique fields are scalars). */
export function valueAt(doc: Record<string, unknown>, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function keyString(values: unknown[]): string {
  return JSON.stringify(values.map((value) => (value instanceof Date ? { $date: value.getTime() } : value)));
}

export class PartialUniqueIndex {
  constructor(
    readonly collection: string,
    readonly fields: readonly string[],
  ) {}

  /** The indexed values, or `undefined` when a field is missing and the document is not indexed. */
  valuesOf(doc: Record<string, unknown>): unknown[] | undefined {
    const values = this.fields.map((field) => valueAt(doc, field));
    return values.some((value) => value === undefined) ? undefined : values;
  }

  private duplicate(): DuplicateKeyError {
    return new DuplicateKeyError(this.collection, this.fields.join(','));
  }

  private async taken(db: RawDatastore, values: unknown[], exceptIds: string[]): Promise<boolean> {
    const filter: Record<string, unknown> = Object.fromEntries(this.fields.map((field, i) => [field, values[i]]));
    if (exceptIds.length > 0) filter._id = { $nin: exceptIds };
    return ((await db.countAsync(filter)) as unknown as number) > 0;
  }

  async checkInsert(db: RawDatastore, doc: Doc): Promise<void> {
    const values = this.valuesOf(doc);
    if (values && (await this.taken(db, values, []))) throw this.duplicate();
  }

  /** `afters` are the `befores` as an update would leave them (matched by `_id`). */
  async checkUpdate(db: RawDatastore, befores: Doc[], afters: Doc[]): Promise<void> {
    const ids = befores.map((doc) => doc._id);
    const beforeKeys = new Map(befores.map((doc) => [doc._id, this.valuesOf(doc)]));
    const seen = new Set<string>();
    for (const after of afters) {
      const values = this.valuesOf(after);
      if (!values) continue;
      const key = keyString(values);
      // Two documents of one updateMany landing on the same key.
      if (seen.has(key)) throw this.duplicate();
      seen.add(key);
      const before = beforeKeys.get(after._id);
      // An unchanged key was valid before the update and stays valid.
      if (before && keyString(before) === key) continue;
      if (await this.taken(db, values, ids)) throw this.duplicate();
    }
  }

  /** Like MongoDB's index build: refuses when the stored documents already collide. */
  async checkExisting(db: RawDatastore): Promise<void> {
    const filter = { $and: this.fields.map((field) => ({ [field]: { $exists: true } })) };
    const docs = (await db.findAsync(filter)) as unknown as Doc[];
    const seen = new Set<string>();
    for (const doc of docs) {
      const values = this.valuesOf(doc);
      if (!values) continue;
      const key = keyString(values);
      if (seen.has(key)) throw this.duplicate();
      seen.add(key);
    }
  }
}
