import { LRUCache } from 'lru-cache';
import type { AppContext } from '../app-context.js';
import { buildTenantContext, type TenantContext } from './tenant-context.js';

/**
 * Built tenant contexts, kept in an LRU. Building is lazy and deduplicated: concurrent first
 * requests for one tenant share one build. An entry lives at most `tenants.refreshSeconds` (and
 * never past the moment a published key starts signing), so changes made through the store by any
 * instance reach this one; `evict` drops a tenant at once after a change made here.
 */
export class TenantPool {
  readonly #cache: LRUCache<string, Promise<TenantContext | null>>;
  /** built contexts by the promise that built them, so `peek` can answer without waiting */
  readonly #built = new WeakMap<Promise<TenantContext | null>, TenantContext>();
  readonly #refreshMs: number;

  constructor(
    private readonly app: AppContext,
    private readonly now: () => number = Date.now,
  ) {
    this.#refreshMs = app.config.tenants.refreshSeconds * 1000;
    this.#cache = new LRUCache({ max: app.config.tenants.poolSize, ttl: this.#refreshMs, ttlAutopurge: false });
  }

  /** The tenant's context, or `null` when no such tenant exists. */
  get(tenantId: string): Promise<TenantContext | null> {
    let entry = this.#cache.get(tenantId);
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
    const entry = this.#cache.get(tenantId);
    return entry && this.#built.get(entry);
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
      const context = await buildTenantContext(this.app, tenant);
      this.app.metrics.tenantBuild(tenantId, (performance.now() - started) / 1000, true);
      return context;
    } catch (error) {
      this.app.metrics.tenantBuild(tenantId, (performance.now() - started) / 1000, false);
      throw error;
    }
  }
}
