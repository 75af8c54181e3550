import { attributeNameFormats, bindings, nameIdFormats, type SamlApp, type SamlAppFields } from '../domain/saml-apps.js';
import { readCertificate } from '../domain/x509.js';
import type { CompleteInput, SamlAppInput } from './app-input.js';

/** Between the admin API's shape of an app (`app-input.ts`) and the stored one (`domain/saml-apps.ts`). */

/** The stored fields of a checked registration, defaults applied. */
export function appFields(input: CompleteInput, metadataUrl: string | undefined): SamlAppFields {
  return {
    name: input.name ?? input.entity_id,
    entityId: input.entity_id,
    acs: input.acs_urls.map((acs, position) => ({ url: acs.url, binding: bindings.post, index: acs.index ?? position, isDefault: acs.is_default === true })),
    ...(input.slo ? { slo: { url: input.slo.url, binding: input.slo.binding === 'HTTP-POST' ? bindings.post : bindings.redirect, ...(input.slo.response_url ? { responseUrl: input.slo.response_url } : {}) } } : {}),
    signingCertificates: (input.signing_certificates ?? []).map(normalised),
    ...(input.encryption_certificate ? { encryptionCertificate: normalised(input.encryption_certificate) } : {}),
    nameIdFormats: (input.name_id_formats ?? ['persistent']).map((short) => nameIdFormats[short]),
    authnRequestsSigned: input.authn_requests_signed ?? false,
    signResponse: input.sign_response ?? true,
    signAssertion: input.sign_assertion ?? true,
    encryptAssertion: input.encrypt_assertion ?? false,
    encryptionAlgorithm: input.encryption_algorithm ?? 'aes256-gcm',
    signatureAlgorithm: input.signature_algorithm ?? 'rsa-sha256',
    allowSha1: input.allow_sha1 ?? false,
    attributes: (input.attributes ?? []).map((attribute) => ({
      name: attribute.name,
      nameFormat: attributeNameFormats[attribute.name_format ?? 'unspecified'],
      ...(attribute.friendly_name ? { friendlyName: attribute.friendly_name } : {}),
      source: attribute.source,
    })),
    assertionLifetimeSeconds: input.assertion_lifetime_seconds ?? 300,
    clockSkewSeconds: input.clock_skew_seconds ?? 60,
    idpInitiated: { allowed: input.idp_initiated?.allowed ?? false, ...(input.idp_initiated?.default_relay_state ? { defaultRelayState: input.idp_initiated.default_relay_state } : {}) },
    access: { allUsers: input.access?.all_users ?? false, userIds: input.access?.user_ids ?? [], roles: input.access?.roles ?? [] },
    ...(metadataUrl ? { metadataUrl } : {}),
  };
}

function normalised(text: string): string {
  const read = readCertificate(text, new Date());
  if ('error' in read) throw new Error('certificate checked by the schema is unreadable');
  return read.certificate.certificate;
}

const short = <T extends string>(table: Record<string, string>, urn: string) => Object.entries(table).find(([, value]) => value === urn)![0] as T;

/** A stored app in the input's shape, so an update starts from what is there. */
export function appAsInput(app: SamlAppFields): SamlAppInput {
  return {
    name: app.name,
    entity_id: app.entityId,
    acs_urls: app.acs.map((acs) => ({ url: acs.url, binding: 'HTTP-POST', index: acs.index, is_default: acs.isDefault })),
    ...(app.slo ? { slo: { url: app.slo.url, binding: app.slo.binding === bindings.post ? 'HTTP-POST' : 'HTTP-Redirect', ...(app.slo.responseUrl ? { response_url: app.slo.responseUrl } : {}) } } : {}),
    signing_certificates: app.signingCertificates,
    ...(app.encryptionCertificate ? { encryption_certificate: app.encryptionCertificate } : {}),
    name_id_formats: app.nameIdFormats.map((urn) => short<keyof typeof nameIdFormats>(nameIdFormats, urn)),
    authn_requests_signed: app.authnRequestsSigned,
    sign_response: app.signResponse,
    sign_assertion: app.signAssertion,
    encrypt_assertion: app.encryptAssertion,
    encryption_algorithm: app.encryptionAlgorithm,
    signature_algorithm: app.signatureAlgorithm,
    allow_sha1: app.allowSha1,
    attributes: app.attributes.map((attribute) => ({
      name: attribute.name,
      name_format: short<keyof typeof attributeNameFormats>(attributeNameFormats, attribute.nameFormat),
      ...(attribute.friendlyName ? { friendly_name: attribute.friendlyName } : {}),
      source: attribute.source,
    })),
    assertion_lifetime_seconds: app.assertionLifetimeSeconds,
    clock_skew_seconds: app.clockSkewSeconds,
    idp_initiated: { allowed: app.idpInitiated.allowed, ...(app.idpInitiated.defaultRelayState ? { default_relay_state: app.idpInitiated.defaultRelayState } : {}) },
    access: { all_users: app.access.allUsers, user_ids: app.access.userIds, roles: app.access.roles },
  };
}

/** The certificates of an app with what a person checks of them; expired ones are flagged, not refused. */
export function certificateDetails(app: Pick<SamlAppFields, 'signingCertificates' | 'encryptionCertificate'>, now: Date) {
  const uses = [...app.signingCertificates.map((text) => ['signing', text] as const), ...(app.encryptionCertificate ? [['encryption', app.encryptionCertificate] as const] : [])];
  return uses.map(([use, text], position) => {
    const read = readCertificate(text, now);
    const parsed = 'error' in read ? undefined : read.certificate;
    const field = use === 'signing' ? `signing_certificates.${position}` : 'encryption_certificate';
    return {
      use,
      fingerprint_sha256: parsed?.fingerprint ?? '',
      subject: parsed?.subject ?? '',
      not_before: parsed?.notBefore.toISOString() ?? '',
      not_after: parsed?.notAfter.toISOString() ?? '',
      warning: 'warning' in read && read.warning ? `"${field}": the certificate ${read.warning}` : null,
    };
  });
}

/**
 * What the admin API shows of an app: the fields as they are sent, with `certificates` (read only)
 * describing the certificates, so what was read can be edited and sent back.
 */
export function appJson(app: SamlApp, now: Date): Record<string, unknown> {
  const fields = appAsInput(app);
  return {
    id: app.id,
    ...fields,
    slo: fields.slo ?? null,
    encryption_certificate: fields.encryption_certificate ?? null,
    certificates: certificateDetails(app, now),
    metadata_url: app.metadataUrl ?? null,
    created_at: app.createdAt.toISOString(),
    updated_at: app.updatedAt.toISOString(),
  };
}
