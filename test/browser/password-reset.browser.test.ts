import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoPageProblems, launchChromium, openWatchedPage } from '../helpers/chromium.js';
import { mailingSuite } from '../helpers/email-gatehouse.js';
import { seedTenant, TEST_PASSWORD } from '../helpers/gatehouse.js';
import { linkIn } from '../helpers/mail-server.js';

const NEW_PASSWORD = 'a passphrase chosen in chromium';
const suite = mailingSuite({}, { localhost: true });
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  await seedTenant(suite.gh, 'acme');
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});
afterAll(async () => {
  await browser?.close();
});

describe('password reset in headless Chromium', () => {
  it('login page → Forgot password? → mailed link (opened by a scanner first) → new password → signed in with it', { timeout: 40_000 }, async () => {
    const { gh, mail } = suite;
    const { page, problems } = await openWatchedPage(browser, contexts);
    await page.goto(`${gh.origin}/t/acme/account/login`);
    await page.waitForURL(new RegExp(`^${gh.origin}/t/acme/interaction/`));
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(`${gh.origin}/t/acme/account/password-reset`);
    await page.getByLabel('Username or e-mail address').fill('alice@example.com');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('If an account of Tenant acme has this username or address');

    await gh.app.background.idle(5000);
    const received = await mail.next((candidate) => candidate.subject === 'Reset your Tenant acme password');
    const link = linkIn(received.text, `${gh.issuer('acme')}/account/password-reset/confirm?token=`);

    // A mail scanner opens the link first, in a context of its own: nothing is used.
    const scanner = await openWatchedPage(browser, contexts);
    await scanner.page.goto(link);
    expect(await scanner.page.getByRole('heading', { level: 1 }).textContent()).toBe('Choose a new password');

    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Password changed');

    // The old password is refused, the new one signs in to the console.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${gh.origin}/t/acme/interaction/`));
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.locator('#password-error, [role="alert"]').first().textContent()).toBeTruthy();
    await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${gh.origin}/t/acme/account`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your account');

    // The scanner's tab now shows the link as used.
    await scanner.page.reload();
    expect(await scanner.page.getByRole('heading', { level: 1 }).textContent()).toBe('Link not valid');
    // The one expected complaint: the refused old password's 401.
    problems.console = problems.console.filter((line) => !(line.includes('status of 401') && line.includes('/password)')));
    expectNoPageProblems(problems, gh.origin);
  });

  it('a passkey-only user confirms the reset with the passkey (a virtual authenticator)', { timeout: 40_000 }, async () => {
    const { gh, mail } = suite;
    const { page, problems } = await openWatchedPage(browser, contexts);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    const user = await gh.app.users.create('acme', { username: 'keyholder', email: 'keyholder@example.com', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    // The passkey is made in a document of Gatehouse's origin, with the bundle it serves.
    await page.goto(`${gh.origin}/assets/gatehouse.css`);
    await page.addScriptTag({ url: '/assets/simplewebauthn-browser.js' });
    const settings = (await gh.app.tenants.find('acme'))!;
    const { registrationId, options } = await gh.app.mfa.webauthn.startRegistration(settings, user._id, { bindTo: 'browser-test' });
    const response = await page.evaluate<RegistrationResponseJSON>(`SimpleWebAuthnBrowser.startRegistration({ optionsJSON: ${JSON.stringify(options)} })`);
    await gh.app.mfa.webauthn.finishRegistration(settings, user._id, { registrationId, bindTo: 'browser-test', response });

    await page.goto(`${gh.origin}/t/acme/account/password-reset`);
    await page.getByLabel('Username or e-mail address').fill('keyholder');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('If an account');
    await gh.app.background.idle(5000);
    const received = await mail.next((candidate) => candidate.to.includes('keyholder@example.com'));
    await page.goto(linkIn(received.text, `${gh.issuer('acme')}/account/password-reset/confirm?token=`));
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Confirm with your passkey and set the password' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Password changed');
    const stored = await gh.app.users.findById('acme', user._id);
    expect((await gh.app.passwords.verify(stored?.passwordHash, NEW_PASSWORD)).ok).toBe(true);
    expectNoPageProblems(problems, gh.origin);
  });
});
