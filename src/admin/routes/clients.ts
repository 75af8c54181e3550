import { z } from 'zod';
import { usesSecret } from '../../domain/client-auth-methods.js';
import { clientFields, clientIdSchema, newClientId } from '../../domain/client-metadata.js';
import type { ClientRecord } from '../../domain/clients.js';
import { AppError } from '../../errors.js';
import { cibaRegistrationProblem } from '../ciba-registration.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { assertHoldsPowersOf, clientJson, clientOut, refuseReserved, removableFields, validateWithProvider } from './client-metadata.js';
import { empty, page, paged, pageQuery, tenantParam } from './common.js';
import { assertMayManageTrustedClient } from '../escalation.js';

const clientParam = tenantParam.extend({ id: clientIdSchema });

const createBody = z
  .object({ client_id: clientIdSchema, ...clientFields })
  .partial()
  .required({ client_name: true })
  .strict();

/** Every field optional; the removable ones also take `null`. */
const patchBody = z
  .object(clientFields)
  .partial()
  .extend(Object.fromEntries(removableFields.map((name) => [name, clientFields[name].nullable().optional()])) as { [K in (typeof removableFields)[number]]: z.ZodOptional<z.ZodNullable<(typeof clientFields)[K]>> })
  .strict();

const withSecret = clientOut.extend({ client_secret: z.string().optional() });

/**
 * A stored OIDC client of the request's tenant, or 404. Service accounts are managed under
 * `/service-accounts` (their shape is fixed), so they are not found here.
 */
async function findClient(request: AdminRequest<unknown, unknown, unknown>, clientId: string): Promise<ClientRecord> {
  const found = await request.app.clients.get(request.tenant, clientId);
  if (!found || found.metadata['service_account'] === true) throw new AppError('not_found', `There is no client "${clientId}".`);
  return found;
}

/**
 * How a client proves who it is: not at all, with its secret, or with its keys. A client keeps its
 * kind for life: a secret must not outlive a switch to keys, and a public client has none to use.
 */
function authKind(metadata: Record<string, unknown>): 'public' | 'secret' | 'keys' {
  const method = metadata['token_endpoint_auth_method'];
  return method === 'none' ? 'public' : usesSecret(method) ? 'secret' : 'keys';
}

/** The CIBA rules the provider does not check (`oidc/ciba.ts`), with the outbound guard's policy. */
function assertCibaRegistration(request: AdminRequest<unknown, unknown, unknown>, metadata: Record<string, unknown>): void {
  const { config } = request.app;
  const problem = cibaRegistrationProblem(metadata, { allowPrivateNetwork: config.http.allowPrivateNetworkFetch, allowLoopback: config.env === 'development' });
  if (problem) throw new AppError('invalid_request', `Invalid body: "${problem.field}": ${problem.description}`);
}

/** A client the caller may change: found here, not built in, and no more powerful than the caller. */
async function manageableClient(request: AdminRequest<unknown, unknown, unknown>, clientId: string, action: string): Promise<ClientRecord> {
  refuseReserved(clientId);
  const found = await findClient(request, clientId);
  await assertHoldsPowersOf(request, found.roles, action);
  assertMayManageTrustedClient(request.principal, found.metadata, action);
  return found;
}

