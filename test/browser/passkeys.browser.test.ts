/**
 * Passkeys and security keys in headless Chromium with the DevTools virtual authenticator (issue 10):
 * Gatehouse's public URL is http://localhost:{port} (an IP address cannot be an RP ID). A passkey made
 * by the browser signs in without a password (amr/acr read from the ID token by openid-client), a
 * key is the second factor after a password, and the server refuses what the browser signed for
 * another origin (a phishing proxy on another localhost port, same RP ID) and another tenant's
 * credential (path tenants share the RP ID).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import type { RegistrationResponseJSON } from '../../src/authn/webauthn.js';
import { expectNoPageProblems, launchChromium, openWatchedPage, type PageProblems } from '../helpers/chromium.js';
import { freePort, seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { startPhishingProxy, type PhishingProxy } from '../helpers/proxy.js';

const STEP_TIMEOUT = 10_000;
const TEST_TIMEOUT = 40_000;
/** The relying party's redirect URI: a tiny real server started below, which answers any callback. */
let REDIRECT_URI = '';
let rpServer: Server;

let gh: TestGatehouse;
let browser: Browser;
let proxy: PhishingProxy;
const contexts: BrowserContext[] = [];
const rps = new Map<string, client.Configuration>();
let users = 0;

beforeAll(async () => {
  browser = await launchChromium();
  rpServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><title>RP</title><p>callback</p>'));
  await new Promise<void>((resolve) => rpServer.listen(0, '127.0.0.1', resolve));
  REDIRECT_URI = `http://127.0.0.1:${(rpServer.address() as AddressInfo).port}/callback`;
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  gh = { ...(await startGatehouse({ port, publicUrl: origin })), origin, issuer: (tenant) => `${origin}/t/${tenant}` };
  for (const tenant of ['acme', 'beta']) {
    await seedTenant(gh, tenant);
    // A first-party client: no consent page, every login ends at the redirect URI.
    await gh.app.clients.create(tenant, { client_id: 'pk-app', client_name: 'Passkey App', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none', first_party: true });
    rps.set(tenant, await relyingParty(gh, tenant, 'pk-app'));
  }
  proxy = await startPhishingProxy(gh.origin);
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await proxy?.close();
  rpServer?.closeAllConnections();
  await new Promise((resolve) => rpServer?.close(resolve));
  await browser?.close();
  await gh?.stop();
});

const expectNoProblems = (problems: PageProblems, origin = gh.origin) => expectNoPageProblems(problems, origin);

/**
 * A fresh browser profile with a virtual platform authenticator (resident keys, user verification,
 * presence simulated). The virtual authenticator answers a conditional (autofill) request at once,
 * as a user picking the passkey from the username field's list would; `autofill: false` makes the
 * page's `PublicKeyCredential.isConditionalMediationAvailable()` say no (a browser without passkey
 * autofill), so the page must not start it and the buttons are what is tested.
 */
async function openPageWithAuthenticator({ autofill = true } = {}): Promise<{ page: Page; problems: PageProblems; cdp: CDPSession; authenticatorId: string }> {
  const { page, problems } = await openWatchedPage(browser, contexts, { stepTimeoutMs: STEP_TIMEOUT });
  if (!autofill) await page.addInitScript('PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { page, problems, cdp, authenticatorId };
}

async function newUser(tenant = 'acme') {
  users += 1;
  const username = `key${users}`;
  const user = await gh.app.users.create(tenant, { username, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
  return { username, userId: user._id };
}

/** Opens a fresh authorization request (through `origin`, the proxy's or Gatehouse's): its PKCE verifier. */
async function openLogin(page: Page, tenant = 'acme', origin = gh.origin, extra: Record<string, string> = {}): Promise<string> {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(rps.get(tenant)!, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', ...extra });
  await page.goto(url.href.replace(gh.origin, origin));
  await page.waitForURL(new RegExp(`^${origin}/t/${tenant}/interaction/`));
  return verifier;
}

/**
 * The browser makes a passkey for a user (through the WebAuthn service, as the console does): the
 * options from the service, `startRegistration` of the bundle Gatehouse serves, run in a document of
 * Gatehouse's origin (no login page: its autofill would start), the answer back to the service.
 */
async function registerInBrowser(page: Page, tenant: string, userId: string): Promise<void> {
  await page.goto(`${gh.origin}/assets/gatehouse.css`);
  await page.addScriptTag({ url: '/assets/simplewebauthn-browser.js' });
  const settings = (await gh.app.tenants.find(tenant))!;
  const { registrationId, options } = await gh.app.mfa.webauthn.startRegistration(settings, userId, { bindTo: 'browser-test' });
  const response = await page.evaluate<RegistrationResponseJSON>(`SimpleWebAuthnBrowser.startRegistration({ optionsJSON: ${JSON.stringify(options)} })`);
  await gh.app.mfa.webauthn.finishRegistration(settings, userId, { registrationId, bindTo: 'browser-test', response });
}

async function claimsAt(page: Page, tenant: string, verifier: string) {
  await page.waitForURL((url) => url.href.startsWith(REDIRECT_URI));
  const tokens = await client.authorizationCodeGrant(rps.get(tenant)!, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: 'st' });
  return tokens.claims()!;
}

describe('passkeys in headless Chromium', () => {
  it('registers a passkey in the account console, then signs in with it from the username field autofill alone: amr hwk mfa, acr phishing-resistant', { timeout: TEST_TIMEOUT }, async () => {
    const { username, userId } = await newUser();
    const consoleTab = await openPageWithAuthenticator({ autofill: false });
    // A user with no factor adds the first one on the strength of a fresh password sign-in.
    await consoleTab.page.goto(`${gh.origin}/t/acme/account/login`);
    await consoleTab.page.getByLabel('Username').fill(username);
    await consoleTab.page.getByLabel('Password').fill(TEST_PASSWORD);
    await consoleTab.page.getByLabel('Password').press('Enter');
    await consoleTab.page.waitForURL(`${gh.origin}/t/acme/account`);
    await consoleTab.page.goto(`${gh.origin}/t/acme/account/security`);
    await consoleTab.page.getByRole('button', { name: 'Add a passkey' }).click();
    await consoleTab.page.waitForURL(/\/t\/acme\/account\/security\?added=/);
    expectNoProblems(consoleTab.problems);

    // Another browser profile (no session) holding the same passkey, as a synced or roaming one would.
    const [credential] = (await consoleTab.cdp.send('WebAuthn.getCredentials', { authenticatorId: consoleTab.authenticatorId })).credentials;
    const { page, problems, cdp, authenticatorId } = await openPageWithAuthenticator();
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credential! });

    const options = page.waitForResponse((response) => response.url().endsWith('/passkey/options'));
    const verifier = await openLogin(page);
    expect((await options).status()).toBe(200);
    // Nothing clicked: the conditional request started by the page is answered by the authenticator.
    // It is device-bound (not backup eligible): hwk (see docs/mfa.md).
    expect(await claimsAt(page, 'acme', verifier)).toMatchObject({ sub: userId, acr: ACR.phishingResistant, amr: ['hwk', 'mfa'] });
    expectNoProblems(problems);
  });

  it('signs in with the "Sign in with a passkey" button where the browser has no passkey autofill', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPageWithAuthenticator({ autofill: false });
    const { userId } = await newUser();
    await registerInBrowser(page, 'acme', userId);

    const verifier = await openLogin(page);
    expect(await page.getByLabel('Username').getAttribute('autocomplete')).toBe('username webauthn');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    expect(await claimsAt(page, 'acme', verifier)).toMatchObject({ sub: userId, acr: ACR.phishingResistant, amr: ['hwk', 'mfa'] });
    expectNoProblems(problems);
  });

  it('uses the key as the second factor after the password', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPageWithAuthenticator({ autofill: false });
    const { username, userId } = await newUser();
    await registerInBrowser(page, 'acme', userId);

    const verifier = await openLogin(page);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Use your passkey or security key');
    await page.getByRole('button', { name: 'Use your passkey or security key' }).click();
    expect(await claimsAt(page, 'acme', verifier)).toMatchObject({ sub: userId, acr: ACR.phishingResistant, amr: ['pwd', 'hwk', 'mfa'] });
    expectNoProblems(problems);
  });

  it('refuses what the browser signed on a phishing proxy (another origin, same RP ID); the same passkey works on Gatehouse', { timeout: TEST_TIMEOUT }, async () => {
    const { page, problems } = await openPageWithAuthenticator({ autofill: false });
    const { userId } = await newUser();
    await registerInBrowser(page, 'acme', userId);

    await openLogin(page, 'acme', proxy.origin);
    const answered = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/passkey'));
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    expect((await answered).status()).toBe(401);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('That passkey could not be used to sign in');
    expect(page.url().startsWith(`${proxy.origin}/t/acme/interaction/`)).toBe(true);
    // The browser reports the 401 of that POST as a console error; nothing else went wrong.
    expectNoProblems({ ...problems, console: problems.console.filter((line) => !line.includes('401')) }, proxy.origin);

    const verifier = await openLogin(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    expect((await claimsAt(page, 'acme', verifier)).sub).toBe(userId);
  });

  it("refuses another tenant's passkey: path tenants share the RP ID, credentials are looked up per tenant", { timeout: TEST_TIMEOUT }, async () => {
    const { page } = await openPageWithAuthenticator({ autofill: false });
    const { userId } = await newUser('acme');
    await registerInBrowser(page, 'acme', userId);

    await openLogin(page, 'beta');
    const answered = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/passkey'));
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    expect((await answered).status()).toBe(401);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('That passkey could not be used to sign in');
  });
});
