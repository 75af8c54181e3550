import { randomBytes } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';
import { DuplicateKeyError } from '../../adapters/store.js';
import { AppError } from '../errors.js';
import { usesSecret } from './client-auth-methods.js';
import { hashClientSecret, type SecretBox } from './secrets.js';

/** The account console's client id; reserved in every tenant. */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';

/** The operators' command line (`gatehouse login`, a device login); reserved in every tenant. */
export const CLI_CLIENT_ID = 'gatehouse-cli';

/** Client ids Gatehouse builds in to every tenant: nobody registers, changes or deletes them. */
/** The SAML bridge: SAML sign-ins go through the tenant's login as this client's (src/saml/sso.ts); reserved in every tenant. */
export const SAML_CLIENT_ID = 'gatehouse-saml';

export const BUILT_IN_CLIENT_IDS: ReadonlySet<string> = new Set([ACCOUNT_CLIENT_ID, CLI_CLIENT_ID, SAML_CLIENT_ID]);

/** What a built-in client is, for messages that refuse to change it. */
export const builtInClientPurpose: Readonly<Record<string, string>> = { [ACCOUNT_CLIENT_ID]: 'the account console', [CLI_CLIENT_ID]: 'the command line', [SAML_CLIENT_ID]: 'the SAML bridge' };

/** OIDC client metadata as RFC 7591 names it; validated by oidc-provider when the client loads. */
export type ClientMetadata = Record<string, unknown> & { client_id: string };

interface ClientDoc {
  _id: string;
  tenant: string;
  clientId: string;
  /** metadata without the secret */
  metadata: Record<string, unknown>;
  /** SHA-256 of the client secret (see src/oidc/client-secrets.ts); the secret itself is shown once */
  secretHash?: string;
  /** legacy: a secret sealed with the master key, from before secrets were hashed */
  secret?: string;
  /** names of the tenant's roles; they decide which API scopes client-credentials tokens get */
  roles?: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** A client as the admin API sees it: never its secret, only whether it has one. */
export interface ClientRecord {
  clientId: string;
  /** RFC 7591 metadata, without `client_id` and `client_secret` */
  metadata: Record<string, unknown>;
  roles: string[];
  confidential: boolean;
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

  /** The metadata oidc-provider loads, and the hash of the secret of a confidential client. */
  async find(tenant: string, clientId: string): Promise<{ metadata: ClientMetadata; secretHash?: string } | undefined> {
    const doc = await this.#clients.findOne({ _id: key(tenant, clientId) });
    if (!doc || doc.tenant !== tenant) return undefined;
    const secretHash = doc.secretHash ?? (doc.secret ? hashClientSecret(this.box.open(doc.secret, purpose(tenant, clientId))) : undefined);
    return { metadata: { ...doc.metadata, client_id: doc.clientId }, ...(secretHash ? { secretHash } : {}) };
  }

  /**
   * Registers a client. Clients that authenticate with a secret (`client_secret_basic`, the
   * default, or `client_secret_post`) get a generated one, returned here once; public clients
   * (`none`) and `private_key_jwt` clients have none.
   */
  async create(
    tenant: string,
    metadata: ClientMetadata,
    options: { now?: Date; secret?: string; roles?: string[] } = {},
  ): Promise<{ clientId: string; clientSecret?: string }> {
    const now = options.now ?? new Date();
    const { client_id: clientId, client_secret: _ignored, ...rest } = metadata;
    const clientSecret = usesSecret(rest['token_endpoint_auth_method']) ? (options.secret ?? randomBytes(32).toString('base64url')) : undefined;
    const doc: ClientDoc = {
      _id: key(tenant, clientId),
      tenant,
      clientId,
      metadata: rest,
      ...(clientSecret ? { secretHash: hashClientSecret(clientSecret) } : {}),
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

  // --- Admin API (clients and service accounts resources). Nothing below returns the secret,
  // except `rotateSecret`, whose caller shows the new one once.

  /** A client as the admin API shows it (no secret); `null` when unknown in `tenant`. */
  async get(tenant: string, clientId: string): Promise<ClientRecord | null> {
    const doc = await this.#clients.findOne({ _id: key(tenant, clientId), tenant });
    return doc ? record(doc) : null;
  }

  /**
   * One page of a tenant's clients by client id: service accounts (`service_account: true`) or the
   * other clients; `after` is the last client id of the previous page.
   */
  async list(tenant: string, options: { serviceAccounts: boolean; after?: string; limit: number }): Promise<ClientRecord[]> {
    const docs = await this.#clients.find(
      { tenant, 'metadata.service_account': options.serviceAccounts ? true : { $ne: true }, ...(options.after !== undefined ? { clientId: { $gt: options.after } } : {}) },
      { sort: { clientId: 1 }, limit: options.limit },
    );
    return docs.map(record);
  }

  /** Replaces the client's metadata (the secret and roles are kept); `null` when unknown. */
  async update(tenant: string, clientId: string, metadata: Record<string, unknown>, now = new Date()): Promise<ClientRecord | null> {
    const { client_id: _id, client_secret: _secret, ...rest } = metadata;
    const result = await this.#clients.updateOne({ _id: key(tenant, clientId), tenant }, { $set: { metadata: rest, updatedAt: now } });
    return result.matched ? this.get(tenant, clientId) : null;
  }

  /** Replaces a confidential client's secret; returns the new one (to show once), `null` when unknown or public. */
  async rotateSecret(tenant: string, clientId: string, now = new Date()): Promise<string | null> {
    const secret = randomBytes(32).toString('base64url');
    const result = await this.#clients.updateOne(
      { _id: key(tenant, clientId), tenant, $or: [{ secretHash: { $exists: true } }, { secret: { $exists: true } }] },
      { $set: { secretHash: hashClientSecret(secret), updatedAt: now }, $unset: { secret: true } },
    );
    return result.matched ? secret : null;
  }

