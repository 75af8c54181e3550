import type { AdminScope } from '../../src/domain/admin-api.js';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { adminApi, adminToken } from './helpers.js';

/**
 * A service account of `tenant` holding a role with `scopes` of the admin API, and its admin
 * access token (a real one, from the tenant's token endpoint).
 */
export async function tenantAdmin(gh: TestGatehouse, tenant: string, clientId: string, scopes: AdminScope[]): Promise<{ token: string; secret: string; role: string }> {
  const role = `${clientId}-role`;
  await gh.app.roles.create(tenant, { name: role, permissions: scopes.map((scope) => ({ api: adminApi(gh), scope })) });
  const { clientSecret } = await gh.app.clients.create(
    tenant,
    { client_id: clientId, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], service_account: true },
    { roles: [role] },
  );
  return { token: await adminToken(gh, { tenant, clientId, clientSecret: clientSecret!, scope: scopes.join(' ') }), secret: clientSecret!, role };
}

/** A raw token-endpoint request with client_secret_basic: status and JSON body. */
export async function tokenRequest(gh: TestGatehouse, tenant: string, clientId: string, secret: string, params: Record<string, string> = { grant_type: 'client_credentials' }) {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const response = await fetch(`${gh.issuer(tenant)}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

/**
 * Starts an authorization request (no browser): a registered redirect URI gets a redirect to the
 * login interaction, an unregistered one an error page at the IdP and no redirect.
 */
export async function authorizationRequest(gh: TestGatehouse, tenant: string, clientId: string, redirectUri: string) {
  const url = new URL(`${gh.issuer(tenant)}/auth`);
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  const response = await fetch(url, { redirect: 'manual' });
  await response.text();
  return { status: response.status, location: response.headers.get('location') };
}
