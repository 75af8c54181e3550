import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PASSWORD_LENGTH } from '../../src/authn/password.js';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';

let gh: TestGatehouse;
beforeAll(async () => {
  gh = await startGatehouse();
});
afterAll(() => gh.stop());

const NEW_PASSWORD = 'violet kestrels under eleven moons';
const FORM = 'form[action$="/account/password"]';

/** Signs the console in, in `browser`: through the login page, or silently where the browser already has a session. */
async function consoleSignIn(browser: Browser, tenant: string, password = TEST_PASSWORD): Promise<void> {
  const page = expectPage(await browser.navigate(`/t/${tenant}/account/login`));
  if (page.$('form[action$="/password"]').length > 0) expectPage(await browser.submit(page, 'form[action$="/password"]', { username: 'alice', password }));
  expect(expectPage(await browser.navigate(`/t/${tenant}/account`)).$('h1').text()).toContain('Your account');
}

/** The console's password page, reached by its link on the front page. */
async function passwordPage(browser: Browser, tenant: string): Promise<Page> {
  const account = expectPage(await browser.navigate(`/t/${tenant}/account`));
  const href = account.$('a[href$="/account/password"]').attr('href');
  expect(href).toBe(`/t/${tenant}/account/password`);
  const page = expectPage(await browser.navigate(href!));
  expect(page.status).toBe(200);
  expect(page.$('input[name="current_password"]').attr('autocomplete')).toBe('current-password');
  expect(page.$('input[name="new_password"]').attr('autocomplete')).toBe('new-password');
  return page;
}

function change(browser: Browser, page: Page, current: string, next: string, confirm = next) {
  return browser.submit(page, FORM, { current_password: current, new_password: next, confirm_password: confirm });
}

async function signedInConsole(tenant: string): Promise<{ browser: Browser; seeded: SeededTenant }> {
  const seeded = await seedTenant(gh, tenant);
  const browser = new Browser(gh.origin);
  await consoleSignIn(browser, tenant);
  return { browser, seeded };
}

async function stillTheOldPassword(tenant: string, userId: string): Promise<void> {
  const user = await gh.app.users.findById(tenant, userId);
  expect((await gh.app.passwords.verify(user?.passwordHash, TEST_PASSWORD)).ok).toBe(true);
}

