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
    const doc = await this.#counters.findOne({ _id: key });
    const now = this.now();
    if (!doc || doc.expiresAt.getTime() <= now || doc.count < policy.limit) return 0;
    return Math.ceil((doc.expiresAt.getTime() - now) / 1000);
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

  async reset(key: string): Promise<void> {
    await this.#counters.deleteOne({ _id: key });
  }
}
