import { LRUCache } from 'lru-cache';
import type { AppContext } from '../app-context.js';
import { buildTenantContext, type TenantContext } from './tenant-context.js';

/**
 * Built tenant contexts, kept in an LRU. Building is lazy and deduplicated: concurrent first
 * requests for one tenant share one build. An entry lives at most `tenants.refreshSeconds` (and
 * never past the next key state change: a next key starts signing, a retired one leaves the JWKS), so changes made through the store by any
 * instance reach this one; `evict` drops a tenant at once after a change made here.
 */
export class TenantPool {
  readonly #cache: LRUCache<string, Promise<TenantContext | null>>;
  /** built contexts by the promise that built them, so `peek` can answer without waiting */
  readonly #built = new WeakMap<Promise<TenantContext | null>, TenantContext>();
  readonly #refreshMs: number;

  constructor(
    private readonly app: AppContext,
    private readonly now: () => number = app.clock,
  ) {
    this.#refreshMs = app.config.tenants.refreshSeconds * 1000;
    this.#cache = new LRUCache({ max: app.config.tenants.poolSize, ttl: this.#refreshMs, ttlAutopurge: false });
  }

  /** The tenant's context, or `null` when no such tenant exists. */
  get(tenantId: string): Promise<TenantContext | null> {
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
    return tenant ? buildTenantContext(this.app, tenant) : null;
  }
}
