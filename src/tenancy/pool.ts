import { LRUCache } from 'lru-cache';
import type { AppContext } from '../app-context.js';
import { buildTenantContext, type TenantContext } from './tenant-context.js';

/**
 * Built tenant contexts, kept in an LRU. Building is lazy and deduplicated: concurrent first
 * requests for one tenant share one build. `evict` drops a tenant after its configuration changes
 * so the next request builds it afresh from the store.
 */
export class TenantPool {
  readonly #cache: LRUCache<string, Promise<TenantContext | null>>;

  constructor(private readonly app: AppContext) {
    this.#cache = new LRUCache({ max: app.config.tenants.poolSize });
  }

  /** The tenant's context, or `null` when no such tenant exists. */
  get(tenantId: string): Promise<TenantContext | null> {
    let entry = this.#cache.get(tenantId);
    if (!entry) {
      entry = this.#build(tenantId);
      this.#cache.set(tenantId, entry);
      // A failed build (store down, no keys) is not cached; the next request tries again.
      entry.catch(() => this.#cache.delete(tenantId));
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
    if (!tenant) {
      // Unknown tenants are not cached, so creating one later needs no eviction.
      queueMicrotask(() => this.#cache.delete(tenantId));
      return null;
    }
    return buildTenantContext(this.app, tenant);
  }
}
