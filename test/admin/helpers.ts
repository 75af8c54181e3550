import * as client from 'openid-client';
import { allAdminScopes } from '../../src/domain/admin-api.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

export const BOOTSTRAP = {
  adminUsername: 'root',
  adminPassword: 'a long bootstrap password',
  clientId: 'ops-bot',
  clientSecret: 'ops-bot-secret-0123456789abcdefghijklmnop',
};

/** Gatehouse with the bootstrap operator and service account configured. */
export function startAdminGatehouse(): Promise<TestGatehouse> {
  return startGatehouse({ bootstrap: BOOTSTRAP });
}

export function adminApi(gh: TestGatehouse): string {
  return `${gh.origin}/admin/v1`;
}

/** A client-credentials access token for the admin API from `tenant`'s token endpoint. */
export async function adminToken(gh: TestGatehouse, options: { tenant?: string; clientId?: string; clientSecret?: string; scope?: string } = {}): Promise<string> {
  const tenant = options.tenant ?? 'system';
  const config = await client.discovery(
    new URL(gh.issuer(tenant)),
    options.clientId ?? BOOTSTRAP.clientId,
    options.clientSecret ?? BOOTSTRAP.clientSecret,
    client.ClientSecretBasic(options.clientSecret ?? BOOTSTRAP.clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
  const tokens = await client.clientCredentialsGrant(config, { resource: adminApi(gh), scope: options.scope ?? allAdminScopes.join(' ') });
  return tokens.access_token;
}

/**
 * A tenant admin of `tenant`: a service account `a-ops` whose role `user-admin` grants the users
 * scopes (admin:users:read and write), and its token.
 */
export async function userAdminToken(gh: TestGatehouse, tenant: string): Promise<string> {
  const api = adminApi(gh);
  await gh.app.roles.create(tenant, { name: 'user-admin', permissions: ['admin:users:read', 'admin:users:write'].map((scope) => ({ api, scope })) });
  const { clientSecret } = await gh.app.clients.create(tenant, { client_id: 'a-ops', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, { roles: ['user-admin'] });
  return adminToken(gh, { tenant, clientId: 'a-ops', clientSecret: clientSecret!, scope: 'admin:users:read admin:users:write' });
}

export interface ApiResponse {
  status: number;
  body: Record<string, unknown> & { items?: Array<Record<string, unknown>>; error?: string; error_description?: string };
  headers: Headers;
}

/** Calls the admin API with a bearer token; `body` is sent as JSON unless it is a string. */
export async function call(gh: TestGatehouse, token: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const response = await fetch(`${adminApi(gh)}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as ApiResponse['body']) : {}, headers: response.headers };
}
