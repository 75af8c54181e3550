/**
 * Passkeys in the account console in headless Chromium (issue 10), with the DevTools virtual
 * authenticator (CTAP2, platform, resident keys, user verification): the page's own script and the
 * @simplewebauthn/browser bundle we serve register a passkey, which is listed, renamed and removed,
 * under the pages' CSP. WebAuthn needs a secure context, so the public URL is `http://localhost`.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoPageProblems, launchChromium, openWatchedPage } from '../helpers/chromium.js';
import { freePort, seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { totpCode } from '../helpers/totp.js';

const TEST_TIMEOUT = 30_000;

let gh: TestGatehouse;
let origin: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  const port = await freePort();
  origin = `http://localhost:${port}`;
  gh = await startGatehouse({ port, publicUrl: origin });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  await gh?.stop();
});

/** A platform authenticator with resident keys and user verification, as a phone or laptop has. */
async function addVirtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials };
}

describe('passkeys in the account console, in headless Chromium', () => {
  it('registers a passkey with the virtual authenticator, lists, renames and removes it', { timeout: TEST_TIMEOUT }, async () => {
    const tenant = await seedTenant(gh, 'keys');
    // An authenticator app, so the console's sign-in is multi-factor and stays good for every change.
    const enrolment = await gh.app.mfa.totp.startEnrollment('keys', tenant.userId, 'Phone');
    await gh.app.mfa.totp.confirmEnrollment('keys', tenant.userId, enrolment.enrollmentId, totpCode(enrolment.secret, -1));

    const { page, problems } = await openWatchedPage(browser, contexts);
    const authenticator = await addVirtualAuthenticator(page);
    await page.goto(`${origin}/t/keys/account/login`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.locator('input[name="code"]').fill(totpCode(enrolment.secret));
    await page.locator('input[name="code"]').press('Enter');
    await page.waitForURL(`${origin}/t/keys/account`);
    await page.getByRole('link', { name: /Second factors/ }).click();
    await page.waitForURL(`${origin}/t/keys/account/security`);

    await page.getByLabel('Name of the passkey (optional)').fill('Laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForURL(/\/t\/keys\/account\/security\?added=/);
    expect(await page.getByRole('status').textContent()).toBe('Passkey Laptop is set up.');
    const factors = page.getByRole('list', { name: 'Your factors' });
    expect(await factors.innerText()).toMatch(/Passkey: Laptop\s+added \d{4}-\d\d-\d\d, on this device only/);
    const held = await authenticator.credentials();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    const [stored] = (await gh.app.mfa.factors.list('keys', tenant.userId)).filter((factor) => factor.type === 'webauthn');
    expect(stored).toMatchObject({ name: 'Laptop', transports: ['internal'] });

    // The same authenticator again: the browser itself refuses (excludeCredentials), and says so.
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await expect.poll(() => page.locator('#gh-passkey-status').textContent()).toBe('This device already has a passkey for your account.');
    expect(await authenticator.credentials()).toHaveLength(1);

    await page.getByLabel('New name for Passkey: Laptop').fill('Work laptop');
    await page.getByRole('button', { name: 'Rename Passkey: Laptop' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Passkey renamed to Work laptop.');
    expect(await factors.innerText()).toContain('Passkey: Work laptop');

    await page.getByRole('button', { name: 'Remove Passkey: Work laptop' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Passkey: Work laptop removed.');
    expect(await factors.innerText()).not.toContain('Passkey');
    expect((await gh.app.mfa.factors.list('keys', tenant.userId)).map((factor) => factor.type)).toEqual(['totp']);
    expectNoPageProblems(problems, origin);
  });
});
