/**
 * SAML single sign-on in headless Chromium through the real login pages (issue 13, "Tests that
 * must exist"): the service provider is a small web site on loopback whose AuthnRequests are made
 * and whose ACS checks the Response with pysaml2 (`test/helpers/saml-sp-site.ts`), showing the
 * attributes it accepted. SP-initiated with a password; with an authenticator app as second factor
 * when the SP asks for REFEDS MFA; with an existing session from the account console (no login
 * page at all); and IdP-initiated from "My apps" in the console.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { expectNoPageProblems, launchChromium, openWatchedPage, type PageProblems } from '../helpers/chromium.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { spLibrariesProblem } from '../helpers/saml-sp.js';
import { SpSite } from '../helpers/saml-sp-site.js';
import { totpCode } from '../helpers/totp.js';
import { testKeyPair, type TestKeyPair } from '../helpers/xmlsec.js';

const STEP_TIMEOUT = 15_000;
const TEST_TIMEOUT = 60_000;
const SP = 'https://sp.test/metadata';

let gh: TestGatehouse;
let browser: Browser;
let site: SpSite;
let key: TestKeyPair;
let metadata: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const problem = spLibrariesProblem();
  if (problem) throw new Error(`The SAML interoperability tools are not installed: ${problem}`);
  browser = await launchChromium();
  key = await testKeyPair('sp.test');
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
  await seedTenant(gh, 'acme');
  metadata = await (await fetch(`${gh.issuer('acme')}/saml/metadata`)).text();
  site = await SpSite.start('pysaml2', (origin) => ({ entity_id: SP, acs_url: `${origin}/acs`, slo_url: `${origin}/slo`, key_file: key.keyFile, cert_file: key.certFile, idp_metadata: metadata, want_assertions_signed: true }));
  const root = await adminToken(gh);
  const created = await call(gh, root, 'POST', '/tenants/acme/saml-apps', {
    name: 'Wiki',
    entity_id: SP,
    acs_urls: [{ url: `${site.origin}/acs`, binding: 'HTTP-POST' }],
    name_id_formats: ['email'],
    attributes: [
      { name: 'email', name_format: 'basic', source: 'email' },
      { name: 'givenName', name_format: 'basic', source: 'given_name' },
    ],
    idp_initiated: { allowed: true, default_relay_state: '/wiki/start' },
    access: { all_users: true },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await gh?.stop();
  await key?.close();
});

/** A fresh browser profile, and every URL its page navigates to. */
async function openPage(): Promise<{ page: Page; problems: PageProblems; visited: string[] }> {
  const opened = await openWatchedPage(browser, contexts, { stepTimeoutMs: STEP_TIMEOUT });
  const visited: string[] = [];
  opened.page.on('framenavigated', (frame) => {
    if (frame === opened.page.mainFrame()) visited.push(frame.url());
  });
  return { ...opened, visited };
}

const expectNoProblems = (problems: PageProblems) => expectNoPageProblems(problems, gh.origin);

async function password(page: Page, username = 'alice'): Promise<void> {
  await page.waitForURL(new RegExp(`^${gh.origin}/t/acme/interaction/`));
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByLabel('Password').press('Enter');
}

/** The SP's ACS page, once the Response page has posted itself there; answers what it shows. */
async function spPage(page: Page): Promise<{ nameId: string; attributes: string; context: string; relayState: string; kind: string }> {
  await page.waitForURL(`${site.origin}/acs`);
  const text = async (selector: string) => (await page.locator(selector).textContent())?.trim() ?? '';
  if ((await page.locator('#error').count()) > 0) throw new Error(`the SP refused the Response: ${await text('#error')}`);
  return { nameId: await text('#name-id'), attributes: await text('#attributes'), context: await text('#authn-context'), relayState: await text('#relay-state'), kind: await text('#kind') };
}

describe('SAML sign-on in headless Chromium', () => {
  it('SP-initiated with a password: the SP checks the assertion and shows its attributes', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPage();
    await page.goto(`${site.origin}/login?relay=%2Fdocs%2Fpage`);
    await password(page);
    const shown = await spPage(page);
    expect(shown).toMatchObject({ nameId: 'alice@example.com', relayState: '/docs/page', kind: 'solicited', context: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport' });
    expect(shown.attributes).toContain('emailalice@example.com');
    expect(shown.attributes).toContain('givenNameAlice');
    expectNoProblems(problems);
  });

  it('asks a user with an authenticator app for the code when the SP asks for REFEDS MFA, and says so in the assertion', { timeout: TEST_TIMEOUT }, async () => {
    const bob = await gh.app.users.create('acme', { username: 'bob', email: 'bob@example.com', emailVerified: true, givenName: 'Bob', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    const enrolment = await gh.app.mfa.totp.startEnrollment('acme', bob._id);
    await gh.app.mfa.totp.confirmEnrollment('acme', bob._id, enrolment.enrollmentId, totpCode(enrolment.secret, -1));

    const { page, problems } = await openPage();
    await page.goto(`${site.origin}/login?mfa=1`);
    await password(page, 'bob');
    const code = page.locator('input[name="code"]');
    await code.waitFor();
    await code.fill(totpCode(enrolment.secret));
    await code.press('Enter');
    const shown = await spPage(page);
    expect(shown).toMatchObject({ nameId: 'bob@example.com', context: 'https://refeds.org/profile/mfa' });
    expect(shown.attributes).toContain('givenNameBob');
    expectNoProblems(problems);
  });

  it('gives a browser signed in to the account console the assertion without any login page', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems, visited } = await openPage();
    await page.goto(`${gh.origin}/t/acme/account/login`);
    await password(page);
    await page.waitForURL(`${gh.origin}/t/acme/account`);

    const from = visited.length;
    await page.goto(`${site.origin}/login`);
    expect(await spPage(page)).toMatchObject({ nameId: 'alice@example.com', kind: 'solicited' });
    const path = visited.slice(from);
    expect(path.filter((url) => url.includes('/interaction/')), path.join('\n')).toEqual([]);
    expectNoProblems(problems);
  });

  it('IdP-initiated from "My apps": the SP accepts the unsolicited Response with the default RelayState', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPage();
    await page.goto(`${gh.origin}/t/acme/account/login`);
    await password(page);
    await page.waitForURL(`${gh.origin}/t/acme/account`);
    await page.getByRole('link', { name: /My apps/ }).click();
    await page.waitForURL(`${gh.origin}/t/acme/account/apps`);
    expect(await page.getByRole('list', { name: 'Your apps' }).innerText()).toContain('Wiki');
    await page.getByRole('button', { name: 'Open Wiki' }).click();
    const shown = await spPage(page);
    expect(shown).toMatchObject({ nameId: 'alice@example.com', kind: 'unsolicited', relayState: '/wiki/start' });
    expect(shown.attributes).toContain('emailalice@example.com');
    expectNoProblems(problems);
  });

  it('IdP-initiated from the direct link: a confirm page first, then the login, then the SP', { timeout: TEST_TIMEOUT }, async () => {
    const apps = await gh.app.samlApps.listOpenable('acme');
    const { page, problems } = await openPage();
    await page.goto(`${gh.origin}/t/acme/saml/apps/${apps[0]!.id}/start`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in to Wiki');
    const before = site.signIns.length;
    await page.getByRole('button', { name: 'Continue' }).click();
    await password(page);
    expect(await spPage(page)).toMatchObject({ nameId: 'alice@example.com', kind: 'unsolicited', relayState: '/wiki/start' });
    expect(site.signIns.length).toBe(before + 1);
    expectNoProblems(problems);
  });
});
