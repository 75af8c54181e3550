/**
 * "Where you are signed in" in headless Chromium (issue 14): alice signs in to the account console
 * in two browser profiles, lists her sessions in one (each with Chromium's label, this one
 * marked), signs the other out, and the other profile is signed out for real: its console shows
 * the signed-out page and a `prompt=none` authorization answers `login_required`. Then "sign out
 * everywhere" from one profile signs out both and lands on the signed-out page. No CSP violation
 * or page error on the way.
 */
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoPageProblems, launchChromium, openWatchedPage, RP_ORIGIN } from '../helpers/chromium.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';

const TEST_TIMEOUT = 40_000;

let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  gh = await startGatehouse();
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});
afterAll(async () => {
  await browser?.close();
  await gh?.stop();
});

const account = () => `${gh.origin}/t/acme/account`;

/** A new profile signed in to the console with the password. */
async function signedInProfile() {
  const opened = await openWatchedPage(browser, contexts, { stepTimeoutMs: 10_000 });
  const { page } = opened;
  await page.goto(`${account()}/login`);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await page.waitForURL(account());
  await expect.poll(() => page.locator('h1').innerText()).toBe('Your account');
  return opened;
}

/** Whether the profile's console still shows the signed-in front page. */
async function consoleSignedIn(page: Page): Promise<boolean> {
  await page.goto(account());
  return (await page.getByRole('link', { name: /Second factors/ }).count()) === 1;
}

/** A `prompt=none` authorization of web-app in the profile: the error it answers (`login_required` once signed out). */
async function silently(page: Page): Promise<string> {
  let landed: URL | undefined;
  const seen = (request: { url(): string }) => {
    if (request.url().startsWith(`${RP_ORIGIN}/`)) landed = new URL(request.url());
  };
  page.on('request', seen);
  const url = client.buildAuthorizationUrl(rp, {
    redirect_uri: acme.client.redirectUri,
    scope: 'openid',
    prompt: 'none',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  // Port 9 is on Chromium's unsafe-port list: the hop to the relying party fails, after the
  // request for it has been seen, which is all this needs.
  await page.goto(url.href).catch(() => undefined);
  await expect.poll(() => landed !== undefined).toBe(true);
  page.off('request', seen);
  return landed!.searchParams.get('error') ?? (landed!.searchParams.get('code') ? 'code' : 'nothing');
}

/** The rows of the sessions page: handle, whether current, text. */
async function rows(page: Page) {
  return page.locator('#gh-sessions li').evaluateAll((items) =>
    items.map((item) => ({ handle: item.getAttribute('data-session') ?? '', current: item.getAttribute('data-current') === 'true', text: (item.textContent ?? '').replace(/\s+/g, ' ').trim() })),
  );
}

/** Port 9 is on Chromium's unsafe-port list: the redirect hop to the RP fails before `page.route` answers it. */
const ignoreRp = (line: string) => line.includes(` ${RP_ORIGIN}/`);

describe('the sessions page in Chromium', () => {
  it('signs the other browser out: its console and prompt=none fail; then “everywhere” signs out both', { timeout: TEST_TIMEOUT }, async () => {
    const first = await signedInProfile();
    const second = await signedInProfile();
    // Signed in, web-app (third-party, never allowed) is told consent is needed: the session is alive.
    expect(await silently(second.page)).toBe('consent_required');

    const { page } = first;
    await page.goto(account());
    await page.getByRole('link', { name: /Where you are signed in/ }).click();
    await page.waitForURL(`${account()}/sessions`);
    const listed = await rows(page);
    expect(listed).toHaveLength(2);
    expect(listed.filter((row) => row.current)).toHaveLength(1);
    for (const row of listed) expect(row.text).toMatch(/^Chrome \d+ on Linux/);
    expect(listed.find((row) => row.current)!.text).toContain('This browser');

    const other = listed.find((row) => !row.current)!;
    await page.locator(`li[data-session="${other.handle}"]`).getByRole('button', { name: /^Sign out/ }).click();
    await expect.poll(() => page.locator('.gh-note').innerText()).toContain('That session is signed out.');
    expect((await rows(page)).map((row) => row.handle)).toEqual([listed.find((row) => row.current)!.handle]);

    expect(await consoleSignedIn(second.page)).toBe(false);
    await expect.poll(() => second.page.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    expect(await silently(second.page)).toBe('login_required');
    expect(await consoleSignedIn(page)).toBe(true);

    // Signed in again in the second profile, then everywhere from the first: both are signed out.
    const again = await signedInProfile();
    await page.goto(`${account()}/sessions`);
    expect(await rows(page)).toHaveLength(2);
    await page.getByRole('button', { name: 'Sign out everywhere, this browser too' }).click();
    await expect.poll(() => page.locator('#gh-signed-out-notice').innerText()).toContain('You are signed out everywhere');
    expect(await consoleSignedIn(page)).toBe(false);
    expect(await consoleSignedIn(again.page)).toBe(false);
    expect(await silently(page)).toBe('login_required');
    expect(await silently(again.page)).toBe('login_required');

    for (const each of [first, second, again]) expectNoPageProblems(each.problems, gh.origin, ignoreRp);
    const events = await gh.app.audit.list('acme', { limit: 20 });
    expect(events.filter((event) => event.type === 'user.session_ended')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'user.signed_out_everywhere')).toHaveLength(1);
  });
});
