/**
 * Device login in headless Chromium (issue 11): the person opens `verification_uri_complete` (the
 * provider's auto-submitting form must run under our CSP), confirms, signs in with a password and an
 * authenticator code, and the device (openid-client) gets its tokens; a denial; a first-party client
 * still asked to confirm; the code typed by hand with the keyboard. No page may report a problem.
 */
import * as client from 'openid-client';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { expectNoPageProblems, launchChromium, openWatchedPage, type PageProblems } from '../helpers/chromium.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { totpCode } from '../helpers/totp.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const TEST_TIMEOUT = 40_000;

let gh: TestGatehouse;
let browser: Browser;
let tv: client.Configuration;
let firstParty: client.Configuration;
let bobSecret: string;
const contexts: BrowserContext[] = [];

async function deviceClient(clientId: string, extra: Record<string, unknown> = {}): Promise<client.Configuration> {
  await gh.app.clients.create('acme', { client_id: clientId, client_name: clientId === 'tv' ? 'Living Room TV' : 'Our Own TV App', application_type: 'native', grant_types: [DEVICE_GRANT], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'none', ...extra });
  return client.discovery(new URL(gh.issuer('acme')), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });
}

beforeAll(async () => {
  browser = await launchChromium();
  gh = await startGatehouse();
  await seedTenant(gh, 'acme');
  tv = await deviceClient('tv');
  firstParty = await deviceClient('own-tv', { first_party: true });
  const bob = await gh.app.users.create('acme', { username: 'bob', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
  const enrolment = await gh.app.mfa.totp.startEnrollment('acme', bob._id);
  bobSecret = enrolment.secret;
  await gh.app.mfa.totp.confirmEnrollment('acme', bob._id, enrolment.enrollmentId, totpCode(bobSecret, -1));
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  await gh?.stop();
});

const openPage = () => openWatchedPage(browser, contexts);
const expectNoProblems = (problems: PageProblems) => expectNoPageProblems(problems, gh.origin);

/** One token request for the device code, without the library's wait. */
async function poll(config: client.Configuration, deviceCode: string) {
  try {
    return { tokens: await client.genericGrantRequest(config, DEVICE_GRANT, { device_code: deviceCode }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error) };
  }
}

describe('device login in headless Chromium', () => {
  it('opens verification_uri_complete, confirms, signs in with a password and an authenticator code, and the device gets its tokens', { timeout: TEST_TIMEOUT }, async () => {
    const started = await client.initiateDeviceAuthorization(tv, { scope: 'openid profile' });
    const { page, problems } = await openPage();
    await page.goto(started.verification_uri_complete!);
    // The provider's form posts itself (its script allowed by a hash in the CSP): the confirmation follows.
    await page.getByRole('heading', { name: 'Sign in to Living Room TV on your device?' }).waitFor();
    expect(await page.locator('.gh-user-code').textContent()).toBe(started.user_code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByLabel('Code from your authenticator app').fill(totpCode(bobSecret));
    await page.getByRole('button', { name: 'Verify' }).click();
    // A client that is not first-party asks for consent after the sign-in.
    const consent = page.getByRole('button', { name: /allow/i });
    const done = page.getByRole('heading', { name: 'Your device is signed in' });
    await Promise.race([consent.waitFor(), done.waitFor()]);
    if (await consent.isVisible()) await consent.click();
    await done.waitFor();
    expectNoProblems(problems);

    const result = await poll(tv, started.device_code);
    expect(result.tokens?.claims()).toMatchObject({ acr: ACR.multiFactor, amr: ['pwd', 'otp', 'mfa'] });
  });

  it('lets the person type the code in any case and deny; the device hears access_denied', { timeout: TEST_TIMEOUT }, async () => {
    const started = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    const { page, problems } = await openPage();
    await page.goto(started.verification_uri);
    const field = page.getByLabel('Code from your device');
    await field.pressSequentially(started.user_code.replace('-', '').toLowerCase());
    await field.press('Enter');
    await page.getByRole('heading', { name: /on your device\?$/ }).waitFor();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'Sign-in denied' }).waitFor();
    expectNoProblems(problems);
    expect((await poll(tv, started.device_code)).error).toBe('access_denied');
  });

  it('asks even a first-party client to confirm, and shows a wrong code as an error on its field', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPage();
    await page.goto(`${gh.issuer('acme')}/device`);
    await page.getByLabel('Code from your device').fill('BCDF-GHJK');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => page.locator('#user_code-error').textContent()).toContain('not valid');
    expect(await page.getByLabel('Code from your device').getAttribute('aria-invalid')).toBe('true');

    const started = await client.initiateDeviceAuthorization(firstParty, { scope: 'openid' });
    await page.goto(started.verification_uri_complete!);
    await page.getByRole('heading', { name: 'Sign in to Our Own TV App on your device?' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Your device is signed in' }).waitFor();
    expectNoProblems(problems);
    expect((await poll(firstParty, started.device_code)).tokens?.access_token).toBeTruthy();
  });
});
