/**
 * Routes each oidc-provider model of a tenant to its home: short-lived models to the short-lived
 * state port (Redis, or its store-backed default), durable ones to the store, clients to the
 * tenant's client repository. The table of every model, its home and why is in
 * docs/architecture.md ("Where oidc-provider's models live").
 *
 * oidc-provider revokes a grant by calling `revokeByGrantId` on each model that can hold one
 * (`lib/helpers/revoke.js`), each through its own adapter, so each home revokes its own instances.
 */
import type { EphemeralStore } from '../ephemeral.js';
import {
  assertTenantId,
  ClientAdapter,
  createStoreAccountIndex,
  createStoreAdapterFactory,
  type OidcAccountIndex,
  type OidcAdapter,
  type OidcAdapterOptions,
} from '../oidc-adapter.js';
import type { Store } from '../store.js';
import { EphemeralModelAdapter } from './ephemeral.js';
import { ephemeralAccountIndex, type SessionInstance } from './ephemeral-index.js';

/**
 * Models that live minutes to days and expire by themselves. Every model oidc-provider has
 * (`lib/models/index.js`) is named here or in {@link DURABLE_MODELS}; `IdToken` is never stored
 * (it is a JWT) but would be short-lived.
 */
export const SHORT_LIVED_MODELS: ReadonlySet<string> = new Set([
  'Session',
  'Interaction',
  'AuthorizationCode',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
  'PreAuthorizedCode',
  'ReplayDetection',
  'AccessToken',
  'ClientCredentials',
  'IdToken',
]);

/**
 * Models kept in the store: grants and refresh tokens outlive sessions (offline access), our
 * remembered consent lasts until withdrawn, and the registration tokens (dynamic registration is
 * off) would last as long as their client. Any model not named in either list goes to the store.
 */
export const DURABLE_MODELS: ReadonlySet<string> = new Set(['Grant', 'RefreshToken', 'InitialAccessToken', 'RegistrationAccessToken', 'Client']);

export type OidcHome = 'ephemeral' | 'store';

export interface OidcHomes {
  store: Store;
  /** the short-lived home ({@link shortLivedHomeOf}); without it every model stays in the store */
  ephemeral?: EphemeralStore | undefined;
  tenant: string;
  /** milliseconds since the epoch; tests inject a clock to cross expiry without waiting */
  now?: () => number;
}

/**
 * The short-lived home of the provider's models: Redis when it is configured; without it every
 * model stays in the store's `oidc` collection. Measured with `npm run bench` (docs/benchmarks.md),
 * routing them through the store-backed port cost a login about 10 ms more JavaScript (27.7 against
 * 17.3 ms per login): an account's index there is one document whose member list grows with every
 * session and is copied on each write, where the `oidc` collection indexes each document instead.
 * The in-process measurement (`bench/oidc-layouts.ts`) did not show it: it signs in a fresh account.
 */
export function shortLivedHomeOf(ephemeral: EphemeralStore): EphemeralStore | undefined {
  return ephemeral.kind === 'redis' ? ephemeral : undefined;
}

/** Where a model lives when a short-lived home is given. */
export function homeOf(model: string): OidcHome {
  return SHORT_LIVED_MODELS.has(model) ? 'ephemeral' : 'store';
}

function assertTenant(homes: OidcHomes): void {
  assertTenantId(homes.tenant);
  // The tenant is a Redis Cluster hash tag in the short-lived keys (`tenantKey`).
  if (/[{}]/.test(homes.tenant)) throw new TypeError(`invalid tenant id ${JSON.stringify(homes.tenant)} for the oidc adapter`);
}

/**
 * Models kept past their expiry, for that long (seconds), in either home: RFC 8628 3.5 and CIBA 11
 * answer a poll of an expired device code or request with `expired_token`, which the provider can
 * only say while it still finds the instance (it reads `exp` from the payload and judges expiry
 * itself). Without the grace a poll a moment late gets `invalid_grant`, and the code page says "not
 * valid" where "expired" is true.
 */
const KEPT_AFTER_EXPIRY_SECONDS: Readonly<Record<string, number>> = { DeviceCode: 600, BackchannelAuthenticationRequest: 600 };

/** An adapter whose instances are stored `grace` seconds longer than the provider asks. */
function keptLonger(adapter: OidcAdapter, grace: number): OidcAdapter {
  const upsert = adapter.upsert.bind(adapter);
  adapter.upsert = (id, payload, expiresIn) => upsert(id, payload, typeof expiresIn === 'number' ? expiresIn + grace : expiresIn);
  return adapter;
}

/**
 * Returns the `adapter` option of one tenant's provider: oidc-provider calls it once per model name
 * (a plain, non-async function, which the provider treats as a factory rather than a class).
 */
export function createOidcAdapterFactory(options: OidcHomes & Pick<OidcAdapterOptions, 'findClient'>): (modelName: string) => OidcAdapter {
  assertTenant(options);
  const now = options.now ?? Date.now;
  const durable = createStoreAdapterFactory(options.store, options.tenant, { findClient: options.findClient, now });
  const { ephemeral } = options;
  const adapterFor = (modelName: string): OidcAdapter => {
    if (modelName === 'Client') return new ClientAdapter(options.findClient);
    if (ephemeral && homeOf(modelName) === 'ephemeral') return new EphemeralModelAdapter(ephemeral, options.tenant, modelName, now);
    return durable(modelName);
  };
  return (modelName) => {
    const grace = KEPT_AFTER_EXPIRY_SECONDS[modelName];
    return grace ? keptLonger(adapterFor(modelName), grace) : adapterFor(modelName);
  };
}

/** {@link OidcAccountIndex} over both homes, plus the instances of one browser session. */
export interface RoutedAccountIndex extends OidcAccountIndex {
  /**
   * The live short-lived instances of a browser session: the Session whose `uid` it is and the
   * codes and tokens it issued (their `sessionUid`). Refresh tokens and grants stay in the store
   * and are found by account. Needs the short-lived home: without it the store has no such lookup
   * and this rejects, rather than answer "no sessions" to a logout that must end them.
   */
  findBySessionUid(sessionUid: string): Promise<SessionInstance[]>;
}

/** Each model is looked up in its home, so sessions, grants and tokens are found wherever they live. */
export function createOidcAccountIndex(homes: OidcHomes): RoutedAccountIndex {
  assertTenant(homes);
  const now = homes.now ?? Date.now;
  const durable = createStoreAccountIndex(homes.store, homes.tenant, { now });
  const shortLived = homes.ephemeral ? ephemeralAccountIndex(homes.ephemeral, homes.tenant, now) : undefined;
  const indexOf = (model: string) => (shortLived && homeOf(model) === 'ephemeral' ? shortLived : durable);
  return {
    find: (model, accountId, page) => indexOf(model).find(model, accountId, page),
    remove: (model, id) => indexOf(model).remove(model, id),
    findBySessionUid: async (sessionUid) => {
      if (!shortLived) throw new Error('finding instances by session needs the short-lived state on Redis');
      return shortLived.findBySessionUid(sessionUid);
    },
  };
}
