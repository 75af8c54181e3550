/**
 * "Where you are signed in" in the account console (issue 14): the user's provider sessions with
 * the browser and address of their sign-in and the current one marked, never a session cookie's
 * value; signing one out (by its hashed handle), everywhere else, or everywhere, with back-channel
 * logout to the apps and the other browser's console and `prompt=none` both failing afterwards;
 * each audited with the user as actor. Forged, foreign, malformed and parallel requests end nothing
 * more than they may.
 */
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize } from '../helpers/login.js';
import { BCL_REDIRECT, startWithLogoutReceiver, tenantWithLogoutApp } from '../helpers/logout-app.js';
import { sessionsOf } from '../../src/oidc/account-sessions.js';
import type { BackchannelReceiver } from '../helpers/backchannel-receiver.js';

let gh: TestGatehouse;
let receiver: BackchannelReceiver;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ gh, receiver, stop } = await startWithLogoutReceiver());
});
afterAll(() => stop());

async function tenant(id: string) {
  const { seeded, bobId, bcl } = await tenantWithLogoutApp(gh, receiver, id);
  return { seeded, bobId, rp: bcl };
}

/** A browser signed in to the console (through the password page, or by the session it has). */
async function consoleIn(browser: Browser, tenantId: string, username = 'alice'): Promise<Page> {
  const login = expectPage(await browser.navigate(`/t/${tenantId}/account/login`));
  if (login.$('form[action$="/password"]').length === 0) return login;
  return expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }));
}

/** A browser signed in to bcl-app first, then to the console by single sign-on. */
async function appAndConsole(tenantId: string, rp: client.Configuration) {
  const browser = new Browser(gh.origin);
  const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: BCL_REDIRECT });
  const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  const account = await consoleIn(browser, tenantId);
  expect(account.$('a[href$="/account/sessions"]').length).toBe(1);
  return { browser, tokens };
}

async function sessionsPage(browser: Browser, tenantId: string): Promise<Page> {
  const page = expectPage(await browser.navigate(`/t/${tenantId}/account/sessions`));
  expect(page.status).toBe(200);
  return page;
}

/** The listed sessions: handle, whether current, and the row's text. */
function listed(page: Page) {
  return page.$('#gh-sessions li').toArray().map((li) => ({ handle: page.$(li).attr('data-session')!, current: page.$(li).attr('data-current') === 'true', text: page.$(li).text().replace(/\s+/g, ' ').trim() }));
}

