import * as oidc from 'openid-client';
import type { AppContext } from './app-context.js';
import { ACCOUNT_CLIENT_ID } from './domain/clients.js';
import type { TenantContext } from './tenancy/tenant-context.js';

/** This process's own origin over loopback (`http://127.0.0.1:port`); throws until the server listens. */
export type LocalOrigin = () => string;

/**
 * The relying-party configuration of one of a tenant's built-in public clients (the account
 * console, the SAML bridge), discovered from the tenant's own discovery document. Its back-channel
 * calls (discovery, JWKS, token, userinfo) go to this process over loopback, at the origin the
 * server was started on: the public URL may be a proxy this process cannot reach, so it is never a
 * fallback.
 */
export async function builtInClientConfig(app: AppContext, tenant: TenantContext, localOrigin: LocalOrigin, clientId: string): Promise<oidc.Configuration> {
  const origin = new URL(app.config.publicUrl).origin;
  // Asked here rather than in each call, so a server that is not listening is this error, not openid-client's.
  const local = localOrigin();
  const loopback: oidc.CustomFetch = (url, options) => {
    const target = url.startsWith(origin) ? local + url.slice(origin.length) : url;
    return fetch(target, options as RequestInit);
  };
  const config = await oidc.discovery(new URL(tenant.issuer), clientId, undefined, oidc.None(), {
    [oidc.customFetch]: loopback,
    // Only http://localhost is ever plain HTTP here: production refuses other http: public URLs.
    ...(origin.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
  return config;
}

/** The account console's relying-party configuration for a tenant. */
export function accountClientConfig(app: AppContext, tenant: TenantContext, localOrigin: LocalOrigin): Promise<oidc.Configuration> {
  return builtInClientConfig(app, tenant, localOrigin, ACCOUNT_CLIENT_ID);
}
