import { z } from 'zod';
import type { SamlApp } from '../../domain/saml-apps.js';
import { AppError } from '../../errors.js';
import { appJson } from '../../saml/app-fields.js';
import { fieldShape } from '../../saml/app-input.js';
import { createBody, register, registrationContextFor, updateBody } from '../../saml/registration.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { empty, page, pageQuery, paged, tenantParam } from './common.js';

export const appParam = tenantParam.extend({ id: z.string().regex(/^sp_[A-Za-z0-9_-]{16}$/, 'a SAML app id (sp_...)') });

const certificateOut = z.object({
  use: z.enum(['signing', 'encryption']),
  fingerprint_sha256: z.string(),
  subject: z.string(),
  not_before: z.string(),
  not_after: z.string(),
  warning: z.string().nullable().describe('set when the certificate is expired or not yet valid (accepted: SAML checks the key)'),
});

const appOut = z.object({
  id: z.string(),
  name: z.string(),
  entity_id: z.string(),
  acs_urls: z.array(z.object({ url: z.string(), binding: z.literal('HTTP-POST'), index: z.number(), is_default: z.boolean() })),
  slo: z.object({ url: z.string(), binding: z.enum(['HTTP-Redirect', 'HTTP-POST']), response_url: z.string().optional() }).nullable(),
  signing_certificates: z.array(z.string()).describe('base64 DER'),
  encryption_certificate: z.string().nullable().describe('base64 DER'),
  certificates: z.array(certificateOut).describe('read only: what the certificates above are'),
  name_id_formats: fieldShape.name_id_formats,
  authn_requests_signed: z.boolean(),
  sign_response: z.boolean(),
  sign_assertion: z.boolean(),
  encrypt_assertion: z.boolean(),
  encryption_algorithm: fieldShape.encryption_algorithm,
  signature_algorithm: fieldShape.signature_algorithm,
  allow_sha1: z.boolean(),
  attributes: z.array(z.object({ name: z.string(), name_format: z.enum(['uri', 'basic', 'unspecified']), friendly_name: z.string().optional(), source: z.string() })),
  assertion_lifetime_seconds: z.number(),
  clock_skew_seconds: z.number(),
  idp_initiated: z.object({ allowed: z.boolean(), default_relay_state: z.string().optional() }),
  access: z.object({ all_users: z.boolean(), user_ids: z.array(z.string()), roles: z.array(z.string()) }),
  metadata_url: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** Create and update answer with what was accepted but deserves a look. */
const appWithWarnings = appOut.extend({ warnings: z.array(z.string()).describe('accepted, but worth a look: expired certificates, metadata entries skipped') });

const now = (request: AdminRequest<unknown, unknown, unknown>) => new Date(request.app.clock());

async function findApp(request: AdminRequest<unknown, unknown, unknown>, id: string): Promise<SamlApp> {
  const found = await request.app.samlApps.get(request.tenant, id);
  if (!found) throw new AppError('not_found', `There is no SAML app "${id}".`);
  return found;
}

const registrationHelp =
  'Give the SP’s metadata (`metadata_xml`, or `metadata_url` to fetch it through the outbound-request guard) and/or its fields; fields override what the metadata says. ' +
  'ACS URLs must use HTTP-POST; a DOCTYPE or entity declaration in metadata is refused; rsa-sha1 needs `allow_sha1`. Expired certificates are accepted with a warning. See docs/saml.md.';

/** SAML apps (service providers) of a tenant; managed with the clients' scopes, as SPs are the SAML kind of client. */
export const samlAppRoutes = [
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/saml-apps',
    tag: 'SAML apps',
    summary: 'Register a SAML app (service provider) from its metadata or its fields',
    description: registrationHelp,
    scopes: ['admin:clients:write'],
    params: tenantParam,
    body: createBody,
    response: appWithWarnings,
    status: 201,
    errors: { 409: '`conflict`: another SAML app of the tenant has this entity ID' },
    async handler(request) {
      const { fields, warnings } = await register(request.body, undefined, registrationContextFor(request.app, request.tenant));
      const created = await request.app.samlApps.create(request.tenant, fields, now(request));
      const json = appJson(created, now(request));
      await request.audit({ type: 'saml_app.created', target: { type: 'saml_app', id: created.id }, after: json, ...(warnings.length ? { details: { warnings } } : {}) });
      request.ctx.set('Location', `/admin/v1/tenants/${request.tenant}/saml-apps/${created.id}`);
      return { ...json, warnings } as z.input<typeof appWithWarnings>;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/saml-apps',
    tag: 'SAML apps',
    summary: 'List SAML apps',
    scopes: ['admin:clients:read'],
    params: tenantParam,
    query: pageQuery,
    response: page(appOut),
    async handler(request) {
      const { limit, cursor } = request.query;
      const apps = await request.app.samlApps.list(request.tenant, { ...(cursor ? { after: cursor } : {}), limit: limit + 1 });
      const result = paged(apps, limit, (app) => app.id);
      return { items: result.items.map((app) => appJson(app, now(request))) as Array<z.input<typeof appOut>>, next_cursor: result.next_cursor };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/saml-apps/:id',
    tag: 'SAML apps',
    summary: 'Read a SAML app',
    scopes: ['admin:clients:read'],
    params: appParam,
    response: appOut,
    async handler(request) {
      return appJson(await findApp(request, request.params.id), now(request)) as z.input<typeof appOut>;
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/tenants/:tenant/saml-apps/:id',
    tag: 'SAML apps',
    summary: 'Change a SAML app; `metadata_xml` or `metadata_url` reads the SP’s metadata again',
    description: `${registrationHelp} \`null\` removes \`slo\` or \`encryption_certificate\`. The whole app is checked again, as on registration.`,
    scopes: ['admin:clients:write'],
    params: appParam,
    body: updateBody,
    response: appWithWarnings,
    errors: { 409: '`conflict`: another SAML app of the tenant has this entity ID' },
    async handler(request) {
      const { id } = request.params;
      const before = await findApp(request, id);
      const { fields, warnings } = await register(request.body, before, registrationContextFor(request.app, request.tenant));
      const updated = await request.app.samlApps.update(request.tenant, id, fields, now(request));
      if (!updated) throw new AppError('not_found', `There is no SAML app "${id}".`);
      const json = appJson(updated, now(request));
      await request.audit({ type: 'saml_app.updated', target: { type: 'saml_app', id }, before: appJson(before, now(request)), after: json, ...(warnings.length ? { details: { warnings } } : {}) });
      return { ...json, warnings } as z.input<typeof appWithWarnings>;
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/saml-apps/:id',
    tag: 'SAML apps',
    summary: 'Delete a SAML app; its SP can no longer sign users in',
    scopes: ['admin:clients:write'],
    params: appParam,
    response: empty,
    status: 204,
    async handler(request) {
      const { id } = request.params;
      const before = await findApp(request, id);
      if (!(await request.app.samlApps.delete(request.tenant, id))) throw new AppError('not_found', `There is no SAML app "${id}".`);
      await request.audit({ type: 'saml_app.deleted', target: { type: 'saml_app', id }, before: appJson(before, now(request)) });
      return {};
    },
  }),
];
