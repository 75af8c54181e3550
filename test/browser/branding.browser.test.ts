import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { launchChromium, watchPage, type PageProblems } from '../helpers/chromium.js';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';

const TEST_TIMEOUT = 20_000;
const LOGO_ORIGIN = 'https://cdn.brand.example';
const LOGO = `${LOGO_ORIGIN}/img/logo.png`;
/** 1×1 PNG: the logo host does not exist, the test answers for it in the browser. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

let gh: TestGatehouse;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  gh = await startAdminGatehouse();
  await seedTenant(gh, 'brand');
  await seedTenant(gh, 'plain');
  const set = await call(gh, await adminToken(gh), 'PATCH', '/tenants/brand', { branding: { logo_url: LOGO, accent_color: '#0a7f3c' } });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  await gh?.stop();
});

/** A fresh profile whose requests to the logo's host are answered with a PNG; returns the URLs asked for. */
async function openPage(colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; problems: PageProblems; logoRequests: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme, locale: 'en-US' });
  contexts.push(context);
  context.setDefaultTimeout(10_000);
  const logoRequests: string[] = [];
  await context.route(`${LOGO_ORIGIN}/**`, (route) => {
    logoRequests.push(route.request().url());
    return route.fulfill({ status: 200, contentType: 'image/png', body: PNG });
  });
  const page = await context.newPage();
  return { page, problems: await watchPage(page), logoRequests };
}

async function openLogin(page: Page, tenant: string): Promise<void> {
  await page.goto(`${gh.issuer(tenant)}/account/login`);
  await page.waitForURL(new RegExp(`^${gh.origin}/t/${tenant}/interaction/`));
  await page.waitForLoadState('load');
}

const favicon = (line: string) => line.includes(`${gh.origin}/favicon.ico`);
const buttonColour = (page: Page) => page.evaluate<string>(`getComputedStyle(document.querySelector('.gh-btn-primary')).backgroundColor`);
const logoLoaded = (page: Page) => page.evaluate<boolean>(`(() => { const img = document.querySelector('img.gh-brand-logo'); return !!img && img.complete && img.naturalWidth > 0; })()`);

describe('tenant branding in headless Chromium', () => {
  it('shows the logo and the accent colour on the login page, with no CSP violation', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems, logoRequests } = await openPage();
    await openLogin(page, 'brand');

    expect(await page.locator('img.gh-brand-logo').getAttribute('src')).toBe(LOGO);
    expect(await logoLoaded(page)).toBe(true);
    expect(logoRequests).toEqual([LOGO]);
    // The themed elements take the accent; white text contrasts more with this green than black does.
    expect(await buttonColour(page)).toBe('rgb(10, 127, 60)');
    expect(await page.evaluate<string>(`getComputedStyle(document.querySelector('.gh-btn-primary')).color`)).toBe('rgb(255, 255, 255)');
    expect(await page.getByRole('button', { name: 'Sign in', exact: true }).isVisible()).toBe(true);
    await page.screenshot({ path: '/tmp/gatehouse-login-branded.png' });

    expect(problems.csp, 'CSP violations').toEqual([]);
    expect(problems.errors).toEqual([]);
    expect(problems.console.filter((line) => !favicon(line))).toEqual([]);
    expect(problems.failed.filter((line) => !favicon(line))).toEqual([]);
  });

  it('keeps the accent in the dark colour scheme too', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPage('dark');
    await openLogin(page, 'brand');
    expect(await buttonColour(page)).toBe('rgb(10, 127, 60)');
    expect(await logoLoaded(page)).toBe(true);
    expect(problems.csp).toEqual([]);
  });

  it('lets images come from the logo’s origin only: another https origin is blocked by CSP', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPage();
    await openLogin(page, 'brand');
    // Scripts evaluated by the test are not subject to script-src; the image load is subject to img-src.
    await page.evaluate(`new Promise((resolve) => {
      const img = new Image();
      img.onerror = img.onload = () => resolve(undefined);
      img.src = 'https://elsewhere.example/pixel.png';
      document.body.append(img);
    })`);
    await expect.poll(() => problems.csp.length).toBe(1);
    expect(problems.csp[0]).toMatch(/^img-src blocked https:\/\/elsewhere\.example\/pixel\.png/);
  });

  it('shows a tenant without branding as before: the initial mark and the default accent', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems, logoRequests } = await openPage();
    await openLogin(page, 'plain');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('.gh-brand-mark').textContent()).toBe('T');
    expect(await buttonColour(page)).toBe('rgb(45, 91, 227)');
    expect(logoRequests).toEqual([]);
    expect(problems.csp).toEqual([]);
  });
});
