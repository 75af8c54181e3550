import { createHash } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';

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

/** One window's counters of one scope; `c.{name}.p` attempts in flight, `c.{name}.f` failures. */
interface WindowDoc {
  _id: string;
  c: Record<string, { p?: number; f?: number }>;
  expiresAt: Date;
}

export type Attempt = { ok: true; settle(failed: boolean): Promise<void> } | { ok: false; retryAfter: number };

/** Counter names become field names: hashed, so a client id can never be a path or an operator. */
function field(name: string): string {
  return `k${createHash('sha256').update(name).digest('base64url').slice(0, 22)}`;
}

/**
 * Counts machine authentications (client secrets and assertions at the token endpoint, admin API
 * bearer tokens) in fixed windows kept in the store, so every instance sees the same counts. One
 * document per scope and window holds every counter of the attempt, so counting costs one atomic
 * upsert that returns the counts; settling costs one more write.
 */
export class AttemptWindows {
  readonly #windows: Collection<WindowDoc>;

  constructor(
    store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.#windows = store.collection<WindowDoc>('attempts');
  }

  /**
   * Counts an attempt against each named counter of `scope` (all in one document), then answers
   * whether it may be checked. A refused attempt is taken back at once: it was never checked.
   */
  async begin(scope: string, counters: Array<[name: string, limit: AttemptLimit]>, windowSeconds: number): Promise<Attempt> {
    const now = this.now();
    const windowMs = windowSeconds * 1000;
    const start = Math.floor(now / windowMs) * windowMs;
    const _id = `${scope}:${start}`;
    const names = counters.map(([name]) => field(name));
    const expiresAt = new Date(start + windowMs);
    // One atomic upserting increment that returns the counts after it: the n-th of n parallel
    // attempts sees n. `expiresAt` is a function of `_id`, so it sits in the filter (matching the
    // existing document, and set on the one an upsert creates) rather than being rewritten each time.
    const doc = await this.#windows.findOneAndUpdate({ _id, expiresAt }, { $inc: Object.fromEntries(names.map((name) => [`c.${name}.p`, 1])) }, { upsert: true });
    const over = counters.some(([, limit], index) => {
      const counts = doc?.c[names[index]!] ?? {};
      const failures = counts.f ?? 0;
      return failures >= limit.failures || failures + (counts.p ?? 0) > limit.failures + limit.concurrent;
    });
    const settle = async (failed: boolean) => {
      const inc: Record<string, number> = {};
      for (const name of names) {
        inc[`c.${name}.p`] = -1;
        if (failed) inc[`c.${name}.f`] = 1;
      }
      await this.#windows.updateOne({ _id }, { $inc: inc });
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
    const doc = await this.#windows.findOne({ _id: `${scope}:${Math.floor(this.now() / windowMs) * windowMs}` });
    return doc?.c[field(name)]?.f ?? 0;
  }
}
