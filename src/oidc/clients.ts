import { LRUCache } from 'lru-cache';
import { DEVICE_CODE_GRANT } from '../domain/client-metadata.js';
import { ACCOUNT_CLIENT_ID, CLI_CLIENT_ID, SAML_CLIENT_ID, type ClientMetadata, type ClientRepository } from '../domain/clients.js';
import { secretForProvider } from './client-secrets.js';

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
    // Where an expired sign-in page sends its user to start again (src/interactions/start-again.ts).
    client_uri: `${issuer}/account`,
    first_party: true,
  };
}

/**
 * The operators' command line (`gatehouse login`): a public, first-party native client of every
 * tenant that signs in with the device flow and may ask for the admin API on its user's behalf
 * (`admin_console`), where the user's roles decide which admin scopes the token carries, as for the
 * tokens of any admin console. The device flow's confirmation page is still shown (docs/device-flow.md).
 */
export function cliClientMetadata(): ClientMetadata {
  return {
    client_id: CLI_CLIENT_ID,
    client_name: 'Gatehouse command line',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    first_party: true,
    admin_console: true,
  };
}

/**
 * The SAML bridge (src/saml/sso.ts): an SP's AuthnRequest becomes an authorization request of this
 * first-party public client, so a SAML sign-in runs through the same login, second factors,
 * session and audit as an OIDC one. Built from the public URL, like the account console's.
 */
export function samlClientMetadata(issuer: string): ClientMetadata {
  return {
    client_id: SAML_CLIENT_ID,
    client_name: 'SAML single sign-on',
    application_type: 'web',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${issuer}/saml/callback`],
    client_uri: `${issuer}/account`,
    first_party: true,
  };
}

/** How long a client's metadata is reused before it is read (and its secret decrypted) again. */
export const CLIENT_CACHE_SECONDS = 30;

/**
 * A tenant's clients as oidc-provider looks them up (`TenantContext.clients`): the account console
 * first, then the tenant's registry. Found clients are kept briefly (every token request needs its
 * client, and the secret is stored encrypted). A change to one client drops that one entry
 * (`invalidate`, from the change feed and the per-request change check), not the tenant's provider;
 * {@link CLIENT_CACHE_SECONDS} is only the backstop where no change reaches this instance. Unknown
 * ids are not cached. The provider's own client cache is keyed by a hash of the metadata this
 * returns, so a changed secret or a deleted client never matches an instance it built before.
 */
export class ClientCache {
  readonly #cache = new LRUCache<string, { metadata: ClientMetadata; secretHash?: string }>({ max: 1000, ttl: CLIENT_CACHE_SECONDS * 1000 });

  constructor(
    private readonly tenant: string,
    private readonly issuer: string,
    private readonly clients: ClientRepository,
  ) {}

  /** The client's metadata as the provider takes it, or undefined. */
  readonly find = async (clientId: string): Promise<ClientMetadata | undefined> => {
    if (clientId === ACCOUNT_CLIENT_ID) return accountClientMetadata(this.issuer);
    if (clientId === CLI_CLIENT_ID) return cliClientMetadata();
    if (clientId === SAML_CLIENT_ID) return samlClientMetadata(this.issuer);
    let found = this.#cache.get(clientId);
    if (!found) {
      found = await this.clients.find(this.tenant, clientId);
      if (!found) return undefined;
      this.#cache.set(clientId, found);
    }
    return found.secretHash ? { ...found.metadata, client_secret: secretForProvider(found.secretHash) } : found.metadata;
  };

  invalidate(clientId: string): void {
    this.#cache.delete(clientId);
  }

  clear(): void {
    this.#cache.clear();
  }
}

/**
 * Where a user can start signing in to a client again: its `initiate_login_uri` (OIDC Registration
 * 2: the client's own "log me in" URL), else its `client_uri` (home page); only http(s) URLs. The
 * provider validates both when it loads a client, and a client it refuses to load offers none.
 */
export function startAgainUrlOf(client: { initiateLoginUri?: string | undefined; clientUri?: string | undefined } | undefined): string | undefined {
  for (const candidate of [client?.initiateLoginUri, client?.clientUri]) {
    const protocol = candidate ? URL.parse(candidate)?.protocol : undefined;
    if (protocol === 'https:' || protocol === 'http:') return candidate;
  }
  return undefined;
}
