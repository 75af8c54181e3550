import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';

describe('roles and permissions in tokens', () => {
  let gh: TestGatehouse;
  let acme: SeededTenant;
  let rp: client.Configuration;

  beforeAll(async () => {
    gh = await startGatehouse();
    acme = await seedTenant(gh, 'acme');
    rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
    await gh.app.roles.create('acme', { name: 'reader', permissions: [{ api: acme.api, scope: 'read' }] });
  });
  afterAll(() => gh.stop());

  const scopeOf = (token: string) => String(decodeJwt(token)['scope'] ?? '');

  it('puts the roles claim in the ID token and userinfo when the roles scope is asked for', async () => {
    await gh.app.users.setRoles('acme', acme.userId, ['reader']);
    const browser = new Browser(gh.origin);
    const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: acme.client.redirectUri, scope: 'openid roles' });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.['roles']).toEqual(['reader']);
    expect((await client.fetchUserInfo(rp, tokens.access_token, acme.userId))['roles']).toEqual(['reader']);
    // Without the scope, no roles claim.
    const plain = await authorize(new Browser(gh.origin), rp, { redirectUri: acme.client.redirectUri, scope: 'openid' });
    const plainTokens = await client.authorizationCodeGrant(rp, plain.callback, { pkceCodeVerifier: plain.verifier, expectedState: plain.state });
    expect(plainTokens.claims()?.['roles']).toBeUndefined();
  });

  it('grants a signed-in user only the API scopes their roles hold, and drops them at the next token once the role is removed', async () => {
    await gh.app.users.setRoles('acme', acme.userId, ['reader']);
    const browser = new Browser(gh.origin);
    const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: acme.client.redirectUri, scope: 'openid offline_access read write', extra: { resource: acme.api } });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: acme.api });
    expect(decodeJwt(tokens.access_token).aud).toBe(acme.api);
    expect(scopeOf(tokens.access_token)).toBe('read');

    await gh.app.users.setRoles('acme', acme.userId, ['api-user']);
    const more = await client.refreshTokenGrant(rp, tokens.refresh_token!, { resource: acme.api });
    expect(scopeOf(more.access_token).split(' ').sort()).toEqual(['read', 'write']);

    await gh.app.users.setRoles('acme', acme.userId, []);
    const none = await client.refreshTokenGrant(rp, more.refresh_token!, { resource: acme.api });
    expect(scopeOf(none.access_token)).toBe('');
  });

  it('grants a client-credentials client only the API scopes of its own roles', async () => {
    await gh.app.clients.setRoles('acme', 'web-app', ['reader']);
    const tokens = await client.clientCredentialsGrant(rp, { resource: acme.api, scope: 'read write' });
    expect(scopeOf(tokens.access_token)).toBe('read');
    await gh.app.clients.setRoles('acme', 'web-app', []);
    const none = await client.clientCredentialsGrant(rp, { resource: acme.api, scope: 'read write' });
    expect(scopeOf(none.access_token)).toBe('');
  });

  it('never lets a role of another tenant grant scopes here', async () => {
    await gh.app.tenants.create({ id: 'other', displayName: 'Other' });
    await gh.app.roles.create('other', { name: 'writer', permissions: [{ api: acme.api, scope: 'write' }] });
    await gh.app.clients.setRoles('acme', 'web-app', ['writer']);
    const tokens = await client.clientCredentialsGrant(rp, { resource: acme.api, scope: 'write' });
    expect(scopeOf(tokens.access_token)).toBe('');
  });
});
