import type { Collection, Store } from '../../adapters/store.js';

interface CounterDoc {
  _id: string;
  count: number;
  expiresAt: Date;
}

export interface AttemptPolicy {
  /** failures allowed inside the window before further attempts are refused */
  limit: number;
  windowSeconds: number;
}

/**
 * Counts failed attempts per key (an identifier, an IP) in fixed windows kept in the store, so
 * every instance sees the same counts. A window expires by itself: throttling slows a guesser down
 * without locking the real owner out for good (NIST SP 800-63B 5.2.2).
 */
export class AttemptCounter {
  readonly #counters: Collection<CounterDoc>;

  constructor(
    store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.#counters = store.collection<CounterDoc>('attempts');
  }

  /** Seconds until `key` may try again, or 0 when it is under its limit. */
  async retryAfter(key: string, policy: AttemptPolicy): Promise<number> {
    return (await this.check([[key, policy]])).retryAfter;
  }

  /**
   * The longest wait among several counters, read in one query (one round trip on MongoDB), and
   * which of them exist at all (so a success only clears counters that are there).
   */
  async check(entries: Array<[key: string, policy: AttemptPolicy]>): Promise<{ retryAfter: number; existing: Set<string> }> {
    const docs = await this.#counters.find({ _id: { $in: entries.map(([key]) => key) } });
    const now = this.now();
    let retryAfter = 0;
    for (const doc of docs) {
      const policy = entries.find(([key]) => key === doc._id)?.[1];
      if (!policy || doc.expiresAt.getTime() <= now || doc.count < policy.limit) continue;
      retryAfter = Math.max(retryAfter, Math.ceil((doc.expiresAt.getTime() - now) / 1000));
    }
    return { retryAfter, existing: new Set(docs.filter((doc) => doc.expiresAt.getTime() > now).map((doc) => doc._id)) };
  }

  async recordFailure(key: string, policy: AttemptPolicy): Promise<void> {
    const now = new Date(this.now());
    const counted = await this.#counters.updateOne({ _id: key, expiresAt: { $gt: now } }, { $inc: { count: 1 } });
    if (counted.matched === 0) {
      // No window yet, or the last one ran out: start a new one.
      const expiresAt = new Date(now.getTime() + policy.windowSeconds * 1000);
      await this.#counters.updateOne({ _id: key }, { $set: { count: 1, expiresAt } }, { upsert: true });
    }
  }

  /**
   * Counts an attempt against every key *before* the work it guards (argon2), and answers how long
   * to wait if any key is now over its limit. Counting first, with an atomic increment, means
   * parallel attempts cannot all pass a check made before any of them was recorded.
   */
  async reserve(entries: Array<[key: string, policy: AttemptPolicy]>): Promise<number> {
    await Promise.all(entries.map(([key, policy]) => this.recordFailure(key, policy)));
    const docs = await this.#counters.find({ _id: { $in: entries.map(([key]) => key) } });
    const now = this.now();
    let retryAfter = 0;
    for (const doc of docs) {
      const policy = entries.find(([key]) => key === doc._id)?.[1];
      if (policy && doc.count > policy.limit && doc.expiresAt.getTime() > now) {
        retryAfter = Math.max(retryAfter, Math.ceil((doc.expiresAt.getTime() - now) / 1000));
      }
    }
    return retryAfter;
  }

  /** Takes back one reserved attempt (a success that should not count against a shared key). */
  async release(key: string): Promise<void> {
    await this.#counters.updateOne({ _id: key, count: { $gt: 0 } }, { $inc: { count: -1 } });
  }

  async reset(key: string): Promise<void> {
    await this.#counters.deleteOne({ _id: key });
  }
}
