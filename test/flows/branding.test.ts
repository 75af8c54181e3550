import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { openLoginPage, relyingParty } from '../helpers/login.js';

const LOGO = 'https://cdn.brand.example/img/logo.png?v=3';
const ACCENT = '#0a7f3c';
/** The policy every response had before branding existed; a tenant without a logo keeps it. */
const DEFAULT_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

let gh: TestGatehouse;
let root: string;
let brand: SeededTenant;
let plain: SeededTenant;
let brandRp: client.Configuration;
let plainRp: client.Configuration;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  brand = await seedTenant(gh, 'brand');
  plain = await seedTenant(gh, 'plain');
  // Build both tenants before branding is set, so the test also shows the change reaching a built tenant.
  brandRp = await relyingParty(gh, 'brand', brand.client.clientId, brand.client.clientSecret);
  plainRp = await relyingParty(gh, 'plain', plain.client.clientId, plain.client.clientSecret);
  const set = await call(gh, root, 'PATCH', '/tenants/brand', { branding: { logo_url: LOGO, accent_color: ACCENT } });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  for (const tenant of ['brand', 'plain']) {
    await gh.app.users.create(tenant, { username: 'frank', email: 'frank@example.com', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD), passwordMustChange: true });
  }
});
afterAll(() => gh?.stop());

function directives(headers: Headers): Map<string, string[]> {
  const policy = headers.get('content-security-policy') ?? '';
  return new Map(policy.split(';').map((part) => part.trim().split(/\s+/)).map(([name = '', ...values]) => [name, values]));
}

function expectBranded(page: Page, where: string): void {
  expect(page.$('img.gh-brand-logo').attr('src'), where).toBe(LOGO);
  expect(page.$('img.gh-brand-logo').attr('alt'), where).toBe('');
  expect(page.$('.gh-brand-name').text(), where).toBe('Tenant brand');
  expect(page.$('.gh-brand-mark'), where).toHaveLength(0);
  const sheets = page.$('link[rel="stylesheet"]').map((_, element) => page.$(element).attr('href')).get();
  expect(sheets, where).toHaveLength(2);
  expect(sheets[0], where).toBe('/assets/gatehouse.css');
  expect(sheets[1], where).toMatch(/^\/t\/brand\/branding\.css\?v=[A-Za-z0-9_-]+$/);
  // Exactly the logo's origin is added, nothing else changes.
  expect(directives(page.headers).get('img-src'), where).toEqual(["'self'", 'data:', 'https://cdn.brand.example']);
  expect(page.headers.get('content-security-policy')?.replace(' https://cdn.brand.example', ''), where).toBe(DEFAULT_CSP);
}

function expectUnbranded(page: Page, where: string): void {
  expect(page.$('img'), where).toHaveLength(0);
  expect(page.$('.gh-brand-mark').text(), where).toBe('T');
  expect(page.$('link[rel="stylesheet"]').map((_, element) => page.$(element).attr('href')).get(), where).toEqual(['/assets/gatehouse.css']);
  expect(page.headers.get('content-security-policy'), where).toBe(DEFAULT_CSP);
}

