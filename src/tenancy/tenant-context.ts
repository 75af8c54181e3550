import { createHmac } from 'node:crypto';
import { createLocalJWKSet, type JWK } from 'jose';
import type Provider from 'oidc-provider';
import { createOidcAccountIndex, shortLivedHomeOf, type RoutedAccountIndex } from '../../adapters/oidc/routing.js';
import type { AppContext } from '../app-context.js';
import { issuerFor } from '../app-context.js';
import { acceptedBranding } from '../domain/branding.js';
import { registrationOf } from '../domain/registration.js';
import { deviceFlowOf, mfaPolicyOf, type Tenant } from '../domain/tenants.js';
import { AppError } from '../errors.js';
import { pageBrandingFor, type PageBranding } from '../http/branding.js';
import { contentSecurityPolicy } from '../http/security-headers.js';
import { ClientCache } from '../oidc/clients.js';
import { ConsentMemory } from '../oidc/consents.js';
import { cibaNotifier } from '../messaging/ciba-notifications.js';
import { buildProvider } from '../oidc/provider.js';
import type { AfterLogout } from '../oidc/after-logout.js';
import { precompute, type PrecomputedResponses } from './precomputed.js';

/** The composition root of one tenant: its provider and the values its routes need. */
export interface TenantContext {
  id: string;
  name: string;
  /** the tenant's settings (security policy, branding, ...) as stored when the context was built */
  settings: Tenant;
  issuer: string;
  provider: Provider;
  /** the provider's request handler (Koa callback), built once */
  handle: ReturnType<Provider['callback']>;
  /** HMAC with the tenant's newest cookie key, for CSRF tokens and our own cookies */
  mac(purpose: string, value: string): string;
  /** all cookie keys, newest first, for verifying values signed before a rotation */
  macAll(purpose: string, value: string): string[];
  /** epoch ms when a key changes state (a next key signs, a retired one leaves the JWKS): the context must be rebuilt then */
  rebuildAt?: number;
  /** the JWKS and discovery document, asked of the provider once and served from memory (`precomputed.ts`) */
  precomputed: PrecomputedResponses;
  /** the tenant's published signing keys, for verifying its JWTs locally */
  jwks: ReturnType<typeof createLocalJWKSet>;
  /** the provider's sessions and grants by account, for ending them (`oidc/end-sessions.ts`) */
  byAccount: RoutedAccountIndex;
  /** what users allowed clients before (`oidc/consents.ts`): read by the provider, written by the consent step */
  consents: ConsentMemory;
  /** the tenant's clients as the provider finds them; a change to one client invalidates its entry */
  clients: ClientCache;
  /** what every page of the tenant shows of its branding (`views/layout.ejs`) */
  branding: PageBranding;
  /** the CSP of the tenant's responses: the default one, plus the logo's origin in `img-src` */
  contentSecurityPolicy: string;
}

/** The public half of a private JWK. */
function publicJwk({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest }: JWK): JWK {
  return rest;
}

/** Builds a tenant's context; generates its keys first when allowed and missing. */
/**
 * What the composition root (`server.ts`) adds to every tenant's provider from layers that sit
 * above tenancy: SAML's single logout builds on tenant contexts, so tenancy cannot import it.
 */
export interface TenantHooks {
  /** where a browser goes after the user ended the whole session at the logout confirmation */
  afterLogout?: (tenant: { id: string; issuer: string }) => AfterLogout;
}

export async function buildTenantContext(app: AppContext, tenant: Tenant, hooks: TenantHooks = {}): Promise<TenantContext> {
  const now = new Date(app.clock());
  let keys = await app.keys.load(tenant._id, now);
  if (!keys && app.config.keys.autoGenerate) {
    if (await app.keys.createFirst(tenant._id, now)) app.logger.info({ tenant: tenant._id }, 'generated signing keys for tenant');
    // Another instance (or request) is creating them: its keys appear within moments.
    for (let wait = 0; wait < 30 && !(keys = await app.keys.load(tenant._id, new Date(app.clock()))); wait += 1) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!keys) {
    throw new AppError('no_signing_keys', `tenant ${tenant._id} has no signing keys; an operator must run: gatehouse keys rotate --tenant ${tenant._id}`);
  }
  const issuer = issuerFor(app.config, tenant._id);
  const name = tenant.displayName;
  const accepted = acceptedBranding(tenant.branding);
  if (accepted.refused.length) {
    app.logger.warn({ tenant: tenant._id, fields: accepted.refused }, 'tenant branding not shown: stored values break the current rules; set them again through the admin API');
  }
  const branding = pageBrandingFor(new URL(issuer).pathname, accepted.branding);
  const consents = new ConsentMemory(app.store, tenant._id);
  const clients = new ClientCache(tenant._id, issuer, app.clients);
  const homes = { store: app.store, ephemeral: shortLivedHomeOf(app.ephemeral), tenant: tenant._id, now: app.clock };
  const macWith = (key: string, purpose: string, value: string) => createHmac('sha256', key).update(`${purpose}\0${value}`).digest('base64url');
  const cookieKeys = keys.cookieKeys;
  const mac = (purpose: string, value: string) => macWith(cookieKeys[0]!, purpose, value);
  const provider = buildProvider({
    tenant: { id: tenant._id, name, branding, requirePkce: tenant.securityPolicy?.requirePkce === true, mfa: mfaPolicyOf(tenant.securityPolicy).mfa, signUp: registrationOf(tenant.securityPolicy).enabled },
    issuer,
    keys,
    homes,
    users: app.users,
    clients: app.clients,
    clientCache: clients,
    resources: app.resources,
    roles: app.roles,
    logger: app.logger.child({ tenant: tenant._id }),
    attempts: app.attempts,
    metrics: app.metrics,
    consents,
    ...(hooks.afterLogout ? { afterLogout: hooks.afterLogout({ id: tenant._id, issuer }) } : {}),
    outbound: { allowPrivateNetwork: app.config.http.allowPrivateNetworkFetch, allowLoopback: app.config.env === 'development', trust: app.outboundTrust },
    deviceFlow: deviceFlowOf(tenant.securityPolicy),
    ciba: { enabled: tenant.securityPolicy?.ciba?.enabled === true, notify: cibaNotifier(app, { id: tenant._id, issuer, mac }) },
    ephemeral: app.ephemeral,
    audit: app.audit,
    changes: app.changes,
    clock: app.clock,
  });
  const handle = provider.callback();
  return {
    id: tenant._id,
    name,
    settings: tenant,
    issuer,
    provider,
    handle,
    mac,
    macAll: (purpose, value) => cookieKeys.map((key) => macWith(key, purpose, value)),
    ...(keys.nextChange ? { rebuildAt: keys.nextChange.getTime() } : {}),
    precomputed: await precompute(handle, tenant._id, new URL(app.config.publicUrl), app.config.keys.jwksCacheSeconds),
    jwks: createLocalJWKSet({ keys: keys.jwks.keys.map(publicJwk) }),
    byAccount: createOidcAccountIndex(homes),
    consents,
    clients,
    branding,
    contentSecurityPolicy: contentSecurityPolicy(branding.logoUrl ? [new URL(branding.logoUrl).origin] : []),
  };
}
