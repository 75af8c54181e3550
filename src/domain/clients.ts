import { randomBytes } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';
import type { SecretBox } from './secrets.js';

/** OIDC client metadata as RFC 7591 names it; validated by oidc-provider when the client loads. */
export type ClientMetadata = Record<string, unknown> & { client_id: string };

interface ClientDoc {
  _id: string;
  tenant: string;
  clientId: string;
  /** metadata without the secret */
  metadata: Record<string, unknown>;
  /** the client secret, sealed with the master key (oidc-provider compares it in constant time) */
  secret?: string;
  /** names of the tenant's roles; they decide which API scopes client-credentials tokens get */
  roles?: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** Clients registered with a tenant. */
export class ClientRepository {
  readonly #clients: Collection<ClientDoc>;

  constructor(
    store: Store,
    private readonly box: SecretBox,
  ) {
    this.#clients = store.collection<ClientDoc>('clients');
  }

  /** The metadata oidc-provider loads, secret included; `undefined` when unknown. */
  async find(tenant: string, clientId: string): Promise<ClientMetadata | undefined> {
    const doc = await this.#clients.findOne({ _id: key(tenant, clientId) });
    if (!doc || doc.tenant !== tenant) return undefined;
    return {
      ...doc.metadata,
      client_id: doc.clientId,
      ...(doc.secret ? { client_secret: this.box.open(doc.secret, purpose(tenant, clientId)) } : {}),
    };
  }

  /**
   * Registers a client. Confidential clients (any auth method but `none`) get a generated secret,
   * returned here once.
   */
  async create(
    tenant: string,
    metadata: ClientMetadata,
    options: { now?: Date; secret?: string; roles?: string[] } = {},
  ): Promise<{ clientId: string; clientSecret?: string }> {
    const now = options.now ?? new Date();
    const { client_id: clientId, client_secret: _ignored, ...rest } = metadata;
    const isPublic = rest['token_endpoint_auth_method'] === 'none';
    const clientSecret = isPublic ? undefined : (options.secret ?? randomBytes(32).toString('base64url'));
    const doc: ClientDoc = {
      _id: key(tenant, clientId),
      tenant,
      clientId,
      metadata: rest,
      ...(clientSecret ? { secret: this.box.seal(clientSecret, purpose(tenant, clientId)) } : {}),
      ...(options.roles ? { roles: options.roles } : {}),
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.#clients.insertOne(doc);
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new AppError('conflict', `client ${clientId} already exists`);
      throw error;
    }
    return clientSecret ? { clientId, clientSecret } : { clientId };
  }

  async exists(tenant: string, clientId: string): Promise<boolean> {
    return (await this.#clients.count({ _id: key(tenant, clientId), tenant })) > 0;
  }

  async rolesOf(tenant: string, clientId: string): Promise<string[]> {
    const doc = await this.#clients.findOne({ _id: key(tenant, clientId), tenant });
    return doc?.roles ?? [];
  }

  async setRoles(tenant: string, clientId: string, roles: string[], now = new Date()): Promise<boolean> {
    return (await this.#clients.updateOne({ _id: key(tenant, clientId), tenant }, { $set: { roles: [...new Set(roles)], updatedAt: now } })).matched > 0;
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#clients.deleteMany({ tenant });
  }
}

function key(tenant: string, clientId: string): string {
  return `${tenant}:${clientId}`;
}

function purpose(tenant: string, clientId: string): string {
  return `client-secret:${tenant}:${clientId}`;
}
