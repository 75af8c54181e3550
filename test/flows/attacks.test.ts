import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { TEST_PASSWORD, seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, openLoginPage, relyingParty } from '../helpers/login.js';

let gh: TestGatehouse;
let acme: SeededTenant;
let globex: SeededTenant;
let rp: client.Configuration;
let globexRp: client.Configuration;

beforeAll(async () => {
  gh = await startGatehouse();
  acme = await seedTenant(gh, 'acme');
  globex = await seedTenant(gh, 'globex');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  globexRp = await relyingParty(gh, 'globex', globex.client.clientId, globex.client.clientSecret);
});
afterAll(() => gh.stop());

function basic(id: string, secret: string) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function tokenRequest(tenant: SeededTenant, body: Record<string, string>) {
  const response = await fetch(`${gh.issuer(tenant.id)}/token`, {
    method: 'POST',
    headers: { authorization: basic(tenant.client.clientId, tenant.client.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Signs in at acme and returns the code the RP received, unredeemed. */
async function freshCode() {
  const browser = new Browser(gh.origin);
  const { callback, verifier } = await authorize(browser, rp, { redirectUri: acme.client.redirectUri });
  return { code: callback.searchParams.get('code')!, verifier, browser };
}

describe('authorization endpoint', () => {
  it('shows an error page and never redirects to an unregistered redirect_uri', async () => {
    const browser = new Browser(gh.origin);
    const url = client.buildAuthorizationUrl(rp, { redirect_uri: 'http://127.0.0.1:9/callback/evil', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const result = await browser.navigate(url.href, {}, 'http://127.0.0.1:9/');
    const page = expectPage(result);
    expect(page.status).toBe(400);
    expect(page.html).toContain('redirect_uri');
    expect(browser.history.every((visited) => visited.startsWith(gh.origin))).toBe(true);
  });

  it('refuses the implicit flow', async () => {
    const browser = new Browser(gh.origin);
    const url = `${gh.issuer('acme')}/auth?client_id=web-app&response_type=token&redirect_uri=${encodeURIComponent(acme.client.redirectUri)}&scope=openid`;
    const redirect = new URL(expectRedirect(await browser.navigate(url, {}, acme.client.redirectUri)));
    // The error goes where a token would have gone: the fragment (the default mode for response_type=token).
    const answer = new URLSearchParams(redirect.hash.slice(1) || redirect.search);
    expect(answer.get('error')).toBe('unsupported_response_type');
    expect(answer.get('access_token')).toBeNull();
  });

  it('requires PKCE from a public client', async () => {
    const spa = await relyingParty(gh, 'acme', 'spa');
    const browser = new Browser(gh.origin);
    const url = client.buildAuthorizationUrl(spa, { redirect_uri: acme.publicClient.redirectUri, scope: 'openid' });
    const redirect = new URL(expectRedirect(await browser.navigate(url.href, {}, acme.publicClient.redirectUri)));
    expect(redirect.searchParams.get('error')).toBe('invalid_request');
    expect(redirect.searchParams.get('error_description')).toMatch(/PKCE/i);
  });

  it('refuses plain PKCE', async () => {
    const browser = new Browser(gh.origin);
    const url = client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
    const redirect = new URL(expectRedirect(await browser.navigate(url.href, {}, acme.client.redirectUri)));
    expect(redirect.searchParams.get('error')).toBe('invalid_request');
  });
});

describe('token endpoint', () => {
  it('refuses a reused code with invalid_grant and revokes what the first use issued', async () => {
    const { code, verifier } = await freshCode();
    const params = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: acme.client.redirectUri };
    const first = await tokenRequest(acme, params);
    expect(first.status).toBe(200);
    const second = await tokenRequest(acme, params);
    expect(second.status).toBe(400);
    expect(second.body['error']).toBe('invalid_grant');
    expect((await client.tokenIntrospection(rp, String(first.body['access_token']))).active).toBe(false);
    const refreshed = await tokenRequest(acme, { grant_type: 'refresh_token', refresh_token: String(first.body['refresh_token']) });
    expect(refreshed.body['error']).toBe('invalid_grant');
  });

  it('lets exactly one of 20 parallel redemptions of one code succeed', async () => {
    const { code, verifier } = await freshCode();
    const params = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: acme.client.redirectUri };
    const results = await Promise.all(Array.from({ length: 20 }, () => tokenRequest(acme, params)));
    expect(results.filter((result) => result.status === 200)).toHaveLength(1);
    const failures = results.filter((result) => result.status !== 200);
    expect(failures).toHaveLength(19);
    for (const failure of failures) expect(failure.body['error']).toBe('invalid_grant');
  });

  it('refuses a missing or wrong PKCE verifier', async () => {
    const { code, verifier } = await freshCode();
    const base = { grant_type: 'authorization_code', code, redirect_uri: acme.client.redirectUri };
    expect((await tokenRequest(acme, base)).body['error']).toBe('invalid_grant');
    const wrong = `${verifier.slice(0, -1)}${verifier.endsWith('A') ? 'B' : 'A'}`;
    expect((await tokenRequest(acme, { ...base, code_verifier: wrong })).body['error']).toBe('invalid_grant');
  });

  it('refuses a redirect_uri different from the one the code was issued for', async () => {
    const { code, verifier } = await freshCode();
    const result = await tokenRequest(acme, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'http://127.0.0.1:9/other' });
    expect(result.body['error']).toBe('invalid_grant');
  });

  it('refuses a refresh token of another client', async () => {
    const { code, verifier } = await freshCode();
    const tokens = await tokenRequest(acme, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: acme.client.redirectUri });
    const response = await fetch(`${gh.issuer('acme')}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(tokens.body['refresh_token']), client_id: 'spa' }).toString(),
    });
    expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('rejects oversized and malformed token requests without crashing', async () => {
    const huge = await fetch(`${gh.issuer('acme')}/token`, {
      method: 'POST',
      headers: { authorization: basic('web-app', acme.client.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&scope=${'a'.repeat(2_000_000)}`,
    });
    expect([400, 413]).toContain(huge.status);
    const json = await fetch(`${gh.issuer('acme')}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' });
    expect(json.status).toBe(400);
  });
});

describe('tenant isolation', () => {
  it("refuses tenant A's code, access token and refresh token at tenant B", async () => {
    const { code, verifier } = await freshCode();
    // Same client id and redirect URI exist at globex; the code still belongs to acme.
    const atGlobex = await tokenRequest(globex, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: globex.client.redirectUri });
    expect(atGlobex.body['error']).toBe('invalid_grant');

    const tokens = await tokenRequest(acme, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: acme.client.redirectUri });
    expect(tokens.status).toBe(200);
    const userinfo = await fetch(`${gh.issuer('globex')}/me`, { headers: { authorization: `Bearer ${String(tokens.body['access_token'])}` } });
    expect(userinfo.status).toBe(401);
    expect((await client.tokenIntrospection(globexRp, String(tokens.body['access_token']))).active).toBe(false);
    const refresh = await tokenRequest(globex, { grant_type: 'refresh_token', refresh_token: String(tokens.body['refresh_token']) });
    expect(refresh.body['error']).toBe('invalid_grant');
  });

  it("does not carry tenant A's sign-in session to tenant B", async () => {
    const { browser } = await freshCode();
    const login = await openLoginPage(browser, globexRp, globex.client.redirectUri);
    expect(login.$('h1').text()).toContain('Sign in');
  });

  it('answers an unknown tenant with 404', async () => {
    const response = await fetch(`${gh.origin}/t/nobody/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'tenant_not_found' });
    const weird = await fetch(`${gh.origin}/t/..%2F..%2Fetc/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
    expect(weird.status).toBe(404);
  });
});

describe('login form', () => {
  async function loginPage(): Promise<{ browser: Browser; page: Page }> {
    const browser = new Browser(gh.origin);
    return { browser, page: await openLoginPage(browser, rp, acme.client.redirectUri) };
  }

  function actionOf(page: Page): string {
    return new URL(page.$('form[action$="/password"]').attr('action')!, page.url).href;
  }

  it('refuses a post without its CSRF token, with a wrong one, or from another origin', async () => {
    const { browser, page } = await loginPage();
    const action = actionOf(page);
    const missing = expectPage(await browser.navigate(action, { form: { username: 'alice', password: TEST_PASSWORD } }));
    expect(missing.status).toBe(403);
    const wrong = expectPage(await browser.navigate(action, { form: { csrf: 'forged', username: 'alice', password: TEST_PASSWORD } }));
    expect(wrong.status).toBe(403);
    const csrf = page.$('input[name="csrf"]').attr('value')!;
    const crossSite = expectPage(await browser.navigate(action, { form: { csrf, username: 'alice', password: TEST_PASSWORD }, headers: { origin: 'https://evil.example' } }));
    expect(crossSite.status).toBe(403);
  });

  it("refuses another interaction's CSRF token", async () => {
    const first = await loginPage();
    const second = await loginPage();
    const csrf = first.page.$('input[name="csrf"]').attr('value')!;
    const result = expectPage(await second.browser.navigate(actionOf(second.page), { form: { csrf, username: 'alice', password: TEST_PASSWORD }, headers: { origin: gh.origin } }));
    expect(result.status).toBe(403);
  });

  it('answers a wrong password, an unknown user and a disabled account identically', async () => {
    await gh.app.users.create('acme', { username: 'disabled-dan', disabled: true, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    const attempts = [
      { username: 'alice', password: 'wrong password' },
      { username: 'nobody-here', password: 'wrong password' },
      { username: 'disabled-dan', password: TEST_PASSWORD },
    ];
    const outcomes = [];
    for (const fields of attempts) {
      const { browser, page } = await loginPage();
      const result = expectPage(await browser.submit(page, 'form[action$="/password"]', fields));
      outcomes.push({ status: result.status, alert: result.$('[role="alert"]').text().trim(), password: result.$('input[name="password"]').attr('value') ?? '' });
    }
    expect(outcomes[0]).toEqual({ status: 401, alert: 'Incorrect username or password.', password: '' });
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[2]).toEqual(outcomes[0]);
  });

  it('refuses form fields that are objects (query-operator injection) with 400', async () => {
    const { browser, page } = await loginPage();
    const csrf = page.$('input[name="csrf"]').attr('value')!;
    const response = await browser.request(actionOf(page), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.origin },
      form: undefined,
    });
    expect(response.status).toBe(403);
    const injected = await fetch(actionOf(page), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.origin, cookie: browser.cookieHeader(new URL(actionOf(page))), accept: 'text/html' },
      body: `csrf=${encodeURIComponent(csrf)}&username[$ne]=x&password[$ne]=x`,
      redirect: 'manual',
    });
    expect(injected.status).toBe(400);
  });

  it('refuses an oversized form with 413 and an over-long password with 400', async () => {
    const { browser, page } = await loginPage();
    const big = expectPage(await browser.submit(page, 'form[action$="/password"]', { username: 'alice', password: 'x'.repeat(200_000) }));
    expect(big.status).toBe(413);
    const long = expectPage(await browser.submit(page, 'form[action$="/password"]', { username: 'alice', password: 'x'.repeat(5000) }));
    expect(long.status).toBe(400);
  });

  it('shows the branded error page for an unknown or expired interaction', async () => {
    const browser = new Browser(gh.origin);
    const page = expectPage(await browser.navigate(`${gh.issuer('acme')}/interaction/does-not-exist`));
    expect(page.status).toBe(400);
    expect(page.$('h1').text()).toMatch(/cannot be completed/i);
    expect(page.html).toContain('expired');
  });

  it('refuses to skip ahead to consent before signing in', async () => {
    const { browser, page } = await loginPage();
    const consentAction = actionOf(page).replace(/\/password$/, '/consent');
    const csrf = page.$('input[name="csrf"]').attr('value')!;
    const result = expectPage(await browser.navigate(consentAction, { form: { csrf }, headers: { origin: gh.origin } }));
    expect(result.status).toBe(400);
  });

  it('sends the user back to the client with access_denied when they cancel', async () => {
    const { browser, page } = await loginPage();
    const back = new URL(expectRedirect(await browser.submit(page, 'form[action$="/abort"]', {}, acme.client.redirectUri)));
    expect(back.searchParams.get('error')).toBe('access_denied');
  });

  it('throttles an identifier after 5 quick failures, even for the right password, without touching others', async () => {
    const user = await gh.app.users.create('acme', { username: 'target', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    expect(user.username).toBe('target');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const { browser, page } = await loginPage();
      statuses.push(expectPage(await browser.submit(page, 'form[action$="/password"]', { username: 'target', password: `guess-${attempt}` })).status);
    }
    // Five free failures, then a delay that doubles with each further one (sign-in-throttle.test.ts runs a frozen clock).
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toContain(429);
    const { browser, page } = await loginPage();
    const locked = expectPage(await browser.submit(page, 'form[action$="/password"]', { username: 'TARGET', password: TEST_PASSWORD }));
    expect(locked.status).toBe(429);
    expect(locked.$('[role="alert"]').text()).toMatch(/Too many failed attempts/);
    // Another account from the same address still signs in.
    const other = await loginPage();
    const ok = await other.browser.submit(other.page, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, acme.client.redirectUri);
    expect('redirectedTo' in ok || ok.$('form[action$="/consent"]').length === 1).toBe(true);
  });
});

// Parallel guesses, delays, caps and known devices: see sign-in-throttle.test.ts.

describe('outbound requests (SSRF)', () => {
  it('does not call a back-channel logout URI on a loopback address unless the operator allows it', async () => {
    let calls = 0;
    const { createServer } = await import('node:http');
    const { freePort } = await import('../helpers/gatehouse.js');
    const port = await freePort();
    const server = createServer((_req, res) => {
      calls += 1;
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const { clientSecret: secret } = await gh.app.clients.create('acme', {
        client_id: 'ssrf-app',
        redirect_uris: ['http://127.0.0.1:9/ssrf'],
        backchannel_logout_uri: `http://127.0.0.1:${port}/internal-admin`,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      });
      const ssrfRp = await relyingParty(gh, 'acme', 'ssrf-app', secret!);
      const browser = new Browser(gh.origin);
      const { callback, verifier, state } = await authorize(browser, ssrfRp, { redirectUri: 'http://127.0.0.1:9/ssrf', scope: 'openid' });
      const tokens = await client.authorizationCodeGrant(ssrfRp, callback, { pkceCodeVerifier: verifier, expectedState: state });
      const confirm = expectPage(await browser.navigate(client.buildEndSessionUrl(ssrfRp, { id_token_hint: tokens.id_token! }).href));
      const done = expectPage(await browser.submit(confirm, 'form', {}, 'http://127.0.0.1:9/', { button: { name: 'logout', value: 'yes' } }));
      expect(done.status).toBe(200);
      expect(calls).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
