import type { Configuration } from 'oidc-provider';
import { clientAssertionAlgs, clientAuthMethods } from '../domain/client-auth-methods.js';

/** The most a client's `jwks_uri` may answer; a JWKS of the ten keys we accept inline fits easily. */
export const JWKS_URI_BODY_LIMIT = 64 * 1024;

/**
 * PKCE policy (RFC 7636; RFC 9700 2.1.1 recommends it for every client): always for public clients,
 * and for confidential ones when their tenant (`security_policy.require_pkce`) or the client itself
 * (`require_pkce` metadata) asks. A client's `false` never lifts its tenant's requirement.
 */
export function pkceRequiredFor(tenantRequiresPkce: boolean): NonNullable<Configuration['pkce']>['required'] {
  return (_ctx, client) => client.clientAuthMethod === 'none' || tenantRequiresPkce || client['require_pkce'] === true;
}

/** The provider settings for client authentication (see `clientAuthMethods` in domain/client-auth-methods.ts). */
export const clientAuthentication = {
  clientAuthMethods: [...clientAuthMethods],
  enabledJWA: { clientAuthSigningAlgValues: [...clientAssertionAlgs] },
  fetchResponseBodyLimits: { jwks_uri: JWKS_URI_BODY_LIMIT },
} satisfies Configuration;
