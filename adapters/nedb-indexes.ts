/**
 * The index bookkeeping of one nedb datastore: what nedb builds natively, what is enforced here
 * ({@link PartialUniqueIndex}), which fields are TTL dates, and naming the fields of a violation.
 */
import type { RawDatastore } from './nedb-datastore.js';
import { PartialUniqueIndex, valueAt } from './nedb-unique.js';
import { checkIndexSpec, isPlainObject } from './store-guard.js';
import type { Doc, IndexSpec } from './store.js';

export class NedbIndexes {
  readonly #partialUniques: PartialUniqueIndex[] = [];
  readonly #ttlFields = new Set<string>();
  /** Native single-field unique indexes, to name the field nedb's error leaves out. */
  readonly #uniqueFields = new Set<string>();

  constructor(
    private readonly collection: string,
    private readonly db: RawDatastore,
  ) {}

  /** True when writes must be checked before they are made (some sparse unique index exists). */
  get checksWrites(): boolean {
    return this.#partialUniques.length > 0;
  }

  /**
   * Creates the indexes. nedb never gets `sparse`: its sparse check (`Object.values(key)` all
   * undefined) also drops Dates and empty arrays from the index, so queries through it miss them.
   * Sparse unique indexes are enforced by {@link PartialUniqueIndex} over a plain lookup index.
   * The caller holds the collection's write lock.
   */
  async ensure(specs: IndexSpec[]): Promise<void> {
    for (const spec of specs) checkIndexSpec(this.collection, spec);
    for (const { fields, unique = false, sparse = false, ttl = false } of specs) {
      const fieldName = fields.length === 1 ? (fields[0] as string) : [...fields];
      if (ttl) {
        await this.db.ensureIndexAsync({ fieldName, expireAfterSeconds: 0 });
        this.#ttlFields.add(fields[0] as string);
      } else if (unique && sparse) {
        const index = new PartialUniqueIndex(this.collection, fields);
        await index.checkExisting(this.db);
        // One native index per field: nedb's compound index would hide documents whose field is an array.
        for (const field of fields) await this.db.ensureIndexAsync({ fieldName: field });
        if (!this.#partialUniques.some((known) => known.fields.join() === fields.join())) this.#partialUniques.push(index);
      } else {
        await this.db.ensureIndexAsync({ fieldName, unique });
        if (unique && fields.length === 1) this.#uniqueFields.add(fields[0] as string);
      }
    }
  }

  async checkInsert(doc: Doc): Promise<void> {
    for (const index of this.#partialUniques) await index.checkInsert(this.db, doc);
  }

  /** `afters` are the `befores` as the update would leave them. */
  async checkUpdate(befores: Doc[], afters: Doc[]): Promise<void> {
    for (const index of this.#partialUniques) await index.checkUpdate(this.db, befores, afters);
  }

  /**
   * Removes documents whose TTL date has passed: nedb itself only drops them when a read meets them,
   * so without this a session nobody looks up again would stay in the datafile for ever.
   */
  async sweepExpired(now: Date): Promise<void> {
    for (const field of this.#ttlFields) await this.db.removeAsync({ [field]: { $lt: now } }, { multi: true });
  }

  /**
   * Names the fields of a native unique index nedb reports as violated. Its error carries the key's
   * values only: an object of field values for a compound index, the bare value otherwise.
   */
  violatedFields(key: unknown, doc?: Doc): string | undefined {
    if (isPlainObject(key)) return Object.keys(key).join(',');
    const same = (value: unknown) => value === key || (value instanceof Date && key instanceof Date && value.getTime() === key.getTime());
    // An update cannot change _id, so without the inserted document only the other indexes are candidates.
    const fields = [...this.#uniqueFields];
    const candidates = doc ? ['_id', ...fields].filter((field) => same(valueAt(doc, field))) : fields;
    return candidates.length === 1 ? candidates[0] : undefined;
  }
}
