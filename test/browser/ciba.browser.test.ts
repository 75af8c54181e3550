/**
 * CIBA's built-in authentication device in headless Chromium (issue 12): the user keeps the account
 * console's sign-in requests open, a request made by a client (openid-client) appears without a
 * reload, the user reviews and approves it, and the polling client gets its tokens; a request that
 * asks for multi-factor is approved only after the second factor, through the usual login pages.
 * No page may report a problem.
 */
import type * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { cibaClient, initiate, pollOnce } from '../helpers/ciba.js';
import { expectNoPageProblems, launchChromium, openWatchedPage, type PageProblems } from '../helpers/chromium.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { totpCode } from '../helpers/totp.js';

const TEST_TIMEOUT = 40_000;

let gh: TestGatehouse;
let browser: Browser;
let bank: client.Configuration;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  gh = await startGatehouse();
  await seedTenant(gh, 'acme');
  await gh.app.tenants.update('acme', { securityPolicy: { ciba: { enabled: true } } });
  bank = await cibaClient(gh, 'acme');
  await gh.app.users.create('acme', { username: 'carol', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  await gh?.stop();
});

const openPage = () => openWatchedPage(browser, contexts);
// Leaving a page aborts its event stream: that is the browser closing it, not a failure.
const expectNoProblems = (problems: PageProblems) => expectNoPageProblems(problems, gh.origin, (line) => line.includes('/account/ciba/events') && line.includes('ERR_ABORTED'));

async function signInToRequests(page: Page, username: string): Promise<void> {
  await page.goto(`${gh.issuer('acme')}/account/ciba`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await page.getByRole('heading', { name: 'Sign-in requests' }).waitFor();
}

describe('CIBA approval in the account console', () => {
  it('shows a new request without a reload, and the approval gives the polling client its tokens', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPage();
    await signInToRequests(page, 'alice');
    await page.getByText('Nothing is waiting for you.').waitFor();

    const { response } = await initiate(bank, { login_hint: 'alice', binding_message: 'Call 4711', scope: 'openid profile' });
    const item = page.locator('#gh-ciba-list li', { hasText: 'Call 4711' });
    await item.waitFor();
    expect(await item.locator('strong').textContent()).toBe('Call centre');
    await expect.poll(() => item.locator('.gh-ciba-left').textContent()).toMatch(/^(9|10) min \d+ s left$/);
    expect(await page.getByText('Nothing is waiting for you.').isHidden()).toBe(true);

    await item.getByRole('link', { name: 'Review' }).click();
    await page.getByRole('heading', { name: 'Call centre asks you to sign in' }).waitFor();
    expect(await page.locator('.gh-ciba-binding').textContent()).toBe('Call 4711');
    expect(await page.getByRole('listitem').allTextContents()).toEqual(['Sign you in with your account', 'See your name and username']);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Request approved' }).waitFor();

    await page.getByRole('link', { name: 'All sign-in requests' }).click();
    await page.getByText('Nothing is waiting for you.').waitFor();
    expectNoProblems(problems);

    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const { tokens } = await pollOnce(bank, response!.auth_req_id);
    expect(tokens?.claims()).toMatchObject({ amr: ['pwd'], acr: ACR.singleFactor });
  });

  it('approves a request asking for multi-factor only after the second factor', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPage();
    await signInToRequests(page, 'carol');
    // Carol adds an authenticator app after signing in with her password alone.
    const carol = (await gh.app.users.findByIdentifier('acme', 'carol'))!;
    const enrolment = await gh.app.mfa.totp.startEnrollment('acme', carol._id);
    await gh.app.mfa.totp.confirmEnrollment('acme', carol._id, enrolment.enrollmentId, totpCode(enrolment.secret, -1));

    const { response } = await initiate(bank, { login_hint: 'carol', binding_message: 'Transfer 250', acr_values: ACR.multiFactor });
    const item = page.locator('#gh-ciba-list li', { hasText: 'Transfer 250' });
    await item.getByRole('link', { name: 'Review' }).click();
    await page.getByText('Approving asks you to sign in again first.').waitFor();
    await page.getByRole('button', { name: 'Approve' }).click();

    // The usual login, again (max_age=0), then the code the request's acr needs.
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    if (await page.getByLabel('Username').isEditable()) await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').press('Enter');
    await page.getByLabel('Code from your authenticator app').fill(totpCode(enrolment.secret));
    expect((await pollOnce(bank, response!.auth_req_id)).error).toBe('authorization_pending');
    await page.getByRole('button', { name: 'Verify' }).click();

    await page.getByRole('heading', { name: 'Call centre asks you to sign in' }).waitFor();
    expect(await page.getByText('Approving asks you to sign in again first.').count()).toBe(0);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Request approved' }).waitFor();
    expectNoProblems(problems);

    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const { tokens } = await pollOnce(bank, response!.auth_req_id);
    expect(tokens?.claims()).toMatchObject({ acr: ACR.multiFactor, amr: ['pwd', 'otp', 'mfa'] });
  });
});
