import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';

/** A tenant: its own issuer, keys, users and clients. `system` holds the operators. */
export interface Tenant {
  _id: string;
  displayName: string;
  createdAt: Date;
  updatedAt: Date;
}

export const SYSTEM_TENANT = 'system';

/** Lower-case letters, digits and dashes; it appears in URLs (`/t/{id}`) and store keys. */
export const tenantIdPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidTenantId(id: string): boolean {
  return tenantIdPattern.test(id);
}

export class TenantRepository {
  readonly #tenants: Collection<Tenant>;

  constructor(store: Store) {
    this.#tenants = store.collection<Tenant>('tenants');
  }

  async find(id: string): Promise<Tenant | null> {
    if (!isValidTenantId(id)) return null;
    return this.#tenants.findOne({ _id: id });
  }

  async list(): Promise<Tenant[]> {
    return this.#tenants.find({}, { sort: { _id: 1 } });
  }

  /** Creates the tenant; a duplicate id is a `conflict`. */
  async create(input: { id: string; displayName: string }, now = new Date()): Promise<Tenant> {
    if (!isValidTenantId(input.id)) {
      throw new AppError('invalid_request', 'a tenant id is 1-63 lower-case letters, digits or dashes, not starting or ending with a dash');
    }
    const tenant: Tenant = { _id: input.id, displayName: input.displayName, createdAt: now, updatedAt: now };
    try {
      await this.#tenants.insertOne(tenant);
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new AppError('conflict', `tenant ${input.id} already exists`);
      throw error;
    }
    return tenant;
  }

  /** Creates the tenant unless it exists; returns it either way. */
  async ensure(input: { id: string; displayName: string }): Promise<{ tenant: Tenant; created: boolean }> {
    const existing = await this.find(input.id);
    if (existing) return { tenant: existing, created: false };
    try {
      return { tenant: await this.create(input), created: true };
    } catch (error) {
      // Another instance created it between our read and our write.
      if (error instanceof AppError && error.code === 'conflict') {
        const tenant = await this.find(input.id);
        if (tenant) return { tenant, created: false };
      }
      throw error;
    }
  }
}
