import { createHash } from 'node:crypto';
import type { EphemeralStore } from '../../adapters/ephemeral.js';

/**
 * A limit on one source of machine authentications (an address, a client at an address): after
 * `failures` failed attempts in the window it must wait; before that, at most `concurrent` attempts
 * may be checked at once on top of the failures so far. Every attempt is counted before it is
 * checked, so a burst of `n` parallel wrong secrets gets at most `failures + concurrent` checks, never
 * `n`; a busy but honest client keeps `concurrent` requests in flight without being refused.
 */
export interface AttemptLimit {
  failures: number;
  concurrent: number;
}

interface IncrementBatch {
  sum: Record<string, number>;
  ttlSeconds: number;
  callers: Array<{ steps: Record<string, number>; resolve(counts: Record<string, number>): void; reject(error: unknown): void }>;
}

export type Attempt = { ok: true; settle(failed: boolean): Promise<void> } | { ok: false; retryAfter: number };

/** Counter names become the port's counter names: hashed, so a client id can never be a path or an operator. */
function field(name: string): string {
  return `k${createHash('sha256').update(name).digest('base64url').slice(0, 22)}`;
}

/**
 * Counts machine authentications (client secrets and assertions at the token endpoint, admin API
 * bearer tokens) in fixed windows of the short-lived state port, so every instance sees the same
 * counts. One key per scope and window (`{scope}:{window start}`) holds every counter of the
 * attempt, so counting is one atomic `increment` that returns the counts after it (the n-th of n
 * parallel attempts sees n, whichever backend, also at a window's start); settling is one more.
 *
 * Fixed windows rather than the sign-in's leaky buckets: a machine authentication has no owner to
 * lock out and no growing delay to compute, so two counters per source are enough, and the
 * port's atomic increment needs no read-then-write.
 */
export class AttemptWindows {
  /** Increments not sent yet, by key (see `#increment`). */
  readonly #batches = new Map<string, IncrementBatch>();

  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Every increment of one key that arrives before the key's batch is sent (once the event loop has
   * taken in what arrived together: `setImmediate`) goes out as one atomic increment of the sum.
   * Each caller then sees the counts it would have seen had the calls come one after another in
   * arrival order (the total less what later callers added), so the n-th of n parallel attempts
   * still sees n, and a busy client costs one round trip per turn of the loop, not one per request.
   */
  #increment(key: string, steps: Record<string, number>, ttlSeconds: number): Promise<Record<string, number>> {
    let batch = this.#batches.get(key);
    if (!batch) {
      const created: IncrementBatch = { sum: {}, ttlSeconds, callers: [] };
      this.#batches.set(key, created);
      setImmediate(() => void this.#send(key, created));
      batch = created;
    }
    for (const [name, step] of Object.entries(steps)) batch.sum[name] = (batch.sum[name] ?? 0) + step;
    batch.ttlSeconds = Math.max(batch.ttlSeconds, ttlSeconds);
    const { callers } = batch;
    return new Promise((resolve, reject) => callers.push({ steps, resolve, reject }));
  }

  async #send(key: string, batch: IncrementBatch): Promise<void> {
    this.#batches.delete(key);
    let total: Record<string, number>;
    try {
      total = await this.ephemeral.increment(key, batch.sum, batch.ttlSeconds);
    } catch (error) {
      for (const caller of batch.callers) caller.reject(error);
      return;
    }
    const later: Record<string, number> = {};
    for (let index = batch.callers.length - 1; index >= 0; index -= 1) {
      const caller = batch.callers[index]!;
      caller.resolve(Object.fromEntries(Object.entries(total).map(([name, count]) => [name, count - (later[name] ?? 0)])));
      for (const [name, step] of Object.entries(caller.steps)) later[name] = (later[name] ?? 0) + step;
    }
  }

  /**
   * Counts an attempt against each named counter of `scope` (all under one key), then answers
   * whether it may be checked. A refused attempt is taken back at once: it was never checked.
   * `scope` is a key of the port: a tenant's under `tenantKey(tenant, ...)`.
   */
  async begin(scope: string, counters: Array<[name: string, limit: AttemptLimit]>, windowSeconds: number): Promise<Attempt> {
    const now = this.now();
    const windowMs = windowSeconds * 1000;
    const start = Math.floor(now / windowMs) * windowMs;
    const key = `${scope}:${start}`;
    // The key names its window, so it only has to outlive it; settling late (after the window)
    // writes to a key nobody reads again.
    const ttlSeconds = Math.max(1, Math.ceil((start + windowMs - now) / 1000));
    const names = counters.map(([name]) => field(name));
    // Failures are incremented by zero so the answer carries them, in the same atomic call.
    const counts = await this.#increment(key, Object.fromEntries(names.flatMap((name) => [[`${name}p`, 1], [`${name}f`, 0]])), ttlSeconds);
    const over = counters.some(([, limit], index) => {
      const name = names[index]!;
      const failures = counts[`${name}f`] ?? 0;
      return failures >= limit.failures || failures + (counts[`${name}p`] ?? 0) > limit.failures + limit.concurrent;
    });
    const settle = async (failed: boolean) => {
      await this.#increment(key, Object.fromEntries(names.flatMap((name) => [[`${name}p`, -1], [`${name}f`, failed ? 1 : 0]])), ttlSeconds);
    };
    if (over) {
      await settle(false);
      return { ok: false, retryAfter: Math.max(1, Math.ceil((start + windowMs - now) / 1000)) };
    }
    let settled = false;
    return {
      ok: true,
      settle: async (failed) => {
        if (settled) return;
        settled = true;
        await settle(failed);
      },
    };
  }

  /** Failures counted so far for `name` of `scope` in the current window (tests, status). */
  async failures(scope: string, name: string, windowSeconds: number): Promise<number> {
    const windowMs = windowSeconds * 1000;
    const counts = await this.ephemeral.increment(`${scope}:${Math.floor(this.now() / windowMs) * windowMs}`, { [`${field(name)}f`]: 0 }, windowSeconds);
    return counts[`${field(name)}f`] ?? 0;
  }
}
