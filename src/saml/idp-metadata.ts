import { bindings, nameIdFormats } from '../domain/saml-apps.js';
import type { SamlKeyInfo } from '../domain/saml-keys.js';
import { certificatePem } from '../domain/x509.js';
import { samlify } from './samlify.js';

/** Where a tenant's SAML endpoints live, below its issuer (`{publicUrl}/t/{tenant}`). */
export const samlRoot = '/saml';

export interface IdpEndpoints {
  entityId: string;
  metadata: string;
  sso: string;
  slo: string;
}

/**
 * A tenant's IdP endpoints. The entity ID is the metadata URL: stable as long as the public URL and
 * the tenant id are, resolvable (an SP given the entity ID can fetch the metadata from it), and
 * unique per tenant. Changing `publicUrl` changes it, which every SP would notice: docs/saml.md.
 */
export function idpEndpoints(issuer: string): IdpEndpoints {
  const base = `${issuer}${samlRoot}`;
  return { entityId: `${base}/metadata`, metadata: `${base}/metadata`, sso: `${base}/sso`, slo: `${base}/slo` };
}

/** IDPSSODescriptor's children in the order of the metadata schema (SAML Metadata 2.4.2, 2.4.3). */
const elementsOrder = ['KeyDescriptor', 'SingleLogoutService', 'NameIDFormat', 'SingleSignOnService'];

/**
 * The IdP metadata of a tenant: every published signing certificate (active first, then the next
 * one SPs should add before it signs, then previous ones not yet retired), the NameID formats
 * Gatehouse issues, and SSO and SLO over HTTP-Redirect and HTTP-POST. `WantAuthnRequestsSigned` is
 * false: whether a request must be signed is each app's setting (`authn_requests_signed`).
 */
export function idpMetadataXml(issuer: string, keys: SamlKeyInfo[]): string {
  const endpoints = idpEndpoints(issuer);
  const both = (location: string) => [bindings.redirect, bindings.post].map((binding) => ({ Binding: binding, Location: location }));
  return samlify
    .IdentityProvider({
      entityID: endpoints.entityId,
      signingCert: keys.map((key) => certificatePem(key.certificate)),
      wantAuthnRequestsSigned: false,
      nameIDFormat: Object.values(nameIdFormats),
      singleSignOnService: both(endpoints.sso),
      singleLogoutService: both(endpoints.slo),
      elementsOrder,
    })
    .getMetadata();
}
