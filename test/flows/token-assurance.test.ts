/**
 * Access tokens say how their user signed in (issue 9: "as do introspection"): `acr`, `amr` and
 * `auth_time` of the sign-in travel with tokens issued from it, in introspection answers and in JWT
 * access tokens (RFC 9068 2.2.1), through a code exchange and through refresh; client credentials
 * tokens, which no user signed in for, carry none.
 */
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { Browser, expectPage, expectRedirect } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { totpCode } from '../helpers/totp.js';

let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  const root = await adminToken(gh);
  expect((await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', { first_party: true })).status).toBe(200);
});
afterAll(() => gh.stop());

/** A full sign-in (password, then the TOTP code when `secret` is given) and its tokens. */
async function signIn(username: string, secret: string | undefined, extra: Record<string, string> = {}) {
  const browser = new Browser(gh.origin);
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid offline_access', prompt: 'consent', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', ...extra });
  const login = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
  let next = await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }, acme.client.redirectUri);
  if (secret) next = await browser.submit(expectPage(next), 'form[action$="/totp"]', { code: totpCode(secret) }, acme.client.redirectUri);
  return client.authorizationCodeGrant(rp, new URL(expectRedirect(next)), { pkceCodeVerifier: verifier, expectedState: 'st' });
}

async function userWithTotp(username: string): Promise<string> {
  const user = await gh.app.users.create('acme', { username, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
  const { enrollmentId, secret } = await gh.app.mfa.totp.startEnrollment('acme', user._id);
  await gh.app.mfa.totp.confirmEnrollment('acme', user._id, enrollmentId, totpCode(secret, -1));
  return secret;
}

describe('how the user signed in, on access tokens', () => {
  it('answers acr, amr and auth_time in introspection, after the code exchange and after a refresh', async () => {
    const secret = await userWithTotp('intro-mfa');
    const tokens = await signIn('intro-mfa', secret);
    const idToken = tokens.claims()!;
    expect(idToken.acr).toBe(ACR.multiFactor);
    const first = await client.tokenIntrospection(rp, tokens.access_token);
    expect(first).toMatchObject({ active: true, acr: ACR.multiFactor, amr: idToken.amr, auth_time: idToken.auth_time });

    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(await client.tokenIntrospection(rp, refreshed.access_token)).toMatchObject({ active: true, acr: ACR.multiFactor, amr: idToken.amr, auth_time: idToken.auth_time });
  });

  it('tells a password-only sign-in apart, in introspection and in a JWT access token', async () => {
    const tokens = await signIn('alice', undefined, { resource: acme.api });
    const jwt = decodeJwt(tokens.access_token);
    expect(jwt.acr).toBe(ACR.singleFactor);
    expect(jwt.amr).toEqual(['pwd']);
    expect(typeof jwt.auth_time).toBe('number');
    // The same sign-in's opaque token (no resource), through introspection.
    const opaque = await signIn('alice', undefined);
    expect(await client.tokenIntrospection(rp, opaque.access_token)).toMatchObject({ active: true, acr: ACR.singleFactor, amr: ['pwd'] });
  });

  it('leaves them out of client credentials tokens', async () => {
    const tokens = await client.clientCredentialsGrant(rp, {});
    const answer = await client.tokenIntrospection(rp, tokens.access_token);
    expect(answer.active).toBe(true);
    expect(answer).not.toHaveProperty('acr');
    expect(answer).not.toHaveProperty('amr');
    expect(answer).not.toHaveProperty('auth_time');
  });
});
