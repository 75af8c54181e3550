import { z } from 'zod';
import type { AppContext } from '../../app-context.js';
import { AppError } from '../../errors.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { empty, page, paged, pageQuery } from './common.js';
import { assertWithinCallerScopes, findRole, roleParams } from './role-guard.js';

const userMember = z.object({ type: z.literal('user'), id: z.string(), username: z.string() });
const clientMember = z.object({ type: z.literal('client'), id: z.string(), client_name: z.string().nullable() });
const memberOut = z.discriminatedUnion('type', [userMember, clientMember]);
type Member = z.input<typeof memberOut>;

const memberId = z.string().min(1).max(200);

/** A user or client of the acted-on tenant, or 404 (also for one of another tenant: ids never cross tenants). */
async function findMember(app: AppContext, tenant: string, kind: 'user' | 'client', id: string): Promise<{ member: Member; roles: string[] }> {
  if (kind === 'user') {
    const user = await app.users.findById(tenant, id);
    if (!user) throw new AppError('not_found', `There is no user "${id}" in this tenant.`);
    return { member: { type: 'user', id: user._id, username: user.username }, roles: user.roles ?? [] };
  }
  const client = await app.clients.get(tenant, id);
  if (!client) throw new AppError('not_found', `There is no client "${id}" in this tenant.`);
  const name = client.metadata['client_name'];
  return { member: { type: 'client', id, client_name: typeof name === 'string' ? name : null }, roles: await app.clients.rolesOf(tenant, id) };
}

function setMembership(app: AppContext, tenant: string, kind: 'user' | 'client', id: string, role: string, holds: boolean): Promise<boolean> {
  const repository = kind === 'user' ? app.users : app.clients;
  return holds ? repository.addRole(tenant, id, role) : repository.removeRole(tenant, id, role);
}

/** Removes a member; idempotent (204 whether or not it held the role), audited only when it changed something. */
async function removeMember(request: AdminRequest<{ name: string; id: string }, unknown, unknown>, kind: 'user' | 'client'): Promise<Record<string, never>> {
  const { app, tenant, params } = request;
  const role = await findRole(app, tenant, params.name);
  const { member, roles } = await findMember(app, tenant, kind, params.id);
  assertWithinCallerScopes(app, request.principal, role.permissions, 'take away');
  if (roles.includes(role.name)) {
    await setMembership(app, tenant, kind, params.id, role.name, false);
    await request.audit({ type: 'role.member_removed', target: { type: 'role', id: role.name }, before: { member } });
  }
  return {};
}

/**
 * Who holds a role: users and service accounts (clients) of the tenant. Adding a member checks the
 * escalation guard, since handing out a role is granting its permissions.
 */
export const roleMemberRoutes = [
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/roles/:name/members',
    tag: 'Roles',
    summary: 'List the users, then the service accounts, holding a role',
    scopes: ['admin:roles:read'],
    params: roleParams,
    query: pageQuery,
    response: page(memberOut),
    async handler({ app, tenant, params, query }) {
      await findRole(app, tenant, params.name);
      // One cursor over two lists: `u:<user id>` while in the users, `c:<client id>` in the clients.
      const cursor = query.cursor;
      if (cursor !== undefined && !/^[uc]:/.test(cursor)) throw new AppError('invalid_request', 'Invalid query: "cursor": not a cursor this endpoint returned.');
      const members: Member[] = [];
      if (cursor === undefined || cursor.startsWith('u:')) {
        const users = await app.users.listByRole(tenant, params.name, { ...(cursor ? { after: cursor.slice(2) } : {}), limit: query.limit + 1 });
        members.push(...users.map((user): Member => ({ type: 'user', id: user._id, username: user.username })));
      }
      if (members.length <= query.limit) {
        const after = cursor?.startsWith('c:') ? { after: cursor.slice(2) } : {};
        const clients = await app.clients.listByRole(tenant, params.name, { ...after, limit: query.limit + 1 - members.length });
        members.push(...clients.map((client): Member => ({ type: 'client', id: client.clientId, client_name: client.name ?? null })));
      }
      return paged(members, query.limit, (member) => `${member.type === 'user' ? 'u' : 'c'}:${member.id}`);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/roles/:name/members',
    tag: 'Roles',
    summary: 'Give a role to a user ({user_id}) or a service account ({client_id}); idempotent',
    description: 'The member must exist in the same tenant (404 otherwise). Refused (403) when the role carries admin-API permissions the calling token does not hold.',
    scopes: ['admin:roles:write'],
    params: roleParams,
    body: z
      .object({ user_id: memberId.optional(), client_id: memberId.optional() })
      .strict()
      .refine((body) => (body.user_id === undefined) !== (body.client_id === undefined), 'give exactly one of user_id and client_id'),
    response: memberOut,
    async handler(request) {
      const { app, tenant, params, body } = request;
      const kind = body.user_id !== undefined ? 'user' : 'client';
      const id = (body.user_id ?? body.client_id)!;
      const role = await findRole(app, tenant, params.name);
      const { member, roles } = await findMember(app, tenant, kind, id);
      assertWithinCallerScopes(app, request.principal, role.permissions, 'hand out');
      if (roles.includes(role.name)) return member;
      await setMembership(app, tenant, kind, id, role.name, true);
      // A role deleted meanwhile must not leave its name behind (a later role of that name would grant it).
      if (!(await app.roles.find(tenant, role.name))) {
        await setMembership(app, tenant, kind, id, role.name, false);
        throw new AppError('not_found', `There is no role "${role.name}" in this tenant.`);
      }
      await request.audit({ type: 'role.member_added', target: { type: 'role', id: role.name }, after: { member } });
      return member;
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/roles/:name/members/users/:id',
    tag: 'Roles',
    summary: 'Take a role from a user; idempotent',
    scopes: ['admin:roles:write'],
    params: roleParams.extend({ id: memberId }),
    response: empty,
    status: 204,
    handler: (request) => removeMember(request, 'user'),
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/roles/:name/members/clients/:id',
    tag: 'Roles',
    summary: 'Take a role from a service account (client); idempotent',
    scopes: ['admin:roles:write'],
    params: roleParams.extend({ id: memberId }),
    response: empty,
    status: 204,
    handler: (request) => removeMember(request, 'client'),
  }),
];
