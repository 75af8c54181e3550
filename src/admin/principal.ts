import { decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { AppContext } from '../app-context.js';
import { issuerFor } from '../app-context.js';
import type { AuditActor } from '../domain/audit.js';
import { isValidTenantId } from '../domain/tenants.js';
import { AppError } from '../errors.js';
import type { TenantPool } from '../tenancy/pool.js';
import { adminApiIdentifier, allAdminScopes, type AdminScope } from '../domain/admin-api.js';

/** Who is calling the admin API, in which tenant, with which admin scopes. */
export interface Principal {
  tenant: string;
  /** never `anonymous`: the admin API has no unauthenticated callers */
  actor: AuditActor & { type: Exclude<AuditActor['type'], 'anonymous'> };
  scopes: ReadonlySet<AdminScope>;
  /** the client the token was issued to (for `GET /me`) */
  clientId?: string;
}

/** Resolves `Authorization: Bearer ...` to a principal; API keys are resolved by `apiKeys`. */
export interface PrincipalResolver {
  (token: string): Promise<Principal | undefined>;
}

function invalid(message: string): AppError {
  return new AppError('invalid_token', message);
}

/**
 * Verifies an admin access token: a JWT (RFC 9068 `at+jwt`) issued by one of our tenants for the
 * admin API, checked locally against that tenant's published keys. The tenant the principal
 * belongs to is the token's issuer: nothing the request says can change it. A user who has since
 * been disabled or deleted is refused even with an unexpired token.
 */
export function jwtPrincipals(app: AppContext, pool: TenantPool): PrincipalResolver {
  const audience = adminApiIdentifier(app.config.publicUrl);
  const issuerPrefix = `${app.config.publicUrl}/t/`;
  return async (token) => {
    if (token.split('.').length !== 3) return undefined;
    let claims;
    try {
      claims = decodeJwt(token);
    } catch {
      throw invalid('The access token is not a valid JWT.');
    }
    const issuer = typeof claims.iss === 'string' ? claims.iss : '';
    const tenantId = issuer.startsWith(issuerPrefix) ? issuer.slice(issuerPrefix.length) : '';
    const tenant = isValidTenantId(tenantId) ? await pool.get(tenantId) : null;
    if (!tenant) throw invalid('The access token was not issued by a tenant of this Gatehouse.');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, tenant.jwks, { issuer: issuerFor(app.config, tenantId), audience, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw invalid('The access token has expired.');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') throw invalid('The access token is not for the admin API (wrong audience).');
      throw invalid('The access token could not be verified.');
    }
    const clientId = typeof payload['client_id'] === 'string' ? payload['client_id'] : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : '';
    // `sub_type` is set by our provider (src/oidc/provider.ts extraTokenClaims): a client id equal to
    // some user's id must not turn that user's token into a client's, or the other way round.
    const subjectType = payload['sub_type'];
    let roles: string[];
    let actor: Principal['actor'];
    if (subjectType === 'client' && clientId && sub === clientId) {
      const client = await app.clients.get(tenantId, clientId);
      if (!client) throw invalid('The client of this access token no longer exists.');
      roles = client.roles;
      actor = { type: 'client', id: clientId, tenant: tenantId };
    } else if (subjectType === 'user') {
      const user = await app.users.findById(tenantId, sub);
      if (!user || user.disabled) throw invalid('The user of this access token is disabled or no longer exists.');
      roles = user.roles ?? [];
      actor = { type: 'user', id: sub, tenant: tenantId };
    } else {
      throw invalid('The access token does not say what kind of subject it was issued to.');
    }
    // The token's scopes, cut down to what the subject's roles grant now: removing a role, or the
    // client itself, takes effect at the next request rather than when the token expires.
    const granted = new Set(String(payload['scope'] ?? '').split(' '));
    const current = await app.roles.scopesFor(tenantId, roles, audience);
    const scopes = new Set(allAdminScopes.filter((scope) => granted.has(scope) && current.has(scope)));
    return { tenant: tenantId, actor, scopes, ...(clientId ? { clientId } : {}) };
  };
}
