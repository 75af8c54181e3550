/**
 * Consent is remembered per user and client: a new sign-in (a new browser, so no single sign-on)
 * asks only for what the user has not allowed that client before. Disabling the user forgets it,
 * as does deleting the client; the consent page names APIs and their scopes as registered.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { TEST_PASSWORD, seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
  root = await adminToken(gh);
});
afterAll(() => gh.stop());

interface SignIn {
  browser: Browser;
  /** the consent page, when one was shown */
  consent: Page | undefined;
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
}

/**
 * Signs alice in, from a new browser unless given one (no session, so no single sign-on), without `prompt=consent`
 * unless `extra` asks for it, allows whatever consent page appears, and redeems the code.
 */
async function signIn(rp: client.Configuration, redirectUri: string, scope: string, extra: Record<string, string> = {}, browser = new Browser(gh.origin)): Promise<SignIn> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(rp, { redirect_uri: redirectUri, scope, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, ...extra });
  const login = expectPage(await browser.navigate(url.href, {}, redirectUri));
  const afterLogin = await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, redirectUri);
  let consent: Page | undefined;
  let callback: string;
  if ('redirectedTo' in afterLogin) {
    callback = afterLogin.redirectedTo;
  } else {
    consent = afterLogin;
    expect(consent.$('form[action$="/consent"]').length, consent.$('main').text()).toBe(1);
    callback = expectRedirect(await browser.submit(consent, 'form[action$="/consent"]', {}, redirectUri));
  }
  const tokens = await client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
  return { browser, consent, tokens };
}

/** The scopes a consent page asks for, by name. */
function askedScopes(page: Page): string[] {
  return page.$('[data-scope]').map((_i, element) => page.$(element).attr('data-scope')).get().sort();
}

async function tenantWithWebApp(id: string): Promise<{ tenant: SeededTenant; rp: client.Configuration }> {
  const tenant = await seedTenant(gh, id);
  return { tenant, rp: await relyingParty(gh, id, tenant.client.clientId, tenant.client.clientSecret) };
}

