/**
 * Passkeys and security keys in the login pipeline over real HTTP (issue 10), with the soft
 * authenticator of test/helpers/soft-authenticator.ts standing in for the browser's, so hostile
 * assertions can be sent: a passkey as the only factor (amr/acr in the ID token), a key as the
 * second factor and at a step-up, and the bad input that touches the login (no user verification
 * for a passkey, a replayed challenge, a wrong origin, another user's or tenant's credential, a
 * counter that did not increase, a disabled user, malformed answers, throttling).
 */
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { chargePasskeySignIn } from '../../src/authn/sign-in-throttle.js';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';
import { totpCode } from '../helpers/totp.js';

let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
let root: string;
let users = 0;
const authenticator = new SoftAuthenticator();

beforeAll(async () => {
  gh = await startAdminGatehouse();
  acme = await seedTenant(gh, 'acme');
  await seedTenant(gh, 'other');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  root = await adminToken(gh);
  // The test client skips consent, so every login ends at the redirect URI.
  expect((await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', { first_party: true })).status).toBe(200);
});
afterAll(() => gh.stop());

const PASSKEY_REFUSED = 'That passkey could not be used to sign in';
const KEY_REFUSED = 'could not be verified';

/** A user with the test password (optionally marked "must change") and optionally an authenticator app. */
async function newUser(tenant = 'acme', { totp = false, mustChange = false } = {}) {
  users += 1;
  const username = `pk${users}`;
  const user = await gh.app.users.create(tenant, { username, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD), ...(mustChange ? { passwordMustChange: true } : {}) });
  let secret = '';
  if (totp) {
    const enrollment = await gh.app.mfa.totp.startEnrollment(tenant, user._id);
    secret = enrollment.secret;
    await gh.app.mfa.totp.confirmEnrollment(tenant, user._id, enrollment.enrollmentId, totpCode(secret, -1));
  }
  return { username, userId: user._id, secret };
}

/** Registers a passkey of the soft authenticator for a user through the WebAuthn service; its credential ID. */
async function registerPasskey(tenant: string, userId: string, options: { counter?: number } = {}): Promise<string> {
  const settings = (await gh.app.tenants.find(tenant))!;
  const { registrationId, options: creation } = await gh.app.mfa.webauthn.startRegistration(settings, userId, { bindTo: `test:${userId}` });
  const response = authenticator.createCredential(creation, { origin: gh.origin, backupEligible: true, backedUp: true, ...options });
  await gh.app.mfa.webauthn.finishRegistration(settings, userId, { registrationId, bindTo: `test:${userId}`, response });
  return response.id;
}

/** A fresh authorization request's first page (the login page), with the PKCE verifier to redeem its code. */
async function start(extra: Record<string, string> = {}, browser = new Browser(gh.origin)) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', ...extra });
  const page = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
  return { browser, page, verifier };
}

/** The raw answer of a step's options URL, as the page's script asks for it (the form's CSRF token). */
async function requestOptions(browser: Browser, page: Page, step: string, fields?: Record<string, string>): Promise<Response> {
  const form = page.$(`form[action$="/${step}"]`);
  // A step without a form on this page: its URL under the interaction's own (the page's URL).
  const action = form.attr('action') ?? `${new URL(page.url).pathname}/${step}`;
  const csrf = page.$('input[name="csrf"]').first().attr('value') ?? '';
  return browser.request(new URL(`${action}/options`, page.url).href, { form: fields ?? { csrf }, headers: { accept: 'application/json', origin: gh.origin } });
}

async function optionsOf(browser: Browser, page: Page, step: 'passkey' | 'webauthn'): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const answer = await requestOptions(browser, page, step);
  expect(answer.status, await answer.clone().text()).toBe(200);
  return (await answer.json()) as PublicKeyCredentialRequestOptionsJSON;
}

const postAssertion = (browser: Browser, page: Page, step: string, response: unknown) =>
  browser.submit(page, `form[action$="/${step}"]`, { response: typeof response === 'string' ? response : JSON.stringify(response) }, acme.client.redirectUri);

async function claimsOf(callback: string, verifier: string) {
  const tokens = await client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'st' });
  return tokens.claims()!;
}