/** Every kind of page a tenant shows, reached through real HTTP as a browser would. */
async function allPages(tenant: SeededTenant, rp: client.Configuration): Promise<Array<[string, Page]>> {
  const pages: Array<[string, Page]> = [];
  const issuer = gh.issuer(tenant.id);
  const redirect = tenant.client.redirectUri;

  const browser = new Browser(gh.origin);
  const login = await openLoginPage(browser, rp, redirect);
  pages.push(['login', login]);
  const wrong = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: 'wrong password' }, redirect));
  expect(wrong.status).toBe(401);
  pages.push(['login after a wrong password', wrong]);
  const consent = expectPage(await browser.submit(wrong, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, redirect));
  expect(consent.$('form[action$="/consent"]')).toHaveLength(1);
  pages.push(['consent', consent]);

  const changer = new Browser(gh.origin);
  const changeLogin = await openLoginPage(changer, rp, redirect);
  const change = expectPage(await changer.submit(changeLogin, 'form[action$="/password"]', { username: 'frank', password: TEST_PASSWORD }, redirect));
  expect(change.$('form[action$="/change-password"]')).toHaveLength(1);
  pages.push(['change-password', change]);

  // The provider's error page (a protocol error shown to the browser) and ours (an unknown interaction).
  const badRedirect = client.buildAuthorizationUrl(rp, { redirect_uri: 'https://evil.example/cb', scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
  const providerError = expectPage(await new Browser(gh.origin).navigate(badRedirect.href));
  expect(providerError.status).toBe(400);
  pages.push(['provider error', providerError]);
  const ownError = expectPage(await new Browser(gh.origin).navigate(`${issuer}/interaction/does-not-exist`));
  expect(ownError.status).toBeGreaterThanOrEqual(400);
  pages.push(['interaction error', ownError]);

  const console = new Browser(gh.origin);
  pages.push(['account, signed out', expectPage(await console.navigate(`${issuer}/account`))]);
  const consoleLogin = expectPage(await console.navigate(`${issuer}/account/login`));
  const account = expectPage(await console.submit(consoleLogin, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
  expect(account.url).toBe(`${issuer}/account`);
  expect(account.$('dl.gh-dl').text()).toContain('alice@example.com');
  pages.push(['account', account]);
  const logout = expectPage(await console.submit(account, 'form[action$="/logout"]'));
  expect(logout.$('button[name="logout"]')).toHaveLength(1);
  pages.push(['logout confirmation', logout]);

  const ender = new Browser(gh.origin);
  const confirm = expectPage(await ender.navigate(`${issuer}/session/end`));
  const loggedOut = expectPage(await ender.submit(confirm, 'form', {}, undefined, { button: { name: 'logout', value: 'yes' } }));
  expect(loggedOut.url).toMatch(/\/session\/end\/success/);
  pages.push(['logged out', loggedOut]);
  return pages;
}

describe('tenant branding on the pages', () => {
  it('shows the logo and the accent stylesheet on every page of a branded tenant, with the logo origin in img-src', async () => {
    const pages = await allPages(brand, brandRp);
    expect(pages.map(([name]) => name)).toHaveLength(10);
    for (const [name, page] of pages) expectBranded(page, name);
  });

  it('serves the accent colour as a stylesheet of the tenant (style-src stays self)', async () => {
    const login = await openLoginPage(new Browser(gh.origin), brandRp, brand.client.redirectUri);
    const href = login.$('link[href*="branding.css"]').attr('href')!;
    const response = await fetch(new URL(href, gh.origin));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const css = await response.text();
    expect(css).toContain(`--gh-accent: ${ACCENT};`);
    expect(css).toMatch(/--gh-on-accent: #[0-9a-f]{6};/);
    expect(css).toMatch(/--gh-accent-hover: #[0-9a-f]{6};/);
    expect(css).not.toMatch(/url\(|@import|expression/);
  });

  it('leaves a tenant without branding exactly as before', async () => {
    const pages = await allPages(plain, plainRp);
    for (const [name, page] of pages) expectUnbranded(page, name);
    // Discovery and other protocol answers carry the default policy too.
    const discovery = await fetch(`${gh.issuer('plain')}/.well-known/openid-configuration`);
    expect(discovery.headers.get('content-security-policy')).toBe(DEFAULT_CSP);
  });

  it('follows a change at once: new colour, new stylesheet URL, logo removed from page and CSP', async () => {
    const browser = new Browser(gh.origin);
    const before = await openLoginPage(browser, brandRp, brand.client.redirectUri);
    const oldHref = before.$('link[href*="branding.css"]').attr('href');
    expect((await call(gh, root, 'PATCH', '/tenants/brand', { branding: { accent_color: '#7a1f99' } })).status).toBe(200);
    const after = await openLoginPage(browser, brandRp, brand.client.redirectUri);
    const newHref = after.$('link[href*="branding.css"]').attr('href')!;
    expect(newHref).not.toBe(oldHref);
    expect(await (await fetch(new URL(newHref, gh.origin))).text()).toContain('--gh-accent: #7a1f99;');
    expect(after.$('img')).toHaveLength(0);
    expect(after.headers.get('content-security-policy')).toBe(DEFAULT_CSP);
    // The provider's own pages (answered without our Koa app once the tenant is built) follow too.
    const error = expectPage(await browser.navigate(`${gh.issuer('brand')}/auth?client_id=unknown`));
    expect(error.$('img')).toHaveLength(0);
    expect(error.headers.get('content-security-policy')).toBe(DEFAULT_CSP);
    expect((await call(gh, root, 'PATCH', '/tenants/brand', { branding: { logo_url: LOGO, accent_color: ACCENT } })).status).toBe(200);
  });

  it('shows nothing of branding stored by an older version that today’s rules refuse', async () => {
    // Straight into the store, as data written before these checks existed would be.
    await gh.app.tenants.create({ id: 'legacy', displayName: 'Legacy', branding: { logoUrl: 'javascript:alert(1)', accentColor: '#fff;background:url(https://evil.example/x)' } });
    const page = expectPage(await new Browser(gh.origin).navigate(`${gh.issuer('legacy')}/account`));
    expect(page.status).toBe(200);
    expect(page.$('img')).toHaveLength(0);
    expect(page.html).not.toContain('javascript:');
    expect(page.html).not.toContain('evil.example');
    expect(page.$('link[href*="branding.css"]')).toHaveLength(0);
    expect(page.headers.get('content-security-policy')).toBe(DEFAULT_CSP);
    const svg = await gh.app.tenants.create({ id: 'legacy-svg', displayName: 'Legacy SVG', branding: { logoUrl: 'https://cdn.legacy.example/logo.svg', accentColor: '#123456' } });
    const svgPage = expectPage(await new Browser(gh.origin).navigate(`${gh.issuer(svg._id)}/account`));
    expect(svgPage.$('img')).toHaveLength(0);
    expect(svgPage.$('link[href*="branding.css"]')).toHaveLength(1);
  });

  it('answers the stylesheet of a tenant without colours with an empty sheet, and an unknown tenant with 404', async () => {
    const empty = await fetch(`${gh.issuer('plain')}/branding.css`);
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await empty.text()).not.toContain('--gh-accent');
    expect((await fetch(`${gh.issuer('nobody')}/branding.css`)).status).toBe(404);
    expect((await fetch(`${gh.issuer('brand')}/branding.css`, { method: 'POST' })).status).toBe(405);
  });
});
