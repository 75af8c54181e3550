import { z } from 'zod';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS, type ApiResource } from '../../domain/resources.js';
import { AppError } from '../../errors.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { adminApiIdentifier } from '../../domain/admin-api.js';
import { empty, page, paged, pageQuery, tenantParam } from './common.js';

const apiParam = tenantParam.extend({ id: z.string().regex(/^api_[0-9a-f]{24}$/, 'an API id such as api_0123456789abcdef01234567') });

/** RFC 8707 2: an absolute URI without a fragment; it becomes the access tokens' `aud`. */
const identifier = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const url = URL.parse(value);
    if (!url) ctx.addIssue({ code: 'custom', message: 'must be an absolute URI' });
    else if (url.hash || value.includes('#')) ctx.addIssue({ code: 'custom', message: 'must not contain a fragment' });
    else if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not contain credentials' });
  });

/** RFC 6749 3.3 scope-token: printable ASCII other than space, `"` and `\`. */
const scope = z
  .object({
    name: z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/, 'a scope token: 1-100 printable ASCII characters, no spaces, quotes or backslashes'),
    description: z.string().trim().max(200).optional(),
  })
  .strict();

const editable = {
  name: z.string().trim().min(1).max(100),
  scopes: z
    .array(scope)
    .max(100)
    .refine((scopes) => new Set(scopes.map((item) => item.name)).size === scopes.length, 'scope names must be unique'),
  access_token_format: z.enum(['jwt', 'opaque']),
  access_token_ttl: z.number().int().min(60).max(MAX_ACCESS_TOKEN_TTL_SECONDS),
};

const apiOut = z.object({
  id: z.string(),
  identifier: z.string(),
  name: z.string(),
  scopes: z.array(z.object({ name: z.string(), description: z.string().optional() })),
  access_token_format: z.enum(['jwt', 'opaque']),
  access_token_ttl: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
});

function toJson(api: ApiResource): z.input<typeof apiOut> {
  return {
    id: api.id,
    identifier: api.identifier,
    name: api.name,
    scopes: api.scopes.map((item) => ({ name: item.name, ...(item.description ? { description: item.description } : {}) })),
    access_token_format: api.accessTokenFormat,
    access_token_ttl: api.accessTokenTTL,
    created_at: api.createdAt.toISOString(),
    updated_at: (api.updatedAt ?? api.createdAt).toISOString(),
  };
}

async function findApi(request: AdminRequest<unknown, unknown, unknown>, id: string): Promise<ApiResource> {
  const api = await request.app.resources.findById(request.tenant, id);
  if (!api) throw new AppError('not_found', `There is no API "${id}".`);
  return api;
}

/**
 * APIs (resource servers, RFC 8707) of a tenant: clients ask for tokens with `resource=<identifier>`.
 * They are addressed by an `id` assigned at creation (identifiers are URIs, awkward in a path).
 * Token requests read APIs from the store each time, so changes apply to the next token.
 */
export const apiRoutes = [
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/apis',
    tag: 'APIs',
    summary: 'Register an API (resource server); its identifier cannot change later',
    scopes: ['admin:apis:write'],
    params: tenantParam,
    body: z.object({ identifier, ...editable, scopes: editable.scopes.default([]), access_token_format: editable.access_token_format.default('jwt'), access_token_ttl: editable.access_token_ttl.default(DEFAULT_ACCESS_TOKEN_TTL_SECONDS) }).strict(),
    response: apiOut,
    status: 201,
    async handler(request) {
      const { identifier: uri, name, scopes, access_token_format: accessTokenFormat, access_token_ttl: accessTokenTTL } = request.body;
      if (uri === adminApiIdentifier(request.app.config.publicUrl)) throw new AppError('invalid_request', 'Invalid body: "identifier": this is the admin API’s identifier, reserved.');
      const api = await request.app.resources.create(request.tenant, { identifier: uri, name, scopes, accessTokenFormat, accessTokenTTL });
      await request.audit({ type: 'api.created', target: { type: 'api', id: api.id }, after: toJson(api) });
      request.ctx.set('Location', `/admin/v1/tenants/${request.tenant}/apis/${api.id}`);
      return toJson(api);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/apis',
    tag: 'APIs',
    summary: 'List APIs',
    scopes: ['admin:apis:read'],
    params: tenantParam,
    query: pageQuery,
    response: page(apiOut),
    async handler(request) {
      const { limit, cursor } = request.query;
      const apis = await request.app.resources.list(request.tenant, { ...(cursor ? { after: cursor } : {}), limit: limit + 1 });
      const result = paged(apis, limit, (api) => api.id);
      return { items: result.items.map(toJson), next_cursor: result.next_cursor };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/apis/:id',
    tag: 'APIs',
    summary: 'Read an API',
    scopes: ['admin:apis:read'],
    params: apiParam,
    response: apiOut,
    async handler(request) {
      return toJson(await findApi(request, request.params.id));
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/tenants/:tenant/apis/:id',
    tag: 'APIs',
    summary: 'Change an API’s name, scopes or token format and lifetime',
    description: '`scopes` replaces the whole list. The identifier is immutable.',
    scopes: ['admin:apis:write'],
    params: apiParam,
    body: z.object(editable).partial().strict(),
    response: apiOut,
    async handler(request) {
      const { id } = request.params;
      const before = await findApi(request, id);
      const { name, scopes, access_token_format: accessTokenFormat, access_token_ttl: accessTokenTTL } = request.body;
      const updated = await request.app.resources.update(request.tenant, id, {
        ...(name !== undefined ? { name } : {}),
        ...(scopes !== undefined ? { scopes } : {}),
        ...(accessTokenFormat !== undefined ? { accessTokenFormat } : {}),
        ...(accessTokenTTL !== undefined ? { accessTokenTTL } : {}),
      });
      if (!updated) throw new AppError('not_found', `There is no API "${id}".`);
      await request.audit({ type: 'api.updated', target: { type: 'api', id }, before: toJson(before), after: toJson(updated) });
      return toJson(updated);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/apis/:id',
    tag: 'APIs',
    summary: 'Delete an API; token requests for it fail with invalid_target at once',
    scopes: ['admin:apis:write'],
    params: apiParam,
    response: empty,
    status: 204,
    async handler(request) {
      const { id } = request.params;
      const before = await findApi(request, id);
      if (!(await request.app.resources.delete(request.tenant, id))) throw new AppError('not_found', `There is no API "${id}".`);
      await request.audit({ type: 'api.deleted', target: { type: 'api', id }, before: toJson(before) });
      return {};
    },
  }),
];
