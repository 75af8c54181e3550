import type { Context } from 'koa';
import * as oidc from 'openid-client';
import { builtInClientConfig, type LocalOrigin } from '../built-in-client.js';
import type { AppContext } from '../app-context.js';
import { SAML_CLIENT_ID } from '../domain/clients.js';
import { setSignedCookie } from '../http/signed-cookie.js';
import { renderPage } from '../http/views.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { samlRoot } from './idp-metadata.js';
import { SsoTransactions, transactionCookie, SSO_TRANSACTION_SECONDS, type SsoTransaction } from './transactions.js';

/** What a SAML sign-in starts with; the OIDC leg adds its own PKCE verifier, nonce and start time. */
export type NewSsoTransaction = Omit<SsoTransaction, 'verifier' | 'nonce' | 'startedAtMs'>;

/**
 * The OIDC half of every SAML sign-in, SP-initiated (`sso.ts`) or IdP-initiated
 * (`idp-initiated.ts`): the person signs in through the tenant's usual login as the built-in
 * client `gatehouse-saml`, and `/t/{tenant}/saml/callback` (in `sso.ts`) turns the result into a
 * Response. One leg for both, so both get the same transaction store, browser binding and
 * authorization request.
 */
export interface OidcLeg {
  readonly transactions: SsoTransactions;
  /** cookies are `Secure` when the public URL is https */
  readonly secure: boolean;
  /** the callback's path, which the transaction cookie is scoped to */
  callbackPath(tenant: TenantContext): string;
  /** the bridge client's configuration for the tenant (discovered once per built tenant) */
  configOf(tenant: TenantContext): Promise<oidc.Configuration>;
  /**
   * Stores the transaction, ties it to this browser (a signed cookie named after its `state`) and
   * sends the browser to the tenant's authorization endpoint: `isPassive` as `prompt=none`,
   * `forceAuthn` as `max_age=0`, `acr` (the requested context's acr values) as `acr_values`.
   */
  begin(ctx: Context, tenant: TenantContext, transaction: NewSsoTransaction, acr?: string): Promise<void>;
  /** An error page of ours (never a Response), `no-store`. */
  errorPage(ctx: Context, status: number, heading: string, message: string): Promise<void>;
}

export function oidcLeg(app: AppContext, localOrigin: LocalOrigin): OidcLeg {
  const transactions = new SsoTransactions(app.ephemeral);
  const configs = new WeakMap<TenantContext, Promise<oidc.Configuration>>();
  const secure = app.config.publicUrl.startsWith('https:');
  const callbackPath = (tenant: TenantContext) => `${new URL(tenant.issuer).pathname}${samlRoot}/callback`;
  const configOf = (tenant: TenantContext) => {
    let config = configs.get(tenant);
    if (!config) {
      config = builtInClientConfig(app, tenant, localOrigin, SAML_CLIENT_ID);
      configs.set(tenant, config);
      config.catch(() => configs.delete(tenant));
    }
    return config;
  };

  return {
    transactions,
    secure,
    callbackPath,
    configOf,
    async begin(ctx, tenant, started, acr) {
      const verifier = oidc.randomPKCECodeVerifier();
      const transaction: SsoTransaction = { ...started, verifier, nonce: oidc.randomNonce(), startedAtMs: app.clock() };
      const state = await transactions.start(tenant.id, transaction);
      setSignedCookie(ctx, tenant, transactionCookie(state), '1', { path: callbackPath(tenant), maxAgeMs: SSO_TRANSACTION_SECONDS * 1000, secure });
      const url = oidc.buildAuthorizationUrl(await configOf(tenant), {
        redirect_uri: `${tenant.issuer}${samlRoot}/callback`,
        scope: 'openid',
        state,
        nonce: transaction.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        // `sid` ties the SessionIndex to the provider's session (OIDC Core 5.5).
        claims: JSON.stringify({ id_token: { sid: null, auth_time: { essential: true } } }),
        ...(transaction.isPassive ? { prompt: 'none' } : {}),
        ...(transaction.forceAuthn ? { max_age: '0' } : {}),
        ...(acr ? { acr_values: acr } : {}),
      });
      ctx.status = 303;
      ctx.redirect(url.href);
    },
    async errorPage(ctx, statusCode, heading, message) {
      const tenant = ctx.state.tenant as TenantContext;
      ctx.status = statusCode;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = await renderPage('error', { title: heading, tenant, requestId: ctx.state.requestId as string, heading, message, status: statusCode });
    },
  };
}
