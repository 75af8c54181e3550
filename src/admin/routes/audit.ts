import { z } from 'zod';
import { defineRoute } from '../route.js';
import { page, paged, tenantParam } from './common.js';

const eventOut = z.object({
  id: z.string(),
  type: z.string(),
  tenant: z.string(),
  actor: z.object({ type: z.string(), id: z.string(), tenant: z.string() }),
  target: z.object({ type: z.string(), id: z.string() }),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  details: z.unknown().optional(),
  request_id: z.string().nullable(),
  at: z.string(),
});

/** The audit trail of a tenant, newest first. */
export const auditRoutes = [
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/audit-events',
    tag: 'Audit',
    summary: 'List audit events, newest first, filterable by type and actor',
    scopes: ['admin:audit:read'],
    params: tenantParam,
    query: z
      .object({
        type: z.string().max(100).optional(),
        actor: z.string().max(200).optional(),
        limit: z.coerce.number().int().min(1).max(100).default(20),
        cursor: z.string().max(200).optional(),
      })
      .strict(),
    response: page(eventOut),
    async handler({ app, tenant, query }) {
      const events = await app.audit.list(tenant, {
        ...(query.type ? { type: query.type } : {}),
        ...(query.actor ? { actor: query.actor } : {}),
        ...(query.cursor ? { before: query.cursor } : {}),
        limit: query.limit + 1,
      });
      const result = paged(events, query.limit, (event) => event._id);
      return {
        items: result.items.map((event) => ({
          id: event._id,
          type: event.type,
          tenant: event.tenant,
          actor: event.actor,
          target: event.target,
          ...(event.before !== undefined ? { before: event.before } : {}),
          ...(event.after !== undefined ? { after: event.after } : {}),
          ...(event.details !== undefined ? { details: event.details } : {}),
          request_id: event.requestId ?? null,
          at: event.at.toISOString(),
        })),
        next_cursor: result.next_cursor,
      };
    },
  }),
];
