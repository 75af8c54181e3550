/**
 * The device authorization grant (RFC 8628) over real HTTP: a device (openid-client) asks for a
 * code and polls; a person approves or denies in a browser (our cheerio Browser through the real
 * pages); and the bad input of issue 11: wrong, expired, used and denied codes, guessing past the
 * throttle, fast polling (`slow_down`), a device code of one tenant at another, a client without
 * the grant, a flood of device authorization requests.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { ACR } from '../../src/authn/assurance.js';
import { totpCode } from '../helpers/totp.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

let gh: TestGatehouse;
let acme: SeededTenant;
let root: string;
let now = Date.now();
let tv: client.Configuration;
let tvId: string;

async function deviceClient(tenant: string, body: Record<string, unknown> = {}): Promise<string> {
  const created = await call(gh, root, 'POST', `/tenants/${tenant}/clients`, { client_name: 'Living Room TV', application_type: 'native', grant_types: [DEVICE_GRANT, 'refresh_token'], token_endpoint_auth_method: 'none', ...body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return (created.body as { client_id: string }).client_id;
}

async function rpFor(tenant: string, clientId: string): Promise<client.Configuration> {
  return client.discovery(new URL(gh.issuer(tenant)), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });
}

/** Asks the token endpoint once for the device code's tokens (no waiting, unlike the library's poll loop). */
async function pollOnce(config: client.Configuration, deviceCode: string) {
  try {
    return { tokens: await client.genericGrantRequest(config, DEVICE_GRANT, { device_code: deviceCode }) };
  } catch (error) {
    return { error: (error as { error?: string }).error ?? String(error), description: (error as { error_description?: string }).error_description };
  }
}

/** Types `userCode` on the code page of a fresh browser: the page that follows (confirmation or refusal). */
async function enterCode(userCode: string, browser = new Browser(gh.origin), tenant = 'acme'): Promise<{ browser: Browser; page: Page }> {
  const entry = expectPage(await browser.navigate(`${gh.issuer(tenant)}/device`));
  const page = expectPage(await browser.submit(entry, 'form[action$="/device"]', { user_code: userCode }));
  return { browser, page };
}

/** From the confirmation page: continue, sign in with the password, and the page the flow ends on. */
async function approve(browser: Browser, confirm: Page, username = 'alice'): Promise<Page> {
  const login = expectPage(await browser.submit(confirm, 'form[action$="/device"]', {}, undefined, { button: { name: 'confirm', value: 'yes' } }));
  let page = expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }));
  // A client that is not first-party asks for consent after the sign-in.
  if (page.$('form[action$="/consent"]').length) page = expectPage(await browser.submit(page, 'form[action$="/consent"]'));
  return page;
}

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP }, { clock: () => now });
  acme = await seedTenant(gh, 'acme');
  await seedTenant(gh, 'globex');
  root = await adminToken(gh);
  tvId = await deviceClient('acme');
  tv = await rpFor('acme', tvId);
});
afterAll(() => gh.stop());

