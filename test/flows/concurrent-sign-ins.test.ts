import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect, isPage, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';

let gh: TestGatehouse;
let tabs: SeededTenant;
let webApp: client.Configuration;
let spa: client.Configuration;

beforeAll(async () => {
  gh = await startGatehouse();
  tabs = await seedTenant(gh, 'tabs');
  await seedTenant(gh, 'other');
  webApp = await relyingParty(gh, 'tabs', tabs.client.clientId, tabs.client.clientSecret);
  spa = await relyingParty(gh, 'tabs', tabs.publicClient.clientId);
});
afterAll(() => gh.stop());

/** A tab: an authorization request opened in `browser`, on the login page of its own interaction. */
async function openTab(browser: Browser, config: client.Configuration) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: tabs.client.redirectUri,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const login = expectPage(await browser.navigate(url.href, {}, tabs.client.redirectUri));
  expect(login.$('h1').text()).toContain('Sign in');
  return { config, verifier, state, login, uid: new URL(login.url).pathname.split('/')[4]! };
}

/** Signs in on the tab's (possibly old) login page, allows consent if asked, and redeems the code. */
async function finish(browser: Browser, tab: Awaited<ReturnType<typeof openTab>>) {
  const stopAt = tabs.client.redirectUri;
  const afterLogin = await browser.submit(tab.login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, stopAt);
  const callback = isPage(afterLogin) ? expectRedirect(await consent(browser, afterLogin)) : afterLogin.redirectedTo;
  const tokens = await client.authorizationCodeGrant(tab.config, new URL(callback), { pkceCodeVerifier: tab.verifier, expectedState: tab.state });
  return tokens.claims()!;
}

async function consent(browser: Browser, page: Page) {
  expect(page.$('form[action$="/consent"]').length, page.$('main').text().trim().slice(0, 300)).toBe(1);
  return browser.submit(page, 'form[action$="/consent"]', {}, tabs.client.redirectUri);
}

describe('two sign-ins in one browser (two tabs)', () => {
  it('both complete, the first-opened tab first, for two clients; both codes redeem', async () => {
    const browser = new Browser(gh.origin);
    const first = await openTab(browser, webApp);
    const second = await openTab(browser, spa);
    expect(first.uid).not.toBe(second.uid);

    const firstClaims = await finish(browser, first);
    expect(firstClaims).toMatchObject({ sub: tabs.userId, aud: 'web-app', iss: gh.issuer('tabs') });
    const secondClaims = await finish(browser, second);
    expect(secondClaims).toMatchObject({ sub: tabs.userId, aud: 'spa', iss: gh.issuer('tabs') });
  });

  it('both complete for one client, the later tab first', async () => {
    const browser = new Browser(gh.origin);
    const first = await openTab(browser, webApp);
    const second = await openTab(browser, webApp);
    expect((await finish(browser, second)).aud).toBe('web-app');
    expect((await finish(browser, first)).aud).toBe('web-app');
  });

  it('scopes each interaction cookie to its interaction, and every provider cookie to the tenant', async () => {
    const browser = new Browser(gh.origin);
    const first = await openTab(browser, webApp);
    const second = await openTab(browser, spa);
    const paths = (name: string) => browser.cookies.filter((cookie) => cookie.name === name).map((cookie) => cookie.path).sort();
    expect(paths('_interaction')).toEqual([`/t/tabs/interaction/${first.uid}`, `/t/tabs/interaction/${second.uid}`].sort());
    expect(paths('_interaction_resume')).toEqual([`/t/tabs/auth/${first.uid}`, `/t/tabs/auth/${second.uid}`].sort());
    await finish(browser, first);
    expect(paths('_session')).toEqual(['/t/tabs']);
    for (const cookie of browser.cookies) expect(cookie.path === '/t/tabs' || cookie.path.startsWith('/t/tabs/'), `${cookie.name} at ${cookie.path}`).toBe(true);
    // Nothing of this tenant is sent to another tenant.
    expect(browser.cookieHeader(new URL(`${gh.origin}/t/other/auth`))).toBe('');
    expect(browser.cookieHeader(new URL(`${gh.origin}/t/tabsx/interaction/${first.uid}`))).toBe('');
  });

  it("refuses one tab's sign-in page in another browser, and a finished tab's form sent again", async () => {
    const browser = new Browser(gh.origin);
    const tab = await openTab(browser, webApp);
    const stranger = expectPage(await new Browser(gh.origin).navigate(tab.login.url));
    expect(stranger.status).toBeGreaterThanOrEqual(400);
    expect(stranger.$('form[action$="/password"]').length).toBe(0);

    await finish(browser, tab);
    const again = await browser.submit(tab.login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, tabs.client.redirectUri);
    expect(isPage(again) && again.status >= 400).toBe(true);
  });
});
