import { z } from 'zod';
import type { ApiKey, ApiKeyRepository } from '../../domain/api-keys.js';
import { AppError } from '../../errors.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { empty, page, paged, pageQuery } from './common.js';
import { findServiceAccount, manageableServiceAccount, serviceAccountParam } from './service-account-lookup.js';

const keyParam = serviceAccountParam.extend({ keyId: z.string().regex(/^[0-9a-f]{16}$/, 'an API key id: 16 hex digits') });

const apiKeyOut = z.object({ id: z.string(), name: z.string(), expires_at: z.string().nullable(), created_at: z.string() });

function toJson(key: ApiKey): z.output<typeof apiKeyOut> {
  return { id: key._id, name: key.name, expires_at: key.expiresAt?.toISOString() ?? null, created_at: key.createdAt.toISOString() };
}

function keysOf(request: AdminRequest<unknown, unknown, unknown>): ApiKeyRepository {
  return request.app.apiKeys;
}

/**
 * API keys of a service account: `Authorization: Bearer ghk_...` on the admin API, acting with the
 * admin scopes the account's roles grant. The key is shown once; only a hash of it is stored.
 */
export const serviceAccountKeyRoutes = [
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/service-accounts/:id/api-keys',
    tag: 'Service accounts',
    summary: 'Issue an API key for a service account; the key is in this response only',
    scopes: ['admin:clients:write'],
    params: serviceAccountParam,
    body: z
      .object({
        name: z.string().trim().min(1).max(100),
        expires_at: z.iso
          .datetime({ offset: true })
          .refine((value) => Date.parse(value) > Date.now(), 'must be in the future')
          .optional(),
      })
      .strict(),
    response: apiKeyOut.extend({ key: z.string() }),
    status: 201,
    async handler(request) {
      const { id } = request.params;
      await manageableServiceAccount(request, id, 'issue API keys for this service account');
      const { record, key } = await keysOf(request).issue(request.tenant, id, {
        name: request.body.name,
        ...(request.body.expires_at ? { expiresAt: new Date(request.body.expires_at) } : {}),
      });
      await request.audit({ type: 'api_key.created', target: { type: 'api_key', id: record._id }, after: { ...toJson(record), service_account: id } });
      return { ...toJson(record), key };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/service-accounts/:id/api-keys',
    tag: 'Service accounts',
    summary: 'List a service account’s API keys (never the keys themselves)',
    scopes: ['admin:clients:read'],
    params: serviceAccountParam,
    query: pageQuery,
    response: page(apiKeyOut),
    async handler(request) {
      const { id } = request.params;
      await findServiceAccount(request, id);
      const { limit, cursor } = request.query;
      const keys = await keysOf(request).list(request.tenant, id, { ...(cursor ? { after: cursor } : {}), limit: limit + 1 });
      const result = paged(keys, limit, (key) => key._id);
      return { items: result.items.map(toJson), next_cursor: result.next_cursor };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/service-accounts/:id/api-keys/:keyId',
    tag: 'Service accounts',
    summary: 'Revoke an API key; it stops working at the next request',
    scopes: ['admin:clients:write'],
    params: keyParam,
    response: empty,
    status: 204,
    async handler(request) {
      const { id, keyId } = request.params;
      await manageableServiceAccount(request, id, 'revoke API keys of this service account');
      const keys = keysOf(request);
      const before = await keys.find(request.tenant, id, keyId);
      if (!before || !(await keys.revoke(request.tenant, id, keyId))) throw new AppError('not_found', `Service account "${id}" has no API key "${keyId}".`);
      await request.audit({ type: 'api_key.revoked', target: { type: 'api_key', id: keyId }, before: { ...toJson(before), service_account: id } });
      return {};
    },
  }),
];
