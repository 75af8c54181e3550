/**
 * "Connected apps" in the account console (issue 14): the apps holding grants of the account, by
 * name with what they were allowed; "Revoke" kills the app's tokens (its refresh token is refused
 * through openid-client) and sends back-channel logout, other apps keep theirs, the console's own
 * grant is neither listed nor revocable, and another user's app, forged or malformed forms and
 * parallel revocations revoke nothing more than they may. Audited with the user as the actor.
 */
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { BCL_REDIRECT, startWithLogoutReceiver, tenantWithLogoutApp } from '../helpers/logout-app.js';
import type { BackchannelReceiver } from '../helpers/backchannel-receiver.js';

let gh: TestGatehouse;
let receiver: BackchannelReceiver;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ gh, receiver, stop } = await startWithLogoutReceiver());
});
afterAll(() => stop());

async function tenant(id: string) {
  const { seeded, bcl } = await tenantWithLogoutApp(gh, receiver, id, 'Logout <i>App</i>');
  return { seeded, bcl, web: await relyingParty(gh, id, seeded.client.clientId, seeded.client.clientSecret) };
}

async function tokensFor(browser: Browser, rp: client.Configuration, redirectUri: string, username = 'alice') {
  const { callback, verifier, state } = await authorize(browser, rp, { redirectUri, username });
  return client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
}

/** alice with tokens from bcl-app in one browser (then the console there by single sign-on) and from Web App in another. */
async function aliceWithApps(id: string) {
  const apps = await tenant(id);
  const browser = new Browser(gh.origin);
  const bclTokens = await tokensFor(browser, apps.bcl, BCL_REDIRECT);
  const webTokens = await tokensFor(new Browser(gh.origin), apps.web, apps.seeded.client.redirectUri);
  const account = expectPage(await browser.navigate(`/t/${id}/account/login`));
  expect(account.$('a[href$="/account/connected-apps"]').length).toBe(1);
  return { ...apps, browser, bclTokens, webTokens };
}

async function appsPage(browser: Browser, id: string): Promise<Page> {
  const page = expectPage(await browser.navigate(`/t/${id}/account/connected-apps`));
  expect(page.status).toBe(200);
  return page;
}

const listed = (page: Page) => page.$('#gh-connected-apps li').toArray().map((li) => ({ client: page.$(li).attr('data-client'), text: page.$(li).text().replace(/\s+/g, ' ').trim() }));

async function consoleSignedIn(browser: Browser, id: string) {
  return expectPage(await browser.navigate(`/t/${id}/account`)).$('a[href$="/account/security"]').length === 1;
}

