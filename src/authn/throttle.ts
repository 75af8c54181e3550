import type { EphemeralStore } from '../../adapters/ephemeral.js';

/**
 * How one failure budget behaves. Failures fill a bucket that drains continuously, so the window
 * slides: a failure stops counting `drainSeconds` after the bucket last had room for it, never all
 * at once at a window's edge. Below `free` failures attempts are only bounded by `concurrent` (failures
 * and attempts in flight together at most the larger of `free` and `concurrent`);
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

/** A bucket as stored (JSON under its key). */
interface Bucket {
  /** failures, as of `levelAt` (drains from then on) */
  level: number;
  levelAt: number;
  /** epoch ms of the last failure (the growing delay counts from it) */
  lastFailureAt: number;
  /** attempts counted but not yet settled */
  pending: number;
  pendingAt: number;
}

export type Take = { ok: true; settle(outcome: 'failed' | 'succeeded' | 'released'): Promise<void> } | { ok: false; retryAfter: number };

/** An attempt counted but never settled (a crashed process) stops counting after this long. */
const PENDING_STALE_MS = 60_000;
/** Compare-and-set rounds before an attempt is refused as too contended (fails closed). */
const MAX_TAKE_ROUNDS = 8;
/**
 * Rounds before a settlement gives up. Higher than for a take: a lost settlement loses a failure,
 * so it keeps trying through a burst (each round one writer wins, so a burst of n needs at most n).
 */
const MAX_SETTLE_ROUNDS = 128;

/** The delay before the next attempt once `level` failures are in the bucket. */
export function delaySeconds(level: number, policy: BucketPolicy): number {
  if (level < policy.free) return 0;
  // A failure that has partly drained still counts whole: the delay never shrinks between failures.
  return Math.min(policy.maxDelaySeconds, 2 ** (Math.ceil(level) - policy.free));
}

function parse(raw: string | undefined): Bucket | undefined {
  return raw === undefined ? undefined : (JSON.parse(raw) as Bucket);
}

/**
 * Failure budgets kept in the short-lived state port (adapters/ephemeral.ts), so every instance
 * sees the same counts: one JSON bucket per key, replaced by compare-and-set against the exact
 * string read, so of parallel writers one wins and the others re-read. Each attempt is counted
 * *before* the work it guards (argon2), so parallel attempts cannot all pass a check made before
 * any of them was recorded; the caller then settles it as a failure, a success (the bucket empties:
 * failures are counted while consecutive, NIST SP 800-63B 5.2.2) or a release (neither: the
 * attempt is given back). Algorithm: a leaky bucket (a sliding window: failures drain one by one).
 */
export class Throttle {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts an attempt against `key`, or says how long to wait. */
  async take(key: string, policy: BucketPolicy): Promise<Take> {
    for (let round = 0; round < MAX_TAKE_ROUNDS; round += 1) {
      const now = this.now();
      const raw = await this.ephemeral.get(key);
      const state = this.#current(parse(raw), policy, now);
      const refusal = this.#refusal(state, policy, now);
      if (refusal !== undefined) return { ok: false, retryAfter: refusal };
      const next: Bucket = { level: state.level, levelAt: now, lastFailureAt: state.lastFailureAt, pending: state.pending + 1, pendingAt: now };
      if (await this.ephemeral.compareAndSet(key, raw, JSON.stringify(next), this.#lifetime(next, policy))) return this.#taken(key, policy);
    }
    return { ok: false, retryAfter: 1 };
  }

  /** Failures in the bucket now (drained), for status displays and tests. */
  async level(key: string, policy: BucketPolicy): Promise<number> {
    return this.#current(parse(await this.ephemeral.get(key)), policy, this.now()).level;
  }

  /** Forgets the given buckets (an admin clearing a user's counters); answers how many existed. */
  clear(keys: string[]): Promise<number> {
    return this.ephemeral.delete(keys);
  }

  /** Forgets every bucket whose key starts with `prefix`. */
  clearPrefix(prefix: string): Promise<number> {
    return this.ephemeral.deletePrefix(prefix);
  }

  #current(bucket: Bucket | undefined, policy: BucketPolicy, now: number): Bucket {
    if (!bucket) return { level: 0, levelAt: now, lastFailureAt: 0, pending: 0, pendingAt: now };
    const drained = Math.max(0, now - bucket.levelAt) / (policy.drainSeconds * 1000);
    return {
      level: Math.max(0, bucket.level - drained),
      levelAt: now,
      lastFailureAt: bucket.lastFailureAt,
      pending: now - bucket.pendingAt > PENDING_STALE_MS ? 0 : Math.max(0, bucket.pending),
      pendingAt: bucket.pendingAt,
    };
  }

  /** Seconds a bucket must be kept: until its failures have drained and its pending attempts gone stale. */
  #lifetime(bucket: Bucket, policy: BucketPolicy): number {
    return Math.ceil((Math.ceil(bucket.level + 1) * policy.drainSeconds * 1000 + PENDING_STALE_MS) / 1000);
  }

  /** Seconds to wait (the longest of every reason to), or undefined when the attempt may go ahead. */
  #refusal(state: Bucket, policy: BucketPolicy, now: number): number | undefined {
    let wait = 0;
    if (state.level + 1 > policy.cap) wait = Math.ceil((state.level + 1 - policy.cap) * policy.drainSeconds);
    // A partly drained failure counts whole here as below: otherwise `free` failures drained by a
    // hair (4.99 of 5) would be in neither regime, refused "for 1 s" until a whole failure drained.
    const failures = Math.ceil(state.level);
    if (failures + state.pending >= policy.free) {
      const delay = state.lastFailureAt + delaySeconds(failures, policy) * 1000 - now;
      if (delay > 0) wait = Math.max(wait, Math.ceil(delay / 1000));
      // In the delay regime attempts go one at a time.
      else if (state.pending > 0 && failures >= policy.free) wait = Math.max(wait, 1);
    }
    if (state.pending >= policy.concurrent) wait = Math.max(wait, 1);
    // Before the delays start, failures so far and attempts in flight together stay within the
    // larger of `free` and `concurrent`: otherwise attempts taken while earlier ones are being
    // checked (level 4, 9 in flight) would all fail past `free` without a single delay.
    else if (failures < policy.free && failures + state.pending >= Math.max(policy.free, policy.concurrent)) wait = Math.max(wait, 1);
    return wait > 0 ? wait : undefined;
  }

  #taken(key: string, policy: BucketPolicy): Take {
    let settled = false;
    return {
      ok: true,
      settle: async (outcome) => {
        if (settled) return;
        settled = true;
        for (let round = 0; round < MAX_SETTLE_ROUNDS; round += 1) {
          const now = this.now();
          const raw = await this.ephemeral.get(key);
          // Gone: an admin cleared it (or it expired with its attempt long stale); nothing to give back.
          if (raw === undefined) return;
          const state = this.#current(parse(raw), policy, now);
          const next: Bucket = { ...state, pending: Math.max(0, state.pending - 1) };
          if (outcome === 'failed') Object.assign(next, { level: state.level + 1, lastFailureAt: now });
          else if (outcome === 'succeeded') Object.assign(next, { level: 0, lastFailureAt: 0 });
          if (await this.ephemeral.compareAndSet(key, raw, JSON.stringify(next), this.#lifetime(next, policy))) return;
        }
        throw new Error(`sign-in budget ${key} is too contended to settle`);
      },
    };
  }
}
