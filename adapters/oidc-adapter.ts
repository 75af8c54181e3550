/**
 * oidc-provider's storage adapter over the store port, one factory per tenant.
 *
 * All models except `Client` share the `oidc` collection; clients come from the tenant's client
 * repository (dynamic registration is off). Every `_id` and every filter carries the tenant, so a
 * code, token or session of one tenant is invisible at another's endpoints.
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { DuplicateKeyError, type Collection, type Doc, type Store } from './store.js';

/** The adapter contract of oidc-provider (see its `lib/adapters/memory_adapter.js`). */
export type OidcAdapter = Adapter;

export interface OidcAdapterOptions {
  /** Client metadata by `client_id`, or `undefined` when the tenant has no such client. */
  findClient: (clientId: string) => Promise<Record<string, unknown> | undefined>;
  /** Milliseconds since the epoch; tests inject a clock to cross expiry without waiting. */
  now?: () => number;
}

/** How one model instance is stored. */
export interface OidcDoc extends Doc {
  tenant: string;
  model: string;
  /** JSON: payloads have keys nedb rejects (resource URLs contain dots). */
  payload: string;
  /**
   * Lookup keys for `revokeByGrantId`, `findByUserCode`, `findByUid` and {@link OidcAccountIndex}:
   * `{tenant}:{model}:{value}`, or, when the payload has no such value, `-:{_id}`. Always present and
   * almost always distinct, so their plain indexes stay cheap to update (documents missing an indexed
   * field would all share one index entry, which nedb scans on every write).
   */
  grantKey: string;
  userCodeKey: string;
  uidKey: string;
  /** Written since accounts' sessions can be ended; documents saved before lack it until re-saved. */
  accountKey?: string;
  expiresAt?: Date;
  /** Epoch seconds; set once, atomically, by `consume`. */
  consumed?: number;
}

const labels: Record<string, string> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  BackchannelAuthenticationRequest: 'backchannel authentication request',
  PreAuthorizedCode: 'pre-authorized code',
};

/** What a losing or late `consume` throws, the same in both homes (the provider maps it to the response). */
export function consumeFailure(model: string, exists: boolean): Error {
  if (model === 'PushedAuthorizationRequest') return new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
  const label = labels[model] ?? model;
  return new errors.InvalidGrant(exists ? `${label} already consumed` : `${label} not found`);
}

const lookups = { grantId: 'grantKey', userCode: 'userCodeKey', uid: 'uidKey', accountId: 'accountKey' } as const;

/** `{tenant}:{model}:{value}`: the `_id` of an instance, or the lookup key of a payload value. */
function keyOf(tenant: string, model: string, value: string): string {
  return `${tenant}:${model}:${value}`;
}

/** A stored payload, or `undefined` once it has expired (expiry is checked here, not by TTL indexes). */
function livePayload(doc: OidcDoc | null, now: number): AdapterPayload | undefined {
  if (!doc || (doc.expiresAt instanceof Date && doc.expiresAt.getTime() <= now)) return undefined;
  const payload = JSON.parse(doc.payload) as AdapterPayload;
  return doc.consumed === undefined ? payload : { ...payload, consumed: doc.consumed };
}

class StoreModelAdapter implements OidcAdapter {
  constructor(
    private readonly docs: Collection<OidcDoc>,
    private readonly tenant: string,
    private readonly model: string,
    private readonly now: () => number,
  ) {}

