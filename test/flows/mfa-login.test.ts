/**
 * Sign-in with a second factor over real HTTP: password + TOTP (codes computed in the test from the
 * enrolled secret), step-up of a password session, recovery codes, enrolment inside the login when
 * the tenant requires MFA, a client minimum, and the bad input of issue 9 (wrong, replayed, raced
 * and throttled codes; a factor step posted before the password).
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, openLoginPage, relyingParty } from '../helpers/login.js';
import { totpCode } from '../helpers/totp.js';

let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
let root: string;
let users = 0;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  root = await adminToken(gh);
  // The test client skips consent, so every login ends at the redirect URI.
  expect((await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', { first_party: true })).status).toBe(200);
});
afterAll(() => gh.stop());

/** A user of `tenant` with the test password, and (unless `totp: false`) an authenticator enrolled through the factor API. */
async function newUser(tenant = 'acme', { totp = true } = {}) {
  users += 1;
  const username = `user${users}`;
  const user = await gh.app.users.create(tenant, { username, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
  if (!totp) return { username, userId: user._id, secret: '' };
  const { enrollmentId, secret } = await gh.app.mfa.totp.startEnrollment(tenant, user._id);
  // Confirmed with the previous step's code (still accepted), so the current step's code signs in.
  await gh.app.mfa.totp.confirmEnrollment(tenant, user._id, enrollmentId, totpCode(secret, -1));
  return { username, userId: user._id, secret };
}

/** Opens an authorization request and signs in with the password: the page that follows (the TOTP page), or the redirect. */
async function afterPassword(username: string, extra: Record<string, string> = {}, config = rp, browser = new Browser(gh.origin)) {
  const login = await openLoginPage(browser, config, acme.client.redirectUri, { state: 'st', ...extra });
  const next = await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }, acme.client.redirectUri);
  return { browser, next };
}

const submitCode = (browser: Browser, page: Page, step: string, code: string) => browser.submit(page, `form[action$="/${step}"]`, { code }, acme.client.redirectUri);

/** The ID token claims of a full login that ends at `callback` (a fresh PKCE pair is not needed: the helper's verifier is read from the request). */
async function idTokenOf(username: string, secret: string, extra: Record<string, string> = {}) {
  const browser = new Browser(gh.origin);
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', ...extra });
  const login = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
  const totpPage = expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }, acme.client.redirectUri));
  const callback = expectRedirect(await submitCode(browser, totpPage, 'totp', totpCode(secret)));
  const tokens = await client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'st' });
  return { browser, claims: tokens.claims()! };
}

