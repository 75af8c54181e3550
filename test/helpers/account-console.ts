import { expect } from 'vitest';
import { Browser, expectPage, type Page } from './browser.js';
import { seedTenant, TEST_PASSWORD, type TestGatehouse } from './gatehouse.js';
import { totpCode } from './totp.js';

/**
 * The account console's steps as a user takes them through the real pages (the cheerio browser):
 * sign in with the password, open the Security section, add an authenticator app, and sign in
 * again with the password and a code as the section asks before a change. `server` is read at each
 * call, so a test file can build these before its server starts.
 */
export function consoleSteps(server: () => TestGatehouse) {
  async function signIn(tenantId: string): Promise<{ browser: Browser; userId: string }> {
    const gh = server();
    const seeded = await seedTenant(gh, tenantId);
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate(`/t/${tenantId}/account/login`));
    expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    return { browser, userId: seeded.userId };
  }

  async function securityPage(browser: Browser, tenantId: string): Promise<Page> {
    const account = expectPage(await browser.navigate(`/t/${tenantId}/account`));
    const href = account.$('a[href$="/account/security"]').attr('href');
    expect(href).toBe(`/t/${tenantId}/account/security`);
    const page = expectPage(await browser.navigate(href!));
    expect(page.status).toBe(200);
    return page;
  }

  /** Adds an authenticator app through the pages; answers its key and the page after confirming. */
  async function addAuthenticator(browser: Browser, tenantId: string, name = 'Phone'): Promise<{ secret: string; page: Page }> {
    const gh = server();
    const security = await securityPage(browser, tenantId);
    const enrol = expectPage(await browser.submit(security, 'form[action$="/security/totp"]', { name }));
    expect(enrol.status).toBe(200);
    expect(enrol.$('img.gh-qr').attr('src')).toMatch(/^data:image\/png;base64,/);
    expect(enrol.$('input[name="code"]').attr('autocomplete')).toBe('one-time-code');
    const secret = enrol.$('#totp-key').text().trim();
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
    // The previous step's code (still accepted): the current one stays unused for the next sign-in.
    const page = expectPage(await browser.submit(enrol, 'form[action$="/security/totp/confirm"]', { code: totpCode(secret, -1, gh.app.clock()) }));
    expect(page.$('main').text()).toContain(`${name} is set up`);
    return { secret, page };
  }

  /**
   * Signs the console in again the way the security page asks (`?fresh=security`): the password,
   * then the authenticator's current code; answers the security page it comes back to.
   */
  async function freshSignIn(browser: Browser, tenantId: string, secret: string): Promise<Page> {
    const gh = server();
    const login = expectPage(await browser.navigate(`/t/${tenantId}/account/login?fresh=security`));
    const second = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const back = expectPage(await browser.submit(second, 'form[action$="/totp"]', { code: totpCode(secret, 0, gh.app.clock()) }));
    expect(back.url).toBe(`${gh.issuer(tenantId)}/account/security`);
    return back;
  }

  return { signIn, securityPage, addAuthenticator, freshSignIn };
}
