import { z } from 'zod';
import { auditedSigning, pinSigningCertificate, signingCertificateOf, unpinSigningCertificate, type AppSigningCertificate } from '../../saml/certificate-pin.js';
import { AppError } from '../../errors.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { appParam } from './saml-apps.js';
import { certificateOut, toJson } from './saml-certificates.js';

const signingOut = z.object({
  pinned: z.boolean().describe('true: the app is signed with this certificate whatever the tenant’s active one is; false: it follows the tenant’s active certificate'),
  certificate: certificateOut,
});

const json = (signing: AppSigningCertificate): z.input<typeof signingOut> => ({ pinned: signing.pinned, certificate: toJson(signing.key) });
const now = (request: AdminRequest<unknown, unknown, unknown>) => new Date(request.app.clock());

const pinHelp =
  'Per-app activation (docs/saml.md, "Certificates and rotation"): the app is signed with one of the tenant’s published certificates (active, next or previous) instead of the tenant’s active one, ' +
  'so SPs can move to a new certificate one at a time. A certificate an app is pinned to cannot be retired (409) until the app is unpinned.';

/** Which of the tenant's SAML certificates signs for one app; with the certificates' scopes, as it is an activation. */
export const samlAppCertificateRoutes = [
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/saml-apps/:id/signing-certificate',
    tag: 'SAML apps',
    summary: 'The certificate a SAML app is signed with: its pin, or the tenant’s active certificate',
    description: pinHelp,
    scopes: ['admin:keys:read'],
    params: appParam,
    response: signingOut,
    errors: { 404: '`not_found`: no such app', 409: '`conflict`: the app is pinned to a certificate that is gone (pin or unpin it)' },
    async handler(request) {
      const samlApp = await request.app.samlApps.get(request.tenant, request.params.id);
      if (!samlApp) throw new AppError('not_found', `There is no SAML app "${request.params.id}".`);
      return json(await signingCertificateOf(request.app, samlApp, now(request)));
    },
  }),
  defineRoute({
    method: 'put',
    path: '/tenants/:tenant/saml-apps/:id/signing-certificate',
    tag: 'SAML apps',
    summary: 'Pin a SAML app to one of the tenant’s published certificates: it is signed with it from now on',
    description: pinHelp,
    scopes: ['admin:keys:write'],
    params: appParam,
    body: z.object({ kid: z.uuid().describe('a published SAML certificate of this tenant (GET /tenants/{tenant}/saml-certificates)') }).strict(),
    response: signingOut,
    errors: { 400: '`invalid_request`: `kid` missing or not a certificate id', 404: '`not_found`: no such app, or no such certificate in this tenant', 409: '`conflict`: the certificate was retired at the same time' },
    async handler(request) {
      const { before, after } = await pinSigningCertificate(request.app, request.tenant, request.params.id, request.body.kid, now(request));
      await request.audit({ type: 'saml_app.signing_certificate_pinned', target: { type: 'saml_app', id: request.params.id }, before: auditedSigning(before), after: auditedSigning(after) });
      return json(after);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/saml-apps/:id/signing-certificate',
    tag: 'SAML apps',
    summary: 'Unpin a SAML app: it follows the tenant’s active certificate again',
    description: pinHelp,
    scopes: ['admin:keys:write'],
    params: appParam,
    response: signingOut,
    errors: { 404: '`not_found`: no such app' },
    async handler(request) {
      const { before, after } = await unpinSigningCertificate(request.app, request.tenant, request.params.id, now(request));
      if (before?.pinned !== false) await request.audit({ type: 'saml_app.signing_certificate_unpinned', target: { type: 'saml_app', id: request.params.id }, before: auditedSigning(before), after: auditedSigning(after) });
      return json(after);
    },
  }),
];