describe('device authorization', () => {
  it('is announced in discovery and answers a short code, a verification URI and its complete form', async () => {
    const discovery = (await (await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery['device_authorization_endpoint']).toBe(`${gh.issuer('acme')}/device/auth`);
    expect(discovery['grant_types_supported']).toContain(DEVICE_GRANT);

    const response = await client.initiateDeviceAuthorization(tv, { scope: 'openid profile' });
    expect(response.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(response.verification_uri).toBe(`${gh.issuer('acme')}/device`);
    expect(response.verification_uri_complete).toBe(`${gh.issuer('acme')}/device?user_code=${response.user_code}`);
    expect(response.expires_in).toBe(600);
  });

  it('signs the device in once the person approves, with the code typed in any case and without its dash', async () => {
    const response = await client.initiateDeviceAuthorization(tv, { scope: 'openid profile offline_access' });
    expect((await pollOnce(tv, response.device_code)).error).toBe('authorization_pending');

    const typed = response.user_code.replace('-', '').toLowerCase();
    const { browser, page: confirm } = await enterCode(typed);
    expect(confirm.$('h1').text()).toContain('Sign in to Living Room TV on your device?');
    expect(confirm.$('body').text()).toContain(response.user_code);
    expect(confirm.$('time').attr('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(confirm.$('.gh-list li').map((_, li) => confirm.$(li).text()).get()).toContain('See your name and username');

    const done = await approve(browser, confirm);
    expect(done.$('h1').text()).toContain('Your device is signed in');

    now += 6_000;
    const result = await pollOnce(tv, response.device_code);
    expect(result.tokens?.access_token).toBeTruthy();
    expect(result.tokens?.claims()?.sub).toBe(acme.userId);

    const events = await gh.app.audit.list('acme', { type: 'device.approved', limit: 10 });
    expect(events.map((event) => [event.actor.id, event.target.id])).toContainEqual([acme.userId, tvId]);
  });

  it('asks a user with a second factor for it before the device is signed in, and says so in the token', async () => {
    const user = await gh.app.users.create('acme', { username: 'bob', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    const { enrollmentId, secret } = await gh.app.mfa.totp.startEnrollment('acme', user._id);
    await gh.app.mfa.totp.confirmEnrollment('acme', user._id, enrollmentId, totpCode(secret, -1, now));
    const response = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    const { browser, page: confirm } = await enterCode(response.user_code);
    const login = expectPage(await browser.submit(confirm, 'form[action$="/device"]', {}, undefined, { button: { name: 'confirm', value: 'yes' } }));
    const codePage = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'bob', password: TEST_PASSWORD }));
    expect(codePage.$('input[name="code"]').attr('autocomplete')).toBe('one-time-code');
    // Not signed in yet: the device still waits.
    now += 6_000;
    expect((await pollOnce(tv, response.device_code)).error).toBe('authorization_pending');
    let page = expectPage(await browser.submit(codePage, 'form[action$="/totp"]', { code: totpCode(secret, 0, now) }));
    if (page.$('form[action$="/consent"]').length) page = expectPage(await browser.submit(page, 'form[action$="/consent"]'));
    expect(page.$('h1').text()).toContain('Your device is signed in');
    now += 6_000;
    const result = await pollOnce(tv, response.device_code);
    expect(result.tokens?.claims()).toMatchObject({ sub: user._id, acr: ACR.multiFactor, amr: ['pwd', 'otp', 'mfa'] });
  });

  it('takes the code from verification_uri_complete, so the person only confirms', async () => {
    const response = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    const browser = new Browser(gh.origin);
    const autoPost = expectPage(await browser.navigate(response.verification_uri_complete!));
    // The provider's auto-submitting form (its script is allowed by a hash in the CSP).
    expect(autoPost.$('input[name="user_code"]').val()).toBe(response.user_code);
    expect(autoPost.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-/);
    const confirm = expectPage(await browser.submit(autoPost, 'form'));
    expect(confirm.$('h1').text()).toContain('on your device?');
  });

  it('asks a first-party client to confirm too (RFC 8628 5.4: a typed code may come from someone else)', async () => {
    const firstParty = await deviceClient('acme', { client_name: 'Our Own TV App', first_party: true });
    const config = await rpFor('acme', firstParty);
    const response = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const { page } = await enterCode(response.user_code);
    expect(page.$('h1').text()).toContain('Sign in to Our Own TV App on your device?');
    expect(page.$('button[name="abort"]').length).toBe(1);
  });

  it('answers access_denied to the device after the person denies, and audits it', async () => {
    const response = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    const { browser, page: confirm } = await enterCode(response.user_code);
    const denied = expectPage(await browser.submit(confirm, 'form[action$="/device"]', {}, undefined, { button: { name: 'abort', value: 'yes' } }));
    expect(denied.$('h1').text()).toContain('Sign-in denied');
    now += 6_000;
    expect((await pollOnce(tv, response.device_code)).error).toBe('access_denied');
    // A denied code cannot be used again.
    const again = await enterCode(response.user_code);
    expect(again.page.$('#user_code-error').text()).toContain('used already');
    const events = await gh.app.audit.list('acme', { type: 'device.denied', limit: 10 });
    expect(events.some((event) => event.target.id === tvId && event.actor.type === 'anonymous')).toBe(true);
  });
});

describe('bad input', () => {
  it('refuses a wrong and an empty code on the page, saying what to do', async () => {
    const wrong = await enterCode('BCDF-GHJK');
    expect(wrong.page.$('#user_code-error').text()).toContain('not valid');
    expect(wrong.page.$('#user_code').attr('aria-invalid')).toBe('true');
    const empty = await enterCode('');
    expect(empty.page.$('#user_code-error').text()).toContain('Enter the code');
    const hostile = await enterCode('<script>alert(1)</script>'.repeat(20));
    expect(hostile.page.html).not.toContain('<script>alert(1)');
  });

  it('answers expired_token once the code has expired, and the page says it expired', async () => {
    const response = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    // oidc-provider judges a code's expiry by Date itself: move it (only Date; timers stay real) with the app's clock.
    now += 601_000;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 601_000);
      expect(await pollOnce(tv, response.device_code)).toMatchObject({ error: 'expired_token' });
      const { page } = await enterCode(response.user_code);
      expect(page.$('#user_code-error').text()).toContain('expired');
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers slow_down to a device that polls sooner than its interval, and grows the interval by 5 s each time', async () => {
    const response = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    expect((await pollOnce(tv, response.device_code)).error).toBe('authorization_pending');
    expect((await pollOnce(tv, response.device_code)).error).toBe('slow_down');
    // The interval is 10 s now: 6 s later is still too soon, and makes it 15 s.
    now += 6_000;
    expect((await pollOnce(tv, response.device_code)).error).toBe('slow_down');
    now += 15_000;
    expect((await pollOnce(tv, response.device_code)).error).toBe('authorization_pending');
    // Parallel polls: one at most is let through.
    now += 15_000;
    const results = await Promise.all(Array.from({ length: 8 }, () => pollOnce(tv, response.device_code)));
    expect(results.filter((result) => result.error === 'authorization_pending').length).toBe(1);
    expect(results.filter((result) => result.error === 'slow_down').length).toBe(7);
  });

  it('does not know a device code of another tenant', async () => {
    const response = await client.initiateDeviceAuthorization(tv, { scope: 'openid' });
    const globexTv = await rpFor('globex', await deviceClient('globex'));
    expect((await pollOnce(globexTv, response.device_code)).error).toBe('invalid_grant');
    const { page } = await enterCode(response.user_code, new Browser(gh.origin), 'globex');
    expect(page.$('#user_code-error').text()).toContain('not valid');
  });

  it('answers unauthorized_client to a client registered without the grant', async () => {
    const web = await client.discovery(new URL(gh.issuer('acme')), acme.client.clientId, acme.client.clientSecret, undefined, { execute: [client.allowInsecureRequests] });
    const refused = await client.initiateDeviceAuthorization(web, { scope: 'openid' }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ error: 'unauthorized_client' });
  });

  it('throttles code guessing per browser session, counting parallel guesses before they are checked', async () => {
    const browser = new Browser(gh.origin);
    const entry = expectPage(await browser.navigate(`${gh.issuer('acme')}/device`));
    const guesses = await Promise.all(Array.from({ length: 12 }, (_, i) => browser.request(entry.$('form').attr('action')!, { form: { xsrf: String(entry.$('input[name="xsrf"]').val()), user_code: `BCDF-GH${'JKLMNPQRST'[i % 10]}${'JKLMNPQRST'[(i + 3) % 10]}` } })));
    const statuses = guesses.map((response) => response.status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(10);
  });

  it('rate limits device authorization requests per client at an address, parallel ones included', async () => {
    const flood = await Promise.all(
      Array.from({ length: 16 }, () => fetch(`${gh.issuer('acme')}/device/auth`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: tvId, scope: 'openid' }) })),
    );
    const statuses = flood.map((response) => response.status);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(10);
    const refused = flood.find((response) => response.status === 429)!;
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { error_description: string }).error_description).toContain('too many device authorization requests');
    now += 61_000;
  });
});

describe('tenant setting', () => {
  it('turns the flow off (no endpoint in discovery, the grant refused) and sets the code lifetime', async () => {
    const patched = await call(gh, root, 'PATCH', '/tenants/globex', { security_policy: { device_flow: { enabled: false } } });
    expect(patched.status).toBe(200);
    expect((patched.body as { security_policy: { device_flow: unknown } }).security_policy.device_flow).toEqual({ enabled: false, user_code_lifetime_seconds: 600 });
    const discovery = (await (await fetch(`${gh.issuer('globex')}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery['device_authorization_endpoint']).toBeUndefined();

    expect((await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { device_flow: { enabled: true, user_code_lifetime_seconds: 120 } } })).status).toBe(200);
    const response = await client.initiateDeviceAuthorization(await rpFor('acme', tvId), { scope: 'openid' });
    expect(response.expires_in).toBe(120);

    for (const bad of [{ enabled: 'yes' }, { enabled: true, user_code_lifetime_seconds: 5 }, { enabled: true, user_code_lifetime_seconds: 86_400 }, { enabled: true, extra: 1 }]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/acme', { security_policy: { device_flow: bad } });
      expect(refused.status, JSON.stringify(bad)).toBe(400);
    }
  });
});
