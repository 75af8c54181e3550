/**
 * Short-lived state over the store port: the default when no Redis is configured. On the embedded
 * store it serves one process (and survives its restarts with the file store); on MongoDB every
 * instance shares it, but only Redis brings the change feed several instances need.
 *
 * One document per key in the `ephemeral` collection: `v` (a value), `c` (counters) or `s` (a set),
 * `expiresAt`, and `rev`, a random revision rewritten by every replacing write so that a
 * conditional delete (`take`) cannot remove a value written after it was read. Expiry is checked
 * here against the clock; the TTL index only cleans up.
 */
import { randomBytes } from 'node:crypto';
import { assertCounters, assertTtl, type EphemeralStore, type EphemeralWrite } from './ephemeral.js';
import { DuplicateKeyError, type Collection, type Store } from './store.js';

interface EphemeralDoc {
  _id: string;
  v?: string;
  c?: Record<string, number>;
  s?: string[];
  rev: string;
  expiresAt: Date;
}

/** Rounds of a read-then-conditional-write before giving up (only under heavy contention on one key). */
const MAX_ROUNDS = 16;

function revision(): string {
  return randomBytes(9).toString('base64url');
}

export class StoreEphemeral implements EphemeralStore {
  readonly kind = 'store' as const;
  readonly #docs: Collection<EphemeralDoc>;

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.#docs = store.collection<EphemeralDoc>('ephemeral');
  }

  #live(doc: EphemeralDoc | null): EphemeralDoc | undefined {
    return doc && doc.expiresAt.getTime() > this.now() ? doc : undefined;
  }

  #expiry(ttlSeconds: number): Date {
    assertTtl(ttlSeconds);
    return new Date(this.now() + Math.ceil(ttlSeconds * 1000));
  }

  /**
   * Writes `fields` as the whole content of `key` unless a live document holds it; answers
   * whether it wrote. An expired document is overwritten; a live one makes the upsert's insert
   * collide on `_id`.
   */
  async #replaceIfDead(key: string, fields: Partial<EphemeralDoc>, expiresAt: Date): Promise<boolean> {
    const unset: Record<string, true> = {};
    for (const name of ['v', 'c', 's'] as const) if (!(name in fields)) unset[name] = true;
    try {
      await this.#docs.updateOne(
        { _id: key, expiresAt: { $lte: new Date(this.now()) } },
        { $set: { ...fields, rev: revision(), expiresAt }, $unset: unset },
        { upsert: true },
      );
      return true;
    } catch (error) {
      if (error instanceof DuplicateKeyError) return false;
      throw error;
    }
  }

  async get(key: string): Promise<string | undefined> {
    return this.#live(await this.#docs.findOne({ _id: key }))?.v;
  }

  async getMany(keys: string[]): Promise<Array<string | undefined>> {
    if (keys.length === 0) return [];
    const found = new Map((await this.#docs.find({ _id: { $in: keys } })).map((doc) => [doc._id, doc]));
    return keys.map((key) => this.#live(found.get(key) ?? null)?.v);
  }

  async set(key: string, value: string, options: { ttlSeconds: number; onlyIfAbsent?: boolean }): Promise<boolean> {
    const expiresAt = this.#expiry(options.ttlSeconds);
    if (options.onlyIfAbsent) return this.#replaceIfDead(key, { v: value }, expiresAt);
    await this.#docs.updateOne({ _id: key }, { $set: { v: value, rev: revision(), expiresAt }, $unset: { c: true, s: true } }, { upsert: true });
    return true;
  }

  async take(key: string): Promise<string | undefined> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const doc = this.#live(await this.#docs.findOne({ _id: key }));
      if (!doc) return undefined;
      // Deleting by revision: only the taker that read this very write removes it.
      if ((await this.#docs.deleteOne({ _id: key, rev: doc.rev })) === 1) return doc.v;
    }
    throw new Error(`ephemeral key ${key} is too contended to take`);
  }

  async compareAndSet(key: string, expected: string | undefined, next: string | undefined, ttlSeconds: number): Promise<boolean> {
    const expiresAt = this.#expiry(ttlSeconds);
    if (expected === undefined) {
      if (next === undefined) return (await this.get(key)) === undefined;
      return this.#replaceIfDead(key, { v: next }, expiresAt);
    }
    const current = { _id: key, v: expected, expiresAt: { $gt: new Date(this.now()) } };
    if (next === undefined) return (await this.#docs.deleteOne(current)) === 1;
    return (await this.#docs.updateOne(current, { $set: { v: next, rev: revision(), expiresAt } })).matched === 1;
  }

  async delete(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const now = new Date(this.now());
    const live = await this.#docs.count({ _id: { $in: keys }, expiresAt: { $gt: now } });
    await this.#docs.deleteMany({ _id: { $in: keys } });
    return live;
  }

  async increment(key: string, by: Record<string, number>, ttlSeconds: number): Promise<Record<string, number>> {
    assertCounters(by);
    const names = Object.keys(by);
    const expiresAt = this.#expiry(ttlSeconds);
    const inc = Object.fromEntries(names.map((name) => [`c.${name}`, by[name]!]));
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const updated = await this.#docs.findOneAndUpdate({ _id: key, expiresAt: { $gt: new Date(this.now()) } }, { $inc: inc });
      if (updated) return { ...updated.c };
      // No live window: start one. Of parallel starters one writes; the others find it live and add to it.
      if (await this.#replaceIfDead(key, { c: { ...by } }, expiresAt)) return { ...by };
    }
    throw new Error(`ephemeral key ${key} is too contended to count`);
  }

  async addToSet(key: string, members: string[], ttlSeconds: number): Promise<void> {
    if (members.length === 0) return;
    const expiresAt = this.#expiry(ttlSeconds);
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const updated = await this.#docs.findOneAndUpdate({ _id: key, expiresAt: { $gt: new Date(this.now()) } }, { $addToSet: { s: { $each: members } } });
      if (updated) {
        // Lengthen only: a conditional write, so parallel callers can only move the expiry later.
        if (updated.expiresAt < expiresAt) await this.#docs.updateOne({ _id: key, expiresAt: { $lt: expiresAt } }, { $set: { expiresAt } });
        return;
      }
      if (await this.#replaceIfDead(key, { s: [...new Set(members)] }, expiresAt)) return;
    }
    throw new Error(`ephemeral key ${key} is too contended to add to`);
  }

  async removeFromSet(key: string, members: string[]): Promise<void> {
    if (members.length === 0) return;
    await this.#docs.updateOne({ _id: key }, { $pull: { s: { $in: members } } });
  }

  async members(key: string): Promise<string[]> {
    return [...(this.#live(await this.#docs.findOne({ _id: key }))?.s ?? [])];
  }

  /** One after the other: the store keeps no order between calls in flight at once. */
  async writeInOrder(writes: readonly EphemeralWrite[]): Promise<void> {
    // A lifetime that is a caller's bug is refused before anything is written.
    for (const write of writes) if ('ttlSeconds' in write) assertTtl(write.ttlSeconds);
    for (const write of writes) {
      if (write.op === 'set') await this.set(write.key, write.value, { ttlSeconds: write.ttlSeconds });
      else if (write.op === 'addToSet') await this.addToSet(write.key, write.members, write.ttlSeconds);
      else if (write.op === 'removeFromSet') await this.removeFromSet(write.key, write.members);
      else await this.delete(write.keys);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (prefix === '') throw new RangeError('deletePrefix needs a non-empty prefix');
    // Every string that starts with the prefix sorts between it and the prefix plus the highest
    // code unit: a range on `_id`, which both backends answer from the `_id` index.
    return this.#docs.deleteMany({ _id: { $gte: prefix, $lt: `${prefix}\uffff` } });
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  /** The store belongs to whoever opened it; it is closed there. */
  async close(): Promise<void> {}
}