describe('password + TOTP', () => {
  it('asks for the code after the password and issues acr multi-factor with amr pwd, otp, mfa', async () => {
    const { username, secret, userId } = await newUser();
    const { next } = await afterPassword(username);
    const page = expectPage(next);
    expect(page.$('h1').text()).toContain('Enter your code');
    const field = page.$('input[name="code"]');
    expect(field.attr('autocomplete')).toBe('one-time-code');
    expect(page.$(`label[for="code"]`).length).toBe(1);
    expect(page.$('input[name="password"]').length).toBe(0);

    const { claims } = await idTokenOf(username, secret);
    expect(claims).toMatchObject({ sub: userId, acr: ACR.multiFactor, amr: ['pwd', 'otp', 'mfa'] });
  });

  it('refuses a wrong code with an error tied to the field, then accepts the right one', async () => {
    const { username, secret } = await newUser();
    const { browser, next } = await afterPassword(username);
    const wrongCode = totpCode(secret) === '000000' ? '111111' : '000000';
    const wrong = expectPage(await submitCode(browser, expectPage(next), 'totp', wrongCode));
    expect(wrong.status).toBe(401);
    expect(wrong.$('#code').attr('aria-invalid')).toBe('true');
    expect(wrong.$('#code').attr('aria-describedby')).toContain('code-error');
    expect(wrong.$('#code-error').text()).toContain('not valid');
    // Five failures in all, within the free ones (the throttle test goes past them).
    for (const bad of ['x'.repeat(64), '1234567']) {
      expect(expectPage(await submitCode(browser, wrong, 'totp', bad)).status, bad).toBe(401);
    }
    if (totpCode(secret, -2) !== totpCode(secret)) {
      // A code of two steps ago is outside the window (the current step and the one before).
      expect(expectPage(await submitCode(browser, wrong, 'totp', totpCode(secret, -2))).status).toBe(401);
    }
    const oversized = expectPage(await submitCode(browser, wrong, 'totp', '1'.repeat(65)));
    expect(oversized.status).toBe(400);
    expect(new URL(expectRedirect(await submitCode(browser, wrong, 'totp', totpCode(secret)))).searchParams.get('code')).toBeTruthy();
  });

  it('accepts a code once: the same code in a second login fails', async () => {
    const { username, secret } = await newUser();
    const code = totpCode(secret);
    const first = await afterPassword(username);
    expectRedirect(await submitCode(first.browser, expectPage(first.next), 'totp', code));
    const second = await afterPassword(username);
    expect(expectPage(await submitCode(second.browser, expectPage(second.next), 'totp', code)).status).toBe(401);
  });

  it('of 10 parallel posts of one code, at most one signs in', async () => {
    const { username, secret } = await newUser();
    const pages = await Promise.all(Array.from({ length: 10 }, () => afterPassword(username)));
    const code = totpCode(secret);
    const results = await Promise.all(pages.map(({ browser, next }) => submitCode(browser, expectPage(next), 'totp', code)));
    const signedIn = results.filter((result) => 'redirectedTo' in result);
    const statuses = results.filter((result) => !('redirectedTo' in result)).map((result) => expectPage(result).status);
    expect(signedIn.length).toBeLessThanOrEqual(1);
    // None of these browsers is a known device: they share the account's budget, which checks at
    // most 5 codes at once (the rest are 429). Of those checked at the same moment, one at most wins.
    expect(statuses.every((status) => status === 401 || status === 429), String(statuses)).toBe(true);
    expect(signedIn.length + statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses the TOTP step posted before the password step', async () => {
    const { username, secret } = await newUser();
    const browser = new Browser(gh.origin);
    const login = await openLoginPage(browser, rp, acme.client.redirectUri);
    const csrf = login.$('input[name="csrf"]').attr('value')!;
    const early = await browser.request(`${login.url}/totp`, { form: { csrf, code: totpCode(secret) }, headers: { origin: gh.origin } });
    expect(early.status).toBe(400);
    expect(await early.text()).toContain('not the one your sign-in needs now');
    // Nothing was recorded: the password page is still what the interaction shows.
    expect(expectPage(await browser.navigate(login.url)).$('input[name="password"]').length).toBe(1);
    expect(username).toBeTruthy();
  });

  it('throttles wrong codes per account: past the free failures even the right code is refused (429)', async () => {
    const { username, secret } = await newUser();
    const { browser, next } = await afterPassword(username);
    let page = expectPage(next);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      page = expectPage(await submitCode(browser, page, 'totp', totpCode(secret) === '000000' ? '111111' : '000000'));
      statuses.push(page.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses).toContain(429);
    const right = expectPage(await submitCode(browser, page, 'totp', totpCode(secret)));
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toMatch(/^[0-9]+$/);
    expect(right.$('#code-error').text()).toContain('Too many');
  });
});

describe('a password an admin set to be changed', () => {
  it('is changed only after the second factor, and the change does not drop the factor', async () => {
    const { username, userId, secret } = await newUser();
    await gh.app.users.setPassword('acme', userId, await gh.app.passwords.hash(TEST_PASSWORD), true);
    const { browser, next } = await afterPassword(username);
    const totpPage = expectPage(next);
    expect(totpPage.$('h1').text()).toContain('Enter your code');
    const change = expectPage(await submitCode(browser, totpPage, 'totp', totpCode(secret)));
    expect(change.$('h1').text()).toContain('Choose a new password');
    const done = await browser.submit(change, 'form[action$="/change-password"]', { new_password: 'a brand new passphrase', confirm_password: 'a brand new passphrase' }, acme.client.redirectUri);
    expect(new URL(expectRedirect(done)).searchParams.get('code')).toBeTruthy();
    expect((await gh.app.mfa.factors.list('acme', userId)).map((factor) => factor.type)).toEqual(['totp']);
  });
});

describe('wrong-code budgets', () => {
  it("a browser that only knows the password never gets a budget of its own; the owner's known browser keeps one", async () => {
    const { username, secret } = await newUser();
    // The owner signs in fully once: this browser is a known device of the account from then on.
    const owner = await idTokenOf(username, secret);
    const wrongCode = () => (totpCode(secret) === '000000' ? '111111' : '000000');
    const guesses = async (count: number, browser = new Browser(gh.origin), extra: Record<string, string> = {}) => {
      const { next } = await afterPassword(username, extra, rp, browser);
      let page = expectPage(next);
      const statuses: number[] = [];
      for (let attempt = 0; attempt < count; attempt += 1) {
        page = expectPage(await submitCode(browser, page, 'totp', wrongCode()));
        statuses.push(page.status);
      }
      return statuses;
    };
    // Someone with the password, in a fresh browser: the account's budget runs out...
    expect(await guesses(6)).toEqual([401, 401, 401, 401, 401, 429]);
    // ...and typing the password again in another fresh browser does not buy a new one.
    expect(await guesses(1)).toEqual([429]);
    // The owner's browser is charged to its own budget: its code is still checked (401, not 429).
    expect(await guesses(1, owner.browser, { prompt: 'login' })).toEqual([401]);
  });
});

describe('recovery codes', () => {
  it('are offered from the TOTP page, sign in with amr pwd, rec, mfa, and work once each', async () => {
    const { username, userId } = await newUser();
    const codes = await gh.app.mfa.recoveryCodes.generate('acme', userId);
    const { browser, next } = await afterPassword(username);
    const totpPage = expectPage(next);
    const link = totpPage.$('a').filter((_, a) => totpPage.$(a).text().includes('recovery code'));
    expect(link.length).toBe(1);
    const recoveryPage = expectPage(await browser.navigate(new URL(link.attr('href')!, totpPage.url).href));
    expect(recoveryPage.$('h1').text()).toContain('recovery code');
    expect(recoveryPage.$('#code').attr('autocomplete')).toBe('one-time-code');
    const callback = expectRedirect(await submitCode(browser, recoveryPage, 'recovery-code', codes[0]!.toLowerCase()));
    expect(new URL(callback).searchParams.get('code')).toBeTruthy();

    const again = await afterPassword(username);
    const page = expectPage(await again.browser.navigate(`${expectPage(again.next).url.replace(/\/(totp|password)$/, '')}/recovery-code`));
    const reused = expectPage(await submitCode(again.browser, page, 'recovery-code', codes[0]!));
    expect(reused.status).toBe(401);
    const events = await call(gh, root, 'GET', '/tenants/acme/audit-events?type=mfa.recovery_code_used');
    expect(events.body.items!.some((event) => (event['target'] as { id: string }).id === userId)).toBe(true);
  });
});

describe('step-up', () => {
  it('asks a password session only for the missing factor, and never lets the password alone satisfy multi-factor', async () => {
    const { username, userId } = await newUser('acme', { totp: false });
    const browser = new Browser(gh.origin);
    const first = await authorize(browser, rp, { redirectUri: acme.client.redirectUri, scope: 'openid', username, extra: { prompt: 'login' } });
    expect(first.callback.searchParams.get('code')).toBeTruthy();
    // The user enrols an authenticator afterwards; the session stays password-only.
    const { enrollmentId, secret } = await gh.app.mfa.totp.startEnrollment('acme', userId);
    await gh.app.mfa.totp.confirmEnrollment('acme', userId, enrollmentId, totpCode(secret, -1));

    const none = await browser.navigate(client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', prompt: 'none', acr_values: ACR.multiFactor }).href, {}, acme.client.redirectUri);
    expect(new URL(expectRedirect(none)).searchParams.get('error')).toBe('interaction_required');

    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'up', acr_values: ACR.multiFactor });
    const stepUp = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
    expect(stepUp.$('h1').text()).toContain('Enter your code');
    expect(stepUp.$('input[name="password"]').length).toBe(0);
    // The password step is not what this interaction accepts.
    const csrf = stepUp.$('input[name="csrf"]').attr('value')!;
    const base = stepUp.url.replace(/\/totp$/, '');
    expect((await browser.request(`${base}/password`, { form: { csrf, username, password: TEST_PASSWORD }, headers: { origin: gh.origin } })).status).toBe(400);

    const callback = expectRedirect(await submitCode(browser, stepUp, 'totp', totpCode(secret)));
    const tokens = await client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'up' });
    expect(tokens.claims()).toMatchObject({ sub: userId, acr: ACR.multiFactor, amr: ['pwd', 'otp', 'mfa'] });

    // Now the session meets the request: no page at all.
    const silent = await browser.navigate(client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', prompt: 'none', acr_values: ACR.multiFactor }).href, {}, acme.client.redirectUri);
    expect(new URL(expectRedirect(silent)).searchParams.get('code')).toBeTruthy();
  });
});

