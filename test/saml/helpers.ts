import { generateSigningCertificate } from '../../src/domain/x509.js';

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/** A fresh SP certificate (base64 DER); `validityDays` < 0 makes one that has expired. */
export async function spCertificate(options: { validityDays?: number; bits?: 2048 | 3072 } = {}): Promise<string> {
  const validityDays = options.validityDays ?? 365;
  const now = validityDays < 0 ? new Date(Date.now() + (validityDays - 1) * 86_400_000) : new Date();
  return (await generateSigningCertificate({ commonName: 'sp.example', modulusLength: options.bits ?? 2048, validityDays: Math.abs(validityDays), now })).certificate;
}

/** An SP's metadata as a typical SP publishes it. */
export function spMetadata(options: { entityId: string; acs?: Array<{ url: string; binding?: string; index?: number }>; signingCert?: string; encryptionCert?: string; authnRequestsSigned?: boolean; wantAssertionsSigned?: boolean; nameIdFormats?: string[]; prolog?: string }): string {
  const key = (use: string, cert: string) => `<md:KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const acs = options.acs ?? [{ url: 'https://sp.example/saml/acs' }];
  return [
    options.prolog ?? '<?xml version="1.0" encoding="UTF-8"?>',
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${options.entityId}">`,
    `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="${options.authnRequestsSigned ?? false}" WantAssertionsSigned="${options.wantAssertionsSigned ?? true}">`,
    options.signingCert ? key('signing', options.signingCert) : '',
    options.encryptionCert ? key('encryption', options.encryptionCert) : '',
    `<md:SingleLogoutService Binding="${POST}" Location="https://sp.example/saml/slo-post"/>`,
    `<md:SingleLogoutService Binding="${REDIRECT}" Location="https://sp.example/saml/slo"/>`,
    ...(options.nameIdFormats ?? ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress']).map((format) => `<md:NameIDFormat>${format}</md:NameIDFormat>`),
    ...acs.map((entry, position) => `<md:AssertionConsumerService Binding="${entry.binding ?? POST}" Location="${entry.url}" index="${entry.index ?? position}"/>`),
    '</md:SPSSODescriptor>',
    '</md:EntityDescriptor>',
  ].join('\n');
}

export const bindingUrns = { post: POST, redirect: REDIRECT, artifact: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact' };
