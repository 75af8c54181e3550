import { z } from 'zod';
import { defineRoute } from '../route.js';

/** `GET /me`: the caller as the API sees it. */
export const meRoutes = [
  defineRoute({
    method: 'get',
    path: '/me',
    tag: 'Me',
    summary: 'The calling principal: tenant, roles, permissions and admin scopes',
    scopes: [],
    response: z.object({
      tenant: z.string(),
      type: z.enum(['user', 'client', 'api_key', 'system']),
      id: z.string(),
      client_id: z.string().nullable(),
      username: z.string().nullable(),
      roles: z.array(z.string()),
      permissions: z.array(z.object({ api: z.string(), scope: z.string() })),
      scopes: z.array(z.string()),
    }),
    async handler({ app, principal }) {
      const { actor } = principal;
      const user = actor.type === 'user' ? await app.users.findById(actor.tenant, actor.id) : null;
      const roles = user ? (user.roles ?? []) : principal.clientId ? await app.clients.rolesOf(actor.tenant, principal.clientId) : [];
      return {
        tenant: principal.tenant,
        type: actor.type,
        id: actor.id,
        client_id: principal.clientId ?? null,
        username: user?.username ?? null,
        roles,
        permissions: await app.roles.permissionsFor(actor.tenant, roles),
        scopes: [...principal.scopes].sort(),
      };
    },
  }),
];
