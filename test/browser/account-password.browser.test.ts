/**
 * "Change password" in the account console in headless Chromium (issue 14): the real form under the
 * pages' CSP, its field errors and focus, and a second browser signed out by the change.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoPageProblems, launchChromium, openWatchedPage } from '../helpers/chromium.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';

const TEST_TIMEOUT = 30_000;
const NEW_PASSWORD = 'violet kestrels under eleven moons';

let gh: TestGatehouse;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  gh = await startGatehouse();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  await gh?.stop();
});

async function signIn(page: Page, password = TEST_PASSWORD): Promise<void> {
  await page.goto(`${gh.origin}/t/pw-ui/account/login`);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(`${gh.origin}/t/pw-ui/account`);
}

const focusedId = (page: Page) => page.evaluate<string>(`document.activeElement?.id ?? ''`);

describe('changing the password in the account console, in headless Chromium', () => {
  it('shows what to fix, changes the password and signs the other browser out', { timeout: TEST_TIMEOUT }, async () => {
    const tenant = await seedTenant(gh, 'pw-ui');
    const { page, problems } = await openWatchedPage(browser, contexts);
    const { page: elsewhere } = await openWatchedPage(browser, contexts);
    await signIn(page);
    await signIn(elsewhere);

    await page.getByRole('link', { name: 'Change password' }).click();
    await page.waitForURL(`${gh.origin}/t/pw-ui/account/password`);
    expect(await focusedId(page)).toBe('current_password');

    const submit = async (current: string, next: string, confirm = next) => {
      await page.getByLabel('Current password').fill(current);
      await page.getByLabel('New password', { exact: true }).fill(next);
      await page.getByLabel('Confirm new password').fill(confirm);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.waitForLoadState();
    };

    await submit('not my password', NEW_PASSWORD);
    expect(await page.locator('#current_password-error').textContent()).toBe('That is not your current password.');
    expect(await page.getByLabel('Current password').getAttribute('aria-invalid')).toBe('true');
    expect(await focusedId(page)).toBe('current_password');

    await submit(TEST_PASSWORD, 'Password123!');
    expect(await page.locator('#new_password-error').textContent()).toContain('among the most common');
    expect(await focusedId(page)).toBe('new_password');
    // Nothing typed comes back filled in.
    expect(await page.getByLabel('Current password').inputValue()).toBe('');

    await submit(TEST_PASSWORD, NEW_PASSWORD, 'something else entirely');
    expect(await page.locator('#confirm_password-error').textContent()).toBe('The two passwords do not match.');
    expect(await focusedId(page)).toBe('confirm_password');

    await submit(TEST_PASSWORD, NEW_PASSWORD);
    expect(await page.getByRole('status').textContent()).toContain('Your password is changed. 1 other session was signed out; this browser stays signed in.');
    expect(await page.locator('form[action$="/account/password"]').count()).toBe(0);

    // This browser stays; the other one is signed out of the console.
    await page.getByRole('link', { name: 'Back to your account' }).click();
    await page.waitForURL(`${gh.origin}/t/pw-ui/account`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Your account');
    await elsewhere.reload();
    expect(await elsewhere.getByText('You are not signed in').count()).toBe(1);
    // …and signs in with the new password only.
    await signIn(elsewhere, NEW_PASSWORD);
    const user = await gh.app.users.findById('pw-ui', tenant.userId);
    expect((await gh.app.passwords.verify(user?.passwordHash, NEW_PASSWORD)).ok).toBe(true);
    // The three refused forms answered 400, which Chromium reports on the console; nothing else may be there.
    const refused = (line: string) => line.includes('status of 400') && line.includes('/t/pw-ui/account/password');
    expect(problems.console.filter(refused)).toHaveLength(3);
    problems.console = problems.console.filter((line) => !refused(line));
    expectNoPageProblems(problems, gh.origin);
  });
});
