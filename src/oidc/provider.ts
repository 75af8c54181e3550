import Provider, { type Configuration } from 'oidc-provider';
import type { Logger } from 'pino';
import type { ChangeFeed } from '../../adapters/change-feed.js';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import type { OidcHomes } from '../../adapters/oidc/routing.js';
import type { AuditRepository } from '../domain/audit.js';
import type { AttemptWindows } from '../authn/attempts.js';
import { createOidcAdapterFactory } from '../../adapters/oidc/routing.js';
import type { ClientRepository } from '../domain/clients.js';
import type { TenantKeys } from '../domain/keys.js';
import type { ResourceRepository } from '../domain/resources.js';
import type { RoleRepository } from '../domain/roles.js';
import type { UserRepository } from '../domain/users.js';
import type { PageTenant } from '../http/views.js';
import type { Metrics } from '../metrics/metrics.js';
import type { MfaMode } from '../authn/assurance.js';
import { findAccountFor } from './claims.js';
import { pkceRequiredFor } from './client-auth.js';
import { throttleClientAuthentication } from './client-auth-throttle.js';
import type { ClientCache } from './clients.js';
import { clientMetadataSettings } from './client-validation.js';
import type { ConsentMemory } from './consents.js';
import { continueAfterLogout, type AfterLogout } from './after-logout.js';
import { subscribeToEvents } from './events.js';
import { failClosedOnUnavailableBackend } from './fail-closed.js';
import { deviceFlowFeature } from './device-flow.js';
import { limitDeviceFlow, slowDownPolling } from './device-limits.js';
import { cibaFeature, correctCibaDiscovery, type CibaNotify } from './ciba.js';
import { auditLatePolls } from './ciba-expiry.js';
import { unauthorizedClientErrors } from './grant-errors.js';
import { baseFeatures } from './features.js';
import { loadExistingGrantFor } from './grants.js';
import { interactionPolicyFor } from './interaction-policy.js';
import { outboundFetch, type OutboundPolicy } from './outbound.js';
import { introspectionPolicyFor } from './introspection.js';
import { pagesFor } from './pages.js';
import { resourceIndicatorsFor } from './resources.js';
import { recordSessionDevices } from './session-devices.js';
import { tokenAssurance } from './token-assurance.js';
import { CIBA_REQUEST_LIFETIME_SECONDS, ttl } from './ttl.js';

export interface ProviderDeps {
  /**
   * the tenant as its pages show it (the error and logout pages are the provider's); `requirePkce`:
   * its `security_policy.require_pkce`; `mfa`: its `security_policy.mfa`, which the interaction policy enforces;
   * `signUp`: its `security_policy.registration` is on (`prompt=create` is then supported)
   */
  tenant: PageTenant & { requirePkce: boolean; mfa: MfaMode; signUp: boolean };
  issuer: string;
  keys: TenantKeys;
  /** where the tenant's models live: short-lived ones on `ephemeral`, durable ones in `store` */
  homes: OidcHomes;
  users: UserRepository;
  clients: ClientRepository;
  /** the tenant's client cache (`TenantContext.clients`), which changes to one client invalidate */
  clientCache: ClientCache;
  resources: ResourceRepository;
  roles: RoleRepository;
  logger: Logger;
  attempts: AttemptWindows;
  metrics: Metrics;
  /** the tenant's remembered consent, shared with the consent step (`TenantContext.consents`) */
  consents: ConsentMemory;
  /** where a browser goes after the user ended the session at the logout confirmation (SAML single logout) */
  afterLogout?: AfterLogout;
  /** which special-use addresses outbound requests may reach (`http.allowPrivateNetworkFetch`, mode) */
  outbound: OutboundPolicy;
  /** the tenant's device flow (`security_policy.device_flow`, with its defaults) */
  deviceFlow: { enabled: boolean; userCodeLifetimeSeconds: number };
  /** CIBA (`security_policy.ciba`; off by default), and how the user hears of a request */
  ciba: { enabled: boolean; notify?: CibaNotify };
  /** short-lived state for the device flow's polling records and limits, and CIBA's open requests */
  ephemeral: EphemeralStore;
  audit: AuditRepository;
  /** the change feed: CIBA requests are announced on it to the account console's open pages */
  changes: ChangeFeed;
  clock: () => number;
}

/**
 * Builds one tenant's oidc-provider instance from its keys, its store-backed models and the shared
 * protocol settings. Called by the tenant pool; the result is cached until the tenant changes.
 */