describe('a client minimum', () => {
  it('cannot be lowered by acr_values: the TOTP page follows the password and the ID token says multi-factor', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'mfa-app', client_name: 'MFA App', redirect_uris: [acme.client.redirectUri], first_party: true, minimum_acr: ACR.multiFactor });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const strict = await relyingParty(gh, 'acme', 'mfa-app', String(created.body['client_secret']));
    const { username, secret } = await newUser();
    const { browser, next } = await afterPassword(username, { acr_values: ACR.singleFactor }, strict);
    const page = expectPage(next);
    expect(page.$('h1').text()).toContain('Enter your code');
    const callback = new URL(expectRedirect(await submitCode(browser, page, 'totp', totpCode(secret))));
    expect(callback.searchParams.get('code')).toBeTruthy();
  });
});

describe('tenant policy required', () => {
  it('walks a user without a factor through enrolment inside the login, audited, then finishes multi-factor', async () => {
    const strict = await seedTenant(gh, 'strict');
    expect((await call(gh, root, 'PATCH', '/tenants/strict', { security_policy: { mfa: 'required' } })).status).toBe(200);
    expect((await call(gh, root, 'PATCH', '/tenants/strict/clients/web-app', { first_party: true })).status).toBe(200);
    const strictRp = await relyingParty(gh, 'strict', 'web-app', strict.client.clientSecret);
    const browser = new Browser(gh.origin);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(strictRp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'en' });
    const login = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
    const enroll = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, acme.client.redirectUri));
    expect(enroll.$('h1').text()).toContain('Set up an authenticator app');
    expect(enroll.$('img').attr('src')).toMatch(/^data:image\/png;base64,/);
    const key = enroll.$('#totp-key').text().trim();
    expect(key).toMatch(/^[A-Z2-7]{32,}$/);
    // The interaction (short-lived state) keeps the pending key only sealed.
    const uid = /\/interaction\/([^/]+)/.exec(enroll.url)![1]!;
    const stored = await (await gh.gatehouse.pool.get('strict'))!.provider.Interaction.find(uid);
    expect(JSON.stringify(stored)).toContain('enrollment');
    expect(JSON.stringify(stored)).not.toContain(key);

    const wrong = expectPage(await submitCode(browser, enroll, 'enroll-totp', totpCode(key) === '000000' ? '111111' : '000000'));
    expect(wrong.status).toBe(400);
    expect(wrong.$('#code-error').text()).toContain('not valid');
    expect(wrong.$('#totp-key').text().trim()).toBe(key);
    expect(await gh.app.mfa.factors.list('strict', (await gh.app.users.findByIdentifier('strict', 'alice'))!._id)).toEqual([]);

    const callback = expectRedirect(await submitCode(browser, wrong, 'enroll-totp', totpCode(key)));
    const tokens = await client.authorizationCodeGrant(strictRp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'en' });
    expect(tokens.claims()).toMatchObject({ acr: ACR.multiFactor, amr: ['pwd', 'otp', 'mfa'] });
    const events = await call(gh, root, 'GET', '/tenants/strict/audit-events?type=mfa.factor_enrolled');
    expect(events.body.items!.length).toBe(1);
  });
});