describe('connected apps', () => {
  it('lists the apps with access by name, scopes and date, without the console itself', async () => {
    const { browser } = await aliceWithApps('cap1');
    const page = await appsPage(browser, 'cap1');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const rows = listed(page);
    expect(rows.map((row) => row.client)).toEqual(['bcl-app', 'web-app']);
    expect(rows[0]!.text).toContain('Logout <i>App</i>');
    expect(page.$('#gh-connected-apps i').length).toBe(0);
    expect(rows[0]!.text).toMatch(/Keeps access while you are away allowed \d{4}-\d\d-\d\d \d\d:\d\d UTC Access: openid, profile, email, phone, offline_access/);
    expect(rows[1]!.text).toContain('Web App');
    expect(page.html).not.toContain('gatehouse-account');
  });

  it('revoking an app kills its refresh token and tells it, and leaves the other app and the console alone', async () => {
    const { seeded, browser, bcl, web, bclTokens, webTokens } = await aliceWithApps('cap2');
    const page = await appsPage(browser, 'cap2');
    const before = receiver.received.length;
    const after = expectPage(await browser.submit(page, 'li[data-client="bcl-app"] form'));
    expect(after.status).toBe(200);
    expect(after.$('.gh-note').text()).toContain('Logout <i>App</i> no longer has access to your account.');
    expect(listed(after).map((row) => row.client)).toEqual(['web-app']);

    await expect(client.refreshTokenGrant(bcl, bclTokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(web, webTokens.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
    const logouts = receiver.received.slice(before);
    expect(logouts).toHaveLength(1);
    expect(logouts[0]!.path).toBe('/cap2');
    expect(decodeJwt(logouts[0]!.token)['sid']).toBe(decodeJwt(bclTokens.id_token!)['sid']);
    expect(await consoleSignedIn(browser, 'cap2')).toBe(true);

    const events = await gh.app.audit.list('cap2', { type: 'user.grant_revoked', limit: 5 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: { type: 'user', id: seeded.userId }, target: { type: 'user', id: seeded.userId }, details: { client_id: 'bcl-app', via: 'account_console', backchannel_logouts: { delivered: 1, failed: 0 } } });
    expect(expectPage(await browser.navigate('/t/cap2/account/activity')).$('#gh-activity').text()).toContain('An app’s access revoked');
  });

  it('the console’s own grant cannot be revoked here, so the console keeps working', async () => {
    const { browser } = await aliceWithApps('cap3');
    const page = await appsPage(browser, 'cap3');
    const csrf = page.$('input[name="csrf"]').first().attr('value')!;
    for (const forged of ['gatehouse-account', 'gatehouse-saml']) {
      const response = await browser.request('/t/cap3/account/connected-apps/revoke', { form: { csrf, client: forged }, headers: { origin: gh.origin } });
      expect(response.status).toBe(404);
    }
    expect(await gh.app.audit.list('cap3', { type: 'user.grant_revoked', limit: 5 })).toEqual([]);
    expect(await consoleSignedIn(browser, 'cap3')).toBe(true);
  });

  it('another user’s app is a 404 and revokes nothing of theirs', async () => {
    const { web, seeded } = await tenant('cap4');
    const bob = new Browser(gh.origin);
    const bobTokens = await tokensFor(bob, web, seeded.client.redirectUri, 'bob');
    // alice has only the console: web-app is bob's.
    const alice = new Browser(gh.origin);
    const login = expectPage(await alice.navigate('/t/cap4/account/login'));
    expectPage(await alice.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const page = await appsPage(alice, 'cap4');
    expect(page.$('#gh-connected-apps-empty').length).toBe(1);
    // The empty page has no form: the console's front page's token is the same (bound to the console session).
    const csrf = expectPage(await alice.navigate('/t/cap4/account')).$('input[name="csrf"]').attr('value')!;
    const response = await alice.request('/t/cap4/account/connected-apps/revoke', { form: { csrf, client: 'web-app' }, headers: { origin: gh.origin } });
    expect(response.status).toBe(404);
    await expect(client.refreshTokenGrant(web, bobTokens.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
    expect(await gh.app.audit.list('cap4', { type: 'user.grant_revoked', limit: 5 })).toEqual([]);
  });

  it('without the CSRF token, from another origin, signed out, or with a malformed client field, revokes nothing', async () => {
    const { browser, bcl, bclTokens } = await aliceWithApps('cap5');
    const page = await appsPage(browser, 'cap5');
    const csrf = page.$('input[name="csrf"]').first().attr('value')!;
    const post = (who: Browser, form: Record<string, string>, origin = gh.origin) => who.request('/t/cap5/account/connected-apps/revoke', { form, headers: { origin } });
    expect((await post(browser, { client: 'bcl-app' })).status).toBe(403);
    expect((await post(browser, { csrf: 'forged', client: 'bcl-app' })).status).toBe(403);
    expect((await post(browser, { csrf, client: 'bcl-app' }, 'https://evil.example')).status).toBe(403);
    expect((await post(browser, { csrf })).status).toBe(400);
    expect((await post(browser, { csrf, client: 'x'.repeat(300) })).status).toBe(400);
    expect((await post(browser, { csrf, 'client[0]': 'bcl-app' })).status).toBe(400);
    expect((await post(browser, { csrf, client: 'bcl-app', pad: 'x'.repeat(70 * 1024) })).status).toBe(413);
    const stranger = await post(new Browser(gh.origin), { csrf, client: 'bcl-app' });
    expect(stranger.status).toBe(303);
    expect(stranger.headers.get('location')).toBe('/t/cap5/account/login?next=connected-apps');
    await expect(client.refreshTokenGrant(bcl, bclTokens.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
    expect(listed(await appsPage(browser, 'cap5'))).toHaveLength(2);
  });

  it('parallel revocations revoke once, with one audit event', async () => {
    const { browser } = await aliceWithApps('cap6');
    const page = await appsPage(browser, 'cap6');
    const before = receiver.received.length;
    const results = await Promise.all([1, 2, 3].map(() => browser.submit(page, 'li[data-client="bcl-app"] form')));
    expect(results.map((result) => expectPage(result).status).sort()).toEqual([200, 404, 404]);
    expect(receiver.received.length - before).toBe(1);
    expect(await gh.app.audit.list('cap6', { type: 'user.grant_revoked', limit: 5 })).toHaveLength(1);
  });
});
