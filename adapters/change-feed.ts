/**
 * The change feed: how one instance tells the others that something they may have cached changed
 * (a tenant's settings, its keys, a client, ...). Two implementations: in one process
 * (`local-change-feed.ts`, synchronous) and over Redis pub/sub (`redis/change-feed.ts`, several
 * instances). Delivery over Redis is asynchronous and at most once, so the guarantee that a change
 * is seen everywhere once the admin API has answered comes from a per-request check beside it
 * (`src/tenancy/change-log.ts`); the feed makes the common case cheap and prompt.
 *
 * One kind is not about caches: `ciba` (id: a user id) says that user's pending CIBA requests
 * changed, so the account console's open pages refresh their list (`src/account/ciba-live.ts`).
 * It is published on the feed only, never written to the change record: a lost message costs a
 * page its next periodic refresh, not a stale cache.
 */
export type ChangeKind = 'tenant' | 'keys' | 'client' | 'resource' | 'role' | 'user' | 'api-key' | 'ciba' | 'flush';

export const changeKinds: readonly ChangeKind[] = ['tenant', 'keys', 'client', 'resource', 'role', 'user', 'api-key', 'ciba', 'flush'];

/** Every tenant at once: the `tenant` of a flush after a lost subscription. */
export const ALL_TENANTS = '*';

export interface Change {
  /** a tenant id, or {@link ALL_TENANTS} for a flush of everything */
  tenant: string;
  kind: ChangeKind;
  /** what changed within the tenant (a client id, a role name, ...), when it is one thing */
  id?: string;
}

export type ChangeListener = (change: Change) => void;

export interface ChangeFeed {
  /** `local`: one process; `redis`: every instance subscribed to the same Redis */
  readonly kind: 'local' | 'redis';
  /** Resolves once the change is handed to every subscriber (local) or to Redis (rejects if it could not be). */
  publish(change: Change): Promise<void>;
  /** Calls `listener` for every change, this instance's own included; returns the unsubscribe. */
  subscribe(listener: ChangeListener): () => void;
  close(): Promise<void>;
}

const MAX_ID_LENGTH = 256;

/**
 * A change from its wire form, or undefined when it is not one (malformed JSON, unknown kind,
 * wrong types, oversized id): whatever arrives on a shared channel is untrusted input.
 */
export function parseChange(raw: string): Change | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { tenant, kind, id } = value as Record<string, unknown>;
  if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > MAX_ID_LENGTH) return undefined;
  if (typeof kind !== 'string' || !(changeKinds as readonly string[]).includes(kind)) return undefined;
  if (id !== undefined && (typeof id !== 'string' || id.length > MAX_ID_LENGTH)) return undefined;
  return { tenant, kind: kind as ChangeKind, ...(id !== undefined ? { id } : {}) };
}

/** The wire form of a change (only its known fields). */
export function formatChange(change: Change): string {
  return JSON.stringify({ tenant: change.tenant, kind: change.kind, ...(change.id !== undefined ? { id: change.id } : {}) });
}
