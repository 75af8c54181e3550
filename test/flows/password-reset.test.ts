import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { consoleSteps } from '../helpers/account-console.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { mailingSuite } from '../helpers/email-gatehouse.js';
import { seedTenant, TEST_PASSWORD } from '../helpers/gatehouse.js';
import { authorize, openLoginPage, relyingParty } from '../helpers/login.js';
import { linkIn, type ReceivedMail } from '../helpers/mail-server.js';
import { solvedChallenge, widgetChallengeUrl } from '../helpers/proof-of-work.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import { totpCode } from '../helpers/totp.js';

const suite = mailingSuite();
const steps = consoleSteps(() => suite.gh);
const NEW_PASSWORD = 'a brand new passphrase 42';

/** Whether `password` signs alice of `tenant` in (through the real login page). */
async function signsIn(tenant: string, password: string): Promise<boolean> {
  const rp = await relyingParty(suite.gh, tenant, 'spa');
  const browser = new Browser(suite.gh.origin);
  const login = await openLoginPage(browser, rp, 'http://127.0.0.1:9/callback');
  const after = await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password }, 'http://127.0.0.1:9/callback');
  return !('html' in after) || !after.$('form[action$="/password"]').length;
}

/** Asks for a reset from the login page's link and answers the page shown after. */
async function askForReset(tenant: string, identifier: string, browser = new Browser(suite.gh.origin)): Promise<Page> {
  const rp = await relyingParty(suite.gh, tenant, 'spa');
  const login = await openLoginPage(browser, rp, 'http://127.0.0.1:9/callback');
  const href = login.$('a:contains("Forgot password?")').attr('href');
  expect(href).toBe(`/t/${tenant}/account/password-reset`);
  const form = expectPage(await browser.navigate(href!));
  return expectPage(await browser.submit(form, 'form[action$="/password-reset"]', { identifier }));
}

async function resetMail(tenant: string, to = 'alice@example.com'): Promise<{ received: ReceivedMail; link: string }> {
  await suite.gh.app.background.idle(5000);
  const received = await suite.mail.next((candidate) => candidate.to.includes(to) && candidate.subject.includes(`Tenant ${tenant} password`));
  return { received, link: linkIn(received.text, `${suite.gh.issuer(tenant)}/account/password-reset/confirm?token=`) };
}

const mailsFor = (tenant: string) => suite.mail.mails.filter((candidate) => candidate.subject === `Reset your Tenant ${tenant} password`);

