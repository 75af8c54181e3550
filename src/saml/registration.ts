import { z } from 'zod';
import type { SamlAppFields } from '../domain/saml-apps.js';
import { AppError, validationError } from '../errors.js';
import { appAsInput, appFields, certificateDetails } from './app-fields.js';
import { appInput, checkComplete, fieldShape, removableFields, type SamlAppInput } from './app-input.js';
import { webUrl } from '../domain/client-metadata.js';
import type { AppContext } from '../app-context.js';
import { fetchSpMetadata, MetadataFetchError } from './metadata-fetch.js';
import { MAX_METADATA_BYTES, readSpMetadata } from './sp-metadata.js';
import { XmlInputError } from './xml.js';

/** Where a registration may read SP metadata from, besides its fields. */
export const metadataSources = {
  metadata_xml: z.string().min(1).max(MAX_METADATA_BYTES).describe('the SP’s metadata (an md:EntityDescriptor); fields given beside it override what it says').optional(),
  metadata_url: webUrl.describe('where to fetch the SP’s metadata from (through the outbound-request guard); fields given beside it override what it says').optional(),
};

/** A create request: fields and/or one metadata source. */
export const createBody = appInput.extend(metadataSources).strict();

/** An update: any field (the removable ones also `null`), and/or metadata to read again. */
export const updateBody = appInput
  .extend(Object.fromEntries(removableFields.map((name) => [name, fieldShape[name].nullable().optional()])) as { [K in (typeof removableFields)[number]]: z.ZodOptional<z.ZodNullable<(typeof fieldShape)[K]>> })
  .extend(metadataSources)
  .strict();

export type RegistrationBody = z.output<typeof updateBody>;

export interface RegistrationContext {
  now: Date;
  fetchMetadata(url: string): Promise<string>;
  userExists(id: string): Promise<boolean>;
  roleExists(name: string): Promise<boolean>;
}

/**
 * The context of registrations for one tenant, for the admin API and the CLI alike: metadata URLs
 * under the outbound guard's policy (`http.allowPrivateNetworkFetch`; loopback in development).
 */
export function registrationContextFor(app: AppContext, tenant: string): RegistrationContext {
  const policy = { allowPrivateNetwork: app.config.http.allowPrivateNetworkFetch, allowLoopback: app.config.env === 'development' };
  return {
    now: new Date(app.clock()),
    fetchMetadata: (url) => fetchSpMetadata(url, policy, app.logger),
    userExists: async (id) => (await app.users.findById(tenant, id)) !== null,
    roleExists: async (name) => (await app.roles.find(tenant, name)) !== null,
  };
}

export interface Registration {
  fields: SamlAppFields;
  /** accepted, but worth a look: expired certificates, metadata entries skipped */
  warnings: string[];
}

/**
 * Turns a create or update request into the app's fields: the stored app (on update), then what
 * the metadata says, then the fields given, checked as one. An error names the field to fix, and
 * says when the value came from the metadata rather than from the request.
 */
export async function register(body: RegistrationBody, current: SamlAppFields | undefined, context: RegistrationContext): Promise<Registration> {
  const { metadata_xml: xml, metadata_url: url, ...given } = body;
  if (xml !== undefined && url !== undefined) throw new AppError('invalid_request', 'Invalid body: "metadata_url": give metadata_xml or metadata_url, not both.');
  const warnings: string[] = [];
  let fromMetadata: SamlAppInput = {};
  if (xml !== undefined || url !== undefined) {
    const source = xml !== undefined ? 'metadata_xml' : 'metadata_url';
    try {
      const reading = readSpMetadata(xml ?? (await context.fetchMetadata(url!)));
      fromMetadata = reading.fields;
      warnings.push(...reading.warnings);
    } catch (error) {
      if (error instanceof XmlInputError) throw new AppError('invalid_request', `Invalid body: "${source}": the metadata ${error.message}.`);
      if (error instanceof MetadataFetchError) throw new AppError('invalid_request', `Invalid body: "metadata_url": ${error.message}.`);
      throw error;
    }
  }
  const merged: Record<string, unknown> = { ...(current ? appAsInput(current) : {}), ...fromMetadata };
  for (const [name, value] of Object.entries(given)) {
    if (value === null) delete merged[name];
    else if (value !== undefined) merged[name] = value;
  }
  const checked = checkComplete(merged as SamlAppInput);
  if (!checked.success) {
    const givenNames = new Set(Object.keys(given));
    const issues = checked.error.issues.map((issue) => {
      const field = issue.path[0];
      const read = typeof field === 'string' && field in fromMetadata && !givenNames.has(field);
      return read ? { ...issue, message: `${issue.message} (as read from the metadata; give "${field}" to override it)` } : issue;
    });
    throw validationError('body', new z.ZodError(issues));
  }
  const access = checked.data.access;
  for (const [position, id] of (access?.user_ids ?? []).entries()) {
    if (!(await context.userExists(id))) throw new AppError('invalid_request', `Invalid body: "access.user_ids.${position}": there is no user "${id}" in this tenant.`);
  }
  for (const [position, name] of (access?.roles ?? []).entries()) {
    if (!(await context.roleExists(name))) throw new AppError('invalid_request', `Invalid body: "access.roles.${position}": there is no role "${name}" in this tenant.`);
  }
  const metadataUrl = url ?? (xml === undefined ? current?.metadataUrl : undefined);
  const fields = appFields(checked.data, metadataUrl);
  warnings.push(...certificateDetails(fields, context.now).flatMap((certificate) => (certificate.warning ? [certificate.warning] : [])));
  return { fields, warnings };
}
