import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/app-context.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { startMailingGatehouse } from '../helpers/email-gatehouse.js';
import { seedTenant, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { codeIn, linkIn, startMailServer, type MailServer } from '../helpers/mail-server.js';

let gh: TestGatehouse;
let mail: MailServer;
let root: string;
let acme: SeededTenant;
let rp: client.Configuration;

const PASSWORD = 'a fresh and long passphrase';

beforeAll(async () => {
  mail = await startMailServer();
  gh = await startMailingGatehouse(mail, undefined, { bootstrap: BOOTSTRAP });
  root = await adminToken(gh);
  acme = await seedTenant(gh, 'acme');
  // The default wherever e-mail is asked: the address is verified before the first sign-in finishes.
  const set = await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { registration: { enabled: true, fields: { email: 'required', name: 'optional' } } } });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  expect((set.body as { security_policy: { registration: { verify_email: boolean } } }).security_policy.registration.verify_email).toBe(true);
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
});
afterAll(async () => {
  await gh?.stop();
  await mail?.close();
});

async function signUpPage(browser: Browser) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: acme.client.redirectUri,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    prompt: 'create',
  });
  return { page: expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri)), verifier, state };
}

/** Submits the sign-up form; returns the raw answer (status and Location) and the page it leads to. */
async function signUp(browser: Browser, page: Page, email: string) {
  const action = new URL(page.$('form[action$="/sign-up"]').attr('action')!, gh.origin).href;
  const form = { csrf: page.$('form[action$="/sign-up"] input[name=csrf]').attr('value')!, email, name: '', password: PASSWORD, confirm_password: PASSWORD };
  const started = performance.now();
  const answer = await browser.request(action, { form, headers: { origin: gh.origin } });
  const elapsedMs = performance.now() - started;
  const location = answer.headers.get('location');
  await answer.arrayBuffer();
  const next = location ? expectPage(await browser.navigate(new URL(location, action).href, {}, acme.client.redirectUri)) : undefined;
  return { status: answer.status, location: location && new URL(location, action).pathname.replace(/\/interaction\/[^/]+/, '/interaction/{uid}'), next, elapsedMs };
}