export function buildProvider(deps: ProviderDeps): Provider {
  const { tenant, issuer } = deps;
  const tenantPath = new URL(issuer).pathname;
  const pages = pagesFor(tenant);
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const };
  const findAccount = findAccountFor(tenant.id, deps.users);
  const interactionPolicy = interactionPolicyFor(tenant.mfa, { signUp: tenant.signUp });

  const configuration: Configuration = {
    adapter: createOidcAdapterFactory({ ...deps.homes, findClient: deps.clientCache.find }),
    jwks: deps.keys.jwks as Configuration['jwks'],
    cookies: {
      keys: deps.keys.cookieKeys,
      // The session cookie is scoped to the tenant's path so two tenants on one host never read
      // each other's sessions.
      long: { ...cookieOptions, signed: true, path: tenantPath },
      // No path here: oidc-provider scopes each interaction cookie to its own interaction's URL
      // (`{tenantPath}/interaction/{uid}`) and each resume cookie to its resume URL
      // (`{tenantPath}/auth/{uid}`), both within the tenant's path. A path given here would win over
      // theirs (they spread these options last) and make every sign-in of a browser share one
      // cookie, so a second tab's sign-in would take over the first's.
      short: { ...cookieOptions, signed: true },
    },
    findAccount,
    loadExistingGrant: loadExistingGrantFor({ tenant: tenant.id, clients: deps.clients, consents: deps.consents }),
    // scopes, claims, response types, client authentication, extra client metadata
    ...clientMetadataSettings,
    // ID tokens carry the claims of every granted scope (profile, email, roles...), as Keycloak and
    // Auth0 do, rather than only when no access token is issued (OIDC Core 5.4's conformant mode).
    conformIdTokenClaims: false,
    features: {
      ...baseFeatures,
      introspection: { enabled: true, allowedPolicy: introspectionPolicyFor(findAccount) },
      rpInitiatedLogout: { enabled: true, logoutSource: pages.logoutSource, postLogoutSuccessSource: pages.postLogoutSuccessSource },
      deviceFlow: deviceFlowFeature({ tenant, enabled: deps.deviceFlow.enabled, audit: deps.audit }),
      ciba: cibaFeature({ tenant: tenant.id, enabled: deps.ciba.enabled, users: deps.users, audit: deps.audit, ephemeral: deps.ephemeral, changes: deps.changes, logger: deps.logger, notify: deps.ciba.notify }),
      resourceIndicators: resourceIndicatorsFor({ tenant: tenant.id, publicUrl: new URL(issuer).origin, issuer, resources: deps.resources, roles: deps.roles, users: deps.users, clients: deps.clients }),
    },
    pkce: { required: pkceRequiredFor(tenant.requirePkce) },
    interactions: { policy: interactionPolicy, url: (_ctx, interaction) => `${tenantPath}/interaction/${interaction.uid}` },
    // Refresh tokens for every client allowed the grant (not only with offline_access); they expire
    // with the session unless offline_access was granted, and every use rotates them.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // Says in every access token whether its subject is a user or the client itself, so a resource
    // server (our admin API among them) never has to guess from `sub === client_id`.
    extraTokenClaims: (ctx, token) => ({ sub_type: token.kind === 'ClientCredentials' ? 'client' : 'user', ...tokenAssurance(ctx, token) }),
    clientBasedCORS(_ctx, origin, client) {
      if (origin === 'null') return false;
      return client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false;
    },
    renderError: pages.renderError,
    // OIDC Discovery's prompt_values_supported (Initiating User Registration 1.0 section 4), which the
    // provider does not publish: exactly the prompts it accepts, `create` only while sign-up is on.
    discovery: { prompt_values_supported: ['none', ...interactionPolicy.filter((prompt) => prompt.requestable).map((prompt) => prompt.name)] },
    fetch: outboundFetch(deps.outbound, deps.logger),
    ttl: { ...ttl, DeviceCode: deps.deviceFlow.userCodeLifetimeSeconds },
  };

  const provider = new Provider(issuer, configuration);
  // The root app sets X-Forwarded-* from the configured public URL before handing requests over.
  provider.proxy = true;
  failClosedOnUnavailableBackend(provider, deps.logger);
  throttleClientAuthentication(provider, tenant.id, deps.attempts, deps.logger, deps.metrics);
  unauthorizedClientErrors(provider);
  if (deps.ciba.enabled) correctCibaDiscovery(provider);
  if (deps.ciba.enabled) auditLatePolls(provider, { tenant: tenant.id, ephemeral: deps.ephemeral, audit: deps.audit, logger: deps.logger });
  if (deps.deviceFlow.enabled) limitDeviceFlow(provider, { tenant, ephemeral: deps.ephemeral, attempts: deps.attempts, metrics: deps.metrics, clock: deps.clock });
  if (deps.deviceFlow.enabled || deps.ciba.enabled) {
    slowDownPolling(provider, { tenant: tenant.id, ephemeral: deps.ephemeral, clock: deps.clock, lifetimeSeconds: Math.max(deps.deviceFlow.userCodeLifetimeSeconds, CIBA_REQUEST_LIFETIME_SECONDS) });
  }
  if (deps.afterLogout) continueAfterLogout(provider, deps.afterLogout);
  recordSessionDevices(provider, { tenant: tenant.id, ephemeral: deps.ephemeral, clock: deps.clock });
  subscribeToEvents(provider, deps.logger, { tenant: tenant.id, metrics: deps.metrics });
  return provider;
}
