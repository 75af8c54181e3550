import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect } from '../helpers/browser.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';

let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;

beforeAll(async () => {
  gh = await startGatehouse();
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
});
afterAll(() => gh.stop());

async function signIn(scope?: string) {
  const browser = new Browser(gh.origin);
  const result = await authorize(browser, rp, { redirectUri: acme.client.redirectUri, ...(scope ? { scope } : {}) });
  const tokens = await client.authorizationCodeGrant(rp, result.callback, { pkceCodeVerifier: result.verifier, expectedState: result.state });
  return { browser, tokens, ...result };
}

async function introspect(token: string) {
  return client.tokenIntrospection(rp, token);
}

describe('authorization code + PKCE through the login and consent pages', () => {
  it('issues tokens whose claims, userinfo, refresh, introspection and revocation all work', async () => {
    const { tokens } = await signIn();
    const claims = tokens.claims()!;
    expect(claims.iss).toBe(gh.issuer('acme'));
    expect(claims.sub).toBe(acme.userId);
    expect(claims.aud).toBe('web-app');
    expect(claims['amr']).toEqual(['pwd']);
    expect(tokens.refresh_token).toBeTruthy();

    const userinfo = await client.fetchUserInfo(rp, tokens.access_token, acme.userId);
    expect(userinfo).toMatchObject({ sub: acme.userId, email: 'alice@example.com', email_verified: true, given_name: 'Alice', family_name: 'Liddell', preferred_username: 'alice', phone_number: '+15555550100' });

    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, sub: acme.userId, client_id: 'web-app' });

    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(acme.userId);

    await client.tokenRevocation(rp, refreshed.access_token);
    expect((await introspect(refreshed.access_token)).active).toBe(false);
  });

  it('revokes the whole grant when a rotated refresh token is replayed', async () => {
    const { tokens } = await signIn();
    const rotated = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    await expect(client.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // The replay revoked the grant: the newest refresh token and access token are dead too.
    await expect(client.refreshTokenGrant(rp, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await introspect(rotated.access_token)).active).toBe(false);
  });

  it('signs out through RP-initiated logout and returns to the registered URI only', async () => {
    const { browser, tokens } = await signIn();
    const endSession = client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out', state: 'bye' });
    const confirm = expectPage(await browser.navigate(endSession.href, {}, 'http://127.0.0.1:9/'));
    expect(confirm.$('button[name="logout"]').length).toBe(1);
    const back = expectRedirect(await browser.submit(confirm, 'form', {}, 'http://127.0.0.1:9/', { button: { name: 'logout', value: 'yes' } }));
    expect(back).toBe('http://127.0.0.1:9/signed-out?state=bye');

    const sneaky = client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/' });
    const refused = expectPage(await browser.navigate(sneaky.href, {}, 'https://evil.example'));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('post_logout_redirect_uri');
  });

  it('refuses a forged id_token_hint at logout', async () => {
    const browser = new Browser(gh.origin);
    const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.';
    const page = expectPage(await browser.navigate(`${gh.issuer('acme')}/session/end?id_token_hint=${forged}&post_logout_redirect_uri=${encodeURIComponent('http://127.0.0.1:9/signed-out')}`));
    expect(page.status).toBe(400);
    expect(page.html).toContain('id_token_hint');
  });
});

describe('client credentials', () => {
  it('issues a JWT access token for a registered API, verifiable against the tenant JWKS', async () => {
    const tokens = await client.clientCredentialsGrant(rp, { resource: acme.api, scope: 'read' });
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer('acme')}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer('acme'), audience: acme.api, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload['client_id']).toBe('web-app');
    expect(payload['scope']).toBe('read');
  });

  it('refuses an unregistered resource and never grants a scope the API does not define', async () => {
    await expect(client.clientCredentialsGrant(rp, { resource: 'https://not-registered.example', scope: 'read' })).rejects.toMatchObject({ error: 'invalid_target' });
    // RFC 6749 3.3: the server may issue fewer scopes than asked; it must not issue unknown ones.
    const tokens = await client.clientCredentialsGrant(rp, { resource: acme.api, scope: 'read admin' });
    expect(tokens.scope).toBe('read');
    const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { scope: string };
    expect(payload.scope).toBe('read');
  });

  it('answers a wrong client secret with 401 invalid_client', async () => {
    const response = await fetch(`${gh.issuer('acme')}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('web-app:wrong').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });
});

describe('discovery', () => {
  it('advertises the tenant issuer, code flow only, S256 PKCE, PAR, DPoP and the logout endpoints', async () => {
    const metadata = rp.serverMetadata();
    expect(metadata.issuer).toBe(gh.issuer('acme'));
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.pushed_authorization_request_endpoint).toBe(`${gh.issuer('acme')}/request`);
    expect(metadata.dpop_signing_alg_values_supported?.length).toBeGreaterThan(0);
    expect(metadata.end_session_endpoint).toBe(`${gh.issuer('acme')}/session/end`);
    expect(metadata['backchannel_logout_supported']).toBe(true);
    expect(metadata.introspection_endpoint).toBeTruthy();
    expect(metadata.revocation_endpoint).toBeTruthy();
    const jwks = (await (await fetch(metadata.jwks_uri!)).json()) as { keys: Array<{ alg: string; d?: string }> };
    expect(jwks.keys.map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    expect(jwks.keys.every((key) => key.d === undefined)).toBe(true);
  });
});
