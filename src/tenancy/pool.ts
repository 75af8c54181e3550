import { LRUCache } from 'lru-cache';
import { ALL_TENANTS, type Change } from '../../adapters/change-feed.js';
import type { AppContext } from '../app-context.js';
import { missedChanges, readChanges, type AppliedChanges } from './change-log.js';
import { buildTenantContext, type TenantContext, type TenantHooks } from './tenant-context.js';

/**
 * Built tenant contexts, kept in an LRU. Building is lazy and deduplicated: concurrent first
 * requests for one tenant share one build. An entry lives at most `tenants.refreshSeconds` (and
 * never past the next key state change: a next key starts signing, a retired one leaves the JWKS),
 * so changes made through the store by any
 * instance reach this one even with no change feed (the backstop).
 *
 * Changes arrive by the change feed (`apply`): tenant settings and keys rebuild the tenant's
 * context, a client drops that client from the context's cache. With a feed shared by several
 * instances (Redis), delivery is at most once, so every request for a tenant first reads the
 * tenant's change record (`change-log.ts`) and applies what this instance missed: a change made
 * anywhere is in force here before the next request is served. A record that cannot be read
 * fails the request (503), never serves from a cache that may be stale.
 */
export class TenantPool {
  readonly #cache: LRUCache<string, Promise<TenantContext | null>>;
  /** built contexts by the promise that built them, so `peek` can answer without waiting */
  readonly #built = new WeakMap<Promise<TenantContext | null>, TenantContext>();
  readonly #refreshMs: number;
  /** what this instance applied of each tenant's change record (only when `checksChanges`) */
  readonly #applied = new Map<string, AppliedChanges>();
  /** Change-record reads not sent yet, by tenant (see `#readRecord`). */
  readonly #queuedReads = new Map<string, Promise<string | undefined>>();
  readonly #unsubscribe: () => void;
  /** whether each request reads the tenant's change record (a feed that can lose messages) */
  readonly checksChanges: boolean;

  constructor(
    private readonly app: AppContext,
    private readonly hooks: TenantHooks = {},
    private readonly now: () => number = app.clock,
  ) {
    this.#refreshMs = app.config.tenants.refreshSeconds * 1000;
    this.#cache = new LRUCache({ max: app.config.tenants.poolSize, ttl: this.#refreshMs, ttlAutopurge: false });
    this.checksChanges = app.changes.kind === 'redis';
    this.#unsubscribe = app.changes.subscribe((change) => this.apply(change));
  }

  /** The tenant's context, or `null` when no such tenant exists; with `checksChanges`, current as of the change record. */
  async get(tenantId: string): Promise<TenantContext | null> {
    if (!this.checksChanges) return this.#get(tenantId);
    await this.catchUp(tenantId);
    const context = await this.#get(tenantId);
    // Ids of no tenant (anyone can send them) leave nothing behind.
    if (!context) this.#applied.delete(tenantId);
    return context;
  }

  /**
   * Reads the tenant's change record and applies what this instance has not applied yet. The
   * common case is one read and one string comparison. Throws when the record cannot be read.
   */
  async catchUp(tenantId: string): Promise<void> {
    const raw = await this.#readRecord(tenantId);
    const applied = this.#applied.get(tenantId);
    if (applied && applied.raw === raw) return;
    const { next, changes } = missedChanges(applied, raw);
    // Recorded before applying: a context built from here on reads the store after this record.
    this.#applied.set(tenantId, next);
    if (!this.#cache.has(tenantId)) return;
    if (changes === 'flush') this.evict(tenantId);
    else for (const entry of changes) this.apply({ tenant: tenantId, ...entry });
  }

  /**
   * One read of the tenant's change record for every request that arrives before it is sent: it is
   * sent once the event loop has taken in what arrived together (`setImmediate`), so it is as fresh
   * as a read of each request's own would be, and a busy tenant costs one read per turn of the
   * loop rather than one per request.
   */
  #readRecord(tenantId: string): Promise<string | undefined> {
    const queued = this.#queuedReads.get(tenantId);
    if (queued) return queued;
    const read = new Promise<string | undefined>((resolve, reject) => {
      setImmediate(() => {
        this.#queuedReads.delete(tenantId);
        readChanges(this.app.ephemeral, tenantId).then(resolve, reject);
      });
    });
    this.#queuedReads.set(tenantId, read);
    return read;
  }