  #id(id: string): string {
    return keyOf(this.tenant, this.model, id);
  }

  #key(value: string): string {
    return keyOf(this.tenant, this.model, value);
  }

  #payload(doc: OidcDoc | null): AdapterPayload | undefined {
    return livePayload(doc, this.now());
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const _id = this.#id(id);
    const set: Record<string, unknown> = { tenant: this.tenant, model: this.model, payload: JSON.stringify(payload) };
    const unset: Record<string, true> = {};
    for (const [field, key] of Object.entries(lookups)) {
      const value: unknown = payload[field];
      set[key] = typeof value === 'string' && value !== '' ? this.#key(value) : `-:${_id}`;
    }
    if (typeof expiresIn === 'number') set.expiresAt = new Date(this.now() + expiresIn * 1000);
    else unset.expiresAt = true;
    // Never unset: a re-save of an instance read before consumption must not make it usable again.
    if (payload.consumed) set.consumed = payload.consumed;
    const update = Object.keys(unset).length > 0 ? { $set: set, $unset: unset } : { $set: set };
    if (this.model !== 'ReplayDetection') {
      await this.docs.updateOne({ _id }, update, { upsert: true });
      return;
    }
    // oidc-provider's ReplayDetection.unique() is find-then-save, so two parallel requests carrying
    // one DPoP proof or client assertion would both pass. Only an absent or expired entry may be
    // written: a live one makes the upsert insert a duplicate _id, and the request fails.
    try {
      await this.docs.updateOne({ _id, expiresAt: { $lte: new Date(this.now()) } }, update, { upsert: true });
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new errors.InvalidRequest('replay detected');
      throw error;
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#payload(await this.docs.findOne({ _id: this.#id(id), tenant: this.tenant }));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (typeof uid !== 'string') return undefined;
    return this.#payload(await this.docs.findOne({ uidKey: this.#key(uid), tenant: this.tenant }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (typeof userCode !== 'string') return undefined;
    return this.#payload(await this.docs.findOne({ userCodeKey: this.#key(userCode), tenant: this.tenant }));
  }

  /**
   * Marks the instance consumed, once: of parallel redemptions exactly one gets past the
   * `$exists: false` filter, the others fail like a replay would (the provider's own check only
   * sees what was stored when it read the code, before the race).
   */
  async consume(id: string): Promise<void> {
    const _id = this.#id(id);
    const won = await this.docs.findOneAndUpdate(
      { _id, tenant: this.tenant, consumed: { $exists: false } },
      { $set: { consumed: Math.floor(this.now() / 1000) } },
    );
    if (won) return;
    throw consumeFailure(this.model, (await this.docs.count({ _id, tenant: this.tenant })) > 0);
  }

  async destroy(id: string): Promise<void> {
    await this.docs.deleteOne({ _id: this.#id(id), tenant: this.tenant });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    if (typeof grantId !== 'string' || grantId === '') return;
    await this.docs.deleteMany({ grantKey: this.#key(grantId), tenant: this.tenant });
  }
}

/** Clients are read from the tenant's repository; the provider never writes them. */
export class ClientAdapter implements OidcAdapter {
  constructor(private readonly findClient: OidcAdapterOptions['findClient']) {}

  async find(id: string): Promise<AdapterPayload | undefined> {
    return (await this.findClient(id)) as AdapterPayload | undefined;
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async upsert(): Promise<never> {
    throw new Error('clients are managed through the admin API; dynamic registration is disabled');
  }

  async destroy(): Promise<never> {
    throw new Error('clients are managed through the admin API; dynamic registration is disabled');
  }

  async consume(): Promise<never> {
    throw new Error('clients cannot be consumed');
  }

  async revokeByGrantId(): Promise<never> {
    throw new Error('clients are not bound to grants');
  }
}

/** `:` separates the parts of `_id`; a tenant id containing one could alias another tenant's ids. */
export function assertTenantId(tenantId: string): void {
  if (typeof tenantId !== 'string' || tenantId === '' || tenantId.includes(':')) {
    throw new TypeError(`invalid tenant id ${JSON.stringify(tenantId)} for the oidc adapter`);
  }
}

/**
 * The adapters of one tenant with every model in the store (the durable home). The provider's
 * `adapter` option routes between homes: `adapters/oidc/routing.ts`.
 */
export function createStoreAdapterFactory(
  store: Store,
  tenantId: string,
  options: OidcAdapterOptions,
): (modelName: string) => OidcAdapter {
  assertTenantId(tenantId);
  const docs = store.collection<OidcDoc>('oidc');
  const now = options.now ?? Date.now;
  return (modelName) =>
    modelName === 'Client' ? new ClientAdapter(options.findClient) : new StoreModelAdapter(docs, tenantId, modelName, now);
}

/**
 * The adapter of one model of Gatehouse's own beside the provider's (remembered consent,
 * `src/oidc/consents.ts`): stored and found by account like the provider's models.
 */
export function createOidcModelAdapter(store: Store, tenantId: string, model: string, options: { now?: () => number } = {}): OidcAdapter {
  assertTenantId(tenantId);
  if (model === 'Client') throw new TypeError('clients are not stored in the oidc collection');
  return new StoreModelAdapter(store.collection<OidcDoc>('oidc'), tenantId, model, options.now ?? Date.now);
}

/** One stored instance found by account: its id (as the provider's `Model.find` takes it) and payload. */
export interface OidcInstance {
  id: string;
  payload: AdapterPayload;
}

/**
 * What oidc-provider's adapter interface cannot ask: which instances of a model (sessions, grants)
 * belong to an account, so they can be ended when the account is disabled or deleted.
 */
export interface OidcAccountIndex {
  /** Live instances of `model` whose `accountId` is `accountId`, in id order, after the id `after`. */
  find(model: string, accountId: string, page: { after?: string; limit: number }): Promise<OidcInstance[]>;
  /** Removes one instance; true only for the one caller that removed it, so parallel callers act once. */
  remove(model: string, id: string): Promise<boolean>;
}

export function createStoreAccountIndex(store: Store, tenantId: string, options: { now?: () => number } = {}): OidcAccountIndex {
  assertTenantId(tenantId);
  const docs = store.collection<OidcDoc>('oidc');
  const now = options.now ?? Date.now;
  return {
    async find(model, accountId, { after, limit }) {
      if (typeof accountId !== 'string' || accountId === '') return [];
      const prefix = keyOf(tenantId, model, '');
      // Expired instances are left out by the query, not after it, so a full page means there may be more.
      const live = [{ expiresAt: { $exists: false } }, { expiresAt: { $gt: new Date(now()) } }];
      const filter: Record<string, unknown> = { accountKey: keyOf(tenantId, model, accountId), tenant: tenantId, $or: live };
      if (after !== undefined) filter['_id'] = { $gt: keyOf(tenantId, model, after) };
      const found = await docs.find(filter, { sort: { _id: 1 }, limit });
      return found.flatMap((doc) => {
        const payload = livePayload(doc, now());
        return payload ? [{ id: doc._id.slice(prefix.length), payload }] : [];
      });
    },
    async remove(model, id) {
      return (await docs.deleteOne({ _id: keyOf(tenantId, model, id), tenant: tenantId })) > 0;
    },
  };
}

/** Removes every stored model of one tenant (the provider's and ours beside them): tenant deletion. */
export async function deleteOidcTenant(store: Store, tenantId: string): Promise<void> {
  assertTenantId(tenantId);
  await store.collection<OidcDoc>('oidc').deleteMany({ tenant: tenantId });
}
