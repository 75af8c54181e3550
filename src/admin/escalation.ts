import { AppError } from '../errors.js';
import type { Principal } from './principal.js';
import type { AdminRequest } from './route.js';
import { adminApiIdentifier, allAdminScopes } from '../domain/admin-api.js';

/**
 * The heart of both escalation guards (roles, and clients holding roles): the admin scopes among
 * `scopes` that the calling token does not hold itself, sorted. Granting, reshaping or acting as
 * something with any of them would let the caller exceed its own power.
 */
export function adminScopesBeyond(principal: Principal, scopes: Iterable<string>): string[] {
  const held = principal.scopes as ReadonlySet<string>;
  return [...new Set([...scopes].filter((scope) => !held.has(scope)))].sort();
}

/**
 * The escalation guard for anything that holds roles (users, clients, service accounts): a caller
 * may only change, reset the password of, rotate the secret of, issue keys for, disable, delete or
 * hand roles to it if the caller already holds every admin scope those roles grant. Otherwise
 * `admin:users:write` alone would let one reset a stronger admin's password and sign in as them, and
 * `admin:clients:write` alone would let one rotate a stronger service account's secret.
 */
export async function assertHoldsPowersOf(request: AdminRequest<unknown, unknown, unknown>, roles: readonly string[], action: string): Promise<void> {
  const granted = await request.app.roles.scopesFor(request.tenant, roles, adminApiIdentifier(request.app.config.publicUrl));
  const beyond = adminScopesBeyond(request.principal, granted);
  if (beyond.length) throw new AppError('forbidden', `You cannot ${action}: its roles grant admin permissions your token does not hold (${beyond.join(', ')}).`);
}

/**
 * Trusted clients: `first_party` skips the consent page and `admin_console` may obtain users' admin
 * API tokens. Registering one, or changing one (its redirect URIs decide where codes go), is for
 * principals that hold every admin scope: otherwise `admin:clients:write` could register a client
 * that silently collects a signed-in administrator's admin token.
 */
export function assertMayManageTrustedClient(principal: Principal, metadata: Record<string, unknown>, action: string): void {
  if (metadata['first_party'] !== true && metadata['admin_console'] !== true) return;
  const beyond = adminScopesBeyond(principal, allAdminScopes);
  if (beyond.length) throw new AppError('forbidden', `You cannot ${action}: first-party and admin-console clients are managed by principals holding every admin scope (missing ${beyond.join(', ')}).`);
}
