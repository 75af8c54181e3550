/**
 * A user an admin disables or deletes while they are signed in: their browser session ends (and
 * counts as none, never a 500), their grants and tokens are revoked, introspection says inactive,
 * and relying parties with a back-channel logout URI are told (OIDC Back-Channel Logout 1.0).
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect } from '../helpers/browser.js';
import { TEST_PASSWORD, seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { startBackchannelReceiver, type BackchannelReceiver } from '../helpers/backchannel-receiver.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';

const BCL_REDIRECT = 'http://127.0.0.1:9/bcl';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let gh: TestGatehouse;
let root: string;
let receiver: BackchannelReceiver;

beforeAll(async () => {
  // The relying party's back-channel endpoint is on loopback, which is refused by default.
  gh = await startGatehouse({ bootstrap: BOOTSTRAP, http: { allowPrivateNetworkFetch: true, shutdownGraceMs: 1000 } });
  root = await adminToken(gh);
  // `/broken` plays a relying party that is down: delivery fails, the admin's change must not.
  receiver = await startBackchannelReceiver((path) => (path === '/broken' ? 500 : 200));
});
afterAll(async () => {
  await receiver.close();
  await gh.stop();
});

interface SignedIn {
  tenant: SeededTenant;
  browser: Browser;
  rp: client.Configuration;
  bclRp: client.Configuration;
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  bclIdToken: string;
}

/**
 * A tenant whose alice signed in, in one browser, to `web-app` (with a refresh token) and then,
 * without signing in again, to `bcl-app`, which has a back-channel logout URI.
 */
async function signedIn(tenantId: string, backchannelPath = '/backchannel'): Promise<SignedIn> {
  const tenant = await seedTenant(gh, tenantId);
  const { clientSecret } = await gh.app.clients.create(tenantId, {
    client_id: 'bcl-app',
    redirect_uris: [BCL_REDIRECT],
    backchannel_logout_uri: `http://127.0.0.1:${receiver.port}${backchannelPath}`,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  });
  const rp = await relyingParty(gh, tenantId, tenant.client.clientId, tenant.client.clientSecret);
  const bclRp = await relyingParty(gh, tenantId, 'bcl-app', clientSecret!);
  const browser = new Browser(gh.origin);
  const first = await authorize(browser, rp, { redirectUri: tenant.client.redirectUri });
  const tokens = await client.authorizationCodeGrant(rp, first.callback, { pkceCodeVerifier: first.verifier, expectedState: first.state });
  // Single sign-on: the session exists, so the second client only asks for consent.
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(bclRp, {
    redirect_uri: BCL_REDIRECT,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const consent = expectPage(await browser.navigate(url.href, {}, BCL_REDIRECT));
  const callback = new URL(expectRedirect(await browser.submit(consent, 'form[action$="/consent"]', {}, BCL_REDIRECT)));
  const bclTokens = await client.authorizationCodeGrant(bclRp, callback, { pkceCodeVerifier: verifier });
  return { tenant, browser, rp, bclRp, tokens, bclIdToken: bclTokens.id_token! };
}

/** Starts an authorization request for `clientId` in `browser`; returns the page or the redirect. */
async function authorizeAgain(browser: Browser, config: client.Configuration, redirectUri: string, extra: Record<string, string> = {}) {
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...extra,
  });
  return browser.navigate(url.href, {}, redirectUri);
}

/** What a browser whose user is gone must see: the login page for every client, `login_required` without a prompt. */
async function expectNoSession({ tenant, browser, rp }: SignedIn): Promise<void> {
  for (const [config, redirectUri] of [
    [rp, tenant.client.redirectUri],
    [await relyingParty(gh, tenant.id, tenant.publicClient.clientId), tenant.publicClient.redirectUri],
  ] as const) {
    const page = expectPage(await authorizeAgain(browser, config, redirectUri));
    expect(page.status, page.$('main').text()).toBe(200);
    expect(page.$('h1').text()).toContain('Sign in');
    expect(page.$('form[action$="/password"]')).toHaveLength(1);
    const silent = new URL(expectRedirect(await authorizeAgain(browser, config, redirectUri, { prompt: 'none' })));
    expect(silent.searchParams.get('error')).toBe('login_required');
  }
}

async function introspect(rp: client.Configuration, token: string): Promise<client.IntrospectionResponse> {
  return client.tokenIntrospection(rp, token);
}

