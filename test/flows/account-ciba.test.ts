/**
 * The account console as CIBA's built-in authentication device (issue 12): the user's pending
 * requests, live over a server-sent event stream fed by the change feed, one request's page, and
 * approve / deny with the console's sign-in, which must be recent and strong enough for the request
 * (else the usual login, then back). Through real HTTP: openid-client as the CIBA client, the
 * cheerio browser for the pages.
 */
import type * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ACR } from '../../src/authn/assurance.js';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { cibaClient, EventStreamReader, initiate, pollOnce } from '../helpers/ciba.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { totpCode } from '../helpers/totp.js';

interface Listed {
  requests: Array<{ id: string; url: string; client: string; binding_message?: string; scopes: string[]; expires_at: string; needs_sign_in: boolean }>;
}

let gh: TestGatehouse;
let acme: SeededTenant;
let bank: client.Configuration;
let now = Date.now();

beforeAll(async () => {
  gh = await startGatehouse({}, { clock: () => now });
  acme = await seedTenant(gh, 'acme');
  await gh.app.tenants.update('acme', { securityPolicy: { ciba: { enabled: true } } });
  await seedTenant(gh, 'globex');
  bank = await cibaClient(gh, 'acme');
  await gh.app.users.create('acme', { username: 'bob', passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
});
afterAll(() => gh.stop());

async function signIn(username = 'alice', tenant = 'acme'): Promise<Browser> {
  const browser = new Browser(gh.origin);
  const login = expectPage(await browser.navigate(`/t/${tenant}/account/login`));
  const back = expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }));
  expect(back.url).toBe(`${gh.issuer(tenant)}/account`);
  return browser;
}

/** The console's list page, and the entry with `binding`. */
async function listed(browser: Browser, binding: string): Promise<{ page: Page; href: string | undefined }> {
  const page = expectPage(await browser.navigate('/t/acme/account/ciba'));
  expect(page.status).toBe(200);
  const item = page.$('#gh-ciba-list li').filter((_, element) => page.$(element).text().includes(binding));
  return { page, href: item.find('a').attr('href') };
}

async function requestPage(browser: Browser, binding: string): Promise<Page> {
  const { href } = await listed(browser, binding);
  expect(href, `${binding} is listed`).toMatch(/^\/t\/acme\/account\/ciba\/[A-Za-z0-9_-]{43}$/);
  const page = expectPage(await browser.navigate(href!));
  expect(page.status).toBe(200);
  return page;
}