  /** The built context of a tenant after catching up with its changes (the protocol fast path). */
  async current(tenantId: string): Promise<TenantContext | undefined> {
    await this.catchUp(tenantId);
    return this.peek(tenantId);
  }

  /** Drops what a change makes stale. Called by the change feed and by `catchUp`. */
  apply(change: Change): void {
    if (change.tenant === ALL_TENANTS) {
      this.#cache.clear();
      return;
    }
    switch (change.kind) {
      case 'client': {
        const built = this.peek(change.tenant);
        // A context still being built may have read the old client: build it again.
        if (built && change.id !== undefined) built.clients.invalidate(change.id);
        else this.evict(change.tenant);
        return;
      }
      // Read from the store at every use (src/oidc/resources.ts, claims, roles): nothing cached.
      case 'resource':
      case 'role':
      case 'user':
      case 'api-key':
      // A user's pending CIBA requests: for the account console's live pages, nothing cached here.
      case 'ciba':
        return;
      case 'tenant':
      case 'keys':
      case 'flush':
        this.evict(change.tenant);
    }
  }

  /** Stops listening to the change feed. */
  close(): void {
    this.#unsubscribe();
  }

  #get(tenantId: string): Promise<TenantContext | null> {
    let entry = this.#current(tenantId);
    if (!entry) {
      const building = this.#build(tenantId);
      entry = building;
      this.#cache.set(tenantId, building);
      building.then(
        (context) => {
          if (this.#cache.peek(tenantId) !== building) return;
          if (context) this.#built.set(building, context);
          // Unknown tenants are not cached, so creating one later needs no eviction.
          if (!context) this.#cache.delete(tenantId);
          else if (context.rebuildAt !== undefined) {
            const ttl = Math.max(1, Math.min(this.#refreshMs, context.rebuildAt - this.now()));
            this.#cache.set(tenantId, building, { ttl });
          }
        },
        // A failed build (store down, no keys) is not cached; the next request tries again.
        () => {
          if (this.#cache.peek(tenantId) === building) this.#cache.delete(tenantId);
        },
      );
    }
    return entry;
  }

  /** The tenant's context if it is built and current, without building or waiting. */
  peek(tenantId: string): TenantContext | undefined {
    const entry = this.#current(tenantId);
    return entry && this.#built.get(entry);
  }

  /**
   * The cached entry unless its context's keys have changed state since it was built. The LRU's
   * own expiry (set from `rebuildAt` below) runs on the real clock; this check follows the
   * application's clock, the one key states are computed with, so the two always agree.
   */
  #current(tenantId: string): Promise<TenantContext | null> | undefined {
    const entry = this.#cache.get(tenantId);
    const rebuildAt = entry && this.#built.get(entry)?.rebuildAt;
    if (rebuildAt !== undefined && rebuildAt <= this.now()) {
      this.#cache.delete(tenantId);
      return undefined;
    }
    return entry;
  }

  evict(tenantId: string): void {
    this.#cache.delete(tenantId);
  }

  get size(): number {
    return this.#cache.size;
  }

  async #build(tenantId: string): Promise<TenantContext | null> {
    const tenant = await this.app.tenants.find(tenantId);
    if (!tenant) return null;
    // Only existing tenants are counted, so an unknown id in a URL never becomes a label value.
    const started = performance.now();
    try {
      const context = await buildTenantContext(this.app, tenant, this.hooks);
      this.app.metrics.tenantBuild(tenantId, (performance.now() - started) / 1000, true);
      return context;
    } catch (error) {
      this.app.metrics.tenantBuild(tenantId, (performance.now() - started) / 1000, false);
      throw error;
    }
  }
}
