import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';

/** An API (resource server) registered with a tenant, so resource indicators (RFC 8707) resolve. */
export interface ApiResource {
  _id: string;
  tenant: string;
  /** the audience; an absolute URI */
  identifier: string;
  name: string;
  scopes: Array<{ name: string; description?: string }>;
  accessTokenFormat: 'jwt' | 'opaque';
  /** seconds */
  accessTokenTTL: number;
  createdAt: Date;
}

export type NewApiResource = Pick<ApiResource, 'identifier' | 'name' | 'scopes'> &
  Partial<Pick<ApiResource, 'accessTokenFormat' | 'accessTokenTTL'>>;

export class ResourceRepository {
  readonly #resources: Collection<ApiResource>;

  constructor(store: Store) {
    this.#resources = store.collection<ApiResource>('resources');
  }

  async find(tenant: string, identifier: string): Promise<ApiResource | null> {
    return this.#resources.findOne({ _id: key(tenant, identifier), tenant });
  }

  async create(tenant: string, input: NewApiResource, now = new Date()): Promise<ApiResource> {
    let parsed: URL;
    try {
      parsed = new URL(input.identifier);
    } catch {
      throw new AppError('invalid_request', 'an API identifier must be an absolute URI');
    }
    if (parsed.hash) throw new AppError('invalid_request', 'an API identifier must not have a fragment');
    const resource: ApiResource = {
      accessTokenFormat: 'jwt',
      accessTokenTTL: 3600,
      ...input,
      _id: key(tenant, input.identifier),
      tenant,
      createdAt: now,
    };
    try {
      await this.#resources.insertOne(resource);
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new AppError('conflict', `API ${input.identifier} already exists`);
      throw error;
    }
    return resource;
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#resources.deleteMany({ tenant });
  }
}

function key(tenant: string, identifier: string): string {
  return `${tenant}|${identifier}`;
}
