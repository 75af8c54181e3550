import { escapeRegExp } from '../domain/regexp.js';
import { DuplicateKeyError, type Collection, type Store, type Update } from '../../adapters/store.js';

/**
 * How one failure budget behaves. Failures fill a bucket that drains continuously, so the window
 * slides: a failure stops counting `drainSeconds` after the bucket last had room for it, never all
 * at once at a window's edge. Below `free` failures attempts are only bounded by `concurrent`;
 * from `free` on, each attempt waits for a delay that doubles with every further failure (1 s,
 * 2 s, 4 s, ... up to `maxDelaySeconds`), one attempt at a time; at `cap` every attempt is refused
 * until failures drain away.
 */
export interface BucketPolicy {
  free: number;
  cap: number;
  /** seconds for one failure to drain out of the bucket */
  drainSeconds: number;
  maxDelaySeconds: number;
  /** attempts allowed to be checked at once (counted before the check, so a burst cannot slip past) */
  concurrent: number;
}

interface BucketDoc {
  _id: string;
  /** failures, as of `levelAt` (drains from then on) */
  level: number;
  levelAt: number;
  /** epoch ms of the last failure (the growing delay counts from it) */
  lastFailureAt: number;
  /** attempts counted but not yet settled */
  pending: number;
  pendingAt: number;
  /** compare-and-set version: every write bumps it */
  v: number;
  expiresAt: Date;
}

export type Take = { ok: true; settle(outcome: 'failed' | 'succeeded' | 'released'): Promise<void> } | { ok: false; retryAfter: number };

/** An attempt counted but never settled (a crashed process) stops counting after this long. */
const PENDING_STALE_MS = 60_000;
/** Compare-and-set rounds before an attempt is refused as too contended (fails closed). */
const MAX_ROUNDS = 8;

/** The delay before the next attempt once `level` failures are in the bucket. */
export function delaySeconds(level: number, policy: BucketPolicy): number {
  if (level < policy.free) return 0;
  // A failure that has partly drained still counts whole: the delay never shrinks between failures.
  return Math.min(policy.maxDelaySeconds, 2 ** (Math.ceil(level) - policy.free));
}

/**
 * Failure budgets kept in the store (collection `attempts`), so every instance sees the same
 * counts. Each attempt is counted *before* the work it guards (argon2) with a compare-and-set, so
 * parallel attempts cannot all pass a check made before any of them was recorded; the caller then
 * settles it as a failure, a success (the bucket empties: failures are counted while consecutive,
 * NIST SP 800-63B 5.2.2) or a release (neither: the attempt is given back).
 */
export class Throttle {
  readonly #buckets: Collection<BucketDoc>;

  constructor(
    store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.#buckets = store.collection<BucketDoc>('attempts');
  }

  /** Counts an attempt against `key`, or says how long to wait. */
  async take(key: string, policy: BucketPolicy): Promise<Take> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = this.now();
      const doc = await this.#buckets.findOne({ _id: key });
      const state = doc ? this.#current(doc, policy, now) : { level: 0, pending: 0, lastFailureAt: 0 };
      const refusal = this.#refusal(state, policy, now);
      if (refusal !== undefined) return { ok: false, retryAfter: refusal };

      const expiresAt = new Date(now + (state.level + 1) * policy.drainSeconds * 1000 + PENDING_STALE_MS);
      const fields = { level: state.level, levelAt: now, lastFailureAt: state.lastFailureAt, pending: state.pending + 1, pendingAt: now, expiresAt };
      if (doc) {
        const won = await this.#buckets.findOneAndUpdate({ _id: key, v: doc.v }, { $set: fields, $inc: { v: 1 } });
        if (won) return this.#taken(key);
      } else {
        try {
          await this.#buckets.insertOne({ _id: key, ...fields, v: 1 });
          return this.#taken(key);
        } catch (error) {
          if (!(error instanceof DuplicateKeyError)) throw error;
        }
      }
    }
    return { ok: false, retryAfter: 1 };
  }

  /** Failures in the bucket now (drained), for status displays and tests. */
  async level(key: string, policy: BucketPolicy): Promise<number> {
    const doc = await this.#buckets.findOne({ _id: key });
    return doc ? this.#current(doc, policy, this.now()).level : 0;
  }

  /** Forgets the given buckets (an admin clearing a user's counters). */
  async clear(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.#buckets.deleteMany({ _id: { $in: keys } });
  }

  /** Forgets every bucket whose key starts with `prefix`. */
  async clearPrefix(prefix: string): Promise<number> {
    return this.#buckets.deleteMany({ _id: { $regex: new RegExp(`^${escapeRegExp(prefix)}`) } });
  }

  #current(doc: BucketDoc, policy: BucketPolicy, now: number) {
    const drained = Math.max(0, now - doc.levelAt) / (policy.drainSeconds * 1000);
    return {
      level: Math.max(0, doc.level - drained),
      pending: now - doc.pendingAt > PENDING_STALE_MS ? 0 : Math.max(0, doc.pending),
      lastFailureAt: doc.lastFailureAt,
    };
  }

  /** Seconds to wait (the longest of every reason to), or undefined when the attempt may go ahead. */
  #refusal(state: { level: number; pending: number; lastFailureAt: number }, policy: BucketPolicy, now: number): number | undefined {
    let wait = 0;
    if (state.level + 1 > policy.cap) wait = Math.ceil((state.level + 1 - policy.cap) * policy.drainSeconds);
    if (state.level + state.pending >= policy.free) {
      const delay = state.lastFailureAt + delaySeconds(state.level, policy) * 1000 - now;
      if (delay > 0) wait = Math.max(wait, Math.ceil(delay / 1000));
      // In the delay regime attempts go one at a time.
      else if (state.pending > 0 && state.level >= policy.free) wait = Math.max(wait, 1);
    }
    if (state.pending >= policy.concurrent) wait = Math.max(wait, 1);
    return wait > 0 ? wait : undefined;
  }

  #taken(key: string): Take {
    let settled = false;
    return {
      ok: true,
      settle: async (outcome) => {
        if (settled) return;
        settled = true;
        const now = this.now();
        // Every write bumps `v`, so a concurrent take retries on the new state instead of overwriting it.
        const update: Update =
          outcome === 'failed'
            ? { $inc: { pending: -1, level: 1, v: 1 }, $set: { lastFailureAt: now } }
            : outcome === 'succeeded'
              ? { $inc: { pending: -1, v: 1 }, $set: { level: 0, levelAt: now, lastFailureAt: 0 } }
              : { $inc: { pending: -1, v: 1 } };
        await this.#buckets.updateOne({ _id: key }, update);
      },
    };
  }
}