  async delete(tenant: string, clientId: string): Promise<boolean> {
    return (await this.#clients.deleteOne({ _id: key(tenant, clientId), tenant })) > 0;
  }

  async rolesOf(tenant: string, clientId: string): Promise<string[]> {
    const doc = await this.#clients.findOne({ _id: key(tenant, clientId), tenant });
    return doc?.roles ?? [];
  }

  async setRoles(tenant: string, clientId: string, roles: string[], now = new Date()): Promise<boolean> {
    return (await this.#clients.updateOne({ _id: key(tenant, clientId), tenant }, { $set: { roles: [...new Set(roles)], updatedAt: now } })).matched > 0;
  }

  // --- Role membership (admin API roles resource). Single-element updates, so concurrent
  // assignments never overwrite each other.

  /** Gives the client a role (no-op when held); false when the client does not exist in `tenant`. */
  async addRole(tenant: string, clientId: string, role: string, now = new Date()): Promise<boolean> {
    return (await this.#clients.updateOne({ _id: key(tenant, clientId), tenant }, { $addToSet: { roles: role }, $set: { updatedAt: now } })).matched > 0;
  }

  /** Takes a role from the client (no-op when not held); false when the client does not exist in `tenant`. */
  async removeRole(tenant: string, clientId: string, role: string, now = new Date()): Promise<boolean> {
    return (await this.#clients.updateOne({ _id: key(tenant, clientId), tenant }, { $pull: { roles: role }, $set: { updatedAt: now } })).matched > 0;
  }

  /** One page of the clients holding `role` (id and name only, never the secret), by client id. */
  async listByRole(tenant: string, role: string, options: { after?: string; limit: number }): Promise<Array<{ clientId: string; name?: string }>> {
    const docs = await this.#clients.find({ tenant, roles: role, ...(options.after !== undefined ? { clientId: { $gt: options.after } } : {}) }, { sort: { clientId: 1 }, limit: options.limit });
    return docs.map((doc) => ({ clientId: doc.clientId, ...(typeof doc.metadata['client_name'] === 'string' ? { name: doc.metadata['client_name'] } : {}) }));
  }

  /** Takes `role` from every client of the tenant (the role was deleted); returns how many held it. */
  async removeRoleEverywhere(tenant: string, role: string, now = new Date()): Promise<number> {
    return this.#clients.updateMany({ tenant, roles: role }, { $pull: { roles: role }, $set: { updatedAt: now } });
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#clients.deleteMany({ tenant });
  }
}

function key(tenant: string, clientId: string): string {
  return `${tenant}:${clientId}`;
}

function record(doc: ClientDoc): ClientRecord {
  return { clientId: doc.clientId, metadata: doc.metadata, roles: doc.roles ?? [], confidential: doc.secretHash !== undefined || doc.secret !== undefined, createdAt: doc.createdAt, updatedAt: doc.updatedAt };
}

function purpose(tenant: string, clientId: string): string {
  return `client-secret:${tenant}:${clientId}`;
}