/** Whether the browser still has a provider session: prompt=none answers a code, or login_required. */
async function silently(browser: Browser, rp: client.Configuration): Promise<string> {
  const url = client.buildAuthorizationUrl(rp, { redirect_uri: BCL_REDIRECT, scope: 'openid', prompt: 'none', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
  const back = new URL(expectRedirect(await browser.navigate(url.href, {}, BCL_REDIRECT)));
  return back.searchParams.get('error') ?? (back.searchParams.get('code') ? 'code' : 'nothing');
}

/** Whether the browser's console is signed in (its front page shows the profile). */
async function consoleSignedIn(browser: Browser, tenantId: string): Promise<boolean> {
  const page = expectPage(await browser.navigate(`/t/${tenantId}/account`));
  return page.$('a[href$="/account/security"]').length === 1;
}

describe('the sessions page', () => {
  it('lists the user’s sessions with browser, address, times and apps, marks this one, and shows no session cookie', async () => {
    const { rp } = await tenant('ses1');
    const one = await appAndConsole('ses1', rp);
    const two = new Browser(gh.origin);
    await consoleIn(two, 'ses1');

    const page = await sessionsPage(one.browser, 'ses1');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const rows = listed(page);
    expect(rows).toHaveLength(2);
    expect(rows.filter((row) => row.current)).toHaveLength(1);
    expect(rows[0]!.current).toBe(true);
    for (const row of rows) {
      expect(row.handle).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(row.text).toMatch(/from 127\.0\.0\.1, signed in \d{4}-\d\d-\d\d \d\d:\d\d UTC, last used \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    }
    expect(rows[0]!.text).toContain('This browser');
    // The app's name is text, never markup.
    expect(rows[0]!.text).toContain('Apps: Logout <b>App</b>, the account console');
    expect(page.$('#gh-sessions b').length).toBe(0);
    expect(rows[1]!.text).toContain('Apps: the account console');
    // No value of either browser's cookies is on the page.
    for (const cookie of [...one.browser.cookies, ...two.cookies]) if (cookie.value.length > 8) expect(page.html).not.toContain(cookie.value);
    // The other browser sees the same two, with its own marked.
    const theirs = listed(await sessionsPage(two, 'ses1'));
    expect(theirs.map((row) => row.handle).sort()).toEqual(rows.map((row) => row.handle).sort());
    expect(theirs.find((row) => row.current)!.handle).toBe(rows[1]!.handle);
  });

  it('“last used” moves when the browser comes through the provider, not when it views console pages', async () => {
    const { seeded, rp } = await tenant('ses10');
    const { browser } = await appAndConsole('ses10', rp);
    const context = (await gh.gatehouse.pool.get('ses10'))!;
    const lastSeen = async () => (await sessionsOf(context, seeded.userId))[0]!.lastSeenAt!;
    const signedIn = await lastSeen();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await sessionsPage(browser, 'ses10');
    expect(expectPage(await browser.navigate('/t/ses10/account/activity')).status).toBe(200);
    expect(await lastSeen()).toBe(signedIn);
    expect(await silently(browser, rp)).toBe('code');
    expect(await lastSeen()).toBeGreaterThan(signedIn);
  });

  it('signed out, asks to sign in and comes back to the page', async () => {
    await tenant('ses2');
    const browser = new Browser(gh.origin);
    const redirect = await browser.request('/t/ses2/account/sessions');
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/t/ses2/account/login?next=sessions');
    const login = expectPage(await browser.navigate('/t/ses2/account/sessions'));
    const back = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    expect(back.url).toBe(`${gh.issuer('ses2')}/account/sessions`);
    expect(listed(back)).toHaveLength(1);
  });
});

describe('signing a session out', () => {
  it('ends the other browser’s session: its console and prompt=none fail, its app is told and its refresh token refused', async () => {
    const { seeded, rp } = await tenant('ses3');
    const mine = new Browser(gh.origin);
    await consoleIn(mine, 'ses3');
    const other = await appAndConsole('ses3', rp);
    expect(await silently(other.browser, rp)).toBe('code');

    const page = await sessionsPage(mine, 'ses3');
    const target = listed(page).find((row) => !row.current)!;
    const before = receiver.received.length;
    const after = expectPage(await mine.submit(page, `li[data-session="${target.handle}"] form`));
    expect(after.status).toBe(200);
    expect(after.$('.gh-note').text()).toContain('That session is signed out.');
    expect(listed(after).map((row) => row.handle)).not.toContain(target.handle);
    expect(await consoleSignedIn(mine, 'ses3')).toBe(true);

    expect(await consoleSignedIn(other.browser, 'ses3')).toBe(false);
    expect(await silently(other.browser, rp)).toBe('login_required');
    const logouts = receiver.received.slice(before);
    expect(logouts).toHaveLength(1);
    expect(logouts[0]!.path).toBe('/ses3');
    expect(decodeJwt(logouts[0]!.token)['sid']).toBe(decodeJwt(other.tokens.id_token!)['sid']);
    await expect(client.refreshTokenGrant(rp, other.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    const events = await gh.app.audit.list('ses3', { type: 'user.session_ended', limit: 10 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: { type: 'user', id: seeded.userId },
      target: { type: 'user', id: seeded.userId },
      details: { session: target.handle, current: false, via: 'account_console', grants_revoked: 2, backchannel_logouts: { delivered: 1, failed: 0 } },
    });
    // The owner sees it in Recent activity.
    expect(expectPage(await mine.navigate('/t/ses3/account/activity')).$('#gh-activity').text()).toContain('Signed out of a session');
  });

  it('signing out this browser lands on a signed-out page', async () => {
    const { rp } = await tenant('ses4');
    const { browser } = await appAndConsole('ses4', rp);
    const page = await sessionsPage(browser, 'ses4');
    const [row] = listed(page);
    expect(row!.current).toBe(true);
    const after = expectPage(await browser.submit(page, `li[data-session="${row!.handle}"] form`));
    expect(after.status).toBe(200);
    expect(after.$('#gh-signed-out-notice').text()).toContain('You signed out of this browser.');
    expect(browser.cookies.find((cookie) => cookie.name === 'gh_account')).toBeUndefined();
    expect(await consoleSignedIn(browser, 'ses4')).toBe(false);
    expect(await silently(browser, rp)).toBe('login_required');
    expect((await gh.app.audit.list('ses4', { type: 'user.session_ended', limit: 5 }))[0]!.details).toMatchObject({ current: true });
  });

  it('“everywhere else” ends the others and keeps this one', async () => {
    const { rp } = await tenant('ses5');
    const mine = await appAndConsole('ses5', rp);
    const others = [await appAndConsole('ses5', rp), await appAndConsole('ses5', rp)];
    const page = await sessionsPage(mine.browser, 'ses5');
    expect(listed(page)).toHaveLength(3);
    const after = expectPage(await mine.browser.submit(page, 'form[action$="/sessions/end-others"]'));
    expect(after.$('.gh-note').text()).toContain('Signed out of 2 other sessions.');
    expect(listed(after)).toHaveLength(1);
    expect(listed(after)[0]!.current).toBe(true);
    for (const other of others) {
      expect(await consoleSignedIn(other.browser, 'ses5')).toBe(false);
      expect(await silently(other.browser, rp)).toBe('login_required');
    }
    expect(await silently(mine.browser, rp)).toBe('code');
    await expect(client.refreshTokenGrant(rp, mine.tokens.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
    const [event] = await gh.app.audit.list('ses5', { type: 'user.signed_out_everywhere', limit: 5 });
    expect(event!.details).toMatchObject({ except_current: true, sessions_ended: 2, via: 'account_console', backchannel_logouts: { delivered: 2, failed: 0 } });
  });

  it('“everywhere” ends every session, this one too, and every grant', async () => {
    const { rp } = await tenant('ses6');
    const mine = await appAndConsole('ses6', rp);
    const other = await appAndConsole('ses6', rp);
    const page = await sessionsPage(mine.browser, 'ses6');
    const after = expectPage(await mine.browser.submit(page, 'form[action$="/sessions/end-all"]'));
    expect(after.$('#gh-signed-out-notice').text()).toContain('You are signed out everywhere');
    for (const each of [mine, other]) {
      expect(await consoleSignedIn(each.browser, 'ses6')).toBe(false);
      expect(await silently(each.browser, rp)).toBe('login_required');
      await expect(client.refreshTokenGrant(rp, each.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
    const [event] = await gh.app.audit.list('ses6', { type: 'user.signed_out_everywhere', limit: 5 });
    expect(event!.details).toMatchObject({ except_current: false, sessions_ended: 2, via: 'account_console' });
  });
});

describe('what signing out refuses', () => {
  it('without the CSRF token, from another origin, or signed out, ends nothing', async () => {
    const { rp } = await tenant('ses7');
    const mine = await appAndConsole('ses7', rp);
    const page = await sessionsPage(mine.browser, 'ses7');
    const [row] = listed(page);
    const action = `/t/ses7/account/sessions/${row!.handle}/end`;
    const noToken = await mine.browser.request(action, { form: {}, headers: { origin: gh.origin } });
    expect(noToken.status).toBe(403);
    const wrongToken = await mine.browser.request(action, { form: { csrf: 'x'.repeat(43) }, headers: { origin: gh.origin } });
    expect(wrongToken.status).toBe(403);
    const csrf = page.$(`li[data-session="${row!.handle}"] input[name="csrf"]`).attr('value')!;
    const foreign = await mine.browser.request(action, { form: { csrf }, headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    const oversized = await mine.browser.request(action, { form: { csrf, pad: 'x'.repeat(70 * 1024) }, headers: { origin: gh.origin } });
    expect(oversized.status).toBe(413);
    for (const path of ['end-all', 'end-others']) {
      expect((await mine.browser.request(`/t/ses7/account/sessions/${path}`, { form: {}, headers: { origin: gh.origin } })).status).toBe(403);
    }
    // A stranger's browser with the page's token but no console session is sent to sign in.
    const stranger = new Browser(gh.origin);
    const signedOut = await stranger.request(action, { form: { csrf }, headers: { origin: gh.origin } });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/t/ses7/account/login?next=sessions');
    expect(await silently(mine.browser, rp)).toBe('code');
    expect(listed(await sessionsPage(mine.browser, 'ses7'))).toHaveLength(1);
    expect(await gh.app.audit.list('ses7', { type: 'user.session_ended', limit: 5 })).toEqual([]);
  });

  it('another user’s session handle, or a malformed or oversized one, is a 404 and ends nothing', async () => {
    const { rp } = await tenant('ses8');
    const alice = await appAndConsole('ses8', rp);
    const bob = new Browser(gh.origin);
    await consoleIn(bob, 'ses8', 'bob');
    const bobHandle = listed(await sessionsPage(bob, 'ses8'))[0]!.handle;
    const page = await sessionsPage(alice.browser, 'ses8');
    const csrf = page.$('form[action$="/end-all"] input[name="csrf"]').attr('value')!;
    for (const handle of [bobHandle, 'A'.repeat(32), 'short', `${'A'.repeat(31)}%3C`, 'x'.repeat(4000)]) {
      const response = await alice.browser.request(`/t/ses8/account/sessions/${handle}/end`, { form: { csrf }, headers: { origin: gh.origin } });
      expect(response.status, handle.slice(0, 40)).toBe(404);
      expect(await response.text()).toContain('not one of yours');
    }
    expect(await consoleSignedIn(bob, 'ses8')).toBe(true);
    expect(listed(await sessionsPage(bob, 'ses8'))).toHaveLength(1);
    expect(await silently(alice.browser, rp)).toBe('code');
    expect(await gh.app.audit.list('ses8', { type: 'user.session_ended', limit: 5 })).toEqual([]);
  });

  it('two parallel sign-outs of one session end it once, with one audit event', async () => {
    const { rp } = await tenant('ses9');
    const mine = new Browser(gh.origin);
    await consoleIn(mine, 'ses9');
    const other = await appAndConsole('ses9', rp);
    const page = await sessionsPage(mine, 'ses9');
    const target = listed(page).find((row) => !row.current)!;
    const before = receiver.received.length;
    const results = await Promise.all([1, 2, 3].map(() => mine.submit(page, `li[data-session="${target.handle}"] form`)));
    expect(results.map((result) => expectPage(result).status).sort()).toEqual([200, 404, 404]);
    expect(receiver.received.length - before).toBe(1);
    expect(await gh.app.audit.list('ses9', { type: 'user.session_ended', limit: 5 })).toHaveLength(1);
    expect(await silently(other.browser, rp)).toBe('login_required');
  });
});
