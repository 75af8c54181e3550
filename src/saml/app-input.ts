import { z } from 'zod';
import { webUrl } from '../domain/client-metadata.js';
import { attributeNameFormats, attributeSources, bindings, encryptionAlgorithms, nameIdFormats, signatureAlgorithms } from '../domain/saml-apps.js';
import { MAX_CERTIFICATE_CHARS, readCertificate } from '../domain/x509.js';

/**
 * The admin API's fields of a SAML app (snake_case, short names for URNs), shared by the admin
 * API and the CLI. `fieldShape` types each field; `checkComplete` adds the rules between fields,
 * so a registration from metadata is checked exactly like one from fields. `app-fields.ts` turns
 * checked input into stored fields (defaults applied) and back.
 */

/** SAML Bindings 3.4.3 and 3.5.3: RelayState MUST NOT exceed 80 bytes. */
export const MAX_RELAY_STATE_BYTES = 80;

/** SAML Metadata 2.2.1: an entityID is a URI of at most 1024 characters. */
const entityId = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"]+$/, 'must be an absolute URI (a URL or a URN) without spaces');

const acsBinding = z.string().superRefine((value, ctx) => {
  if (value === 'HTTP-POST' || value === bindings.post) return;
  const message =
    value === 'HTTP-Redirect' || value === bindings.redirect
      ? 'HTTP-Redirect cannot carry a Response: the Web SSO profile (SAML Profiles 4.1.2) sends it over HTTP-POST; register the SP’s HTTP-POST endpoint'
      : 'must be "HTTP-POST"';
  ctx.addIssue({ code: 'custom', message });
});

const certificate = z
  .string()
  .max(MAX_CERTIFICATE_CHARS)
  .superRefine((value, ctx) => {
    const read = readCertificate(value, new Date());
    if ('error' in read) ctx.addIssue({ code: 'custom', message: `the certificate ${read.error}` });
  });

const shortNameIdFormats = Object.keys(nameIdFormats) as [keyof typeof nameIdFormats, ...Array<keyof typeof nameIdFormats>];
const shortNameFormats = Object.keys(attributeNameFormats) as [keyof typeof attributeNameFormats, ...Array<keyof typeof attributeNameFormats>];

function unique<T extends z.ZodType>(item: T, max: number, keyOf: (value: z.output<T>) => string = String) {
  return z
    .array(item)
    .max(max)
    .refine((items) => new Set(items.map(keyOf)).size === items.length, 'must not repeat a value');
}

export const fieldShape = {
  name: z.string().trim().min(1).max(200).describe('display name (default: the entity ID)'),
  entity_id: entityId.describe('the SP’s entity ID, unique in the tenant'),
  acs_urls: unique(
    z
      .object({
        url: webUrl,
        binding: acsBinding.describe('HTTP-POST (HTTP-Redirect is refused: it cannot carry a Response)'),
        index: z.number().int().min(0).max(65535).optional().describe('default: its position'),
        is_default: z.boolean().optional(),
      })
      .strict(),
    20,
    (acs) => acs.url,
  )
    .min(1)
    .describe('where assertions may be posted; an AuthnRequest naming any other URL is refused'),
  slo: z
    .object({ url: webUrl, binding: z.enum(['HTTP-Redirect', 'HTTP-POST']), response_url: webUrl.optional() })
    .strict()
    .describe('the SP’s single logout endpoint'),
  signing_certificates: unique(certificate, 4).describe('PEM or base64 DER; the SP signs AuthnRequests and LogoutRequests with one of these keys'),
  encryption_certificate: certificate.describe('PEM or base64 DER; assertions are encrypted to its key'),
  name_id_formats: unique(z.enum(shortNameIdFormats), 4).min(1).describe('formats the SP may ask for; the first is used when it asks for none (default: persistent)'),
  authn_requests_signed: z.boolean().describe('refuse unsigned AuthnRequests (needs signing_certificates)'),
  sign_response: z.boolean().describe('sign the Response (default true)'),
  sign_assertion: z.boolean().describe('sign the Assertion (default true)'),
  encrypt_assertion: z.boolean().describe('encrypt the Assertion (needs encryption_certificate)'),
  encryption_algorithm: z.enum(encryptionAlgorithms).describe('content encryption of assertions, key transport RSA-OAEP (default aes256-gcm)'),
  signature_algorithm: z.enum(signatureAlgorithms).describe('default rsa-sha256; rsa-sha1 only with allow_sha1'),
  allow_sha1: z.boolean().describe('permit rsa-sha1 for an SP that can do nothing better (SHA-1 signatures are forgeable in principle)'),
  attributes: unique(
    z
      .object({
        name: z.string().min(1).max(256),
        name_format: z.enum(shortNameFormats).optional().describe('default unspecified (SAML Core 2.7.3.1)'),
        friendly_name: z.string().min(1).max(256).optional(),
        source: z.enum(attributeSources),
      })
      .strict(),
    50,
    (attribute) => attribute.name,
  ).describe('attributes of the assertion and what of the user each carries'),
  assertion_lifetime_seconds: z.number().int().min(60).max(3600).describe('NotOnOrAfter of the assertion (default 300)'),
  clock_skew_seconds: z.number().int().min(0).max(300).describe('tolerance for the SP’s clock on IssueInstant (default 60)'),
  idp_initiated: z
    .object({
      allowed: z.boolean(),
      default_relay_state: z
        .string()
        .min(1)
        .refine((value) => Buffer.byteLength(value) <= MAX_RELAY_STATE_BYTES, `must be at most ${MAX_RELAY_STATE_BYTES} bytes (SAML Bindings 3.4.3)`)
        .optional(),
    })
    .strict()
    .describe('whether users may start sign-in at Gatehouse (My apps) and the RelayState then sent'),
  access: z
    .object({
      all_users: z.boolean().optional(),
      user_ids: unique(z.string().min(1).max(100), 100).optional(),
      roles: unique(z.string().min(1).max(100), 50).optional(),
    })
    .strict()
    .describe('who may sign in: all users, or the listed users and holders of the listed roles (default: nobody)'),
};

/** Every field, all optional: what a request or a metadata document says. */
export const appInput = z.object(fieldShape).partial().strict();
export type SamlAppInput = z.input<typeof appInput>;

/** Input fields that may be removed again (`null` in an update). */
export const removableFields = ['slo', 'encryption_certificate'] as const;

/** The rules between fields, each naming the field to fix. */
const complete = appInput.required({ entity_id: true, acs_urls: true }).superRefine((app, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (app.authn_requests_signed && !app.signing_certificates?.length) issue('authn_requests_signed', 'needs signing_certificates to check the signatures with');
  if (app.encrypt_assertion && !app.encryption_certificate) issue('encrypt_assertion', 'needs encryption_certificate');
  if (app.sign_response === false && app.sign_assertion === false) issue('sign_assertion', 'the response, the assertion or both must be signed');
  if (app.signature_algorithm === 'rsa-sha1' && app.allow_sha1 !== true) issue('signature_algorithm', 'rsa-sha1 is refused unless allow_sha1 is true (ask the SP for SHA-256 first)');
  if (app.acs_urls.filter((acs) => acs.is_default).length > 1) issue('acs_urls', 'at most one may be the default');
  const indexes = app.acs_urls.map((acs, position) => acs.index ?? position);
  if (new Set(indexes).size !== indexes.length) issue('acs_urls', 'must not repeat an index');
});

export type CompleteInput = z.output<typeof complete>;

export function checkComplete(input: SamlAppInput): { success: true; data: CompleteInput } | { success: false; error: z.ZodError } {
  return complete.safeParse(input) as never;
}
