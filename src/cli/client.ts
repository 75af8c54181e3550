import { readFile } from 'node:fs/promises';
import { clientFields, clientIdSchema, DEVICE_CODE_GRANT, newClientId } from '../domain/client-metadata.js';
import { BUILT_IN_CLIENT_IDS, builtInClientPurpose, type ClientMetadata } from '../domain/clients.js';
import { announceChange } from '../tenancy/change-log.js';
import { audit, optional, required, UsageError, withApp, type Command, type OptionValues } from './command.js';

const MAX_NAME = 100;

/** Redirect URIs checked as the admin API checks them: https, http on loopback, or a native app's private-use scheme. */
function redirectUris(values: OptionValues): string[] {
  const uris = [...new Set((values['redirect-uri'] as string[] | undefined) ?? [])];
  const result = clientFields.redirect_uris.safeParse(uris);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const uri = typeof issue.path[0] === 'number' ? ` "${uris[issue.path[0]]}"` : '';
    throw new UsageError(`--redirect-uri${uri}: ${issue.message}`);
  }
  return result.data;
}

function checkedClientId(clientId: string): string {
  if (!clientIdSchema.safeParse(clientId).success) throw new UsageError('--id is 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit');
  if (BUILT_IN_CLIENT_IDS.has(clientId)) throw new UsageError(`the client id "${clientId}" is reserved for ${builtInClientPurpose[clientId]}`);
  return clientId;
}

/**
 * `--device`: a TV, set-top box or command-line app that signs users in with the device flow
 * (docs/device-flow.md). Public unless it has keys (`--jwks-file`, `--jwks-uri`): an app on a device
 * cannot keep a secret.
 */
function deviceAppMetadata(values: OptionValues, name: string, requestedId: string | undefined): ClientMetadata {
  return {
    client_id: checkedClientId(requestedId ?? newClientId()),
    client_name: name,
    application_type: 'native',
    redirect_uris: [],
    grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
    response_types: [],
    token_endpoint_auth_method: 'none',
    ...(values['first-party'] === true ? { first_party: true } : {}),
  };
}