async function expectTokensDead({ tenant, rp, tokens }: SignedIn): Promise<void> {
  expect(await introspect(rp, tokens.access_token)).toEqual({ active: false });
  expect(await introspect(rp, tokens.refresh_token!)).toEqual({ active: false });
  await expect(client.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  const userinfo = await fetch(`${gh.issuer(tenant.id)}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  expect(userinfo.status).toBe(401);
}

/** Verifies a logout token against the tenant's published keys, as a relying party would. */
async function expectLogoutToken(token: string, signed: SignedIn): Promise<void> {
  const jwks = createRemoteJWKSet(new URL(`${gh.issuer(signed.tenant.id)}/jwks`));
  const { payload } = await jwtVerify(token, jwks, { issuer: gh.issuer(signed.tenant.id), audience: 'bcl-app', typ: 'logout+jwt' });
  expect(payload.sub).toBe(signed.tenant.userId);
  expect(payload['sid']).toBe(decodeJwt(signed.bclIdToken)['sid']);
  expect(payload['sid']).toEqual(expect.any(String));
  expect(payload['events']).toEqual({ [BACKCHANNEL_EVENT]: {} });
  expect(payload['nonce']).toBeUndefined();
  expect(payload.jti).toEqual(expect.any(String));
}

function tokensFor(tenantId: string, path = '/backchannel'): string[] {
  return receiver.received.filter((entry) => entry.path === path && decodeJwt(entry.token).iss === gh.issuer(tenantId)).map((entry) => entry.token);
}

async function auditDetails(tenantId: string, type: string): Promise<unknown> {
  const events = await call(gh, root, 'GET', `/tenants/${tenantId}/audit-events?type=${type}`);
  expect(events.status).toBe(200);
  return events.body.items?.[0]?.['details'];
}

describe('a user disabled or deleted while signed in', () => {
  it('disabling ends the browser session, revokes the tokens and tells the relying parties', async () => {
    const signed = await signedIn('rm-disable');
    const { tenant, rp, tokens } = signed;
    expect(await introspect(rp, tokens.access_token)).toMatchObject({ active: true, sub: tenant.userId });
    expect(await introspect(rp, tokens.refresh_token!)).toMatchObject({ active: true });

    const disabled = await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/disable`);
    expect(disabled.status).toBe(200);

    const logoutTokens = tokensFor(tenant.id);
    expect(logoutTokens).toHaveLength(1);
    await expectLogoutToken(logoutTokens[0]!, signed);
    await expectNoSession(signed);
    await expectTokensDead(signed);
    expect(await auditDetails(tenant.id, 'user.disabled')).toMatchObject({ sessions_ended: 1, grants_revoked: 2, consents_forgotten: 2, backchannel_logouts: { delivered: 1, failed: 0 } });

    // Enabling the user again brings nothing back: the session and the grants were ended, not hidden.
    expect((await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/enable`)).status).toBe(200);
    await expectNoSession(signed);
    await expectTokensDead(signed);
  });

  it('deleting ends the browser session, revokes the tokens and tells the relying parties', async () => {
    const signed = await signedIn('rm-delete');
    const { tenant } = signed;
    expect((await call(gh, root, 'DELETE', `/tenants/${tenant.id}/users/${tenant.userId}`)).status).toBe(204);

    const logoutTokens = tokensFor(tenant.id);
    expect(logoutTokens).toHaveLength(1);
    await expectLogoutToken(logoutTokens[0]!, signed);
    await expectNoSession(signed);
    await expectTokensDead(signed);
    expect(await auditDetails(tenant.id, 'user.deleted')).toMatchObject({ sessions_ended: 1, grants_revoked: 2 });
  });

  it('lets someone else sign in from that browser afterwards', async () => {
    const signed = await signedIn('rm-next');
    const { tenant, browser, rp } = signed;
    await gh.app.users.create(tenant.id, { username: 'bob', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    expect((await call(gh, root, 'DELETE', `/tenants/${tenant.id}/users/${tenant.userId}`)).status).toBe(204);
    const next = await authorize(browser, rp, { redirectUri: tenant.client.redirectUri, username: 'bob' });
    const tokens = await client.authorizationCodeGrant(rp, next.callback, { pkceCodeVerifier: next.verifier, expectedState: next.state });
    expect(tokens.claims()?.['preferred_username']).toBe('bob');
  });

  it('never answers 500 when the account vanished without the service (deleted or disabled in the store)', async () => {
    for (const [tenantId, remove] of [
      ['rm-vanish', (t: SeededTenant) => gh.app.users.delete(t.id, t.userId)],
      ['rm-store-disable', (t: SeededTenant) => gh.app.users.setDisabled(t.id, t.userId, true)],
    ] as const) {
      const signed = await signedIn(tenantId);
      await remove(signed.tenant);
      await expectNoSession(signed);
      // The grant is still stored, yet introspection checks the subject itself.
      await expectTokensDead(signed);
      expect(tokensFor(tenantId)).toHaveLength(0);
    }
  });

  it('lets someone else sign in from a browser whose session names a vanished account', async () => {
    const signed = await signedIn('rm-vanish-next');
    const { tenant, browser, rp } = signed;
    await gh.app.users.create(tenant.id, { username: 'bob', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    await gh.app.users.delete(tenant.id, tenant.userId);
    const login = expectPage(await authorizeAgain(browser, rp, tenant.client.redirectUri));
    // The provider ends the old session before it starts bob's: its auto-submitting form (run by a
    // real browser's script) posts to the logout confirmation, which leads back to the sign-in.
    const switching = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'bob', password: TEST_PASSWORD }, tenant.client.redirectUri));
    expect(switching.$('form').attr('action')).toMatch(/\/session\/end\/confirm$/);
    const consent = expectPage(await browser.submit(switching, 'form', {}, tenant.client.redirectUri));
    const callback = new URL(expectRedirect(await browser.submit(consent, 'form[action$="/consent"]', {}, tenant.client.redirectUri)));
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
    // The vanished account's relying parties were told its session ended.
    expect(tokensFor(tenant.id)).toHaveLength(1);
  });

  it('completes the change when a relying party cannot be reached, and says so in the audit event', async () => {
    const signed = await signedIn('rm-broken-rp', '/broken');
    const { tenant } = signed;
    const disabled = await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/disable`);
    expect(disabled.status).toBe(200);
    expect(tokensFor(tenant.id, '/broken')).toHaveLength(1);
    await expectNoSession(signed);
    await expectTokensDead(signed);
    expect(await auditDetails(tenant.id, 'user.disabled')).toMatchObject({ sessions_ended: 1, backchannel_logouts: { delivered: 0, failed: 1 } });
  });

  it('ends the sessions once when admins disable the same user in parallel, and leaves other users and tenants alone', async () => {
    const signed = await signedIn('rm-parallel');
    const bystander = await signedIn('rm-bystander');
    const { tenant } = signed;
    const results = await Promise.all(Array.from({ length: 5 }, () => call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/disable`)));
    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200, 200]);
    expect(tokensFor(tenant.id)).toHaveLength(1);
    const events = await call(gh, root, 'GET', `/tenants/${tenant.id}/audit-events?type=user.disabled`);
    const ended = (events.body.items ?? []).map((event) => (event['details'] as { sessions_ended: number }).sessions_ended);
    expect(ended.reduce((sum, value) => sum + value, 0)).toBe(1);
    await expectNoSession(signed);

    // The other tenant's alice (another account) keeps her session and tokens.
    expect(tokensFor(bystander.tenant.id)).toHaveLength(0);
    expect(await introspect(bystander.rp, bystander.tokens.access_token)).toMatchObject({ active: true });
    const silent = new URL(expectRedirect(await authorizeAgain(bystander.browser, bystander.rp, bystander.tenant.client.redirectUri, { prompt: 'none' })));
    expect(silent.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('revokes grants that outlived their session (offline access after logout)', async () => {
    const signed = await signedIn('rm-offline');
    const { tenant, browser, rp, tokens } = signed;
    // RP-initiated logout ends the session but keeps an offline_access grant and its refresh token.
    const confirm = expectPage(await browser.navigate(client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token! }).href));
    await browser.submit(confirm, 'form', {}, 'http://127.0.0.1:9/', { button: { name: 'logout', value: 'yes' } });
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    const before = tokensFor(tenant.id).length;

    expect((await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/disable`)).status).toBe(200);
    expect(await auditDetails(tenant.id, 'user.disabled')).toEqual({ sessions_ended: 0, grants_revoked: 1, consents_forgotten: 2, backchannel_logouts: { delivered: 0, failed: 0 } });
    expect(tokensFor(tenant.id)).toHaveLength(before);
    expect((await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/enable`)).status).toBe(200);
    expect(await introspect(rp, refreshed.refresh_token!)).toEqual({ active: false });
    await expect(client.refreshTokenGrant(rp, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('ends every session of a user with more sessions than one page', async () => {
    const signed = await signedIn('rm-many');
    const { tenant } = signed;
    // Sessions of other browsers, stored as the provider stores them (signing in 150 times would only be slower).
    const context = (await gh.gatehouse.pool.get(tenant.id))!;
    await Promise.all(
      Array.from({ length: 150 }, async () => {
        const session = new context.provider.Session();
        session.loginAccount({ accountId: tenant.userId });
        await session.save(600);
      }),
    );
    expect((await call(gh, root, 'DELETE', `/tenants/${tenant.id}/users/${tenant.userId}`)).status).toBe(204);
    expect(await auditDetails(tenant.id, 'user.deleted')).toMatchObject({ sessions_ended: 151, grants_revoked: 2, backchannel_logouts: { delivered: 1 } });
    expect(await context.byAccount.find('Session', tenant.userId, { limit: 1 })).toEqual([]);
    await expectNoSession(signed);
  });

  it("signs the account console out instead of failing when the user's tokens are revoked", async () => {
    for (const [tenantId, remove] of [
      ['rm-console-disable', (t: SeededTenant) => call(gh, root, 'POST', `/tenants/${t.id}/users/${t.userId}/disable`)],
      ['rm-console-delete', (t: SeededTenant) => call(gh, root, 'DELETE', `/tenants/${t.id}/users/${t.userId}`)],
      ['rm-console-vanish', (t: SeededTenant) => gh.app.users.delete(t.id, t.userId)],
    ] as const) {
      const tenant = await seedTenant(gh, tenantId);
      const browser = new Browser(gh.origin);
      const login = expectPage(await browser.navigate(`/t/${tenantId}/account/login`));
      const console = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
      expect(console.$('main').text()).toContain('alice@example.com');
      await remove(tenant);
      const after = expectPage(await browser.navigate(`/t/${tenantId}/account`));
      expect(after.status, after.$('main').text()).toBe(200);
      expect(after.$('main').text()).not.toContain('alice@example.com');
      expect(after.$('a[href$="/account/login"]')).toHaveLength(1);
      // Signing in again starts at the login page: the provider's session is gone too.
      const again = expectPage(await browser.navigate(`/t/${tenantId}/account/login`));
      expect(again.$('form[action$="/password"]')).toHaveLength(1);
    }
  });

  it('leaves a JWT access token valid at resource servers until it expires, 15 minutes by default', async () => {
    const tenant = await seedTenant(gh, 'rm-jwt');
    const rp = await relyingParty(gh, tenant.id, tenant.client.clientId, tenant.client.clientSecret);
    const signIn = await authorize(new Browser(gh.origin), rp, { redirectUri: tenant.client.redirectUri, scope: 'openid read', extra: { resource: tenant.api } });
    const tokens = await client.authorizationCodeGrant(rp, signIn.callback, { pkceCodeVerifier: signIn.verifier, expectedState: signIn.state }, { resource: tenant.api });
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer(tenant.id)}/jwks`));
    const verify = () => jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer(tenant.id), audience: tenant.api, typ: 'at+jwt' });
    const { payload } = await verify();
    expect(payload.exp! - payload.iat!).toBe(15 * 60);
    expect((await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/disable`)).status).toBe(200);
    // Self-contained: a resource server that verifies it locally accepts it until `exp` (documented).
    expect((await verify()).payload.sub).toBe(tenant.userId);
    // The introspection endpoint does not take JWTs at all, so it cannot vouch for one either.
    const introspected = await fetch(`${gh.issuer(tenant.id)}/token/introspection`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${tenant.client.clientId}:${tenant.client.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }).toString(),
    });
    expect(await introspected.json()).toMatchObject({ error: 'unsupported_token_type' });
    // An API registered through the admin API without a lifetime gets the same short default.
    const api = await call(gh, root, 'POST', `/tenants/${tenant.id}/apis`, { identifier: 'https://ledger.rm-jwt.example', name: 'Ledger' });
    expect(api.body).toMatchObject({ access_token_format: 'jwt', access_token_ttl: 900 });
  });

  it('refuses bad user ids and unknown users without ending anything', async () => {
    const signed = await signedIn('rm-bad-input');
    const { tenant } = signed;
    for (const id of ['does-not-exist', 'x'.repeat(65), '..%2F..', '%24ne']) {
      const disable = await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${id}/disable`);
      const remove = await call(gh, root, 'DELETE', `/tenants/${tenant.id}/users/${id}`);
      expect([disable.status, remove.status].every((status) => status === 400 || status === 404), `${id}: ${disable.status} ${remove.status}`).toBe(true);
    }
    // A user id of another tenant is not found here.
    const other = await signedIn('rm-bad-input-other');
    expect((await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${other.tenant.userId}/disable`)).status).toBe(404);
    expect(tokensFor(tenant.id)).toHaveLength(0);
    expect(tokensFor(other.tenant.id)).toHaveLength(0);
    expect(await introspect(signed.rp, signed.tokens.access_token)).toMatchObject({ active: true });
    expect(await introspect(other.rp, other.tokens.access_token)).toMatchObject({ active: true });
  });
});
