import { randomBytes } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';

/** An API (resource server) registered with a tenant, so resource indicators (RFC 8707) resolve. */
export interface ApiResource {
  _id: string;
  /** the admin API's handle for it (`api_` + 24 hex digits): identifiers are URIs, awkward in paths */
  id: string;
  tenant: string;
  /** the audience; an absolute URI */
  identifier: string;
  name: string;
  scopes: Array<{ name: string; description?: string }>;
  accessTokenFormat: 'jwt' | 'opaque';
  /** seconds */
  accessTokenTTL: number;
  createdAt: Date;
  updatedAt?: Date;
}

/** What an admin may change; the identifier is immutable (tokens already carry it as audience). */
export type ApiResourceChanges = Partial<Pick<ApiResource, 'name' | 'scopes' | 'accessTokenFormat' | 'accessTokenTTL'>>;

export type NewApiResource = Pick<ApiResource, 'identifier' | 'name' | 'scopes'> &
  Partial<Pick<ApiResource, 'accessTokenFormat' | 'accessTokenTTL'>>;

/**
 * The longest access token lifetime an API may have, in seconds. Signing keys stay published this
 * long after their retirement (`oidc/key-timing.ts`), so it bounds that too.
 */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400;

/**
 * An API's access token lifetime unless its admin chooses one, in seconds. API tokens are JWTs by
 * default, which resource servers verify on their own: one stays valid until it expires even after
 * its user is disabled or deleted and its grant revoked. Fifteen minutes (the admin API's own
 * tokens' lifetime) bounds that window; refresh tokens, which are checked at every use, keep a
 * session going.
 */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

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
      accessTokenTTL: DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
      ...input,
      _id: key(tenant, input.identifier),
      id: `api_${randomBytes(12).toString('hex')}`,
      tenant,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.#resources.insertOne(resource);
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new AppError('conflict', `API ${input.identifier} already exists`);
      throw error;
    }
    return resource;
  }

  async findById(tenant: string, id: string): Promise<ApiResource | null> {
    return this.#resources.findOne({ tenant, id });
  }

  /** One page of a tenant's APIs by id; `after` is the last id of the previous page. */
  async list(tenant: string, options: { after?: string; limit: number }): Promise<ApiResource[]> {
    return this.#resources.find({ tenant, ...(options.after !== undefined ? { id: { $gt: options.after } } : {}) }, { sort: { id: 1 }, limit: options.limit });
  }

  async update(tenant: string, id: string, changes: ApiResourceChanges, now = new Date()): Promise<ApiResource | null> {
    const result = await this.#resources.updateOne({ tenant, id }, { $set: { ...changes, updatedAt: now } });
    return result.matched ? this.findById(tenant, id) : null;
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return (await this.#resources.deleteOne({ tenant, id })) > 0;
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#resources.deleteMany({ tenant });
  }
}

function key(tenant: string, identifier: string): string {
  return `${tenant}|${identifier}`;
}
