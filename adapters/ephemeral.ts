/**
 * The short-lived state port: values that expire by themselves (sessions, interactions, codes,
 * replay caches, rate-limit counters, MFA challenges, device codes, CIBA requests). Two backends
 * implement it: Redis (`adapters/redis/ephemeral.ts`, several instances) and the single-process
 * default over the store port (`adapters/ephemeral-store.ts`, so `npm start` needs nothing else).
 * `test/adapters/ephemeral-contract.ts` holds every backend to the same behaviour.
 *
 * Keys are opaque strings chosen by callers. A key that starts with `{tenant}` (a Redis Cluster
 * hash tag: see {@link tenantKey}) keeps all of a tenant's keys on one Cluster slot, so the few
 * multi-key calls below work on Cluster too, and `deleteTenant` finds them by prefix.
 *
 * Every write takes a lifetime in seconds; nothing lives forever. Every operation is atomic on its
 * own: a counter counts before the caller checks it, a `take` has one winner, a `compareAndSet`
 * loses to any write in between. Nothing spans two operations, so callers order their writes to
 * stay correct when the second one never happens (a crash, the backend gone).
 */
import { BackendUnavailableError } from './unavailable.js';

export interface EphemeralStore {
  /** `redis` or `store` (the single-process default) */
  readonly kind: 'redis' | 'store';

  /** The value of a live key, or undefined. */
  get(key: string): Promise<string | undefined>;
  /** Values of several keys of one tenant (one round trip), in order. */
  getMany(keys: string[]): Promise<Array<string | undefined>>;
  /**
   * Writes a value that expires after `ttlSeconds`. With `onlyIfAbsent`, writes only when no live
   * value exists and answers whether it wrote (the first of parallel writers wins).
   */
  set(key: string, value: string, options: { ttlSeconds: number; onlyIfAbsent?: boolean }): Promise<boolean>;
  /** Reads and deletes a live value at once: of parallel takers exactly one gets it. */
  take(key: string): Promise<string | undefined>;
  /**
   * Replaces the value only when it is `expected` (undefined: only when absent), keeping it for
   * `ttlSeconds`; `next` undefined deletes it. Answers whether it wrote: a loser re-reads and retries.
   */
  compareAndSet(key: string, expected: string | undefined, next: string | undefined, ttlSeconds: number): Promise<boolean>;
  /** Deletes keys (absent ones are ignored); answers how many existed. */
  delete(keys: string[]): Promise<number>;

  /**
   * Adds `by` to each named counter of `key` at once and returns every counter after the change.
   * A missing or expired key starts at zero and lives `ttlSeconds` from this call; later calls
   * do not extend it (a fixed window).
   */
  increment(key: string, by: Record<string, number>, ttlSeconds: number): Promise<Record<string, number>>;

  /** Adds members to a set; the set lives at least `ttlSeconds` from now (never shortened). */
  addToSet(key: string, members: string[], ttlSeconds: number): Promise<void>;
  removeFromSet(key: string, members: string[]): Promise<void>;
  /** The members of a live set (unordered; callers sort when order matters). */
  members(key: string): Promise<string[]>;

  /**
   * Applies writes to one tenant's keys in the order given, in one round trip where the backend
   * can (Redis sends them together on one connection, which runs them in order). Not a
   * transaction: each write is atomic on its own, and a failure part-way may leave the first ones
   * applied, so callers order them exactly as they would order separate calls.
   */
  writeInOrder(writes: readonly EphemeralWrite[]): Promise<void>;

  /** Deletes every key that starts with `prefix` (a tenant's keys when it is deleted). */
  deletePrefix(prefix: string): Promise<number>;
  /** Resolves when the backend answers (used by `/readyz`). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** One write of {@link EphemeralStore.writeInOrder}: the same as the method of that name. */
export type EphemeralWrite =
  | { op: 'set'; key: string; value: string; ttlSeconds: number }
  | { op: 'addToSet'; key: string; members: string[]; ttlSeconds: number }
  | { op: 'removeFromSet'; key: string; members: string[] }
  | { op: 'delete'; keys: string[] };

/**
 * The key of a tenant's short-lived value: `{tenant}:` then the parts joined by `:`. The braces
 * are Redis Cluster's hash tag, so a tenant's keys share one slot; no tenant id contains `{`, `}`
 * or `:` (tenant ids are validated), so one tenant's prefix never matches another's keys.
 */
export function tenantKey(tenant: string, ...parts: string[]): string {
  return `{${tenant}}:${parts.join(':')}`;
}

/** The prefix of every key of a tenant (for `deletePrefix`). */
export function tenantPrefix(tenant: string): string {
  return `{${tenant}}:`;
}

/** The backend of short-lived state could not be reached or failed; callers fail closed (503). */
export class EphemeralUnavailableError extends BackendUnavailableError {
  override readonly name = 'EphemeralUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Lifetimes are whole seconds from 1 s to 400 days; anything else is a caller's bug. */
export function assertTtl(ttlSeconds: number): void {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > 400 * 86400) {
    throw new RangeError(`ephemeral lifetime must be between 0 and 400 days, got ${ttlSeconds}`);
  }
}

/** Counter names become field names: kept to a safe alphabet so none is a path, an operator or a script argument surprise. */
const counterName = /^[A-Za-z0-9_-]{1,64}$/;

/** Counters are named by plain words and moved by whole numbers; anything else is a caller's bug. */
export function assertCounters(by: Record<string, number>): void {
  for (const [name, step] of Object.entries(by)) {
    if (!counterName.test(name) || !Number.isSafeInteger(step)) throw new TypeError(`invalid counter ${JSON.stringify(name)}`);
  }
}
