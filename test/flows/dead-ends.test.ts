import type * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { openLoginPage, relyingParty } from '../helpers/login.js';

let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
const REDIRECT = 'http://127.0.0.1:9/callback';

beforeAll(async () => {
  gh = await startGatehouse();
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
});
afterAll(() => gh.stop());

/** A public client of acme with the given extra metadata, stored as the CLI or a migration would. */
async function publicClient(clientId: string, metadata: Record<string, unknown>): Promise<client.Configuration> {
  await gh.app.clients.create('acme', {
    client_id: clientId,
    client_name: `Client ${clientId}`,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...metadata,
  });
  return relyingParty(gh, 'acme', clientId);
}

const uidOf = (page: Page) => /\/interaction\/([^/?]+)/.exec(page.url)![1]!;

/**
 * What expiry leaves behind: the interaction is gone from the store and the provider's interaction
 * cookie from the browser (both live as long as the interaction, an hour).
 */
async function expire(browser: Browser, page: Page): Promise<void> {
  const tenant = await gh.gatehouse.pool.get('acme');
  const interaction = await tenant!.provider.Interaction.find(uidOf(page));
  await interaction!.destroy();
  for (let i = browser.cookies.length - 1; i >= 0; i -= 1) {
    if (browser.cookies[i]!.name.startsWith('_interaction')) browser.cookies.splice(i, 1);
  }
}

const startAgain = (page: Page) => page.$('a').filter((_, a) => page.$(a).text().trim() === 'Start again');

describe('reloading a step after a POST', () => {
  it('shows the login form again on a GET of the login POST URL (reload after a wrong password)', async () => {
    const browser = new Browser(gh.origin);
    const login = await openLoginPage(browser, rp, REDIRECT);
    const wrong = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: 'wrong password' }));
    expect(wrong.status).toBe(401);
    expect(new URL(wrong.url).pathname).toMatch(/\/password$/);

    const reloaded = expectPage(await browser.navigate(wrong.url));
    expect(reloaded.status).toBe(200);
    expect(reloaded.headers.get('content-type')).toMatch(/^text\/html/);
    expect(reloaded.headers.get('cache-control')).toBe('no-store');
    expect(reloaded.$('h1').text()).toContain('Sign in');
    // The form still works from there.
    const signedIn = await browser.submit(reloaded, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, REDIRECT);
    expect('redirectedTo' in signedIn || signedIn.$('form[action$="/consent"]').length === 1).toBe(true);
  });

  it('answers a GET on any step URL (abort, consent, an unknown name) with the step the sign-in needs now', async () => {
    const browser = new Browser(gh.origin);
    const login = await openLoginPage(browser, rp, REDIRECT);
    for (const step of ['abort', 'consent', 'change-password', 'no-such-step']) {
      const first = await browser.request(`${login.url}/${step}`);
      expect(first.status, step).toBe(303);
      expect(first.headers.get('cache-control'), step).toBe('no-store');
      expect(new URL(first.headers.get('location')!, gh.origin).href, step).toBe(login.url);
      const page = expectPage(await browser.navigate(`${login.url}/${step}`));
      expect(page.status, step).toBe(200);
      expect(page.$('form[action$="/password"]').length, step).toBe(1);
    }
  });

  it('shows the expired page, not a 405, for a GET on a step of an unknown interaction', async () => {
    const browser = new Browser(gh.origin);
    const page = expectPage(await browser.navigate(`${gh.issuer('acme')}/interaction/does-not-exist/password`));
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.html).toContain('expired');
  });
});

