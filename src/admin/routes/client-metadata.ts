import { z } from 'zod';
import { BUILT_IN_CLIENT_IDS, builtInClientPurpose, type ClientRecord } from '../../domain/clients.js';
import { AppError } from '../../errors.js';
import { clientMetadataProblem } from '../../oidc/client-validation.js';
export { assertHoldsPowersOf } from '../escalation.js';

/** Fields a PATCH may remove with `null`. */
export const removableFields = ['scope', 'client_uri', 'initiate_login_uri', 'logo_uri', 'policy_uri', 'tos_uri', 'backchannel_logout_uri', 'backchannel_logout_session_required', 'jwks', 'jwks_uri', 'token_endpoint_auth_signing_alg', 'require_pkce', 'minimum_acr'] as const;

/** A client as the API returns it; never the secret (only create and rotate add `client_secret`). */
export const clientOut = z.object({
  client_id: z.string(),
  client_name: z.string().optional(),
  application_type: z.string(),
  redirect_uris: z.array(z.string()),
  post_logout_redirect_uris: z.array(z.string()).optional(),
  grant_types: z.array(z.string()),
  response_types: z.array(z.string()),
  token_endpoint_auth_method: z.string(),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
  jwks_uri: z.string().optional(),
  token_endpoint_auth_signing_alg: z.string().optional(),
  require_pkce: z.boolean().optional(),
  scope: z.string().optional(),
  client_uri: z.string().optional(),
  initiate_login_uri: z.string().optional(),
  logo_uri: z.string().optional(),
  policy_uri: z.string().optional(),
  tos_uri: z.string().optional(),
  backchannel_logout_uri: z.string().optional(),
  backchannel_logout_session_required: z.boolean().optional(),
  first_party: z.boolean().optional(),
  admin_console: z.boolean().optional(),
  minimum_acr: z.string().optional(),
  backchannel_token_delivery_mode: z.string().optional(),
  backchannel_client_notification_endpoint: z.string().optional(),
  roles: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
});

/** The response shape of a client; stored metadata the API does not know is left out. */
export function clientJson(record: ClientRecord): z.output<typeof clientOut> {
  return clientOut.parse({
    // oidc-provider's defaults, for clients registered before these fields were written out
    application_type: 'web',
    redirect_uris: [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...record.metadata,
    client_id: record.clientId,
    roles: record.roles,
    created_at: record.createdAt.toISOString(),
    updated_at: record.updatedAt.toISOString(),
  });
}

/** The account console's id is built in to every tenant: nobody registers, changes or deletes it. */
export function refuseReserved(clientId: string): void {
  if (BUILT_IN_CLIENT_IDS.has(clientId)) throw new AppError('forbidden', `"${clientId}" is a built-in client (${builtInClientPurpose[clientId]}) and cannot be changed.`);
}

/**
 * Checks the metadata to be stored as oidc-provider will when it loads the client, without the
 * tenant's provider (or keys). Its refusals become a 400 naming the field.
 */
export async function validateWithProvider(metadata: Record<string, unknown> & { client_id: string }): Promise<void> {
  const problem = await clientMetadataProblem(metadata);
  if (problem) throw new AppError('invalid_request', `Invalid body: ${problem.field ? `"${problem.field}": ` : ''}${problem.description}`);
}
