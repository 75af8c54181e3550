import { z } from 'zod';
import type { AppContext } from '../../app-context.js';
import { roleNamePattern, type Permission, type Role } from '../../domain/roles.js';
import { SYSTEM_TENANT } from '../../domain/tenants.js';
import { AppError } from '../../errors.js';
import { adminScopesBeyond } from '../escalation.js';
import type { Principal } from '../principal.js';
import { ADMIN_ROLE, adminApiIdentifier, adminScopes } from '../../domain/admin-api.js';
import { tenantParam, timestamps } from './common.js';

/** Shared by the role and role-member routes: schemas, JSON mapping and the checks every change makes. */

export const roleName = z.string().regex(roleNamePattern, 'a role name: letters, digits, ".", "_", "-", ":" (at most 64, starting with a letter or digit)');

/** Path parameters `{tenant}` and `{name}`. */
export const roleParams = tenantParam.extend({ name: roleName });

export const permissionSchema = z.object({ api: z.string().min(1).max(2048), scope: z.string().min(1).max(200) }).strict();

export const permissionsSchema = z.array(permissionSchema).max(100);

export const roleOut = z.object({
  name: z.string(),
  description: z.string().nullable(),
  permissions: z.array(z.object({ api: z.string(), scope: z.string() })),
  ...timestamps,
});

export function roleJson(role: Role): z.input<typeof roleOut> {
  return {
    name: role.name,
    description: role.description ?? null,
    permissions: role.permissions.map(({ api, scope }) => ({ api, scope })),
    created_at: role.createdAt.toISOString(),
    updated_at: role.updatedAt.toISOString(),
  };
}

export async function findRole(app: AppContext, tenant: string, name: string): Promise<Role> {
  const role = await app.roles.find(tenant, name);
  if (!role) throw new AppError('not_found', `There is no role "${name}" in this tenant.`);
  return role;
}

/**
 * Each permission must name a scope an API of this tenant (or the admin API) actually defines:
 * a typo would otherwise grant nothing, silently. Duplicates are dropped. 400 names the first
 * offending entry by its index.
 */
export async function checkPermissions(app: AppContext, tenant: string, permissions: readonly Permission[]): Promise<Permission[]> {
  const adminApi = adminApiIdentifier(app.config.publicUrl);
  const scopesOf = new Map<string, Set<string> | null>();
  const unique = new Map<string, Permission>();
  for (const [index, { api, scope }] of permissions.entries()) {
    if (!scopesOf.has(api)) {
      const resource = api === adminApi ? null : await app.resources.find(tenant, api);
      scopesOf.set(api, api === adminApi ? new Set(Object.keys(adminScopes)) : resource ? new Set(resource.scopes.map((s) => s.name)) : null);
    }
    const known = scopesOf.get(api);
    if (!known) throw new AppError('invalid_request', `Invalid body: "permissions.${index}": ${JSON.stringify(api)} is not an API registered in this tenant.`);
    if (!known.has(scope)) throw new AppError('invalid_request', `Invalid body: "permissions.${index}": the API ${JSON.stringify(api)} defines no scope ${JSON.stringify(scope)}.`);
    unique.set(`${api} ${scope}`, { api, scope });
  }
  return [...unique.values()];
}

/**
 * The escalation guard: a principal may only create, change, delete or hand out a role whose
 * admin-API permissions it holds itself (in this very token). Without it, anyone with
 * `admin:roles:write` could mint a role with every admin scope and assign it to themselves; and
 * a lesser admin could strip or reshape the role of a stronger one. Permissions on the tenant's
 * own APIs are what `admin:roles:write` is for, so they are not limited here.
 */
export function assertWithinCallerScopes(app: AppContext, principal: Principal, permissions: readonly Permission[], action: string): void {
  const adminApi = adminApiIdentifier(app.config.publicUrl);
  const beyond = adminScopesBeyond(principal, permissions.filter((p) => p.api === adminApi).map((p) => p.scope));
  if (beyond.length) {
    throw new AppError('forbidden', `You cannot ${action} a role carrying admin permissions your token does not hold: ${beyond.join(', ')}.`);
  }
}

/** The system tenant's operator role is rebuilt at every start: changing or deleting it would only lock operators out. */
export function assertNotBuiltIn(tenant: string, name: string): void {
  if (tenant === SYSTEM_TENANT && name === ADMIN_ROLE) throw new AppError('forbidden', `The built-in role "${ADMIN_ROLE}" cannot be changed or deleted; manage its members instead.`);
}
