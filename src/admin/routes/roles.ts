import { z } from 'zod';
import type { AppContext } from '../../app-context.js';
import { defineRoute } from '../route.js';
import { empty, page, paged, pageQuery, tenantParam } from './common.js';
import { roleMemberRoutes } from './role-members.js';
import { assertNotBuiltIn, assertWithinCallerScopes, checkPermissions, findRole, permissionsSchema, roleJson, roleName, roleOut, roleParams } from './role-guard.js';

const description = z.string().trim().min(1).max(500);

/**
 * Roles: named sets of API permissions (`{api, scope}`) held by users and service accounts of a
 * tenant; tokens for an API carry only the scopes the subject's roles grant. Names are immutable
 * (they are what members hold): renaming is delete + create.
 */
const roleCrudRoutes = [
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/roles',
    tag: 'Roles',
    summary: 'Create a role',
    description: 'Every permission must name a scope defined by an API of the tenant or by the admin API. Admin-API permissions the calling token does not hold itself are refused (403).',
    scopes: ['admin:roles:write'],
    params: tenantParam,
    body: z.object({ name: roleName, description: description.optional(), permissions: permissionsSchema }).strict(),
    response: roleOut,
    status: 201,
    async handler(request) {
      const { app, tenant, body } = request;
      const permissions = await checkPermissions(app, tenant, body.permissions);
      assertWithinCallerScopes(app, request.principal, permissions, 'create');
      const role = await app.roles.create(tenant, { name: body.name, permissions, ...(body.description ? { description: body.description } : {}) });
      await request.audit({ type: 'role.created', target: { type: 'role', id: role.name }, after: roleJson(role) });
      request.ctx.set('Location', `/admin/v1/tenants/${tenant}/roles/${encodeURIComponent(role.name)}`);
      return roleJson(role);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/roles',
    tag: 'Roles',
    summary: 'List roles by name',
    scopes: ['admin:roles:read'],
    params: tenantParam,
    query: pageQuery,
    response: page(roleOut),
    async handler({ app, tenant, query }) {
      const roles = await app.roles.page(tenant, { ...(query.cursor !== undefined ? { after: query.cursor } : {}), limit: query.limit + 1 });
      const result = paged(roles, query.limit, (role) => role.name);
      return { items: result.items.map(roleJson), next_cursor: result.next_cursor };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/roles/:name',
    tag: 'Roles',
    summary: 'Read a role',
    scopes: ['admin:roles:read'],
    params: roleParams,
    response: roleOut,
    async handler({ app, tenant, params }) {
      return roleJson(await findRole(app, tenant, params.name));
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/tenants/:tenant/roles/:name',
    tag: 'Roles',
    summary: 'Change a role’s description or replace its permissions',
    description: 'The name cannot change. The role as it is and as it would become must not carry admin-API permissions the calling token does not hold (403).',
    scopes: ['admin:roles:write'],
    params: roleParams,
    body: z
      .object({ description: description.nullable().optional(), permissions: permissionsSchema.optional() })
      .strict()
      .refine((body) => body.description !== undefined || body.permissions !== undefined, 'give description and/or permissions'),
    response: roleOut,
    async handler(request) {
      const { app, tenant, params, body } = request;
      const before = await findRole(app, tenant, params.name);
      const permissions = body.permissions && (await checkPermissions(app, tenant, body.permissions));
      assertNotBuiltIn(tenant, params.name);
      assertWithinCallerScopes(app, request.principal, [...before.permissions, ...(permissions ?? [])], 'change');
      const updated = await app.roles.update(tenant, params.name, { ...(body.description !== undefined ? { description: body.description } : {}), ...(permissions ? { permissions } : {}) });
      if (!updated) throw new Error('unreachable: the role vanished during the update');
      await request.audit({ type: 'role.updated', target: { type: 'role', id: params.name }, before: roleJson(before), after: roleJson(updated) });
      return roleJson(updated);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/roles/:name',
    tag: 'Roles',
    summary: 'Delete a role and take it from every user and service account holding it',
    scopes: ['admin:roles:write'],
    params: roleParams,
    response: empty,
    status: 204,
    async handler(request) {
      const { app, tenant, params } = request;
      const before = await findRole(app, tenant, params.name);
      assertNotBuiltIn(tenant, params.name);
      assertWithinCallerScopes(app, request.principal, before.permissions, 'delete');
      // Members first: a failure midway leaves the role without members, never a dangling name that
      // a role created later under the same name would silently grant to.
      let members = await takeFromEveryone(app, tenant, params.name);
      await app.roles.delete(tenant, params.name);
      // Again after: a member added concurrently, between the first sweep and the delete.
      members += await takeFromEveryone(app, tenant, params.name);
      await request.audit({ type: 'role.deleted', target: { type: 'role', id: params.name }, before: { ...roleJson(before), members_removed: members } });
      return {};
    },
  }),
];

/** Takes the role from every user and client of the tenant; returns how many held it. */
async function takeFromEveryone(app: AppContext, tenant: string, name: string): Promise<number> {
  const [users, clients] = await Promise.all([app.users.removeRoleEverywhere(tenant, name), app.clients.removeRoleEverywhere(tenant, name)]);
  return users + clients;
}

/** Every route of the roles resource, members included. */
export const roleRoutes = [...roleCrudRoutes, ...roleMemberRoutes];
