import type { AppContext } from '../app-context.js';
import { ApiKeyRepository } from '../domain/api-keys.js';
import { AppError } from '../errors.js';
import type { PrincipalResolver } from './principal.js';
import { adminApiIdentifier, allAdminScopes, type AdminScope } from '../domain/admin-api.js';

/** One message for every bad key, so a caller cannot tell a revoked key from a mistyped one. */
const INVALID_KEY = 'The API key is not valid.';

/**
 * Resolves `Authorization: Bearer ghk_...` (a service account's API key) to a principal of the
 * key's tenant. The admin scopes are read from the service account's roles on every request, so
 * taking a role away, deleting the account or revoking the key takes effect at the next request.
 * Tokens of another shape are left to the other resolvers (`undefined`).
 */
export function apiKeyPrincipals(app: AppContext): PrincipalResolver {
  const keys = app.apiKeys;
  const audience = adminApiIdentifier(app.config.publicUrl);
  return async (token) => {
    if (!ApiKeyRepository.looksLikeKey(token)) return undefined;
    const key = await keys.verify(token);
    if (!key) throw new AppError('invalid_token', INVALID_KEY);
    const account = await app.clients.get(key.tenant, key.serviceAccountId);
    if (!account || account.metadata['service_account'] !== true) throw new AppError('invalid_token', INVALID_KEY);
    const granted = await app.roles.scopesFor(key.tenant, account.roles, audience);
    const scopes = new Set<AdminScope>(allAdminScopes.filter((scope) => granted.has(scope)));
    return { tenant: key.tenant, actor: { type: 'api_key', id: key._id, tenant: key.tenant }, scopes, clientId: key.serviceAccountId };
  };
}