/** Signs in with a passkey alone: the page after the assertion (or the redirect). */
async function passkeySignIn(assertionOptions: Partial<Parameters<SoftAuthenticator['getAssertion']>[1]> = {}, extra: Record<string, string> = {}) {
  const { browser, page, verifier } = await start(extra);
  const options = await optionsOf(browser, page, 'passkey');
  const assertion = authenticator.getAssertion(options, { origin: gh.origin, ...assertionOptions });
  return { browser, page, verifier, options, assertion, result: await postAssertion(browser, page, 'passkey', assertion) };
}

describe('a passkey instead of the password', () => {
  it('offers the passkey on the login page and signs in with it alone: amr swk mfa, acr phishing-resistant', async () => {
    const { userId } = await newUser();
    const credentialId = await registerPasskey('acme', userId);
    const { page, options, result, verifier } = await passkeySignIn({ credentialId });
    expect(page.$('input[name="username"]').attr('autocomplete')).toBe('username webauthn');
    expect(page.$('form[action$="/passkey"] [data-webauthn-start]').text()).toContain('Sign in with a passkey');
    expect(page.$('script[src="/assets/webauthn-login.js"]').length).toBe(1);
    // A discoverable credential with user verification, for this tenant's RP ID.
    expect(options.userVerification).toBe('required');
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(options.rpId).toBe(new URL(gh.origin).hostname);

    const claims = await claimsOf(expectRedirect(result), verifier);
    expect(claims).toMatchObject({ sub: userId, acr: ACR.phishingResistant, amr: ['swk', 'mfa'] });
    const factors = await gh.app.mfa.factors.list('acme', userId);
    expect(factors.find((factor) => factor.type === 'webauthn')?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('meets a request for multi-factor or phishing-resistant, and skips a forced password change (the password is never asked)', async () => {
    const { userId } = await newUser('acme', { mustChange: true, totp: true });
    const credentialId = await registerPasskey('acme', userId);
    for (const acr of [ACR.multiFactor, ACR.phishingResistant]) {
      const { result, verifier } = await passkeySignIn({ credentialId }, { acr_values: acr });
      expect(await claimsOf(expectRedirect(result), verifier)).toMatchObject({ sub: userId, acr: ACR.phishingResistant });
    }
  });

  it('meets a tenant that requires MFA: no second factor, no enrolment asked after a passkey', async () => {
    const strict = await seedTenant(gh, 'strict');
    await gh.app.tenants.update('strict', { securityPolicy: { mfa: 'required' } });
    const config = await relyingParty(gh, 'strict', strict.client.clientId, strict.client.clientSecret);
    const credentialId = await registerPasskey('strict', strict.userId);
    const browser = new Browser(gh.origin);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: strict.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st', prompt: 'consent' });
    const page = expectPage(await browser.navigate(url.href, {}, strict.client.redirectUri));
    const options = await optionsOf(browser, page, 'passkey');
    const next = expectPage(await postAssertion(browser, page, 'passkey', authenticator.getAssertion(options, { origin: gh.origin, credentialId })));
    // Signed in: the next page is the consent of this third-party client, not a code or an enrolment.
    expect(next.$('form[action$="/consent"]').length).toBe(1);
    const callback = expectRedirect(await browser.submit(next, 'form[action$="/consent"]', {}, strict.client.redirectUri));
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'st' });
    expect(tokens.claims()).toMatchObject({ sub: strict.userId, acr: ACR.phishingResistant, amr: ['swk', 'mfa'] });
  });

  it('refuses a passkey without user verification, then accepts one with it in the same sign-in', async () => {
    const { userId } = await newUser();
    const credentialId = await registerPasskey('acme', userId);
    const { browser, result, verifier } = await passkeySignIn({ uv: false, credentialId });
    const refused = expectPage(result);
    expect(refused.status).toBe(401);
    expect(refused.$('[role="alert"]').text()).toContain(PASSKEY_REFUSED);
    const options = await optionsOf(browser, refused, 'passkey');
    const callback = expectRedirect(await postAssertion(browser, refused, 'passkey', authenticator.getAssertion(options, { origin: gh.origin, credentialId })));
    expect((await claimsOf(callback, verifier)).sub).toBe(userId);
  });

  it('refuses a replayed assertion: in another sign-in, and again in its own (challenge taken once)', async () => {
    const { userId } = await newUser();
    const credentialId = await registerPasskey('acme', userId);
    const first = await passkeySignIn({ credentialId });
    expectRedirect(first.result);
    // Another interaction with a pending challenge of its own.
    const other = await start();
    await optionsOf(other.browser, other.page, 'passkey');
    expect(expectPage(await postAssertion(other.browser, other.page, 'passkey', first.assertion)).status).toBe(401);
    // The same answer posted in parallel in one interaction: one sign-in at most.
    const again = await start();
    const options = await optionsOf(again.browser, again.page, 'passkey');
    const assertion = authenticator.getAssertion(options, { origin: gh.origin, credentialId });
    const results = await Promise.all(Array.from({ length: 5 }, () => postAssertion(again.browser, again.page, 'passkey', assertion)));
    const signedIn = results.filter((result) => 'redirectedTo' in result);
    expect(signedIn.length).toBe(1);
    expect(results.filter((result) => !('redirectedTo' in result)).map((result) => expectPage(result).status)).toEqual([401, 401, 401, 401]);
  });

  it('refuses an assertion made for another origin', async () => {
    const { userId } = await newUser();
    const credentialId = await registerPasskey('acme', userId);
    const { result } = await passkeySignIn({ origin: 'http://evil.example', credentialId });
    expect(expectPage(result).status).toBe(401);
    const lookalike = await passkeySignIn({ origin: gh.origin.replace('127.0.0.1', 'localhost'), credentialId });
    expect(expectPage(lookalike.result).status).toBe(401);
  });

  it("refuses another tenant's credential (path tenants share the RP ID)", async () => {
    const stranger = await newUser('other');
    const credentialId = await registerPasskey('other', stranger.userId);
    const { result } = await passkeySignIn({ credentialId });
    const page = expectPage(result);
    expect(page.status).toBe(401);
    expect(page.$('[role="alert"]').text()).toContain(PASSKEY_REFUSED);
  });

  it('refuses a counter that did not increase (possible clone), audited', async () => {
    const { userId } = await newUser();
    const credentialId = await registerPasskey('acme', userId, { counter: 5 });
    expectRedirect((await passkeySignIn({ credentialId, counter: 6 })).result);
    expect(expectPage((await passkeySignIn({ credentialId, counter: 6 })).result).status).toBe(401);
    expect(expectPage((await passkeySignIn({ credentialId, counter: 3 })).result).status).toBe(401);
    const events = await call(gh, root, 'GET', '/tenants/acme/audit-events?type=mfa.webauthn_counter_regressed&limit=100');
    expect(JSON.stringify(events.body)).toContain(userId);
    expectRedirect((await passkeySignIn({ credentialId, counter: 7 })).result);
  });

  it('refuses the passkey of a disabled user like an unknown one', async () => {
    const { userId } = await newUser();
    const credentialId = await registerPasskey('acme', userId);
    await gh.app.users.setDisabled('acme', userId, true);
    const page = expectPage((await passkeySignIn({ credentialId })).result);
    expect(page.status).toBe(401);
    expect(page.$('[role="alert"]').text()).toContain(PASSKEY_REFUSED);
  });

  it('refuses malformed, oversized and unexpected answers with 400 before any check', async () => {
    const { userId } = await newUser();
    const credentialId = await registerPasskey('acme', userId);
    const { browser, page } = await start();
    const options = await optionsOf(browser, page, 'passkey');
    const good = authenticator.getAssertion(options, { origin: gh.origin, credentialId });
    const bad: unknown[] = [
      '{not json',
      'x'.repeat(16_385),
      { ...good, response: { ...good.response, signature: undefined } },
      { ...good, response: { ...good.response, signature: 'A'.repeat(1025) } },
      { ...good, rawId: 'A'.repeat(1025) },
      { ...good, type: 'password' },
      { ...good, id: 'not base64url!' },
      [good],
      '',
    ];
    for (const answer of bad) expect(expectPage(await postAssertion(browser, page, 'passkey', answer)).status, JSON.stringify(answer).slice(0, 80)).toBe(400);
    // The challenge was never taken: the good answer still works.
    expectRedirect(await postAssertion(browser, page, 'passkey', good));
  });

  it('answers the options URL in JSON: CSRF and Origin checked, only for a step the policy accepts now', async () => {
    const { browser, page } = await start();
    const noToken = await requestOptions(browser, page, 'passkey', {});
    expect(noToken.status).toBe(403);
    expect(await noToken.json()).toMatchObject({ error: 'invalid_csrf_token' });
    const csrf = page.$('input[name="csrf"]').first().attr('value')!;
    const foreign = await browser.request(new URL(`${page.$('form[action$="/passkey"]').attr('action')}/options`, page.url).href, { form: { csrf }, headers: { accept: 'application/json', origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    // The second factor's options before any first factor: not a step of this sign-in now.
    const early = await requestOptions(browser, page, 'webauthn');
    expect(early.status).toBe(400);
    expect(await early.json()).toMatchObject({ error: 'invalid_request' });
    expect((await requestOptions(browser, page, 'password')).status).toBe(400);
  });

  it('offers no passkey where the tenant does not count WebAuthn, and refuses a passkey POST there', async () => {
    const nokeys = await seedTenant(gh, 'nokeys');
    await gh.app.tenants.update('nokeys', { securityPolicy: { mfaFactors: ['totp'] } });
    const config = await relyingParty(gh, 'nokeys', nokeys.client.clientId, nokeys.client.clientSecret);
    const browser = new Browser(gh.origin);
    const url = client.buildAuthorizationUrl(config, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const page = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
    expect(page.$('form[action$="/passkey"]').length).toBe(0);
    expect(page.$('input[name="username"]').attr('autocomplete')).toBe('username');
    expect(page.$('script').length).toBe(0);
    const post = await browser.request(new URL(`${new URL(page.url).pathname}/passkey`, page.url).href, { form: { csrf: page.$('input[name="csrf"]').first().attr('value')!, response: '{}' }, headers: { origin: gh.origin } });
    expect(post.status).toBe(400);
  });

  it('counts failed passkeys per client address, against the address budget of sign-ins', async () => {
    const busy = await seedTenant(gh, 'busy');
    // The address budget is nearly spent (as by a source spraying assertions or passwords).
    for (let i = 0; i < 100; i += 1) {
      const charge = await chargePasskeySignIn(gh.app.throttle, { tenant: 'busy', address: '127.0.0.1' });
      if (charge.ok) await charge.settle('failed');
    }
    const config = await relyingParty(gh, 'busy', busy.client.clientId, busy.client.clientSecret);
    const browser = new Browser(gh.origin);
    const url = client.buildAuthorizationUrl(config, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const page = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
    const options = await optionsOf(browser, page, 'passkey');
    const throttled = expectPage(await postAssertion(browser, page, 'passkey', authenticator.getAssertion(options, { origin: gh.origin, credentialId: authenticator.credentials[0]!.id })));
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toMatch(/^\d+$/);
    // Wrong passwords from that address share the budget.
    expect(expectPage(await browser.submit(throttled, 'form[action$="/password"]', { username: 'alice', password: 'wrong' })).status).toBe(429);
  });
});

describe('a security key or passkey as the second factor', () => {
  it('asks for the key after the password, the app and recovery codes as alternatives; amr pwd swk mfa, phishing-resistant', async () => {
    const { username, userId } = await newUser('acme', { totp: true });
    const credentialId = await registerPasskey('acme', userId);
    await gh.app.mfa.recoveryCodes.generate('acme', userId);
    const { browser, page: login, verifier } = await start();
    const page = expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }, acme.client.redirectUri));
    expect(page.$('h1').text()).toContain('passkey or security key');
    expect(page.$('a[href$="/totp"]').length).toBe(1);
    expect(page.$('a[href$="/recovery-code"]').length).toBe(1);
    const options = await optionsOf(browser, page, 'webauthn');
    expect(options.userVerification).toBe('preferred');
    expect(options.allowCredentials?.map((descriptor) => descriptor.id)).toEqual([credentialId]);
    // Without user verification: the password is the other factor.
    const callback = expectRedirect(await postAssertion(browser, page, 'webauthn', authenticator.getAssertion(options, { origin: gh.origin, uv: false })));
    expect(await claimsOf(callback, verifier)).toMatchObject({ sub: userId, acr: ACR.phishingResistant, amr: ['pwd', 'swk', 'mfa'] });
    const audit = await call(gh, root, 'GET', '/tenants/acme/audit-events?type=mfa.succeeded');
    expect(JSON.stringify(audit.body)).toContain('"method":"swk"');
  });

  it("refuses another user's credential, a wrong origin and a replay, each charged to the MFA budget and audited", async () => {
    const owner = await newUser();
    await registerPasskey('acme', owner.userId);
    const other = await newUser();
    const othersKey = await registerPasskey('acme', other.userId);
    const { browser, page: login } = await start();
    const page = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: owner.username, password: TEST_PASSWORD }, acme.client.redirectUri));
    const options = await optionsOf(browser, page, 'webauthn');
    const wrongUser = expectPage(await postAssertion(browser, page, 'webauthn', authenticator.getAssertion(options, { origin: gh.origin, credentialId: othersKey })));
    expect(wrongUser.status).toBe(401);
    expect(wrongUser.$('[role="alert"]').text()).toContain(KEY_REFUSED);
    const fresh = await optionsOf(browser, wrongUser, 'webauthn');
    expect(expectPage(await postAssertion(browser, wrongUser, 'webauthn', authenticator.getAssertion(fresh, { origin: 'http://evil.example' }))).status).toBe(401);
    // The same (now taken) challenge again.
    expect(expectPage(await postAssertion(browser, wrongUser, 'webauthn', authenticator.getAssertion(fresh, { origin: gh.origin }))).status).toBe(401);
    const failed = await call(gh, root, 'GET', `/tenants/acme/audit-events?type=mfa.failed&actor=${owner.userId}`);
    expect((failed.body as { items: unknown[] }).items.length).toBe(3);
    expect(JSON.stringify(failed.body)).toContain('"method":"webauthn"');
    // Two more failures spend the free ones; then the account's budget makes the next one wait.
    for (let i = 0; i < 2; i += 1) {
      const again = await optionsOf(browser, wrongUser, 'webauthn');
      expect(expectPage(await postAssertion(browser, wrongUser, 'webauthn', authenticator.getAssertion(again, { origin: gh.origin, uv: false, credentialId: othersKey }))).status).toBe(401);
    }
    const last = await optionsOf(browser, wrongUser, 'webauthn');
    const throttled = expectPage(await postAssertion(browser, wrongUser, 'webauthn', authenticator.getAssertion(last, { origin: gh.origin })));
    expect(throttled.status).toBe(429);
    expect(throttled.$('[role="alert"]').text()).toContain('Too many failed attempts');
  });

  it('steps a password session up to phishing-resistant with the key alone (no password page)', async () => {
    const { username, userId } = await newUser();
    const browser = new Browser(gh.origin);
    const { page: login } = await start({}, browser);
    expectRedirect(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }, acme.client.redirectUri));
    // The key is added after that sign-in; the session is a password session.
    await registerPasskey('acme', userId);
    const none = await browser.navigate(client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', prompt: 'none', acr_values: ACR.phishingResistant }).href, {}, acme.client.redirectUri);
    expect(new URL(expectRedirect(none)).searchParams.get('error')).toBe('interaction_required');
    const { page, verifier } = await start({ acr_values: ACR.phishingResistant }, browser);
    expect(page.$('input[name="password"]').length).toBe(0);
    expect(page.$('a[href$="/totp"]').length).toBe(0);
    const options = await optionsOf(browser, page, 'webauthn');
    const callback = expectRedirect(await postAssertion(browser, page, 'webauthn', authenticator.getAssertion(options, { origin: gh.origin })));
    expect(await claimsOf(callback, verifier)).toMatchObject({ sub: userId, acr: ACR.phishingResistant, amr: ['pwd', 'swk', 'mfa'] });
  });

  it('offers only the key when phishing-resistant is asked of a user with an app too; the app alone is unmet', async () => {
    const withKey = await newUser('acme', { totp: true });
    await registerPasskey('acme', withKey.userId);
    const { browser, page: login } = await start({ acr_values: ACR.phishingResistant });
    const page = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: withKey.username, password: TEST_PASSWORD }, acme.client.redirectUri));
    expect(page.$('form[action$="/webauthn"]').length).toBe(1);
    expect(page.$('a[href$="/totp"]').length).toBe(0);
    // The app's step is not accepted now.
    const csrf = page.$('input[name="csrf"]').first().attr('value')!;
    const post = await browser.request(new URL(`${new URL(page.url).pathname.replace(/\/webauthn$/, '')}/totp`, page.url).href, { form: { csrf, code: totpCode(withKey.secret) }, headers: { origin: gh.origin } });
    expect(post.status).toBe(400);

    const appOnly = await newUser('acme', { totp: true });
    const second = await start({ acr_values: ACR.phishingResistant });
    const unmet = expectRedirect(await second.browser.submit(second.page, 'form[action$="/password"]', { username: appOnly.username, password: TEST_PASSWORD }, acme.client.redirectUri));
    expect(new URL(unmet).searchParams.get('error')).toBe('unmet_authentication_requirements');
  });
});
