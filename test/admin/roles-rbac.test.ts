import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { type TestGatehouse, TEST_PASSWORD } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { adminToken, call, startAdminGatehouse } from './helpers.js';

/**
 * RBAC through the admin API, end to end: roles and assignments made only through the roles
 * endpoints, observed in real tokens from real sign-ins and client-credentials grants.
 */
describe('RBAC through the admin API', () => {
  const tenant = 'rbac-e2e';
  const api = 'https://reports.rbac-e2e.example';
  const redirectUri = 'http://127.0.0.1:9/callback';
  let gh: TestGatehouse;
  let root: string;
  let userId: string;
  let rp: client.Configuration;

  const scopeOf = (token: string) => String(decodeJwt(token)['scope'] ?? '');

  beforeAll(async () => {
    gh = await startAdminGatehouse();
    root = await adminToken(gh);
    expect((await call(gh, root, 'POST', '/tenants', { id: tenant, display_name: 'RBAC' })).status).toBe(201);
    // APIs, users and clients have their own endpoints (other resources): made directly here.
    await gh.app.resources.create(tenant, { identifier: api, name: 'Reports', scopes: [{ name: 'read' }, { name: 'write' }] });
    userId = (await gh.app.users.create(tenant, { username: 'alice', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) }))._id;
    const web = await gh.app.clients.create(tenant, {
      client_id: 'web-app',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await relyingParty(gh, tenant, 'web-app', web.clientSecret);
    const created = await call(gh, root, 'POST', `/tenants/${tenant}/roles`, { name: 'report-reader', description: 'Reads reports', permissions: [{ api, scope: 'read' }] });
    expect(created.status).toBe(201);
  });
  afterAll(() => gh.stop());

  it('gives a signed-in user the roles claim and only the scopes of the role, and takes them at the next refresh once unassigned', async () => {
    expect((await call(gh, root, 'POST', `/tenants/${tenant}/roles/report-reader/members`, { user_id: userId })).status).toBe(200);

    // The roles claim, in the ID token and at userinfo (an access token for userinfo, no resource).
    const plain = await authorize(new Browser(gh.origin), rp, { redirectUri, scope: 'openid roles' });
    const plainTokens = await client.authorizationCodeGrant(rp, plain.callback, { pkceCodeVerifier: plain.verifier, expectedState: plain.state });
    expect(plainTokens.claims()?.['roles']).toEqual(['report-reader']);
    expect((await client.fetchUserInfo(rp, plainTokens.access_token, userId))['roles']).toEqual(['report-reader']);

    // An access token for the API: asked for read and write, given read only.
    const { callback, verifier, state } = await authorize(new Browser(gh.origin), rp, { redirectUri, scope: 'openid roles read write', extra: { resource: api } });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: api });
    expect(tokens.claims()?.['roles']).toEqual(['report-reader']);
    expect(decodeJwt(tokens.access_token).aud).toBe(api);
    expect(scopeOf(tokens.access_token)).toBe('read');

    expect((await call(gh, root, 'DELETE', `/tenants/${tenant}/roles/report-reader/members/users/${userId}`)).status).toBe(204);
    const after = await client.refreshTokenGrant(rp, tokens.refresh_token!, { resource: api });
    expect(scopeOf(after.access_token)).toBe('');
    expect(after.claims()?.['roles']).toEqual([]);
  });

  it('gives a service account the scopes of its role through client credentials, and takes them once removed', async () => {
    const { clientSecret } = await gh.app.clients.create(tenant, { client_id: 'report-bot', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    const bot = await relyingParty(gh, tenant, 'report-bot', clientSecret);
    expect(scopeOf((await client.clientCredentialsGrant(bot, { resource: api, scope: 'read write' })).access_token)).toBe('');

    expect((await call(gh, root, 'POST', `/tenants/${tenant}/roles/report-reader/members`, { client_id: 'report-bot' })).status).toBe(200);
    const granted = await client.clientCredentialsGrant(bot, { resource: api, scope: 'read write' });
    expect(decodeJwt(granted.access_token).aud).toBe(api);
    expect(scopeOf(granted.access_token)).toBe('read');

    expect((await call(gh, root, 'DELETE', `/tenants/${tenant}/roles/report-reader/members/clients/report-bot`)).status).toBe(204);
    expect(scopeOf((await client.clientCredentialsGrant(bot, { resource: api, scope: 'read write' })).access_token)).toBe('');
  });

  it('follows a role’s permissions as they change, and a deleted and re-created role grants nothing', async () => {
    const { clientSecret } = await gh.app.clients.create(tenant, { client_id: 'writer-bot', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    const bot = await relyingParty(gh, tenant, 'writer-bot', clientSecret);
    await call(gh, root, 'POST', `/tenants/${tenant}/roles`, { name: 'report-writer', permissions: [{ api, scope: 'write' }] });
    await call(gh, root, 'POST', `/tenants/${tenant}/roles/report-writer/members`, { client_id: 'writer-bot' });
    expect(scopeOf((await client.clientCredentialsGrant(bot, { resource: api, scope: 'read write' })).access_token)).toBe('write');

    await call(gh, root, 'PATCH', `/tenants/${tenant}/roles/report-writer`, { permissions: [{ api, scope: 'read' }, { api, scope: 'write' }] });
    expect(scopeOf((await client.clientCredentialsGrant(bot, { resource: api, scope: 'read write' })).access_token).split(' ').sort()).toEqual(['read', 'write']);

    expect((await call(gh, root, 'DELETE', `/tenants/${tenant}/roles/report-writer`)).status).toBe(204);
    expect((await call(gh, root, 'POST', `/tenants/${tenant}/roles`, { name: 'report-writer', permissions: [{ api, scope: 'write' }] })).status).toBe(201);
    expect(scopeOf((await client.clientCredentialsGrant(bot, { resource: api, scope: 'read write' })).access_token)).toBe('');
  });
});