describe('remembered consent', () => {
  it('asks once per user and client; a new browser signs in without the consent page', async () => {
    const { tenant, rp } = await tenantWithWebApp('remember');
    const first = await signIn(rp, tenant.client.redirectUri, 'openid profile');
    expect(first.consent).toBeDefined();
    expect(askedScopes(first.consent!)).toEqual(['openid', 'profile']);
    const second = await signIn(rp, tenant.client.redirectUri, 'openid profile');
    expect(second.consent).toBeUndefined();
    expect(second.tokens.claims()).toMatchObject({ sub: tenant.userId, preferred_username: 'alice' });
    // Fewer scopes than allowed: still nothing to ask, and only what was asked is released.
    const fewer = await signIn(rp, tenant.client.redirectUri, 'openid');
    expect(fewer.consent).toBeUndefined();
    expect(fewer.tokens.claims()?.['preferred_username']).toBeUndefined();
  });

  it('asks only for a scope not allowed before, then remembers it too', async () => {
    const { tenant, rp } = await tenantWithWebApp('newscope');
    await signIn(rp, tenant.client.redirectUri, 'openid profile');
    const wider = await signIn(rp, tenant.client.redirectUri, 'openid profile email');
    expect(wider.consent).toBeDefined();
    expect(askedScopes(wider.consent!)).toEqual(['email']);
    expect(wider.tokens.claims()).toMatchObject({ preferred_username: 'alice', email: 'alice@example.com' });
    expect((await signIn(rp, tenant.client.redirectUri, 'openid email profile')).consent).toBeUndefined();
  });

  it('remembers API scopes per API, and survives RP-initiated logout', async () => {
    const { tenant, rp } = await tenantWithWebApp('apiscopes');
    const resource = { resource: tenant.api };
    expect(askedScopes((await signIn(rp, tenant.client.redirectUri, 'openid read', resource)).consent!)).toEqual(['openid', 'read']);
    const again = await signIn(rp, tenant.client.redirectUri, 'openid read', resource);
    expect(again.consent).toBeUndefined();
    expect(again.tokens.scope?.split(' ')).toContain('read');
    const more = await signIn(rp, tenant.client.redirectUri, 'openid read write', resource);
    expect(askedScopes(more.consent!)).toEqual(['write']);

    // Logout revokes the session's grant (its refresh token dies); what the user allowed stays.
    const { browser } = more;
    const endSession = client.buildEndSessionUrl(rp, { id_token_hint: more.tokens.id_token! });
    const confirm = expectPage(await browser.navigate(endSession.href, {}, 'http://127.0.0.1:9/'));
    expect(expectPage(await browser.submit(confirm, 'form', {}, 'http://127.0.0.1:9/', { button: { name: 'logout', value: 'yes' } })).status).toBe(200);
    await expect(client.refreshTokenGrant(rp, more.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await signIn(rp, tenant.client.redirectUri, 'openid read write', resource, browser)).consent).toBeUndefined();
  });

  it('keeps refresh tokens working, and prompt=consent still shows the page', async () => {
    const { tenant, rp } = await tenantWithWebApp('refresh');
    const offline = await signIn(rp, tenant.client.redirectUri, 'openid offline_access', { prompt: 'consent' });
    expect(askedScopes(offline.consent!)).toEqual(['offline_access', 'openid']);
    const refreshed = await client.refreshTokenGrant(rp, offline.tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();

    // A later sign-in without the page has a grant of its own that refreshes...
    const later = await signIn(rp, tenant.client.redirectUri, 'openid');
    expect(later.consent).toBeUndefined();
    expect((await client.refreshTokenGrant(rp, later.tokens.refresh_token!)).access_token).toBeTruthy();
    // ...and leaves the first sign-in's offline access alone.
    expect((await client.refreshTokenGrant(rp, refreshed.refresh_token!)).access_token).toBeTruthy();

    // The relying party may always ask again (OIDC Core 3.1.2.1); nothing is new, so nothing is listed.
    const again = await signIn(rp, tenant.client.redirectUri, 'openid offline_access', { prompt: 'consent' });
    expect(again.consent).toBeDefined();
    expect(askedScopes(again.consent!)).toEqual([]);
    expect(again.consent!.$('main').text()).toContain('allowed this before');
    expect((await client.refreshTokenGrant(rp, again.tokens.refresh_token!)).access_token).toBeTruthy();
  });

  it('forgets consent when an admin disables the user: after enabling, it is asked again', async () => {
    const { tenant, rp } = await tenantWithWebApp('disable');
    await signIn(rp, tenant.client.redirectUri, 'openid profile');
    expect((await signIn(rp, tenant.client.redirectUri, 'openid profile')).consent).toBeUndefined();
    expect((await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/disable`)).status).toBe(200);
    expect((await call(gh, root, 'POST', `/tenants/${tenant.id}/users/${tenant.userId}/enable`)).status).toBe(200);
    const after = await signIn(rp, tenant.client.redirectUri, 'openid profile');
    expect(after.consent).toBeDefined();
    expect(askedScopes(after.consent!)).toEqual(['openid', 'profile']);
  });

  it('leaves no consent behind when it is given while or after an admin disables the user', async () => {
    const { tenant, rp } = await tenantWithWebApp('race');
    const user = `/tenants/${tenant.id}/users/${tenant.userId}`;
    /** A browser signed in and shown the consent page. */
    const atConsent = async () => {
      const browser = new Browser(gh.origin);
      const url = client.buildAuthorizationUrl(rp, { redirect_uri: tenant.client.redirectUri, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const login = expectPage(await browser.navigate(url.href, {}, tenant.client.redirectUri));
      const page = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, tenant.client.redirectUri));
      return { browser, page };
    };
    const allow = ({ browser, page }: { browser: Browser; page: Page }) => browser.submit(page, 'form[action$="/consent"]', {}, tenant.client.redirectUri);
    const askedAgain = async (label: string) => {
      expect((await call(gh, root, 'POST', `${user}/enable`)).status).toBe(200);
      expect((await signIn(rp, tenant.client.redirectUri, 'openid profile')).consent, label).toBeDefined();
      // Forget what that sign-in allowed, for the next round.
      expect((await call(gh, root, 'POST', `${user}/disable`)).status).toBe(200);
      expect((await call(gh, root, 'POST', `${user}/enable`)).status).toBe(200);
    };

    // The page was open when the admin disabled the user; Allow comes after and is refused.
    const late = await atConsent();
    expect((await call(gh, root, 'POST', `${user}/disable`)).status).toBe(200);
    // The provider refuses it: the session the page belonged to was ended.
    expect(expectPage(await allow(late)).status).toBe(400);
    await askedAgain('allowed after disabling');

    // Allow and disable at once: whichever wins, the consent must not outlive the disabling.
    for (let round = 0; round < 3; round += 1) {
      const open = await atConsent();
      await Promise.all([allow(open), call(gh, root, 'POST', `${user}/disable`)]);
      await askedAgain(`parallel round ${round}`);
    }
  }, 60_000);

  it('keeps each client’s consent separate', async () => {
    const { tenant, rp } = await tenantWithWebApp('twoclients');
    const spa = await relyingParty(gh, tenant.id, tenant.publicClient.clientId);
    await signIn(rp, tenant.client.redirectUri, 'openid profile');
    const other = await signIn(spa, tenant.publicClient.redirectUri, 'openid profile');
    expect(other.consent).toBeDefined();
    expect(other.consent!.$('h1').text()).toContain('Single Page App');
    expect((await signIn(spa, tenant.publicClient.redirectUri, 'openid profile')).consent).toBeUndefined();
    expect((await signIn(rp, tenant.client.redirectUri, 'openid profile')).consent).toBeUndefined();
  });

  it('still asks a native app every time: its identity cannot be assured (RFC 8252 8.6)', async () => {
    const { tenant } = await tenantWithWebApp('native');
    const redirectUri = 'http://127.0.0.1:9/native';
    await gh.app.clients.create(tenant.id, { client_id: 'cli-app', client_name: 'CLI App', application_type: 'native', redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' });
    const native = await relyingParty(gh, tenant.id, 'cli-app');
    expect(askedScopes((await signIn(native, redirectUri, 'openid profile')).consent!)).toEqual(['openid', 'profile']);
    const again = await signIn(native, redirectUri, 'openid profile');
    expect(again.consent).toBeDefined();
    expect(askedScopes(again.consent!)).toEqual([]);
  });

  it('does not carry consent over to a new client registered under a deleted client’s id', async () => {
    const { tenant, rp } = await tenantWithWebApp('reused');
    await signIn(rp, tenant.client.redirectUri, 'openid profile');
    expect((await call(gh, root, 'DELETE', `/tenants/${tenant.id}/clients/${tenant.client.clientId}`)).status).toBe(204);
    const created = await call(gh, root, 'POST', `/tenants/${tenant.id}/clients`, {
      client_id: tenant.client.clientId,
      client_name: 'Someone Else',
      redirect_uris: [tenant.client.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const newcomer = await relyingParty(gh, tenant.id, tenant.client.clientId, String(created.body['client_secret']));
    const after = await signIn(newcomer, tenant.client.redirectUri, 'openid profile');
    expect(after.consent).toBeDefined();
    expect(after.consent!.$('h1').text()).toContain('Someone Else');
  });
});

describe('the consent page', () => {
  it('names the API and each scope by its registered description, escaped', async () => {
    const { tenant, rp } = await tenantWithWebApp('apinames');
    const hostile = '<img src=x onerror=alert(1)>';
    const api = 'https://things.apinames.example';
    await gh.app.resources.create(tenant.id, {
      identifier: api,
      name: `Things ${hostile}`,
      scopes: [{ name: 'things:read', description: `Read your things ${hostile}` }, { name: 'things:write' }],
    });
    const browser = new Browser(gh.origin);
    const url = client.buildAuthorizationUrl(rp, {
      redirect_uri: tenant.client.redirectUri,
      scope: 'openid things:read things:write',
      resource: api,
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const login = expectPage(await browser.navigate(url.href, {}, tenant.client.redirectUri));
    const consent = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, tenant.client.redirectUri));
    const main = consent.$('main');
    expect(main.text()).toContain(`Things ${hostile}`);
    expect(main.text()).toContain(`Read your things ${hostile}`);
    expect(main.find('img').length).toBe(0);
    expect(main.text()).not.toContain(`things:read on ${api}`);
    expect(askedScopes(consent)).toEqual(['openid', 'things:read', 'things:write']);
    // A scope registered without a description is shown by its name.
    expect(main.find('[data-scope="things:write"]').text()).toContain('things:write');
    // The API is named under its identifier, so a user can tell two APIs of one name apart.
    expect(main.text()).toContain(api);
  });
});