describe('an expired sign-in page', () => {
  it('offers to start again at the client\'s initiate_login_uri, after a GET or a POST', async () => {
    const starter = await publicClient('starter', { initiate_login_uri: 'https://starter.example/login?from=idp', client_uri: 'https://starter.example/' });
    const browser = new Browser(gh.origin);
    const login = await openLoginPage(browser, starter, REDIRECT);
    await expire(browser, login);

    const reloaded = expectPage(await browser.navigate(login.url));
    expect(reloaded.status).toBe(400);
    expect(reloaded.html).toContain('expired');
    expect(startAgain(reloaded).attr('href')).toBe('https://starter.example/login?from=idp');

    const posted = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    expect(posted.status).toBe(400);
    expect(startAgain(posted).attr('href')).toBe('https://starter.example/login?from=idp');
  });

  it('falls back to client_uri, and offers nothing for a client that registered neither', async () => {
    const homepage = await publicClient('homepage', { client_uri: 'https://homepage.example/' });
    const browser = new Browser(gh.origin);
    const login = await openLoginPage(browser, homepage, REDIRECT);
    await expire(browser, login);
    expect(startAgain(expectPage(await browser.navigate(login.url))).attr('href')).toBe('https://homepage.example/');

    const bare = new Browser(gh.origin);
    const bareLogin = await openLoginPage(bare, rp, REDIRECT);
    await expire(bare, bareLogin);
    const page = expectPage(await bare.navigate(bareLogin.url));
    expect(page.status).toBe(400);
    expect(startAgain(page).length).toBe(0);
  });

  it('offers the account console to sign in to it again', async () => {
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate(`${gh.issuer('acme')}/account/login`));
    await expire(browser, login);
    expect(startAgain(expectPage(await browser.navigate(login.url))).attr('href')).toBe(`${gh.issuer('acme')}/account`);
  });

  it('knows the client of a sign-in page opened in another browser while it lasts', async () => {
    await publicClient('elsewhere', { client_uri: 'https://elsewhere.example/' });
    const browser = new Browser(gh.origin);
    const login = await openLoginPage(browser, await relyingParty(gh, 'acme', 'elsewhere'), REDIRECT);
    const other = expectPage(await new Browser(gh.origin).navigate(login.url));
    expect(other.status).toBe(400);
    expect(startAgain(other).attr('href')).toBe('https://elsewhere.example/');
  });

  it('never links to a URL the client did not register as http(s): javascript: and data: stored behind the API\'s back', async () => {
    for (const [id, metadata] of [
      ['evil-js', { client_uri: 'javascript:alert(document.cookie)' }],
      ['evil-data', { initiate_login_uri: 'data:text/html,<script>alert(1)</script>' }],
      ['evil-http', { initiate_login_uri: 'http://evil.example/' }],
    ] as const) {
      await gh.app.clients.create('acme', { client_id: id, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', ...metadata });
    }
    const tenant = (await gh.gatehouse.pool.get('acme'))!;
    const signed = (id: string) => `gh_interaction_client=${id}.${tenant.mac('cookie:gh_interaction_client', id)}`;
    const expiredPage = async (cookie: string) => {
      const response = await fetch(`${gh.issuer('acme')}/interaction/gone`, { headers: { accept: 'text/html', cookie } });
      return { status: response.status, html: await response.text() };
    };
    for (const id of ['evil-js', 'evil-data', 'evil-http']) {
      // The provider refuses to load such a client, so no sign-in starts for it...
      const browser = new Browser(gh.origin);
      const result = expectPage(await browser.navigate(`${gh.issuer('acme')}/auth?client_id=${id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`));
      expect(result.html).not.toMatch(/javascript:|data:text|evil\.example/);
      // ...and even a validly signed cookie naming it shows no link.
      const page = await expiredPage(signed(id));
      expect(page.status).toBe(400);
      expect(page.html).not.toContain('Start again');
      expect(page.html).not.toMatch(/javascript:|data:text|evil\.example/);
    }
    // A cookie with a forged MAC, or an oversized or malformed one, names no client.
    await publicClient('genuine', { client_uri: 'https://genuine.example/' });
    expect((await expiredPage(signed('genuine'))).html).toContain('https://genuine.example/');
    for (const cookie of ['gh_interaction_client=genuine.forged', `gh_interaction_client=${'g'.repeat(5000)}`, 'gh_interaction_client=..', `gh_interaction_client=${encodeURIComponent('genuine"><script>')}.x`]) {
      const page = await expiredPage(cookie);
      expect(page.status, cookie.slice(0, 60)).toBe(400);
      expect(page.html).not.toContain('Start again');
    }
  });

  it('refuses to register an initiate_login_uri that is not https, or a javascript: client_uri, through the admin API', async () => {
    const { adminToken, call } = await import('../admin/helpers.js');
    const admin = await startGatehouse({ bootstrap: (await import('../admin/helpers.js')).BOOTSTRAP });
    try {
      await admin.app.tenants.create({ id: 'shop', displayName: 'Shop' });
      const token = await adminToken(admin);
      const base = { client_name: 'Shop', redirect_uris: ['https://shop.example/cb'] };
      for (const bad of [{ initiate_login_uri: 'http://shop.example/login' }, { initiate_login_uri: 'javascript:alert(1)' }, { client_uri: 'javascript:alert(1)' }, { initiate_login_uri: `https://shop.example/${'x'.repeat(3000)}` }]) {
        const refused = await call(admin, token, 'POST', '/tenants/shop/clients', { ...base, ...bad });
        expect(refused.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
      }
      const created = await call(admin, token, 'POST', '/tenants/shop/clients', { ...base, initiate_login_uri: 'https://shop.example/login' });
      expect(created.status).toBe(201);
      expect(created.body['initiate_login_uri']).toBe('https://shop.example/login');
      const removed = await call(admin, token, 'PATCH', `/tenants/shop/clients/${String(created.body['client_id'])}`, { initiate_login_uri: null });
      expect(removed.status).toBe(200);
      expect(removed.body).not.toHaveProperty('initiate_login_uri');
    } finally {
      await admin.stop();
    }
  });
});

describe('cancelling', () => {
  it('shows a calm "Sign-in cancelled" page with a way back when the account console\'s sign-in is cancelled', async () => {
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate(`${gh.issuer('acme')}/account/login`));
    const page = expectPage(await browser.submit(login, 'form[action$="/abort"]'));
    expect(page.$('h1').text().trim()).toBe('Sign-in cancelled');
    expect(page.$('main').text()).not.toMatch(/error|access_denied/i);
    expect(page.$('a').filter((_, a) => page.$(a).attr('href') === '/t/acme/account').length).toBe(1);
  });

  it('shows the calm page, not "Error 400 access_denied", when the client can no longer be redirected to', async () => {
    await publicClient('short-lived', { client_uri: 'https://short-lived.example/' });
    const browser = new Browser(gh.origin);
    const login = await openLoginPage(browser, await relyingParty(gh, 'acme', 'short-lived'), REDIRECT);
    // The client is deleted while its user is on the login page: there is nowhere to send them.
    await gh.app.clients.delete('acme', 'short-lived');
    gh.gatehouse.pool.evict('acme');
    const page = expectPage(await browser.submit(login, 'form[action$="/abort"]', {}, 'http://127.0.0.1:9/'));
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.$('h1').text().trim()).toBe('Sign-in cancelled');
    expect(page.$('main').text()).not.toMatch(/error|access_denied/i);
    // The client is gone: nothing to go back to.
    expect(page.html).not.toContain('short-lived.example');
  });

  it('still sends the user back to a client that can be redirected to', async () => {
    const browser = new Browser(gh.origin);
    const login = await openLoginPage(browser, rp, REDIRECT);
    const result = await browser.submit(login, 'form[action$="/abort"]', {}, REDIRECT);
    expect('redirectedTo' in result && new URL(result.redirectedTo).searchParams.get('error')).toBe('access_denied');
  });
});
