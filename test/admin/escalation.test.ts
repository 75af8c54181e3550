import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allAdminScopes } from '../../src/domain/admin-api.js';
import { Browser } from '../helpers/browser.js';
import { TEST_PASSWORD, seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { tenantAdmin } from './client-helpers.js';
import { adminApi, call, startAdminGatehouse } from './helpers.js';

/** Findings of the security review: ways a weaker admin could become a stronger one. */
describe('privilege escalation', () => {
  let gh: TestGatehouse;
  let bossId: string;

  beforeAll(async () => {
    gh = await startAdminGatehouse();
    await seedTenant(gh, 'acme');
    await gh.app.roles.create('acme', { name: 'boss', permissions: allAdminScopes.filter((scope) => scope !== 'admin:tenants').map((scope) => ({ api: adminApi(gh), scope })) });
    bossId = (await gh.app.users.create('acme', { username: 'boss', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD), roles: ['boss'] }))._id;
  });
  afterAll(() => gh.stop());

  it('a users-only admin cannot reset, remove, change, disable or delete a stronger user, nor manage their second factors', async () => {
    const helpdesk = await tenantAdmin(gh, 'acme', 'helpdesk', ['admin:users:read', 'admin:users:write']);
    const attempts = [
      ['PUT', `/tenants/acme/users/${bossId}/password`, { password: 'taken over by helpdesk' }],
      ['DELETE', `/tenants/acme/users/${bossId}/password`, undefined],
      ['PATCH', `/tenants/acme/users/${bossId}`, { email: 'helpdesk@evil.example' }],
      ['POST', `/tenants/acme/users/${bossId}/disable`, undefined],
      ['DELETE', `/tenants/acme/users/${bossId}`, undefined],
      // Second factors: enrolling one the helpdesk holds, or resetting the boss's, is a takeover too.
      ['POST', `/tenants/acme/users/${bossId}/mfa/totp`, {}],
      ['POST', `/tenants/acme/users/${bossId}/mfa/totp/AAAAAAAAAAAAAAAAAAAAAA/verify`, { code: '123456' }],
      ['POST', `/tenants/acme/users/${bossId}/mfa/recovery-codes`, undefined],
      ['DELETE', `/tenants/acme/users/${bossId}/mfa/factors`, undefined],
      ['DELETE', `/tenants/acme/users/${bossId}/mfa/factors/00000000-0000-0000-0000-000000000000`, undefined],
    ] as const;
    for (const [method, path, body] of attempts) {
      const result = await call(gh, helpdesk.token, method, path, body);
      expect(result.status, `${method} ${path}`).toBe(403);
    }
    const boss = await gh.app.users.findById('acme', bossId);
    expect(boss?.disabled).toBe(false);
    expect(boss?.email).toBeUndefined();
    expect((await gh.app.passwords.verify(boss!.passwordHash, TEST_PASSWORD)).ok).toBe(true);
    expect(await gh.app.mfa.factors.list('acme', bossId)).toEqual([]);
    // A user without admin roles is still theirs to manage.
    const alice = (await gh.app.users.findByIdentifier('acme', 'alice'))!;
    expect((await call(gh, helpdesk.token, 'PUT', `/tenants/acme/users/${alice._id}/password`, { password: 'a fresh password' })).status).toBe(200);
  });

  it('a clients-only admin cannot register a first-party or admin-console client', async () => {
    const clientsAdmin = await tenantAdmin(gh, 'acme', 'clients-admin', ['admin:clients:read', 'admin:clients:write']);
    for (const flag of ['first_party', 'admin_console']) {
      const result = await call(gh, clientsAdmin.token, 'POST', '/tenants/acme/clients', { client_name: 'Phish', redirect_uris: ['https://evil.example/cb'], [flag]: true });
      expect(result.status, flag).toBe(403);
    }
    const plain = await call(gh, clientsAdmin.token, 'POST', '/tenants/acme/clients', { client_name: 'Plain', redirect_uris: ['https://app.example/cb'] });
    expect(plain.status).toBe(201);
    const promote = await call(gh, clientsAdmin.token, 'PATCH', `/tenants/acme/clients/${String(plain.body['client_id'])}`, { first_party: true });
    expect(promote.status).toBe(403);
    // And a client that is not admin_console cannot get a signed-in admin's admin token at all.
    const rp = await relyingParty(gh, 'acme', String(plain.body['client_id']), String(plain.body['client_secret']));
    const url = client.buildAuthorizationUrl(rp, { redirect_uri: 'https://app.example/cb', scope: 'openid admin:users:write', resource: adminApi(gh), code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
    const response = await fetch(url, { redirect: 'manual' });
    expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
  });

  it('stops honouring a service account token as soon as its roles are removed or it is deleted', async () => {
    const ops = await tenantAdmin(gh, 'acme', 'ops', ['admin:users:read', 'admin:users:write']);
    expect((await call(gh, ops.token, 'GET', '/tenants/acme/users')).status).toBe(200);
    await gh.app.clients.setRoles('acme', 'ops', []);
    expect((await call(gh, ops.token, 'GET', '/tenants/acme/users')).status).toBe(403);
    await gh.app.clients.delete('acme', 'ops');
    expect((await call(gh, ops.token, 'GET', '/tenants/acme/users')).status).toBe(401);
  });

  it("does not mistake a user's token for a client's when a client id equals the user id", async () => {
    const adminConsole = await gh.app.clients.create('acme', { client_id: bossId, redirect_uris: ['http://127.0.0.1:9/console'], grant_types: ['authorization_code'], response_types: ['code'], admin_console: true });
    const rp = await relyingParty(gh, 'acme', bossId, adminConsole.clientSecret!);
    const { callback, verifier, state } = await authorize(new Browser(gh.origin), rp, { redirectUri: 'http://127.0.0.1:9/console', username: 'boss', scope: 'openid admin:users:read', extra: { resource: adminApi(gh) } });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: adminApi(gh) });
    expect((await call(gh, tokens.access_token, 'GET', '/me')).body).toMatchObject({ type: 'user', id: bossId });
    await gh.app.users.setDisabled('acme', bossId, true);
    expect((await call(gh, tokens.access_token, 'GET', '/me')).status).toBe(401);
  });
});