/** The metadata of what the flags describe: an app that signs users in, a device app, or a service account. */
function metadataOf(values: OptionValues, name: string, requestedId: string | undefined): ClientMetadata {
  const uris = redirectUris(values);
  const serviceAccount = values['service-account'] === true;
  const device = values['device'] === true;
  const isPublic = values['public'] === true;
  if ([uris.length > 0, serviceAccount, device].filter(Boolean).length > 1) throw new UsageError('use one of --redirect-uri (an app that signs users in), --device (a TV or command-line app) or --service-account');
  if (device) return deviceAppMetadata(values, name, requestedId);
  if (serviceAccount && isPublic) throw new UsageError('a service account authenticates with its secret, so it cannot be --public');
  const firstParty = values['first-party'] === true;
  if (serviceAccount && firstParty) throw new UsageError('a service account signs no users in, so it cannot be --first-party');
  if (!serviceAccount && !uris.length) throw new UsageError('missing --redirect-uri <uri> (repeatable), --device or --service-account');
  // Service accounts get an `sa-` prefix, as through the admin API, so they read as such in logs.
  const clientId = checkedClientId(requestedId ?? newClientId(serviceAccount ? 'sa-' : ''));
  if (serviceAccount) {
    return { client_id: clientId, client_name: name, application_type: 'web', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', service_account: true };
  }
  return {
    client_id: clientId,
    client_name: name,
    // A private-use scheme (com.example.app:/cb) is a native app's; oidc-provider refuses it on a web client.
    application_type: uris.some((uri) => !/^https?:/i.test(uri)) ? 'native' : 'web',
    redirect_uris: uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    // Public clients (SPAs, mobile, CLIs) cannot keep a secret; PKCE protects their codes instead.
    token_endpoint_auth_method: isPublic ? 'none' : 'client_secret_basic',
    // The operator's own app: its users are not asked for consent.
    ...(firstParty ? { first_party: true } : {}),
  };
}

/**
 * `--jwks-file` / `--jwks-uri`: the client signs `private_key_jwt` assertions instead of holding a
 * secret. The keys are checked as the admin API checks them (public signing keys only).
 */
async function keysOf(values: OptionValues): Promise<Partial<ClientMetadata>> {
  const file = optional(values, 'jwks-file');
  const uri = optional(values, 'jwks-uri');
  if (file === undefined && uri === undefined) return {};
  if (file !== undefined && uri !== undefined) throw new UsageError('use either --jwks-file or --jwks-uri, not both');
  if (values['public'] === true) throw new UsageError('a client with keys (private_key_jwt) authenticates, so it cannot be --public');
  if (uri !== undefined) {
    const result = clientFields.jwks_uri.safeParse(uri);
    if (!result.success) throw new UsageError(`--jwks-uri: ${result.error.issues[0]!.message}`);
    return { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: result.data };
  }
  let text: string;
  try {
    text = await readFile(file!, 'utf8');
  } catch (error) {
    throw new UsageError(`--jwks-file: cannot read ${file!}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--jwks-file: ${file!} is not JSON (a JWK Set: {"keys": [...]})`);
  }
  const result = clientFields.jwks.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new UsageError(`--jwks-file: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  return { token_endpoint_auth_method: 'private_key_jwt', jwks: result.data };
}

/** `gatehouse client create`: an OIDC client or service account; a secret is shown once. */
export const clientCommands: Command[] = [
  {
    name: 'client create',
    synopsis: '--tenant <id> --name <name> (--redirect-uri <uri>... | --device | --service-account) [--public | --jwks-file <path> | --jwks-uri <url>] [--first-party] [--id <client_id>]',
    summary: 'register an OIDC client or a service account; prints its client_id (and secret, once)',
    details:
      '--redirect-uri <uri>   an app that signs users in (authorization code + PKCE); repeat it for more URIs\n' +
      '--device               a TV or command-line app that signs users in with the device flow (public)\n' +
      '--service-account      a backend that gets tokens with the client-credentials grant\n' +
      '--public               no secret (single-page, mobile and command-line apps)\n' +
      '--jwks-file <path>     no secret: authenticates with private_key_jwt, verified with the public keys of this JWK Set file\n' +
      '--jwks-uri <url>       the same, with the keys fetched from this https URL\n' +
      '--first-party          your own app: users are not asked for consent\n' +
      '--id <client_id>       letters, digits, ".", "_" or "-", at most 100 (default: generated)',
    options: {
      tenant: { type: 'string' },
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'service-account': { type: 'boolean' },
      device: { type: 'boolean' },
      public: { type: 'boolean' },
      'first-party': { type: 'boolean' },
      id: { type: 'string' },
      'jwks-file': { type: 'string' },
      'jwks-uri': { type: 'string' },
    },
    async run(config, values) {
      const tenantId = required(values, 'tenant', '<id>');
      const name = required(values, 'name').trim();
      if (name.length > MAX_NAME) throw new UsageError(`--name is at most ${MAX_NAME} characters`);
      const metadata = { ...metadataOf(values, name, optional(values, 'id')), ...(await keysOf(values)) };
      // As the admin API does: a client the tenant's provider could not load is refused before it is stored.
      // Loaded on use, as it brings oidc-provider along.
      const { clientMetadataProblem } = await import('../oidc/client-validation.js');
      const problem = await clientMetadataProblem(metadata);
      if (problem) throw new UsageError(`this client would be refused: ${problem.field ? `${problem.field}: ` : ''}${problem.description}`);
      const clientId = metadata.client_id;
      const kind = metadata['service_account'] === true ? 'service_account' : 'client';
      return withApp(config, async (app) => {
        const tenant = await app.tenants.find(tenantId);
        if (!tenant) throw new UsageError(`there is no tenant "${tenantId}"`);
        // A taken client id is an AppError (conflict): exit code 2.
        const { clientSecret } = await app.clients.create(tenant._id, metadata);
        await announceChange(app, { tenant: tenant._id, kind: 'client', id: clientId });
        const { client_id: _id, ...after } = metadata;
        await audit(app, { tenant: tenant._id, type: `${kind}.created`, target: { type: kind, id: clientId }, after: { client_id: clientId, ...after } });
        console.log(`client_id: ${clientId}`);
        if (clientSecret) {
          console.log(`client_secret: ${clientSecret}`);
          console.error('Store the secret now: it is not shown again.');
        }
        return 0;
      });
    },
  },
];
