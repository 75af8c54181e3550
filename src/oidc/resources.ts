import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { ADMIN_TOKEN_TTL_SECONDS, adminApiIdentifier, allAdminScopes } from '../domain/admin-api.js';
import { CIBA_APPROVAL_TOKEN_TTL_SECONDS, CIBA_APPROVE_SCOPE, cibaApprovalResource } from '../domain/ciba.js';
import type { ClientRepository } from '../domain/clients.js';
import type { ResourceRepository } from '../domain/resources.js';
import type { RoleRepository } from '../domain/roles.js';
import type { UserRepository } from '../domain/users.js';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

export interface ResourceDeps {
  tenant: string;
  publicUrl: string;
  /** the tenant's issuer: the CIBA approval API's identifier is below it */
  issuer: string;
  resources: ResourceRepository;
  roles: RoleRepository;
  users: UserRepository;
  clients: ClientRepository;
}

/**
 * The subject whose roles decide an access token's API scopes: the signed-in user at the token
 * endpoint (code and refresh grants load the account first), or the client itself for client
 * credentials. `undefined` elsewhere (the authorization endpoint): scopes are then offered in full
 * and filtered when tokens are issued, so removing a role takes effect at the next token.
 */
async function rolesOfSubject(ctx: KoaContextWithOIDC, deps: ResourceDeps): Promise<string[] | undefined> {
  if (ctx.oidc.route !== 'token') return undefined;
  const account = ctx.oidc.entities.Account;
  if (account) return (await deps.users.findById(deps.tenant, account.accountId))?.roles ?? [];
  if (ctx.oidc.params?.['grant_type'] === 'client_credentials' && ctx.oidc.client) return deps.clients.rolesOf(deps.tenant, ctx.oidc.client.clientId);
  return [];
}

/**
 * Resource indicators (RFC 8707): an access token for a registered API (or the built-in admin
 * API) carries that API as its audience and, of the scopes asked for, only those the subject's
 * roles grant (RBAC). It is a JWT (RFC 9068) unless the API asks for opaque tokens. An
 * unregistered resource is `invalid_target`.
 */
export function resourceIndicatorsFor(deps: ResourceDeps): ResourceIndicators {
  const adminApi = adminApiIdentifier(deps.publicUrl);
  const cibaApproval = cibaApprovalResource(deps.issuer);
  return {
    enabled: true,
    defaultResource: (_ctx, _client, oneOf) => oneOf,
    useGrantedResource: () => true,
    async getResourceServerInfo(ctx, resourceIndicator, client) {
      // Users' admin tokens only through clients the operators marked `admin_console`: any other
      // client asking for the admin API on a signed-in admin's behalf could be collecting it.
      if (resourceIndicator === adminApi && ctx.oidc.params?.['grant_type'] !== 'client_credentials' && client['admin_console'] !== true) {
        throw new errors.InvalidTarget('this client may not request access to the admin API on behalf of users');
      }
      if (resourceIndicator === cibaApproval) {
        if (client['first_party'] !== true) throw new errors.InvalidTarget('only the tenant\'s own (first-party) apps may approve CIBA requests for their users');
        return { scope: CIBA_APPROVE_SCOPE, audience: cibaApproval, accessTokenTTL: CIBA_APPROVAL_TOKEN_TTL_SECONDS, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' as const } } };
      }
      const api =
        resourceIndicator === adminApi
          ? { identifier: adminApi, scopes: allAdminScopes.map((name) => ({ name })), accessTokenTTL: ADMIN_TOKEN_TTL_SECONDS, accessTokenFormat: 'jwt' as const }
          : await deps.resources.find(deps.tenant, resourceIndicator);
      if (!api) throw new errors.InvalidTarget(`${resourceIndicator} is not a registered API of this tenant`);
      const roles = await rolesOfSubject(ctx, deps);
      const permitted = roles && (await deps.roles.scopesFor(deps.tenant, roles, api.identifier));
      const scopes = api.scopes.map((scope) => scope.name).filter((name) => !permitted || permitted.has(name));
      return {
        scope: scopes.join(' '),
        audience: api.identifier,
        accessTokenTTL: api.accessTokenTTL,
        accessTokenFormat: api.accessTokenFormat,
        ...(api.accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: 'RS256' as const } } } : {}),
      };
    },
  };
}
