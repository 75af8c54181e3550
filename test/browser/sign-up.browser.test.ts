import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoPageProblems, interceptRelyingParty, launchChromium, openWatchedPage, RP_ORIGIN } from '../helpers/chromium.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';

const TEST_TIMEOUT = 30_000;
const PASSWORD = 'my own new passphrase';

let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  gh = await startGatehouse();
  acme = await seedTenant(gh, 'acme');
  await gh.app.tenants.update('acme', { securityPolicy: { registration: { enabled: true, fields: { email: 'required', name: 'optional' }, verifyEmail: false } } });
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});
afterAll(async () => {
  await browser?.close();
  await gh?.stop();
});


describe('sign-up in headless Chromium', () => {
  it('prompt=create: a new person fixes a mistake, creates an account, allows the app, and the relying party gets their new sub', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openWatchedPage(browser, contexts);
    const seen = await interceptRelyingParty(page);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(rp, {
      redirect_uri: acme.client.redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      prompt: 'create',
    });
    await page.goto(url.href);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Create your account');
    // The first field has the focus, labels name the fields, the optional one says so.
    expect(await page.evaluate('document.activeElement?.id')).toBe('email');
    await page.getByLabel('E-mail address').fill('Grace@Example.com');
    await page.getByLabel('Full name (optional)').fill('Grace Hopper');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password').fill('not the same');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.locator('#confirm_password-error').textContent()).toBe('The two passwords do not match.');
    // What was typed is kept (never the passwords), and the field to fix has the focus.
    expect(await page.getByLabel('E-mail address').inputValue()).toBe('Grace@Example.com');
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Web App wants to access your account' }).waitFor();
    expect(await page.locator('.gh-subtitle').textContent()).toMatch(/^Signed in as (Grace Hopper|grace@example\.com)$/);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${RP_ORIGIN}/callback?**`);
    expect(seen).toEqual([page.url()]);
    const tokens = await client.authorizationCodeGrant(rp, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
    const user = await gh.app.users.findByIdentifier('acme', 'grace@example.com');
    expect(tokens.claims()?.sub).toBe(user!._id);
    expect(tokens.claims()?.['email']).toBe('grace@example.com');
    expect(tokens.claims()?.['name']).toBe('Grace Hopper');
    // The one answer that is meant to be an error: the form with the mismatched passwords (400).
    const expected400 = problems.console.filter((line) => /status of 400 .*\/interaction\/[^/]+\/sign-up\)$/.test(line));
    expect(expected400).toHaveLength(1);
    problems.console = problems.console.filter((line) => !expected400.includes(line));
    expectNoPageProblems(problems, gh.origin, (line) => line.includes(` ${RP_ORIGIN}/`));
  });

  it('the sign-in page links to sign-up and back', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openWatchedPage(browser, contexts);
    await page.goto(`${gh.origin}/t/acme/account`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Create an account' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Create your account');
    await page.getByRole('link', { name: 'Sign in' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    expectNoPageProblems(problems, gh.origin);
  });
});
