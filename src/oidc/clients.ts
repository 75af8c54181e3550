import type { ClientMetadata, ClientRepository } from '../domain/clients.js';

/** The account console's client id; reserved in every tenant. */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';

/**
 * The account console (`/t/{tenant}/account`) is a first-party, public client of its own tenant
 * using authorization code + PKCE, like any other relying party. Its metadata follows from the
 * public URL, so it is built here rather than stored.
 */
export function accountClientMetadata(issuer: string): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'Account console',
    application_type: 'web',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${issuer}/account/callback`],
    post_logout_redirect_uris: [`${issuer}/account`],
    first_party: true,
  };
}

/** Looks a client up for oidc-provider: the account console first, then the tenant's registry. */
export function clientFinder(tenant: string, issuer: string, clients: ClientRepository) {
  return async (clientId: string): Promise<ClientMetadata | undefined> => {
    if (clientId === ACCOUNT_CLIENT_ID) return accountClientMetadata(issuer);
    return clients.find(tenant, clientId);
  };
}
