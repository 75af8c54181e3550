import { z } from 'zod';
import { defaultSamlKey, MAX_SAML_KEYS, type SamlKeyInfo } from '../../domain/saml-keys.js';
import { rsaModulusLengths } from '../../domain/x509.js';
import { retireCertificate } from '../../saml/certificate-pin.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { tenantParam } from './common.js';

const certificateParam = tenantParam.extend({ kid: z.uuid() });

export const certificateOut = z.object({
  kid: z.string(),
  state: z.enum(['next', 'active', 'previous']).describe('next: published, not signing yet; active: signs; previous: signed before, still published until retired'),
  certificate: z.string().describe('base64 DER, as in the metadata (the private key is never shown)'),
  fingerprint_sha256: z.string(),
  modulus_length: z.number(),
  not_before: z.string(),
  not_after: z.string(),
  created_at: z.string(),
  activated_at: z.string().nullable(),
});

export function toJson(key: SamlKeyInfo): z.input<typeof certificateOut> {
  return {
    kid: key.kid,
    state: key.state,
    certificate: key.certificate,
    fingerprint_sha256: key.fingerprint,
    modulus_length: key.modulusLength,
    not_before: key.notBefore.toISOString(),
    not_after: key.notAfter.toISOString(),
    created_at: key.createdAt.toISOString(),
    activated_at: key.activatedAt?.toISOString() ?? null,
  };
}

/** What the audit trail keeps of a certificate: enough to tell which one, never key material. */
const audited = (key: SamlKeyInfo) => ({ kid: key.kid, state: key.state, fingerprint_sha256: key.fingerprint, not_after: key.notAfter.toISOString() });

const now = (request: AdminRequest<unknown, unknown, unknown>) => new Date(request.app.clock());
const target = (request: AdminRequest<unknown, unknown, unknown>) => ({ type: 'tenant', id: request.tenant });

/**
 * A tenant's SAML signing certificates, rotated by hand (docs/saml.md): many SPs pin the one
 * certificate pasted into them, so a new one is published (next) long before it signs.
 */
export const samlCertificateRoutes = [
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/saml-certificates',
    tag: 'SAML certificates',
    summary: 'List the tenant’s SAML signing certificates (a tenant without one gets its first here)',
    description: `At most ${MAX_SAML_KEYS}: the active one, a next one and previous ones awaiting retirement.`,
    scopes: ['admin:keys:read'],
    params: tenantParam,
    response: z.object({ items: z.array(certificateOut) }),
    async handler(request) {
      return { items: (await request.app.samlKeys.list(request.tenant, now(request))).map(toJson) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/saml-certificates',
    tag: 'SAML certificates',
    summary: 'Create the next SAML signing certificate: published in the metadata at once, signing only once activated',
    description: '409 when a next certificate exists already, or the tenant holds the most it may.',
    scopes: ['admin:keys:write'],
    params: tenantParam,
    body: z
      .object({
        modulus_length: z.union(rsaModulusLengths.map((bits) => z.literal(bits))).optional().describe(`RSA key size (default ${defaultSamlKey.modulusLength})`),
        validity_days: z.number().int().min(30).max(7300).optional().describe(`certificate lifetime (default ${defaultSamlKey.validityDays})`),
      })
      .strict(),
    response: certificateOut,
    status: 201,
    errors: { 409: '`conflict`: a next certificate exists, or the tenant holds the most certificates it may' },
    async handler(request) {
      const created = await request.app.samlKeys.createNext(
        request.tenant,
        { modulusLength: request.body.modulus_length ?? defaultSamlKey.modulusLength, validityDays: request.body.validity_days ?? defaultSamlKey.validityDays },
        now(request),
      );
      await request.audit({ type: 'saml_certificate.created', target: target(request), after: audited(created) });
      return toJson(created);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/saml-certificates/:kid/activate',
    tag: 'SAML certificates',
    summary: 'Sign with the next certificate from now on; the active one becomes previous and stays published until retired',
    scopes: ['admin:keys:write'],
    params: certificateParam,
    response: z.object({ activated: certificateOut, previous: certificateOut }),
    errors: { 404: '`not_found`: no such certificate', 409: '`conflict`: the certificate is not the next one' },
    async handler(request) {
      const { activated, previous } = await request.app.samlKeys.activate(request.tenant, request.params.kid, now(request));
      await request.audit({ type: 'saml_certificate.activated', target: target(request), before: audited(previous), after: audited(activated) });
      return { activated: toJson(activated), previous: toJson(previous) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/saml-certificates/:kid/retire',
    tag: 'SAML certificates',
    summary: 'Remove a previous (or withdraw the next) certificate from the metadata; its private key is deleted',
    scopes: ['admin:keys:write'],
    params: certificateParam,
    response: certificateOut,
    errors: { 404: '`not_found`: no such certificate', 409: '`conflict`: the active certificate cannot be retired, nor one an app is pinned to (the message names the apps)' },
    async handler(request) {
      const retired = await retireCertificate(request.app, request.tenant, request.params.kid, now(request));
      await request.audit({ type: 'saml_certificate.retired', target: target(request), before: audited(retired) });
      return toJson(retired);
    },
  }),
];