describe('account console: change password', () => {
  it('refuses wrong, weak, breached, too long and look-alike passwords with a field error, and changes nothing', async () => {
    const { browser, seeded } = await signedInConsole('pwc-bad');
    let page = await passwordPage(browser, 'pwc-bad');
    const cases: Array<[current: string, next: string, confirm: string, field: string, message: RegExp]> = [
      ['not my password', NEW_PASSWORD, NEW_PASSWORD, 'current_password', /not your current password/],
      ['', NEW_PASSWORD, NEW_PASSWORD, 'current_password', /not your current password/],
      [TEST_PASSWORD, 'short', 'short', 'new_password', /at least 8/],
      [TEST_PASSWORD, 'Password123!', 'Password123!', 'new_password', /most common .*choose another/],
      [TEST_PASSWORD, 'iloveyou', 'iloveyou', 'new_password', /most common/],
      [TEST_PASSWORD, 'k'.repeat(MAX_PASSWORD_LENGTH + 1), 'k'.repeat(MAX_PASSWORD_LENGTH + 1), 'new_password', /at most 1024/],
      [TEST_PASSWORD, 'Alice.Liddell1865', 'Alice.Liddell1865', 'new_password', /username, e-mail address or name/],
      [TEST_PASSWORD, TEST_PASSWORD, TEST_PASSWORD, 'new_password', /different from your current one/],
      [TEST_PASSWORD, NEW_PASSWORD, `${NEW_PASSWORD}!`, 'confirm_password', /do not match/],
      [TEST_PASSWORD, '<img>', '<img>', 'new_password', /at least 8/],
    ];
    for (const [current, next, confirm, field, message] of cases) {
      page = expectPage(await change(browser, page, current, next, confirm));
      expect(page.status, `${field}: ${next.slice(0, 40)}`).toBe(400);
      expect(page.$(`#${field}-error`).text()).toMatch(message);
      expect(page.$(`input[name="${field}"]`).attr('aria-invalid')).toBe('true');
      // Typed passwords are never echoed back into the page.
      if (next.length > 4) expect(page.html).not.toContain(next);
      if (current.length > 0) expect(page.html).not.toContain(current);
    }
    await stillTheOldPassword('pwc-bad', seeded.userId);
    expect(await gh.app.audit.list('pwc-bad', { type: 'user.password_changed', limit: 5 })).toEqual([]);
    // The two wrong current passwords are the owner's to see under "Recent activity".
    const failures = await gh.app.audit.list('pwc-bad', { type: 'user.sign_in_failed', limit: 5 });
    expect(failures.map((event) => event.details)).toEqual([0, 1].map(() => expect.objectContaining({ reason: 'wrong_current_password', via: 'account_console' })));
    const activity = expectPage(await browser.navigate('/t/pwc-bad/account/activity'));
    expect(activity.$('main').text()).toContain('Wrong password entered');
  });

  it('refuses missing fields, a missing or forged CSRF token, another Origin, hostile shapes and oversized bodies', async () => {
    const { browser, seeded } = await signedInConsole('pwc-form');
    const page = await passwordPage(browser, 'pwc-form');
    const csrf = page.$(`${FORM} input[name="csrf"]`).attr('value')!;
    const action = `/t/pwc-form/account/password`;
    const origin = { origin: gh.origin };
    const post = (form: Record<string, string>, headers: Record<string, string> = origin) => browser.request(action, { form, headers });
    const full = { csrf, current_password: TEST_PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD };
    for (const missing of ['current_password', 'new_password', 'confirm_password'] as const) {
      const { [missing]: _left, ...rest } = full;
      expect((await post(rest)).status, missing).toBe(400);
    }
    expect((await post({ ...full, csrf: '' })).status).toBe(403);
    expect((await post({ current_password: TEST_PASSWORD, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD })).status).toBe(403);
    expect((await post({ ...full, csrf: `${csrf}x` })).status).toBe(403);
    expect((await post(full, { origin: 'https://evil.example' })).status).toBe(403);
    // `a[b]=c`, repeated fields and operators are not strings: 400, never a crash.
    const raw = (body: string) =>
      fetch(`${gh.origin}${action}`, { method: 'POST', headers: { ...origin, cookie: browser.cookieHeader(new URL(`${gh.origin}${action}`)), 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(csrf)}&${body}` });
    const rest = `new_password=${encodeURIComponent(NEW_PASSWORD)}&confirm_password=${encodeURIComponent(NEW_PASSWORD)}`;
    for (const hostile of ['current_password=a&current_password=b', 'current_password[$ne]=x', 'current_password[]=x']) {
      expect((await raw(`${hostile}&${rest}`)).status, hostile).toBe(400);
    }
    expect((await post({ ...full, new_password: 'x'.repeat(70 * 1024) })).status).toBe(413);
    // Signed out: the form is not there, and a post changes nothing.
    const stranger = new Browser(gh.origin);
    expect((await stranger.request(action)).headers.get('location')).toBe('/t/pwc-form/account');
    expect((await stranger.request(action, { form: full, headers: origin })).status).toBe(302);
    await stillTheOldPassword('pwc-form', seeded.userId);
  });

  it('counts wrong current passwords against the sign-in throttle, also forty at once', async () => {
    const { browser, seeded } = await signedInConsole('pwc-burst');
    const page = await passwordPage(browser, 'pwc-burst');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => change(browser, page, `wrong guess ${i}`, NEW_PASSWORD)));
    const statuses = answers.map((answer) => expectPage(answer).status);
    // This browser's device budget (5 free, then growing delays) lets only a few reach argon2.
    expect(statuses.filter((status) => status === 400).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(30);
    const throttled = expectPage(answers.find((answer) => expectPage(answer).status === 429)!);
    expect(throttled.$('[role="alert"]').text()).toMatch(/Too many wrong passwords. Try again in/);
    expect(throttled.headers.get('retry-after')).toMatch(/^\d+$/);
    // The same budget as the sign-in: even the right password waits, here and at the login page of this browser.
    expect(expectPage(await change(browser, page, TEST_PASSWORD, NEW_PASSWORD)).status).toBe(429);
    const rp = await relyingParty(gh, 'pwc-burst', seeded.client.clientId, seeded.client.clientSecret);
    const login = expectPage(await browser.navigate(client.buildAuthorizationUrl(rp, { redirect_uri: seeded.client.redirectUri, scope: 'openid', prompt: 'login', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href));
    expect(expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD })).status).toBe(429);
    await stillTheOldPassword('pwc-burst', seeded.userId);
  });

  it('changes the password, ends the other sessions and their refresh tokens, and keeps this browser signed in', async () => {
    const seeded = await seedTenant(gh, 'pwc-ok');
    const rp = await relyingParty(gh, 'pwc-ok', seeded.client.clientId, seeded.client.clientSecret);
    const redirectUri = seeded.client.redirectUri;
    const signInApp = async (browser: Browser) => {
      const { callback, verifier, state } = await authorize(browser, rp, { redirectUri });
      return client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    };
    const silently = async (browser: Browser) => {
      const url = client.buildAuthorizationUrl(rp, { redirect_uri: redirectUri, scope: 'openid', prompt: 'none', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const back = new URL(expectRedirect(await browser.navigate(url.href, {}, redirectUri)));
      return back.searchParams.get('error') ?? (back.searchParams.get('code') ? 'code' : 'nothing');
    };

    // This browser: the app, then the console in the same provider session. Another browser: the app only.
    const mine = new Browser(gh.origin);
    const myTokens = await signInApp(mine);
    await consoleSignIn(mine, 'pwc-ok');
    const other = new Browser(gh.origin);
    const otherTokens = await signInApp(other);
    const otherConsole = new Browser(gh.origin);
    await consoleSignIn(otherConsole, 'pwc-ok');

    const done = expectPage(await change(mine, await passwordPage(mine, 'pwc-ok'), TEST_PASSWORD, NEW_PASSWORD));
    expect(done.status).toBe(200);
    expect(done.$('[role="status"]').text()).toContain('Your password is changed. 2 other sessions were signed out; this browser stays signed in.');

    // The other browser's session and its refresh token are gone; so is the other console.
    expect(await silently(other)).toBe('login_required');
    await expect(client.refreshTokenGrant(rp, otherTokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(expectPage(await otherConsole.navigate('/t/pwc-ok/account')).$('a[href$="/account/login"]')).toHaveLength(1);
    // This browser goes on: the console, the app's session and its refresh token.
    expect(expectPage(await mine.navigate('/t/pwc-ok/account')).$('h1').text()).toContain('Your account');
    expect(await silently(mine)).toBe('code');
    expect((await client.refreshTokenGrant(rp, myTokens.refresh_token!)).access_token).toBeTruthy();

    // The new password signs in; the old one no longer does.
    const user = await gh.app.users.findById('pwc-ok', seeded.userId);
    expect((await gh.app.passwords.verify(user?.passwordHash, NEW_PASSWORD)).ok).toBe(true);
    expect((await gh.app.passwords.verify(user?.passwordHash, TEST_PASSWORD)).ok).toBe(false);
    // Two sessions (the other browser's app, the other console) and their two grants; this browser's grants stay.
    const [event] = await gh.app.audit.list('pwc-ok', { type: 'user.password_changed', limit: 5 });
    expect(event).toMatchObject({ actor: { type: 'user', id: seeded.userId }, target: { type: 'user', id: seeded.userId }, details: { via: 'account_console', sessions_ended: 2, grants_revoked: 2 } });
    expect(JSON.stringify(event)).not.toContain(NEW_PASSWORD);
    const fresh = new Browser(gh.origin);
    await consoleSignIn(fresh, 'pwc-ok', NEW_PASSWORD);

    // The old password cannot be used on the form again either.
    const again = expectPage(await change(mine, await passwordPage(mine, 'pwc-ok'), TEST_PASSWORD, 'another fine passphrase here'));
    expect(again.status).toBe(400);
    expect(again.$('#current_password-error').text()).toContain('not your current password');
  });

  it('lets one of two parallel changes with the same current password win', async () => {
    const { browser, seeded } = await signedInConsole('pwc-race');
    const page = await passwordPage(browser, 'pwc-race');
    const answers = await Promise.all(['first new passphrase here', 'second new passphrase here'].map((next) => change(browser, page, TEST_PASSWORD, next)));
    const statuses = answers.map((answer) => expectPage(answer).status).sort();
    expect(statuses).toEqual([200, 409]);
    expect(await gh.app.audit.list('pwc-race', { type: 'user.password_changed', limit: 5 })).toHaveLength(1);
    const user = await gh.app.users.findById('pwc-race', seeded.userId);
    const results = await Promise.all(['first new passphrase here', 'second new passphrase here'].map(async (next) => (await gh.app.passwords.verify(user?.passwordHash, next)).ok));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