describe('sign-up with e-mail verification', () => {
  it('a new account confirms its address with the mailed code before the login finishes; the relying party gets email_verified', async () => {
    const browser = new Browser(gh.origin);
    const { page, verifier, state } = await signUpPage(browser);
    const { next } = await signUp(browser, page, 'new.person@example.com');
    expect(next!.$('h1').text()).toBe('Confirm your e-mail address');
    expect(next!.$('main').text()).toContain('n••••••••@example.com');
    const received = await mail.next((candidate) => candidate.to.includes('new.person@example.com'));
    const user = await gh.app.users.findByIdentifier('acme', 'new.person@example.com');
    expect(user).toMatchObject({ emailVerified: false, verifyEmailFirst: true });

    // A wrong code is said so and changes nothing; the right one goes on to consent.
    const wrong = expectPage(await browser.submit(next!, 'form[action$="/verify-email"]', { code: '000000' === codeIn(received.text) ? '111111' : '000000' }));
    expect(wrong.status).toBe(400);
    expect(wrong.$('#code-error').text()).toMatch(/not right/);
    const consent = expectPage(await browser.submit(wrong, 'form[action$="/verify-email"]', { code: codeIn(received.text) }));
    const callback = new URL(expectRedirect(await browser.submit(consent, 'form[action$="/consent"]', {}, acme.client.redirectUri)));
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ sub: user!._id, email: 'new.person@example.com', email_verified: true });
  });

  it('the mail’s link works too: a scanner’s GET uses nothing, the user’s POST confirms, and the sign-in page continues', async () => {
    const browser = new Browser(gh.origin);
    const { page } = await signUpPage(browser);
    const { next } = await signUp(browser, page, 'link.person@example.com');
    const received = await mail.next((candidate) => candidate.to.includes('link.person@example.com'));
    const link = linkIn(received.text, `${gh.issuer('acme')}/account/email/confirm?token=`);
    // Until then, "continue" stays on the code page: the login cannot finish unverified.
    const stillThere = expectPage(await browser.navigate(new URL(next!.$('a:contains("continue")').attr('href')!, gh.origin).href));
    expect(stillThere.$('h1').text()).toBe('Confirm your e-mail address');
    const scanner = new Browser(gh.origin);
    const shown = expectPage(await scanner.navigate(link));
    expect(shown.status).toBe(200);
    expect((await gh.app.users.findByIdentifier('acme', 'link.person@example.com'))?.emailVerified).toBe(false);
    // The person opens it on another device and confirms.
    const phone = new Browser(gh.origin);
    const confirmPage = expectPage(await phone.navigate(link));
    const confirmed = expectPage(await phone.submit(confirmPage, 'form'));
    expect(confirmed.status).toBe(200);
    expect((await gh.app.users.findByIdentifier('acme', 'link.person@example.com'))?.emailVerified).toBe(true);
    const after = expectPage(await browser.navigate(new URL(next!.$('a:contains("continue")').attr('href')!, gh.origin).href));
    expect(after.$('form[action$="/consent"]')).toHaveLength(1);
  });

  it('a sign-up with a registered address gets the same answer as a new one, creates nothing, no code works, and the owner is mailed instead', async () => {
    const fresh = new Browser(gh.origin);
    const duplicate = new Browser(gh.origin);
    const before = (await gh.app.users.list('acme', { limit: 100 })).length;
    const newOne = await signUp(fresh, (await signUpPage(fresh)).page, 'fresh.address@example.com');
    const taken = await signUp(duplicate, (await signUpPage(duplicate)).page, 'Alice@Example.com');
    // The same status and the same place, and pages that differ only by the masked address.
    expect(taken.status).toBe(newOne.status);
    expect(taken.location).toBe(newOne.location);
    const text = (page: Page) => page.$('main').text().replace(/\s+/g, ' ').replace(/[a-z]•+@example\.com/, 'ADDRESS');
    expect(text(taken.next!)).toBe(text(newOne.next!));
    expect((await gh.app.users.list('acme', { limit: 100 })).length).toBe(before + 1);
    const notice = await mail.next((candidate) => candidate.to.includes('alice@example.com'));
    expect(notice.subject).toMatch(/tried to sign up/);
    // Its links lead to real pages: signing in, and the forgotten-password form.
    const resetLink = linkIn(notice.text, `${gh.issuer('acme')}/account/password-reset`);
    const resetPage = expectPage(await new Browser(gh.origin).navigate(resetLink));
    expect(resetPage.status).toBe(200);
    expect(resetPage.$('h1').text()).toMatch(/Reset your password/i);
    const signInPage = expectPage(await new Browser(gh.origin).navigate(linkIn(notice.text, `${gh.issuer('acme')}/account`)));
    expect(signInPage.status).toBe(200);
    // No code opens the decoy; a resend looks the same as a real one.
    const wrong = expectPage(await duplicate.submit(taken.next!, 'form[action$="/verify-email"]', { code: '123456' }));
    expect(wrong.status).toBe(400);
    expect(wrong.$('#code-error').text()).toMatch(/not right/);
    const resend = expectPage(await duplicate.submit(wrong, 'form[action$="/verify-email"]:has(input[name=resend])'));
    expect(resend.$('[role=status]').text()).toMatch(/sent a new code/);
    // alice's own account is untouched.
    expect((await gh.app.users.findByIdentifier('acme', 'alice'))?.email).toBe('alice@example.com');
  });

  it('too many wrong codes kill the code; parallel wrong guesses cannot pass the cap; a new code works', async () => {
    const browser = new Browser(gh.origin);
    const { next } = await signUp(browser, (await signUpPage(browser)).page, 'guesser@example.com');
    const first = await mail.next((candidate) => candidate.to.includes('guesser@example.com'));
    const right = codeIn(first.text);
    const wrongCodes = Array.from({ length: 12 }, (_, index) => String((Number(right) + index + 1) % 1_000_000).padStart(6, '0'));
    const answers = await Promise.all(wrongCodes.map((code) => browser.submit(next!, 'form[action$="/verify-email"]', { code })));
    expect(answers.every((answer) => !('redirectedTo' in answer) && answer.status === 400)).toBe(true);
    // Even the right code is dead now.
    const dead = expectPage(await browser.submit(next!, 'form[action$="/verify-email"]', { code: right }));
    expect(dead.status).toBe(400);
    expect(dead.$('#code-error').text()).toMatch(/Too many wrong codes|not right/);
    const resent = expectPage(await browser.submit(dead, 'form[action$="/verify-email"]:has(input[name=resend])'));
    expect(resent.$('[role=status]').text()).toMatch(/sent a new code/);
    const second = await mail.next((candidate) => candidate.to.includes('guesser@example.com') && codeIn(candidate.text) !== right);
    const consent = expectPage(await browser.submit(resent, 'form[action$="/verify-email"]', { code: codeIn(second.text) }));
    expect(consent.$('form[action$="/consent"]')).toHaveLength(1);
  });

  it('an unverified account that signs in later is asked for its code again before the login finishes', async () => {
    const browser = new Browser(gh.origin);
    await signUp(browser, (await signUpPage(browser)).page, 'later@example.com');
    await mail.next((candidate) => candidate.to.includes('later@example.com'));
    const other = new Browser(gh.origin);
    const url = client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const login = expectPage(await other.navigate(url.href, {}, acme.client.redirectUri));
    const next = expectPage(await other.submit(login, 'form[action$="/password"]', { username: 'later@example.com', password: PASSWORD }));
    expect(next.$('h1').text()).toBe('Confirm your e-mail address');
  });
});

describe('the admin API', () => {
  it('refuses e-mail verification (409) where no e-mail sender is configured, and accepts it off', async () => {
    const { assertRegistrationPossible } = await import('../../src/admin/routes/tenants.js');
    const config = gh.app.config;
    const without = { app: { config: { ...config, messaging: { ...config.messaging, email: { ...config.messaging.email, sender: undefined } } } } as unknown as AppContext };
    expect(() => assertRegistrationPossible(without, { enabled: true, fields: { email: 'required' } })).toThrow(/verify_email needs an e-mail sender/);
    expect(() => assertRegistrationPossible(without, { enabled: true, fields: { email: 'required' }, verify_email: false })).not.toThrow();
    expect(() => assertRegistrationPossible(gh, { enabled: true, fields: { email: 'required' } })).not.toThrow();
  });
});
