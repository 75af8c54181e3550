import { z } from 'zod';
import { newClientId } from '../../domain/client-metadata.js';
import type { ClientRecord } from '../../domain/clients.js';
import { roleNamePattern } from '../../domain/roles.js';
import { AppError } from '../../errors.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { assertHoldsPowersOf, validateWithProvider } from './client-metadata.js';
import { empty, page, paged, pageQuery, tenantParam } from './common.js';
import { serviceAccountKeyRoutes } from './service-account-keys.js';
import { findServiceAccount, manageableServiceAccount, serviceAccountParam } from './service-account-lookup.js';

const name = z.string().trim().min(1).max(100);
const roles = z
  .array(z.string().regex(roleNamePattern, 'a role name'))
  .max(50)
  .refine((items) => new Set(items).size === items.length, 'must not repeat a role');

const serviceAccountOut = z.object({ id: z.string(), name: z.string(), roles: z.array(z.string()), created_at: z.string(), updated_at: z.string() });

function toJson(record: ClientRecord): z.output<typeof serviceAccountOut> {
  const clientName = record.metadata['client_name'];
  return {
    id: record.clientId,
    name: typeof clientName === 'string' ? clientName : record.clientId,
    roles: record.roles,
    created_at: record.createdAt.toISOString(),
    updated_at: record.updatedAt.toISOString(),
  };
}

/**
 * Checks roles about to be given to a service account: each must exist in the tenant (400 naming
 * the unknown ones), and the caller must already hold every admin scope they grant (403).
 */
async function checkRoles(request: AdminRequest<unknown, unknown, unknown>, names: string[]): Promise<void> {
  const found = await Promise.all(names.map((role) => request.app.roles.find(request.tenant, role)));
  const unknown = names.filter((_role, index) => !found[index]);
  if (unknown.length) throw new AppError('invalid_request', `Invalid body: "roles": no such role${unknown.length > 1 ? 's' : ''} ${unknown.map((role) => `"${role}"`).join(', ')} in this tenant.`);
  await assertHoldsPowersOf(request, names, 'give these roles');
}

/**
 * Service accounts: client-credentials clients owned by a tenant (`service_account: true`), with
 * roles deciding their API and admin permissions. Their id is their `client_id`; API keys for the
 * admin API hang off them (service-account-keys.ts).
 */
export const serviceAccountRoutes = [
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/service-accounts',
    tag: 'Service accounts',
    summary: 'Create a service account; its client secret is in this response only',
    scopes: ['admin:clients:write'],
    params: tenantParam,
    body: z.object({ name, roles: roles.default([]) }).strict(),
    response: serviceAccountOut.extend({ client_secret: z.string() }),
    status: 201,
    async handler(request) {
      await checkRoles(request, request.body.roles);
      const id = newClientId('sa-');
      const metadata = {
        client_id: id,
        client_name: request.body.name,
        application_type: 'web',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        service_account: true,
      };
      await validateWithProvider(metadata);
      const { clientSecret } = await request.app.clients.create(request.tenant, metadata, { roles: request.body.roles });
      const created = toJson((await request.app.clients.get(request.tenant, id))!);
      await request.audit({ type: 'service_account.created', target: { type: 'service_account', id }, after: created });
      request.ctx.set('Location', `/admin/v1/tenants/${request.tenant}/service-accounts/${id}`);
      return { ...created, client_secret: clientSecret! };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/service-accounts',
    tag: 'Service accounts',
    summary: 'List service accounts',
    scopes: ['admin:clients:read'],
    params: tenantParam,
    query: pageQuery,
    response: page(serviceAccountOut),
    async handler(request) {
      const { limit, cursor } = request.query;
      const accounts = await request.app.clients.list(request.tenant, { serviceAccounts: true, ...(cursor ? { after: cursor } : {}), limit: limit + 1 });
      const result = paged(accounts, limit, (account) => account.clientId);
      return { items: result.items.map(toJson), next_cursor: result.next_cursor };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/service-accounts/:id',
    tag: 'Service accounts',
    summary: 'Read a service account',
    scopes: ['admin:clients:read'],
    params: serviceAccountParam,
    response: serviceAccountOut,
    async handler(request) {
      return toJson(await findServiceAccount(request, request.params.id));
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/tenants/:tenant/service-accounts/:id',
    tag: 'Service accounts',
    summary: 'Rename a service account',
    scopes: ['admin:clients:write'],
    params: serviceAccountParam,
    body: z.object({ name }).strict(),
    response: serviceAccountOut,
    async handler(request) {
      const { id } = request.params;
      const before = await manageableServiceAccount(request, id, 'rename this service account');
      const updated = await request.app.clients.update(request.tenant, id, { ...before.metadata, client_name: request.body.name });
      if (!updated) throw new AppError('not_found', `There is no service account "${id}".`);
      request.changed({ kind: 'client', id });
      await request.audit({ type: 'service_account.updated', target: { type: 'service_account', id }, before: toJson(before), after: toJson(updated) });
      return toJson(updated);
    },
  }),
  defineRoute({
    method: 'put',
    path: '/tenants/:tenant/service-accounts/:id/roles',
    tag: 'Service accounts',
    summary: 'Replace a service account’s roles; applies to its next token and API-key request',
    scopes: ['admin:clients:write'],
    params: serviceAccountParam,
    body: z.object({ roles }).strict(),
    response: serviceAccountOut,
    async handler(request) {
      const { id } = request.params;
      const before = await manageableServiceAccount(request, id, 'change the roles of this service account');
      await checkRoles(request, request.body.roles);
      if (!(await request.app.clients.setRoles(request.tenant, id, request.body.roles))) throw new AppError('not_found', `There is no service account "${id}".`);
      const after = toJson((await request.app.clients.get(request.tenant, id))!);
      await request.audit({ type: 'service_account.roles_set', target: { type: 'service_account', id }, before: toJson(before), after });
      return after;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/service-accounts/:id/rotate-secret',
    tag: 'Service accounts',
    summary: 'Replace a service account’s client secret; the old one stops working at once',
    scopes: ['admin:clients:write'],
    params: serviceAccountParam,
    response: z.object({ id: z.string(), client_secret: z.string() }),
    async handler(request) {
      const { id } = request.params;
      await manageableServiceAccount(request, id, 'rotate the secret of this service account');
      const secret = await request.app.clients.rotateSecret(request.tenant, id);
      if (!secret) throw new AppError('not_found', `There is no service account "${id}".`);
      request.changed({ kind: 'client', id });
      await request.audit({ type: 'service_account.secret_rotated', target: { type: 'service_account', id } });
      return { id, client_secret: secret };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/service-accounts/:id',
    tag: 'Service accounts',
    summary: 'Delete a service account with its API keys',
    scopes: ['admin:clients:write'],
    params: serviceAccountParam,
    response: empty,
    status: 204,
    async handler(request) {
      const { id } = request.params;
      const before = await manageableServiceAccount(request, id, 'delete this service account');
      if (!(await request.app.clients.delete(request.tenant, id))) throw new AppError('not_found', `There is no service account "${id}".`);
      await request.app.apiKeys.deleteForServiceAccount(request.tenant, id);
      request.changed({ kind: 'client', id });
      await request.audit({ type: 'service_account.deleted', target: { type: 'service_account', id }, before: toJson(before) });
      return {};
    },
  }),
  ...serviceAccountKeyRoutes,
];
