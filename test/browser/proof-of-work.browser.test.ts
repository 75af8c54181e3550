import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { POW_DIFFICULTY } from '../../src/domain/proof-of-work-settings.js';
import { expectNoPageProblems, launchChromium, openWatchedPage } from '../helpers/chromium.js';
import { Browser as HttpBrowser } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { openLoginPage, relyingParty } from '../helpers/login.js';
import { solvedChallenge } from '../helpers/proof-of-work.js';
import { smsGateway, startSmsGatehouse, userWithPhone, type SmsGateway } from '../helpers/sms.js';
import { adminToken, call } from '../admin/helpers.js';

/**
 * The real ALTCHA widget, served by Gatehouse, solving a real challenge on the login page after
 * failed sign-ins, under the pages' unchanged CSP (no inline style or script, workers from 'self'),
 * at the default difficulty, and the sign-in that follows succeeding.
 */
const TEST_TIMEOUT = 60_000;

let gh: TestGatehouse;
let gateway: SmsGateway;
let acme: SeededTenant;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  gateway = await smsGateway();
  gh = await startSmsGatehouse(gateway, Date.now);
  acme = await seedTenant(gh, 'acme');
  await seedTenant(gh, 'texts');
  const root = await adminToken(gh);
  expect((await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { proof_of_work: { sign_in_after_failures: 2 } } })).status).toBe(200);
  expect((await call(gh, root, 'PATCH', '/tenants/texts', { security_policy: { proof_of_work: { sms: true } } })).status).toBe(200);
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});
afterAll(async () => {
  await browser?.close();
  await gh?.stop();
  await gateway?.close();
});

async function submitPassword(page: Page, password: string, username = 'alice'): Promise<number> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  const posted = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/password'));
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  return (await posted).status();
}

describe('proof of work in headless Chromium', () => {
  it('solves the challenge on the login page after failures, and the sign-in succeeds', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openWatchedPage(browser, contexts, { stepTimeoutMs: 45_000 });
    const account = `${gh.origin}/t/acme/account`;
    await page.goto(account);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${gh.origin}/t/acme/interaction/`));
    expect(await page.locator('altcha-widget').count()).toBe(0);

    expect(await submitPassword(page, 'wrong-1')).toBe(401);
    expect(await page.locator('altcha-widget').count()).toBe(0);
    const challenge = page.waitForResponse((response) => response.url().endsWith('/t/acme/proof-of-work/sign-in'));
    const fetched: string[] = [];
    page.on('request', (request) => void (request.url().includes('/proof-of-work/') && fetched.push(request.url())));
    const started = Date.now();
    expect(await submitPassword(page, 'wrong-2')).toBe(401);

    // The second failure's page carries the widget; it fetches a challenge and solves it on its own.
    expect((await challenge).status()).toBe(200);
    const answer = page.locator('form[action$="/password"] input[name="altcha"]');
    await expect.poll(() => answer.inputValue(), { timeout: 45_000, interval: 100 }).not.toBe('');
    const solveMs = Date.now() - started;
    // One run, ending ticked: a second run started beside the first would abort it and end in the error state.
    await expect.poll(() => page.evaluate(`document.querySelector('altcha-widget').getState()`)).toBe('verified');
    expect(await page.locator('altcha-widget').innerText()).toContain('Verified');
    expect(fetched).toHaveLength(1);
    expect(await page.locator('altcha-widget').getAttribute('data-pow-auto')).toBe('onload');
    // What docs/accounts.md reports: the default difficulty on this machine.
    console.info(`proof of work: solved at difficulty ${POW_DIFFICULTY.default} in ${solveMs} ms (from the failing POST to the filled-in answer)`);

    const solved = await answer.inputValue();
    const { challenge: issued } = JSON.parse(Buffer.from(solved, 'base64').toString()) as { challenge: { parameters: { data: unknown; cost: number } } };
    expect(issued.parameters.data).toEqual({ tenant: 'acme', purpose: 'sign_in' });

    // The right password with the browser's own solution: signed in, back at the console.
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    const posted = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/password'));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    expect((await posted).status()).toBe(303);
    await page.waitForURL(account);
    expect(await page.locator('.gh-subtitle').textContent()).toBe('Signed in to Tenant acme as alice');
    // The two wrong passwords are the only thing the console reports: no CSP violation, no failed request.
    expect(problems.console.filter((line) => !line.includes('status of 401'))).toHaveLength(problems.console.length - 2);
    expectNoPageProblems({ ...problems, console: problems.console.filter((line) => !line.includes('status of 401')) }, gh.origin);
  });

  it('refuses a sign-in sent before the check finished, with the page saying so', { timeout: TEST_TIMEOUT }, async () => {
    // Two failures for "mallory" from a script first (over plain HTTP, solving with altcha-lib, as the
    // address may need it already): a solution is due for that name whatever the address's count.
    const rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
    for (const password of ['wrong-1', 'wrong-2']) {
      const script = new HttpBrowser(gh.origin);
      const result = await script.submit(await openLoginPage(script, rp, acme.client.redirectUri), 'form[action$="/password"]', { username: 'mallory', password, altcha: await solvedChallenge(gh.origin, '/t/acme/proof-of-work/sign-in') });
      expect('status' in result && result.status).toBe(401);
    }
    const { page } = await openWatchedPage(browser, contexts);
    await page.goto(`${gh.origin}/t/acme/account`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`^${gh.origin}/t/acme/interaction/`));
    // (The address's failures put the widget on this page already.)
    expect(await page.locator('altcha-widget').count()).toBe(1);
    // A form posted without the widget's answer (a bot that skips the script) is refused, and says why.
    await page.evaluate(`document.querySelector('altcha-widget').remove()`);
    expect(await submitPassword(page, 'wrong-3', 'mallory')).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain('Please wait while your browser checks');
    // The page that says so carries the widget again, so the next try can pass.
    expect(await page.locator('form[action$="/password"] altcha-widget').count()).toBe(1);
  });

  it('solves on the press of "Text a code" at the SMS step, then sends the form itself, and the code is texted', { timeout: TEST_TIMEOUT }, async () => {
    const phone = '+447400555001';
    const { username } = await userWithPhone(gh, gateway, 'texts', phone);
    const before = gateway.to(phone).length;
    const { page, problems } = await openWatchedPage(browser, contexts, { stepTimeoutMs: 45_000 });
    await page.goto(`${gh.origin}/t/texts/account`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Get a code by text message');
    // The widget waits for the button: nothing is fetched before it is pressed.
    expect(await page.locator('altcha-widget').getAttribute('data-pow-auto')).toBe('onsubmit');
    const challenge = page.waitForResponse((response) => response.url().endsWith('/t/texts/proof-of-work/sms'));
    const posted = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/sms'));
    await page.getByRole('button', { name: /Text a code to/ }).click();
    expect((await challenge).status()).toBe(200);
    expect((await posted).status()).toBe(303);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent(), { timeout: 45_000 }).toBe('Enter the code we texted you');
    expect(gateway.to(phone).length).toBe(before + 1);
    expectNoPageProblems(problems, gh.origin);
  });
});