describe('forgot password', () => {
  it('from the login page: a mailed single-use link; scanners’ GETs use nothing; the new password works, the old does not, sessions and refresh tokens end, the user is told', async () => {
    const acme = await seedTenant(suite.gh, 'pr-journey');
    const rp = await relyingParty(suite.gh, 'pr-journey', acme.client.clientId, acme.client.clientSecret);
    const signedIn = new Browser(suite.gh.origin);
    const result = await authorize(signedIn, rp, { redirectUri: acme.client.redirectUri });
    const tokens = await client.authorizationCodeGrant(rp, result.callback, { pkceCodeVerifier: result.verifier, expectedState: result.state });
    expect(tokens.refresh_token).toBeTruthy();

    const sent = await askForReset('pr-journey', 'alice');
    expect(sent.status).toBe(200);
    expect(sent.$('[role="status"]').text()).toContain('If an account of Tenant pr-journey has this username or address');
    const { link } = await resetMail('pr-journey');

    const scanner = new Browser(suite.gh.origin);
    expect(expectPage(await scanner.navigate(link)).status).toBe(200);
    expect(expectPage(await scanner.navigate(link)).status).toBe(200);

    const browser = new Browser(suite.gh.origin);
    const form = expectPage(await browser.navigate(link));
    expect(form.$('input[name="code"]').length).toBe(0);
    const done = expectPage(await browser.submit(form, 'form[action$="/password-reset/confirm"]', { new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD }));
    expect(done.status).toBe(200);
    expect(done.$('main').text()).toContain('Your new password is set');

    expect(await signsIn('pr-journey', TEST_PASSWORD)).toBe(false);
    expect(await signsIn('pr-journey', NEW_PASSWORD)).toBe(true);
    await expect(client.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const [event] = await suite.gh.app.audit.list('pr-journey', { type: 'user.password_reset', limit: 5 });
    expect(event?.details).toMatchObject({ second_factor: false });
    expect((event?.details as { grants: number }).grants).toBeGreaterThanOrEqual(1);
    expect(await suite.gh.app.audit.list('pr-journey', { type: 'user.password_reset_requested', limit: 5 })).toHaveLength(1);
    const told = await suite.mail.next((candidate) => candidate.to.includes('alice@example.com') && candidate.subject === 'Your Tenant pr-journey password was reset');
    expect(told.text).toContain('every device signed in to it was signed out');

    // Used: neither its page nor its POST works again.
    expect(expectPage(await browser.navigate(link)).status).toBe(400);
    expect(expectPage(await browser.submit(form, 'form[action$="/password-reset/confirm"]', { new_password: 'yet another passphrase', confirm_password: 'yet another passphrase' })).status).toBe(400);
    expect(await signsIn('pr-journey', NEW_PASSWORD)).toBe(true);
  });

  it('an unknown username or address gets the same answer, as fast, and no mail', async () => {
    await seedTenant(suite.gh, 'pr-unknown');
    // Only the POST is timed: the form is opened first (discovery and the login page are not the answer).
    const timed = async (identifier: string) => {
      const browser = new Browser(suite.gh.origin);
      const form = expectPage(await browser.navigate('/t/pr-unknown/account/password-reset'));
      const started = performance.now();
      const page = expectPage(await browser.submit(form, 'form[action$="/password-reset"]', { identifier }));
      return { page, ms: performance.now() - started };
    };
    await timed('warm-up@example.com');
    const known = await timed('alice@example.com');
    const unknown = await timed('nobody@example.com');
    expect(unknown.page.status).toBe(known.page.status);
    expect(unknown.page.$('main').text()).toBe(known.page.$('main').text());
    expect(Math.abs(unknown.ms - known.ms)).toBeLessThan(500);
    await suite.gh.app.background.idle(5000);
    expect(suite.mail.to('nobody@example.com')).toHaveLength(0);
    expect(mailsFor('pr-unknown')).toHaveLength(1);
  });

  it('floods: twenty parallel requests for one address mail at most three; other identifiers of the account add at most two more', async () => {
    await seedTenant(suite.gh, 'pr-flood');
    const rp = await relyingParty(suite.gh, 'pr-flood', 'spa');
    const pages = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const browser = new Browser(suite.gh.origin);
        await openLoginPage(browser, rp, 'http://127.0.0.1:9/callback');
        return { browser, form: expectPage(await browser.navigate('/t/pr-flood/account/password-reset')) };
      }),
    );
    const answers = await Promise.all(pages.map(({ browser, form }) => browser.submit(form, 'form[action$="/password-reset"]', { identifier: 'alice@example.com' })));
    const statuses = answers.map((answer) => expectPage(answer).status);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(17);
    // The username is another identifier of the same account: the account's own budget (5) holds.
    for (let i = 0; i < 3; i++) await askForReset('pr-flood', 'alice');
    await suite.gh.app.background.idle(5000);
    expect(mailsFor('pr-flood').length).toBeLessThanOrEqual(5);
  });

  it('refuses tampered, expired and other-tenant links, and a link older than the current password', async () => {
    await seedTenant(suite.gh, 'pr-links');
    const other = await seedTenant(suite.gh, 'pr-links-b');
    await askForReset('pr-links', 'alice');
    const { link } = await resetMail('pr-links');
    const token = new URL(link).searchParams.get('token')!;
    const browser = new Browser(suite.gh.origin);
    for (const bad of [`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, token.slice(1), 'x'.repeat(3000), '']) {
      expect(expectPage(await browser.navigate(`${suite.gh.issuer('pr-links')}/account/password-reset/confirm?token=${encodeURIComponent(bad)}`)).status).toBe(400);
    }
    expect(expectPage(await browser.navigate(`${suite.gh.issuer('pr-links-b')}/account/password-reset/confirm?token=${token}`)).status).toBe(400);
    expect(other.userId).toBeTruthy();

    // Expired after 30 minutes (the app clock).
    const form = expectPage(await browser.navigate(link));
    suite.offset += 31 * 60 * 1000;
    expect(expectPage(await browser.submit(form, 'form[action$="/password-reset/confirm"]', { new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD })).status).toBe(400);
    suite.offset = 0;
    expect(await signsIn('pr-links', TEST_PASSWORD)).toBe(true);

    // A link mailed before the password changed another way is dead.
    await askForReset('pr-links', 'alice');
    const second = await resetMail('pr-links');
    const user = (await suite.gh.app.users.findByIdentifier('pr-links', 'alice'))!;
    await suite.gh.app.users.setPassword('pr-links', user._id, await suite.gh.app.passwords.hash('an admin-set password'), false);
    expect(expectPage(await browser.navigate(second.link)).status).toBe(400);
  });

  it('refuses a weak, mismatched or oversized password, a missing CSRF token and another site’s form, changing nothing', async () => {
    await suite.gh.app.tenants.create({ id: 'pr-input', displayName: 'Tenant pr-input', securityPolicy: { password: { minLength: 12 } } });
    await seedUserOnly('pr-input');
    await askForReset('pr-input', 'alice');
    const { link } = await resetMail('pr-input');
    const browser = new Browser(suite.gh.origin);
    const form = expectPage(await browser.navigate(link));
    const submit = (fields: Record<string, string>, headers?: Record<string, string>) => browser.submit(form, 'form[action$="/password-reset/confirm"]', fields, undefined, headers ? { headers } : {});
    const weak = expectPage(await submit({ new_password: 'short pw', confirm_password: 'short pw' }));
    expect(weak.status).toBe(400);
    expect(weak.$('.gh-field-error').text()).toContain('at least 12 characters');
    expect(expectPage(await submit({ new_password: NEW_PASSWORD, confirm_password: `${NEW_PASSWORD}!` })).status).toBe(400);
    expect(expectPage(await submit({ new_password: 'x'.repeat(5000), confirm_password: 'x'.repeat(5000) })).status).toBe(400);
    expect(expectPage(await submit({ new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD }, { origin: 'https://evil.example' })).status).toBe(403);
    expect(expectPage(await submit({ new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD, csrf: 'forged' })).status).toBe(403);
    expect(await signsIn('pr-input', TEST_PASSWORD)).toBe(true);
    // Still usable by its owner after all that.
    expect(expectPage(await submit({ new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD })).status).toBe(200);
  });

  it('refuses a request form without CSRF, a line break in the identifier, and an oversized one', async () => {
    await seedTenant(suite.gh, 'pr-request');
    const browser = new Browser(suite.gh.origin);
    expect((await browser.request('/t/pr-request/account/password-reset', { form: { identifier: 'alice' }, headers: { origin: suite.gh.origin } })).status).toBe(403);
    const form = expectPage(await browser.navigate('/t/pr-request/account/password-reset'));
    expect(expectPage(await browser.submit(form, 'form[action$="/password-reset"]', { identifier: 'alice\r\nBcc: eve@evil.test' })).status).toBe(400);
    expect(expectPage(await browser.submit(form, 'form[action$="/password-reset"]', { identifier: 'a'.repeat(400) })).status).toBe(400);
    await suite.gh.app.background.idle(5000);
    expect(mailsFor('pr-request')).toHaveLength(0);
  });
});

/** alice and the public client `spa` in a tenant created by the test (with its own policy). */
async function seedUserOnly(tenant: string) {
  await suite.gh.app.users.create(tenant, { username: 'alice', email: 'alice@example.com', emailVerified: true, passwordHash: await suite.gh.app.passwords.hash(TEST_PASSWORD) });
  await suite.gh.app.clients.create(tenant, { client_id: 'spa', client_name: 'SPA', redirect_uris: ['http://127.0.0.1:9/callback'], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' });
}

describe('a reset never bypasses the second factor', () => {
  it('without the authenticator’s code (or with a wrong one) nothing changes; with it the new password takes effect', async () => {
    const { browser: consoleBrowser } = await steps.signIn('pr-mfa');
    const { secret } = await steps.addAuthenticator(consoleBrowser, 'pr-mfa');
    // The owner is told of the new factor.
    const told = await suite.mail.next((candidate) => candidate.to.includes('alice@example.com') && candidate.subject === 'A sign-in method of your Tenant pr-mfa account was changed');
    expect(told.text).toContain('was added: an authenticator app');
    await askForReset('pr-mfa', 'alice');
    const { link } = await resetMail('pr-mfa');
    const browser = new Browser(suite.gh.origin);
    const form = expectPage(await browser.navigate(link));
    expect(form.$('input[name="code"]').length).toBe(1);

    // Skipping the factor: the field left out, or empty.
    const skipped = await browser.navigate(form.$('form').attr('action')!, { form: { csrf: form.$('input[name="csrf"]').val() as string, token: form.$('input[name="token"]').val() as string, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD }, headers: { origin: suite.gh.origin } });
    expect(expectPage(skipped).status).toBe(401);
    expect(expectPage(await browser.submit(form, 'form[action$="/password-reset/confirm"]', { new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD, code: '' })).status).toBe(401);
    const wrong = totpCode(secret, 0, suite.gh.app.clock()) === '000000' ? '111111' : '000000';
    expect(expectPage(await browser.submit(form, 'form[action$="/password-reset/confirm"]', { new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD, code: wrong })).status).toBe(401);
    expect(await signsInPast('pr-mfa', TEST_PASSWORD)).toBe(true);
    expect(await signsInPast('pr-mfa', NEW_PASSWORD)).toBe(false);

    const done = expectPage(await browser.submit(form, 'form[action$="/password-reset/confirm"]', { new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD, code: totpCode(secret, 0, suite.gh.app.clock()) }));
    expect(done.status).toBe(200);
    const [event] = await suite.gh.app.audit.list('pr-mfa', { type: 'user.password_reset', limit: 5 });
    expect(event?.details).toMatchObject({ second_factor: true });
    expect(await suite.gh.app.audit.list('pr-mfa', { type: 'mfa.failed', limit: 10 })).not.toHaveLength(0);
  });
});

describe('a reset for a user whose only second factor is a passkey', () => {
  it('needs an assertion of the passkey: without one, or with another key’s, nothing changes', async () => {
    const acme = await seedTenant(suite.gh, 'pr-passkey');
    const settings = (await suite.gh.app.tenants.find('pr-passkey'))!;
    const authenticator = new SoftAuthenticator();
    const { registrationId, options: creation } = await suite.gh.app.mfa.webauthn.startRegistration(settings, acme.userId, { bindTo: 'test' });
    await suite.gh.app.mfa.webauthn.finishRegistration(settings, acme.userId, { registrationId, bindTo: 'test', response: authenticator.createCredential(creation, { origin: suite.gh.origin }) });

    await askForReset('pr-passkey', 'alice');
    const { link } = await resetMail('pr-passkey');
    const browser = new Browser(suite.gh.origin);
    const form = expectPage(await browser.navigate(link));
    const optionsUrl = form.$('form[data-webauthn-options]').attr('data-webauthn-options');
    expect(optionsUrl).toContain('/account/password-reset/passkey/options?token=');
    expect(form.$('input[name="code"]').length).toBe(0);
    const fields = { new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD };
    const submit = (extra: Record<string, string>) => browser.submit(form, 'form[action$="/password-reset/confirm"]', { ...fields, ...extra });

    expect(expectPage(await submit({})).status).toBe(401);
    expect(expectPage(await submit({ response: 'not json' })).status).toBe(400);
    const optionsOf = async () => {
      const answer = await browser.request(new URL(optionsUrl!, form.url).href, { form: { csrf: form.$('input[name="csrf"]').val() as string }, headers: { accept: 'application/json', origin: suite.gh.origin } });
      expect(answer.status).toBe(200);
      return (await answer.json()) as Parameters<SoftAuthenticator['getAssertion']>[0];
    };
    // Another authenticator's key (not the user's) is refused.
    const stranger = new SoftAuthenticator();
    const strangerSettings = (await suite.gh.app.tenants.find('pr-passkey'))!;
    const other = await suite.gh.app.users.create('pr-passkey', { username: 'mallory' });
    const reg = await suite.gh.app.mfa.webauthn.startRegistration(strangerSettings, other._id, { bindTo: 'test2' });
    await suite.gh.app.mfa.webauthn.finishRegistration(strangerSettings, other._id, { registrationId: reg.registrationId, bindTo: 'test2', response: stranger.createCredential(reg.options, { origin: suite.gh.origin }) });
    const foreign = stranger.getAssertion({ ...(await optionsOf()), allowCredentials: [] }, { origin: suite.gh.origin });
    expect(expectPage(await submit({ response: JSON.stringify(foreign) })).status).toBe(401);
    expect(await signsInPast('pr-passkey', TEST_PASSWORD)).toBe(true);
    expect(await signsInPast('pr-passkey', NEW_PASSWORD)).toBe(false);

    const assertion = authenticator.getAssertion(await optionsOf(), { origin: suite.gh.origin });
    const done = expectPage(await submit({ response: JSON.stringify(assertion) }));
    expect(done.status).toBe(200);
    expect(await signsInPast('pr-passkey', NEW_PASSWORD)).toBe(true);
    expect(await signsInPast('pr-passkey', TEST_PASSWORD)).toBe(false);
  });
});

/** Whether the password gets alice past the password step (to her second factor's page). */
async function signsInPast(tenant: string, password: string): Promise<boolean> {
  const rp = await relyingParty(suite.gh, tenant, 'spa');
  const browser = new Browser(suite.gh.origin);
  const login = await openLoginPage(browser, rp, 'http://127.0.0.1:9/callback');
  const after = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password }));
  return after.$('form[action$="/password"]').length === 0;
}

describe('proof of work on the forgot-password form', () => {
  it('where the tenant turned it on: without a solution, or with a used one, nothing is sent', async () => {
    await suite.gh.app.tenants.create({ id: 'pr-pow', displayName: 'Tenant pr-pow', securityPolicy: { proofOfWork: { passwordReset: true, difficulty: 500 } } });
    await seedUserOnly('pr-pow');
    const browser = new Browser(suite.gh.origin);
    const form = expectPage(await browser.navigate('/t/pr-pow/account/password-reset'));
    const challengeUrl = widgetChallengeUrl(form);
    expect(challengeUrl).toBe('/t/pr-pow/proof-of-work/password-reset');
    const missing = expectPage(await browser.submit(form, 'form[action$="/password-reset"]', { identifier: 'alice' }));
    expect(missing.status).toBe(400);
    const solution = await solvedChallenge(suite.gh.origin, challengeUrl!);
    const sent = expectPage(await browser.submit(form, 'form[action$="/password-reset"]', { identifier: 'alice', altcha: solution }));
    expect(sent.status).toBe(200);
    expect(sent.$('[role="status"]').text()).toContain('If an account');
    const replayed = expectPage(await browser.submit(form, 'form[action$="/password-reset"]', { identifier: 'alice', altcha: solution }));
    expect(replayed.status).toBe(400);
    await suite.gh.app.background.idle(5000);
    expect(mailsFor('pr-pow')).toHaveLength(1);
  });
});
