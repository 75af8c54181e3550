/**
 * acr and amr over real HTTP, without second factors: the vocabulary in discovery, what a password
 * login claims, and requests a password session cannot satisfy (step-up with no factor to step up
 * to, prompt=none, a client minimum). The MFA flows themselves are in mfa-login.test.ts.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { Browser, expectRedirect } from '../helpers/browser.js';
import { seedTenant, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';

let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  root = await adminToken(gh);
});
afterAll(() => gh.stop());

/** Signs in with the password through the pages; the browser keeps its session. */
async function passwordSession(config = rp, extra: Record<string, string> = {}) {
  const browser = new Browser(gh.origin);
  const result = await authorize(browser, config, { redirectUri: acme.client.redirectUri, scope: 'openid', extra });
  return { browser, result };
}

/** A further authorization request from a browser that has a session: where it is sent. */
async function again(browser: Browser, extra: Record<string, string>): Promise<URL | string> {
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: acme.client.redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: 'xyz',
    ...extra,
  });
  const answer = await browser.navigate(url.href, {}, acme.client.redirectUri);
  return 'redirectedTo' in answer ? new URL(answer.redirectedTo) : answer.$('h1').text();
}

describe('acr and amr without a second factor', () => {
  it('discovery publishes the three acr values', async () => {
    const discovery = (await (await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery['acr_values_supported']).toEqual([ACR.singleFactor, ACR.multiFactor, ACR.phishingResistant]);
  });

  it('a password login claims pwd and the single-factor acr in the ID token', async () => {
    const { result } = await passwordSession();
    const tokens = await client.authorizationCodeGrant(rp, result.callback, { pkceCodeVerifier: result.verifier, expectedState: result.state });
    expect(tokens.claims()).toMatchObject({ acr: ACR.singleFactor, amr: ['pwd'] });
  });

  it('prompt=none asking for multi-factor of a password session: interaction_required, no code', async () => {
    const { browser } = await passwordSession();
    const answer = await again(browser, { prompt: 'none', acr_values: ACR.multiFactor });
    expect(answer).toBeInstanceOf(URL);
    const url = answer as URL;
    expect(url.searchParams.get('error')).toBe('interaction_required');
    expect(url.searchParams.get('code')).toBeNull();
  });

  it('a password session asked for multi-factor by a user without a factor: unmet_authentication_requirements, never a code', async () => {
    const { browser } = await passwordSession();
    const answer = (await again(browser, { acr_values: ACR.multiFactor })) as URL;
    expect(answer.searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(answer.searchParams.get('code')).toBeNull();
  });

  it('an essential acr claim is honoured like acr_values', async () => {
    const { browser } = await passwordSession();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR.multiFactor] } } });
    const answer = (await again(browser, { claims })) as URL;
    expect(answer.searchParams.get('error')).toBe('unmet_authentication_requirements');
  });

  it('an essential acr claim and acr_values together are read alike by the provider and the login policy (no loop)', async () => {
    const { browser } = await passwordSession();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR.singleFactor] } } });
    const answer = await again(browser, { claims, acr_values: ACR.multiFactor });
    expect(answer).toBeInstanceOf(URL);
    expect((answer as URL).searchParams.get('error') ?? 'code').toMatch(/^(code|unmet_authentication_requirements)$/);
  });

  it('a session already meeting the request gets its code without a page', async () => {
    const { browser } = await passwordSession();
    const answer = (await again(browser, { acr_values: ACR.singleFactor })) as URL;
    expect(answer.searchParams.get('code')).toBeTruthy();
  });
});

describe("a client's minimum acr (admin API)", () => {
  it('is accepted, echoed and validated', async () => {
    const set = await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', { minimum_acr: ACR.multiFactor });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body['minimum_acr']).toBe(ACR.multiFactor);
    for (const bad of ['mfa', 'urn:unknown', 42, '', 'x'.repeat(5000)]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', { minimum_acr: bad });
      expect(refused.status, String(bad)).toBe(400);
    }
    const cleared = await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', { minimum_acr: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body['minimum_acr']).toBeUndefined();
  });

  it('cannot be lowered by the request: a password-only login of that client gets no code', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', {
      client_id: 'strict-app',
      client_name: 'Strict App',
      redirect_uris: [acme.client.redirectUri],
      grant_types: ['authorization_code'],
      minimum_acr: ACR.multiFactor,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const strict = await relyingParty(gh, 'acme', 'strict-app', String(created.body['client_secret']));
    const browser = new Browser(gh.origin);
    const url = client.buildAuthorizationUrl(strict, {
      redirect_uri: acme.client.redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      acr_values: ACR.singleFactor,
    });
    const login = await browser.navigate(url.href, {}, acme.client.redirectUri);
    if ('redirectedTo' in login) throw new Error('expected the login page');
    const answer = new URL(expectRedirect(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: 'correct horse battery staple' }, acme.client.redirectUri)));
    expect(answer.searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(answer.searchParams.get('code')).toBeNull();
  });
});

describe("a tenant's MFA policy (admin API)", () => {
  it('accepts off, optional and required with the allowed factor types', async () => {
    for (const mfa of ['required', 'optional', 'off']) {
      const changed = await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { mfa } });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect(changed.body['security_policy']).toMatchObject({ mfa });
    }
    const factors = await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { mfa: 'optional', mfa_factors: ['totp'] } });
    expect(factors.status, JSON.stringify(factors.body)).toBe(200);
    expect(factors.body['security_policy']).toMatchObject({ mfa: 'optional', mfa_factors: ['totp'] });
    const passkeys = await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { mfa_factors: ['webauthn', 'recovery_codes'] } });
    expect(passkeys.body['security_policy']).toMatchObject({ mfa: 'optional', mfa_factors: ['webauthn', 'recovery_codes'] });
    const back = await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { mfa_factors: null } });
    expect(back.body['security_policy']).toMatchObject({ mfa: 'optional', mfa_factors: ['totp', 'recovery_codes', 'webauthn', 'sms'] });
  });

  it('refuses unknown modes and factor types, repeats and empty lists', async () => {
    for (const security_policy of [{ mfa: 'sometimes' }, { mfa: '' }, { mfa: null }, { mfa_factors: ['email'] }, { mfa_factors: ['totp', 'totp'] }, { mfa_factors: [] }, { mfa_factors: 'totp' }]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/acme', { security_policy });
      expect(refused.status, JSON.stringify(security_policy)).toBe(400);
    }
  });
});
