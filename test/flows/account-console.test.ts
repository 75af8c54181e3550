import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { everyDocument } from '../helpers/store-scan.js';

/**
 * The account console's own sessions (review defect 18): what it keeps is how the user signed in,
 * never a token; the cookie it sets cannot be rebuilt from what is stored.
 */
let gh: TestGatehouse;
let offset = 0;

beforeAll(async () => {
  gh = await startGatehouse({}, { clock: () => Date.now() + offset });
});
afterAll(() => gh.stop());

async function signIn(tenantId: string): Promise<{ browser: Browser; account: Page }> {
  await seedTenant(gh, tenantId);
  const browser = new Browser(gh.origin);
  const login = expectPage(await browser.navigate(`/t/${tenantId}/account/login`));
  const account = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
  expect(account.url).toBe(`${gh.issuer(tenantId)}/account`);
  expect(account.$('main').text()).toContain('alice@example.com');
  return { browser, account };
}

/** The console's sessions of a tenant, as the short-lived state holds them (the store-backed one here). */
async function consoleEntries(tenantId: string): Promise<Array<Record<string, unknown>>> {
  const docs = await gh.app.store.collection<{ _id: string; v?: string; expiresAt: Date }>('ephemeral').find({});
  return docs
    .filter((doc) => doc._id.startsWith(`{${tenantId}}:console:`) && doc.expiresAt.getTime() > gh.app.clock())
    .map((doc) => JSON.parse(doc.v ?? 'null') as Record<string, unknown>);
}

function sessionCookie(browser: Browser) {
  const cookie = browser.cookies.find((candidate) => candidate.name === 'gh_account');
  if (!cookie) throw new Error('no console cookie');
  return { ...cookie };
}

async function expectSignedOut(browser: Browser, tenantId: string): Promise<void> {
  const page = expectPage(await browser.navigate(`/t/${tenantId}/account`));
  expect(page.status).toBe(200);
  expect(page.$('main').text()).not.toContain('alice@example.com');
  expect(page.$('a[href$="/account/login"]')).toHaveLength(1);
}

describe('account console sessions', () => {
  it('keeps no access token, ID token or usable cookie value in the store or the short-lived state', async () => {
    const { browser } = await signIn('console-tokens');
    const docs = await everyDocument(gh.app.store);

    // Opaque access tokens are the ids of the provider's own records (in the `oidc` collection, or
    // in short-lived state with Redis: adapters/oidc/routing.ts): only that record and its lookups
    // (grant and account sets) may hold one.
    const providerKey = /^(?:\{console-tokens\}:oidc(?:-[a-z]+)?:|console-tokens:AccessToken:)/;
    const accessTokens = docs
      .flatMap(({ doc }) => /^(?:\{console-tokens\}:oidc:|console-tokens:)AccessToken:(.+)$/.exec(doc._id)?.slice(1) ?? [])
      .map(decodeURIComponent);
    expect(accessTokens.length).toBeGreaterThan(0);
    for (const token of accessTokens) {
      const holders = docs.filter(({ doc, text }) => !providerKey.test(doc._id) && text.includes(token));
      expect(holders.map(({ collection, doc }) => `${collection}/${doc._id}`)).toEqual([]);
    }
    // ID tokens (and JWT access tokens) are never stored by the provider: no JWT of the tenant anywhere.
    const jwts = docs.flatMap(({ collection, text }) =>
      [...text.matchAll(/eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+/g)].filter(([jwt]) => decodeJwt(jwt).iss === gh.issuer('console-tokens')).map(() => collection),
    );
    expect(jwts).toEqual([]);
    // The cookie's value is not stored either (its hash is the key), so a dump of the store gives no cookie.
    const [value] = sessionCookie(browser).value.split('.');
    expect(value!.length).toBeGreaterThanOrEqual(32);
    expect(docs.filter(({ text }) => text.includes(value!)).map(({ collection }) => collection)).toEqual([]);
  });

  it('keeps how the user signed in (sub, sid, amr, auth_time) and an expiry, nothing else', async () => {
    const before = Math.floor(Date.now() / 1000) - 1;
    await signIn('console-claims');
    const entries = await consoleEntries('console-claims');
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    const user = await gh.app.users.findByIdentifier('console-claims', 'alice');
    expect(entry).toMatchObject({ sub: user!._id, sid: expect.any(String), amr: ['pwd'], auth_time: expect.any(Number), exp: expect.any(Number) });
    expect(entry!['auth_time']).toBeGreaterThanOrEqual(before);
    expect(Object.keys(entry!).every((key) => ['sub', 'sid', 'acr', 'amr', 'auth_time', 'exp'].includes(key))).toBe(true);
  });

  it('forgets the session at sign-out, so its cookie is refused afterwards', async () => {
    const { browser, account } = await signIn('console-out');
    const cookie = sessionCookie(browser);
    const confirm = expectPage(await browser.submit(account, 'form[action$="/account/logout"]'));
    expect(await consoleEntries('console-out')).toEqual([]);
    const back = expectPage(await browser.submit(confirm, 'form', {}, undefined, { button: { name: 'logout', value: 'yes' } }));
    expect(back.url).toBe(`${gh.issuer('console-out')}/account`);
    expect(back.$('a[href$="/account/login"]')).toHaveLength(1);
    // The old cookie, put back, names a session that no longer exists.
    browser.cookies.push(cookie);
    await expectSignedOut(browser, 'console-out');
  });

  it("ends with the provider's session it signed in through", async () => {
    const { browser } = await signIn('console-sid');
    // Signing out at the provider (as another application of the tenant would send the browser).
    const confirm = expectPage(await browser.navigate(`/t/console-sid/session/end`));
    expectPage(await browser.submit(confirm, 'form', {}, undefined, { button: { name: 'logout', value: 'yes' } }));
    await expectSignedOut(browser, 'console-sid');
    expect(await consoleEntries('console-sid')).toEqual([]);
  });

  it('refuses an expired session', async () => {
    const { browser } = await signIn('console-expiry');
    offset += 2 * 60 * 60 * 1000;
    try {
      await expectSignedOut(browser, 'console-expiry');
    } finally {
      offset -= 2 * 60 * 60 * 1000;
    }
    await expectSignedOut(browser, 'console-expiry');
  });

  it('refuses a tampered cookie, and a sign-out without its CSRF token', async () => {
    const { browser, account } = await signIn('console-bad');
    const cookie = browser.cookies.find((candidate) => candidate.name === 'gh_account')!;
    const original = cookie.value;
    const [value, mac] = original.split('.');
    cookie.value = `${value!.slice(0, -2)}AA.${mac}`;
    await expectSignedOut(browser, 'console-bad');
    cookie.value = 'x'.repeat(5000);
    await expectSignedOut(browser, 'console-bad');
    cookie.value = original;
    const forged = await browser.request(`/t/console-bad/account/logout`, { method: 'POST', form: { csrf: 'wrong' } });
    expect(forged.status).toBe(403);
    expect(await consoleEntries('console-bad')).toHaveLength(1);
    expect(expectPage(await browser.navigate(account.url)).$('main').text()).toContain('alice@example.com');
  });
});
