/**
 * Second factors in headless Chromium (issue 9): a user of a tenant that requires MFA enrols an
 * authenticator app inside the login (the server-made QR code must render under the pages' CSP),
 * signs in again with a code, and finds the app in the account console's Security section. Codes
 * come from the RFC 6238 computation of the tests, reading the key the page shows.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoPageProblems, launchChromium, openWatchedPage, type PageProblems } from '../helpers/chromium.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { totpCode } from '../helpers/totp.js';

const STEP_TIMEOUT = 10_000;
const TEST_TIMEOUT = 30_000;

let gh: TestGatehouse;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  gh = await startGatehouse();
  await seedTenant(gh, 'strict');
  await gh.app.tenants.update('strict', { securityPolicy: { mfa: 'required' } });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  await gh?.stop();
});

const openPage = () => openWatchedPage(browser, contexts, { stepTimeoutMs: STEP_TIMEOUT });
const expectNoProblems = (problems: PageProblems) => expectNoPageProblems(problems, gh.origin);

async function signInWithPassword(page: Page): Promise<void> {
  await page.goto(`${gh.origin}/t/strict/account/login`);
  await page.waitForURL(new RegExp(`^${gh.origin}/t/strict/interaction/`));
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByLabel('Password').press('Enter');
}

describe('second factors in headless Chromium', () => {
  it('enrols an authenticator app inside the login, signs in with its code, and lists it in the console', { timeout: TEST_TIMEOUT }, async () => {
    const first = await openPage();
    await signInWithPassword(first.page);
    await expect.poll(() => first.page.getByRole('heading', { level: 1 }).textContent()).toBe('Set up an authenticator app');

    // The QR code is a data: URL made on the server; it must load under the page's CSP.
    const qr = first.page.locator('img[alt^="QR code"]');
    await expect.poll(() => qr.evaluate((image: { complete: boolean; naturalWidth: number }) => image.complete && image.naturalWidth > 0)).toBe(true);
    const key = (await first.page.locator('#totp-key').textContent())!.trim();
    const field = first.page.getByLabel('Code from your authenticator app');
    expect(await field.getAttribute('autocomplete')).toBe('one-time-code');
    // The previous step's code (still accepted), so the current one is left for the next sign-in.
    await field.fill(totpCode(key, -1));
    await field.press('Enter');
    await first.page.waitForURL(`${gh.origin}/t/strict/account`);
    expect(await first.page.locator('.gh-subtitle').textContent()).toBe('Signed in to Tenant strict as alice');
    expectNoProblems(first.problems);

    // A new browser: the password, then the code page.
    const second = await openPage();
    await signInWithPassword(second.page);
    const code = second.page.locator('input[name="code"]');
    await code.waitFor();
    expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
    await code.fill(totpCode(key));
    await code.press('Enter');
    await second.page.waitForURL(`${gh.origin}/t/strict/account`);

    await second.page.getByRole('link', { name: /Second factors/ }).click();
    await second.page.waitForURL(`${gh.origin}/t/strict/account/security`);
    expect(await second.page.getByRole('list', { name: 'Your factors' }).innerText()).toContain('Authenticator app');
    expectNoProblems(second.problems);
  });
});