/** OIDC clients (relying parties) of a tenant, with RFC 7591 metadata names. */
export const clientRoutes = [
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/clients',
    tag: 'Clients',
    summary: 'Register an OIDC client; a confidential client’s secret is in this response only',
    description: 'Omit `client_id` to have one generated. Redirect URIs must be https, http on a loopback host, or (native apps) a private-use scheme.',
    scopes: ['admin:clients:write'],
    params: tenantParam,
    body: createBody,
    response: withSecret,
    status: 201,
    async handler(request) {
      const { client_id: requested, ...fields } = request.body;
      const clientId = requested ?? newClientId();
      refuseReserved(clientId);
      const grantTypes = fields.grant_types ?? ['authorization_code'];
      const metadata = {
        application_type: 'web',
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [],
        response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
        ...fields,
        grant_types: grantTypes,
        client_id: clientId,
      };
      assertMayManageTrustedClient(request.principal, metadata, 'register this client');
      assertCibaRegistration(request, metadata);
      await validateWithProvider(metadata);
      const { clientSecret } = await request.app.clients.create(request.tenant, metadata);
      request.changed({ kind: 'client', id: clientId });
      const created = clientJson((await request.app.clients.get(request.tenant, clientId))!);
      await request.audit({ type: 'client.created', target: { type: 'client', id: clientId }, after: created });
      request.ctx.set('Location', `/admin/v1/tenants/${request.tenant}/clients/${clientId}`);
      return { ...created, ...(clientSecret ? { client_secret: clientSecret } : {}) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/clients',
    tag: 'Clients',
    summary: 'List OIDC clients (service accounts are listed under /service-accounts)',
    scopes: ['admin:clients:read'],
    params: tenantParam,
    query: pageQuery,
    response: page(clientOut),
    async handler(request) {
      const { limit, cursor } = request.query;
      const clients = await request.app.clients.list(request.tenant, { serviceAccounts: false, ...(cursor ? { after: cursor } : {}), limit: limit + 1 });
      const result = paged(clients, limit, (client) => client.clientId);
      return { items: result.items.map(clientJson), next_cursor: result.next_cursor };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/clients/:id',
    tag: 'Clients',
    summary: 'Read an OIDC client (never its secret)',
    scopes: ['admin:clients:read'],
    params: clientParam,
    response: clientOut,
    async handler(request) {
      return clientJson(await findClient(request, request.params.id));
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/tenants/:tenant/clients/:id',
    tag: 'Clients',
    summary: 'Change an OIDC client’s metadata; takes effect at once',
    description: '`null` removes an optional field. A client cannot switch between public (`none`) and secret-based authentication: register a new one.',
    scopes: ['admin:clients:write'],
    params: clientParam,
    body: patchBody,
    response: clientOut,
    async handler(request) {
      const { id } = request.params;
      const before = await manageableClient(request, id, 'change this client');
      const metadata: Record<string, unknown> = { ...before.metadata };
      for (const [name, value] of Object.entries(request.body)) {
        if (value === null) delete metadata[name];
        else if (value !== undefined) metadata[name] = value;
      }
      if (authKind(metadata) !== authKind(before.metadata)) {
        throw new AppError('invalid_request', 'Invalid body: "token_endpoint_auth_method": a client cannot switch between public ("none"), secret-based and key-based ("private_key_jwt") authentication; register a new client.');
      }
      assertMayManageTrustedClient(request.principal, metadata, 'make this client trusted');
      assertCibaRegistration(request, metadata);
      await validateWithProvider({ ...metadata, client_id: id });
      const updated = await request.app.clients.update(request.tenant, id, metadata);
      if (!updated) throw new AppError('not_found', `There is no client "${id}".`);
      request.changed({ kind: 'client', id });
      await request.audit({ type: 'client.updated', target: { type: 'client', id }, before: clientJson(before), after: clientJson(updated) });
      return clientJson(updated);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/clients/:id',
    tag: 'Clients',
    summary: 'Delete an OIDC client; its secret stops working at once',
    scopes: ['admin:clients:write'],
    params: clientParam,
    response: empty,
    status: 204,
    async handler(request) {
      const { id } = request.params;
      const before = await manageableClient(request, id, 'delete this client');
      if (!(await request.app.clients.delete(request.tenant, id))) throw new AppError('not_found', `There is no client "${id}".`);
      request.changed({ kind: 'client', id });
      await request.audit({ type: 'client.deleted', target: { type: 'client', id }, before: clientJson(before) });
      return {};
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/clients/:id/rotate-secret',
    tag: 'Clients',
    summary: 'Replace a confidential client’s secret; the old one stops working at once',
    description: 'The new secret is in this response only.',
    scopes: ['admin:clients:write'],
    params: clientParam,
    response: z.object({ client_id: z.string(), client_secret: z.string() }),
    async handler(request) {
      const { id } = request.params;
      const client = await manageableClient(request, id, 'rotate the secret of this client');
      if (!client.confidential) throw new AppError('invalid_request', `Client "${id}" authenticates with token_endpoint_auth_method "${String(client.metadata['token_endpoint_auth_method'])}" and has no secret.`);
      const secret = await request.app.clients.rotateSecret(request.tenant, id);
      if (!secret) throw new AppError('not_found', `There is no client "${id}".`);
      request.changed({ kind: 'client', id });
      await request.audit({ type: 'client.secret_rotated', target: { type: 'client', id } });
      return { client_id: id, client_secret: secret };
    },
  }),
];