async function events(browser: Browser): Promise<EventStreamReader> {
  const response = await browser.request('/t/acme/account/ciba/events', { headers: { accept: 'text/event-stream' } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  return new EventStreamReader(response);
}

describe('the list and its live updates', () => {
  it('shows a new request on an open page at once, approves it from its page, and the polling client gets tokens of the console’s sign-in', async () => {
    const browser = await signIn();
    const stream = await events(browser);
    try {
      expect((await stream.next<Listed>()).requests).toEqual([]);
      const { response } = await initiate(bank, { login_hint: 'alice', binding_message: 'Live 1', scope: 'openid profile' });
      const arrived = await stream.until<Listed>((data) => data.requests.length === 1);
      expect(arrived.requests[0]).toMatchObject({ client: 'Call centre', binding_message: 'Live 1', scopes: ['Sign you in with your account', 'See your name and username'], needs_sign_in: false });
      expect(JSON.stringify(arrived)).not.toContain(response!.auth_req_id);

      const page = await requestPage(browser, 'Live 1');
      expect(page.$('h1').text()).toBe('Call centre asks you to sign in');
      expect(page.$('.gh-ciba-binding').text()).toBe('Live 1');
      const done = expectPage(await browser.submit(page, 'form[action$="/approve"]'));
      expect(done.status).toBe(200);
      expect(done.$('h1').text()).toBe('Request approved');
      // Decided: the open page's list empties.
      await stream.until<Listed>((data) => data.requests.length === 0);

      now += 6_000;
      const { tokens } = await pollOnce(bank, response!.auth_req_id);
      expect(tokens?.claims()).toMatchObject({ sub: acme.userId, amr: ['pwd'], acr: ACR.singleFactor });
      const [approved] = await gh.app.audit.list('acme', { type: 'ciba.approved', limit: 1 });
      expect(approved).toMatchObject({ actor: { type: 'user', id: acme.userId }, target: { type: 'client', id: 'call-centre' }, details: { via: 'account_console' } });
    } finally {
      await stream.close();
    }
  });

  it('denies from the page: the client hears access_denied', async () => {
    const browser = await signIn();
    const { response } = await initiate(bank, { login_hint: 'alice', binding_message: 'Deny 1' });
    const done = expectPage(await browser.submit(await requestPage(browser, 'Deny 1'), 'form[action$="/deny"]'));
    expect(done.$('h1').text()).toBe('Request denied');
    now += 6_000;
    expect((await pollOnce(bank, response!.auth_req_id)).error).toBe('access_denied');
    expect((await gh.app.audit.list('acme', { type: 'ciba.denied', limit: 1 }))[0]).toMatchObject({ details: { via: 'account_console' } });
  });

  it('shows each user only their own requests, and a signed-out browser no stream', async () => {
    await initiate(bank, { login_hint: 'alice', binding_message: 'Mine 1' });
    const bob = await signIn('bob');
    const stream = await events(bob);
    try {
      expect((await stream.next<Listed>()).requests).toEqual([]);
    } finally {
      await stream.close();
    }
    expect((await listed(bob, 'Mine 1')).href).toBeUndefined();
    const anonymous = await new Browser(gh.origin).request('/t/acme/account/ciba/events');
    expect(anonymous.status).toBe(204);
  });
});

describe('bad input', () => {
  it('lets one user follow the list on at most five streams at once, also when they open together', async () => {
    const browser = await signIn('bob');
    const answers = await Promise.all(Array.from({ length: 7 }, () => browser.request('/t/acme/account/ciba/events', { headers: { accept: 'text/event-stream' } })));
    try {
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 200, 200, 200, 429, 429]);
    } finally {
      await Promise.all(answers.map((answer) => answer.body?.cancel()));
    }
    // Closed streams free their places.
    await expect.poll(async () => {
      const again = await browser.request('/t/acme/account/ciba/events');
      await again.body?.cancel();
      return again.status;
    }).toBe(200);
  });

  it('refuses another user’s request, a made-up or malformed id, a form without its CSRF token or from another site, and approving twice', async () => {
    const alice = await signIn();
    await initiate(bank, { login_hint: 'alice', binding_message: 'Guard 1' });
    const page = await requestPage(alice, 'Guard 1');
    const url = new URL(page.url).pathname;

    const bob = await signIn('bob');
    expect(expectPage(await bob.navigate(url)).status).toBe(404);
    // Bob's own CSRF token (from a page of his) does not make Alice's request his.
    const bobsCsrf = expectPage(await bob.navigate('/t/acme/account')).$('input[name="csrf"]').attr('value')!;
    expect((await bob.request(`${url}/approve`, { form: { csrf: bobsCsrf }, headers: { origin: gh.origin } })).status).toBe(404);

    expect(expectPage(await alice.navigate(`/t/acme/account/ciba/${'A'.repeat(43)}`)).status).toBe(404);
    expect(expectPage(await alice.navigate('/t/acme/account/ciba/short')).status).toBe(404);
    expect(expectPage(await alice.navigate(`${url}/ignore`, { form: { csrf: 'x' }, headers: { origin: gh.origin } })).status).toBe(404);

    expect((await alice.request(`${url}/approve`, { form: {}, headers: { origin: gh.origin } })).status).toBe(403);
    const csrf = page.$('input[name="csrf"]').first().attr('value')!;
    expect((await alice.request(`${url}/approve`, { form: { csrf }, headers: { origin: 'https://evil.example' } })).status).toBe(403);
    // Still pending after every refusal.
    expect((await listed(alice, 'Guard 1')).href).toBe(url);

    expect(expectPage(await alice.submit(page, 'form[action$="/approve"]')).$('h1').text()).toBe('Request approved');
    const again = expectPage(await alice.submit(page, 'form[action$="/approve"]'));
    expect(again.status).toBe(404);
    expect(again.$('h1').text()).toBe('Request not found');
    expect(expectPage(await alice.submit(page, 'form[action$="/deny"]')).status).toBe(404);
  });

  it('takes one decision when approve and deny race', async () => {
    const alice = await signIn();
    await initiate(bank, { login_hint: 'alice', binding_message: 'Race 1' });
    const page = await requestPage(alice, 'Race 1');
    const url = new URL(page.url).pathname;
    const csrf = page.$('input[name="csrf"]').first().attr('value')!;
    const answers = await Promise.all(['approve', 'deny', 'approve', 'deny'].map((decision) => alice.request(`${url}/${decision}`, { form: { csrf }, headers: { origin: gh.origin } })));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.every((answer) => [200, 404, 409].includes(answer.status))).toBe(true);
  });

  it('sends a signed-out browser to sign in and back to the request; a tenant without CIBA has no such pages', async () => {
    await initiate(bank, { login_hint: 'alice', binding_message: 'Later 1' });
    const { href } = await listed(await signIn(), 'Later 1');
    const browser = new Browser(gh.origin);
    const redirect = expectRedirect(await browser.navigate(href!, {}, `${gh.origin}/t/acme/account/login`));
    expect(new URL(redirect).searchParams.get('next')).toBe(href!.replace('/t/acme/account/', ''));
    const login = expectPage(await browser.navigate(redirect));
    const back = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    expect(back.url).toBe(`${gh.origin}${href}`);
    expect(back.$('.gh-ciba-binding').text()).toBe('Later 1');

    // `next` is never an open redirect.
    const elsewhere = new Browser(gh.origin);
    const out = expectPage(await elsewhere.navigate('/t/acme/account/login?next=https://evil.example'));
    const landed = expectPage(await elsewhere.submit(out, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    expect(landed.url).toBe(`${gh.issuer('acme')}/account`);

    const globex = await signIn('alice', 'globex');
    expect(expectPage(await globex.navigate('/t/globex/account/ciba')).status).toBe(404);
  });
});

describe('what an approval needs', () => {
  it('asks for the second factor when the request asks for multi-factor, and approves only after it', async () => {
    const browser = await signIn();
    // Alice adds an authenticator after her password-only console sign-in.
    const enrollment = await gh.app.mfa.totp.startEnrollment('acme', acme.userId, 'Phone');
    await gh.app.mfa.totp.confirmEnrollment('acme', acme.userId, enrollment.enrollmentId, totpCode(enrollment.secret, -1, now));
    const { response } = await initiate(bank, { login_hint: 'alice', binding_message: 'Strong 1', acr_values: ACR.multiFactor });
    const page = await requestPage(browser, 'Strong 1');
    expect(page.$('main').text()).toContain('Approving asks you to sign in again first');

    const login = expectRedirect(await browser.submit(page, 'form[action$="/approve"]', {}, `${gh.origin}/t/acme/account/login`));
    expect(new URL(login).searchParams.get('fresh')).toBe('ciba');
    // The usual login, asked for the request's acr with max_age=0: the password, then the code.
    const password = expectPage(await browser.navigate(login));
    const second = expectPage(await browser.submit(password, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    expect(second.$('form[action$="/totp"]').length).toBe(1);
    // Not approved yet: the request is still pending, and the client still waits.
    now += 6_000;
    expect((await pollOnce(bank, response!.auth_req_id)).error).toBe('authorization_pending');
    const back = expectPage(await browser.submit(second, 'form[action$="/totp"]', { code: totpCode(enrollment.secret, 0, now) }));
    expect(back.$('.gh-ciba-binding').text()).toBe('Strong 1');
    expect(back.$('main').text()).not.toContain('Approving asks you to sign in again first');
    expect(expectPage(await browser.submit(back, 'form[action$="/approve"]')).$('h1').text()).toBe('Request approved');

    now += 6_000;
    const { tokens } = await pollOnce(bank, response!.auth_req_id);
    expect(tokens?.claims()).toMatchObject({ sub: acme.userId, acr: ACR.multiFactor });
    expect(tokens?.claims()?.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
  });

  it('asks for a sign-in again when the console’s is older than ten minutes', async () => {
    const browser = await signIn('bob');
    // Eleven minutes later, on the app's clock and on the provider's (Date), a request arrives.
    now += 11 * 60_000;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000);
      const { response } = await initiate(bank, { login_hint: 'bob', binding_message: 'Stale 1' });
      const page = await requestPage(browser, 'Stale 1');
      expect(page.$('main').text()).toContain('Approving asks you to sign in again first');
      const login = expectRedirect(await browser.submit(page, 'form[action$="/approve"]', {}, `${gh.origin}/t/acme/account/login`));
      const password = expectPage(await browser.navigate(login));
      const back = expectPage(await browser.submit(password, 'form[action$="/password"]', { username: 'bob', password: TEST_PASSWORD }));
      expect(expectPage(await browser.submit(back, 'form[action$="/approve"]')).$('h1').text()).toBe('Request approved');
      now += 6_000;
      vi.setSystemTime(Date.now() + 6_000);
      const { tokens } = await pollOnce(bank, response!.auth_req_id);
      expect(tokens?.claims()?.['auth_time']).toBeGreaterThanOrEqual(Math.floor(now / 1000) - 60);
    } finally {
      vi.useRealTimers();
    }
  });
});
