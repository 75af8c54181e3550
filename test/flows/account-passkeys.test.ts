import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleSteps } from '../helpers/account-console.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';

/**
 * Passkeys in the account console (issue 10) over real HTTP: the page's JSON calls made as its
 * script makes them, answered by the soft authenticator, so hostile answers can be sent too; and
 * the WebAuthn browser library, which Gatehouse serves itself.
 */
let gh: TestGatehouse;
let offset = 0;

beforeAll(async () => {
  gh = await startGatehouse({}, { clock: () => Date.now() + offset });
});
afterAll(() => gh.stop());

const { signIn, securityPage, addAuthenticator, freshSignIn } = consoleSteps(() => gh);

/** A JSON POST as the page's script sends it: the browser's cookies, our Origin, JSON both ways. */
async function postJson(browser: Browser, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(path, gh.origin);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', origin: gh.origin, cookie: browser.cookieHeader(url), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

const csrfOf = (page: Page) => page.$('#gh-passkey-form input[name="csrf"]').attr('value') ?? '';
const passkeyPath = (tenantId: string) => `/t/${tenantId}/account/security/passkeys`;
const auditOf = async (tenantId: string, type: string) => (await gh.app.audit.list(tenantId, { type, limit: 100 })).filter((event) => event.type === type);

/** Options, the soft authenticator's credential, verify: what the page's script does. */
async function addPasskey(browser: Browser, tenantId: string, authenticator: SoftAuthenticator, name = 'Laptop', create: { origin?: string; again?: string } = {}) {
  const csrf = csrfOf(await securityPage(browser, tenantId));
  const options = await postJson(browser, `${passkeyPath(tenantId)}/options`, { csrf, name });
  expect(options.status, JSON.stringify(options.body)).toBe(200);
  const started = options.body as { registration_id: string; options: Parameters<SoftAuthenticator['createCredential']>[0] };
  const response = authenticator.createCredential(started.options, { origin: create.origin ?? gh.origin, ...(create.again ? { again: create.again } : {}) });
  const verify = () => postJson(browser, `${passkeyPath(tenantId)}/verify`, { csrf, registration_id: started.registration_id, name, response });
  return { csrf, started, response, verify, result: await verify() };
}

describe('the WebAuthn browser library', () => {
  it('is served from our own origin as a script, so pages load it under script-src self', async () => {
    const response = await fetch(`${gh.origin}/assets/simplewebauthn-browser.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await response.text()).toContain('SimpleWebAuthnBrowser');
    expect((await fetch(`${gh.origin}/assets/account-passkeys.js`)).status).toBe(200);
    // Nothing else of node_modules is reachable through the asset route.
    for (const path of ['/assets/..%2Fpackage.json', '/assets/simplewebauthn-browser.js/', '/assets/index.umd.min.js']) {
      expect((await fetch(`${gh.origin}${path}`)).status, path).toBe(404);
    }
  });
});

describe('account console: passkeys', () => {
  it('adds a passkey through the page’s JSON calls, lists it and audits it', async () => {
    const { browser, userId } = await signIn('pk-add');
    const page = await securityPage(browser, 'pk-add');
    expect(page.$('#gh-passkey-form').attr('data-verify-url')).toBe(`${passkeyPath('pk-add')}/verify`);
    expect(page.$('script[src]').map((_, element) => page.$(element).attr('src')).get()).toEqual(['/assets/simplewebauthn-browser.js', '/assets/account-passkeys.js']);
    const { started, result } = await addPasskey(browser, 'pk-add', new SoftAuthenticator());
    expect(started.options.rp).toEqual({ id: '127.0.0.1', name: 'Tenant pk-add' });
    expect(started.options.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'preferred' });
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    const [factor] = await gh.app.mfa.factors.list('pk-add', userId);
    expect(factor).toMatchObject({ type: 'webauthn', name: 'Laptop', backedUp: false });
    expect(result.body).toEqual({ id: factor!.id, name: 'Laptop', location: `/t/pk-add/account/security?added=${factor!.id}` });

    const back = expectPage(await browser.navigate(String(result.body['location'])));
    expect(back.$('[role="status"]').text()).toBe('Passkey Laptop is set up.');
    expect(back.$('ul[aria-label="Your factors"]').text()).toMatch(/Passkey: Laptop\s+added \d{4}-\d\d-\d\d, on this device only/);
    const [event] = await auditOf('pk-add', 'mfa.factor_enrolled');
    expect(event).toMatchObject({ actor: { type: 'user', id: userId }, details: { factorId: factor!.id, type: 'webauthn', via: 'account_console' } });
    // `added` names a factor by id and is read back: anything else shows no notice.
    const forged = expectPage(await browser.navigate('/t/pk-add/account/security?added=%3Cscript%3E'));
    expect(forged.$('[role="status"]')).toHaveLength(0);
  });

  it('refuses a registration without the CSRF token, from another Origin, as a form, or signed out', async () => {
    const { browser } = await signIn('pk-csrf');
    const csrf = csrfOf(await securityPage(browser, 'pk-csrf'));
    const options = `${passkeyPath('pk-csrf')}/options`;
    expect((await postJson(browser, options, {})).body['error']).toBe('invalid_csrf_token');
    expect((await postJson(browser, options, { csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await postJson(browser, options, { csrf }, { origin: 'http://evil.example' })).body['error']).toBe('forbidden_origin');
    const asForm = await browser.request(options, { form: { csrf }, headers: { origin: gh.origin, accept: 'application/json' } });
    expect(asForm.status).toBe(403);
    const stranger = await postJson(new Browser(gh.origin), options, { csrf });
    expect([stranger.status, stranger.body['error']]).toEqual([401, 'login_required']);
    expect((await postJson(browser, options, '{"csrf":')).status).toBe(400);
    expect((await postJson(browser, options, { csrf, name: 'x'.repeat(65) })).status).toBe(400);
    expect((await postJson(browser, options, { csrf, pad: 'x'.repeat(70 * 1024) })).status).toBe(413);
  });

  it('refuses a wrong origin, a replay, a malformed credential and a registration of another session', async () => {
    const { browser, userId } = await signIn('pk-bad');
    const authenticator = new SoftAuthenticator();
    const phished = await addPasskey(browser, 'pk-bad', authenticator, 'Laptop', { origin: 'http://localhost:1' });
    expect([phished.result.status, phished.result.body['error']]).toEqual([400, 'webauthn_failed']);
    // The registration was taken by that attempt: the right answer to it now finds nothing.
    expect((await phished.verify()).body['error']).toBe('enrollment_not_found');

    const malformed = await addPasskey(browser, 'pk-bad', authenticator, 'Laptop', { origin: 'http://localhost:1' });
    const path = `${passkeyPath('pk-bad')}/verify`;
    for (const response of [{ id: 'x', type: 'nope' }, { ...malformed.response, response: { clientDataJSON: '$$$', attestationObject: 'AA' } }, 'x']) {
      const bad = await postJson(browser, path, { csrf: malformed.csrf, registration_id: malformed.started.registration_id, response });
      expect([bad.status, bad.body['error']]).toEqual([400, 'invalid_request']);
    }
    for (const registrationId of ['../x', 'A'.repeat(22)]) {
      expect((await postJson(browser, path, { csrf: malformed.csrf, registration_id: registrationId, response: malformed.response })).body['error']).toBe('enrollment_not_found');
    }

    // Another console session of the same user cannot finish this session's registration.
    const csrf = csrfOf(await securityPage(browser, 'pk-bad'));
    const started = (await postJson(browser, `${passkeyPath('pk-bad')}/options`, { csrf })).body as { registration_id: string; options: Parameters<SoftAuthenticator['createCredential']>[0] };
    const response = authenticator.createCredential(started.options, { origin: gh.origin });
    const other = await passwordSession('pk-bad');
    const stolen = await postJson(other, path, { csrf: csrfOf(await securityPage(other, 'pk-bad')), registration_id: started.registration_id, response });
    expect(stolen.body['error']).toBe('enrollment_not_found');
    expect((await postJson(browser, path, { csrf, registration_id: started.registration_id, response })).body['error']).toBe('enrollment_not_found');
    expect(await gh.app.mfa.factors.list('pk-bad', userId)).toEqual([]);
  });

  it('asks for a sign-in with a second factor once the user holds a passkey', async () => {
    const { browser } = await signIn('pk-fresh');
    expect((await addPasskey(browser, 'pk-fresh', new SoftAuthenticator())).result.status).toBe(200);
    const csrf = csrfOf(await securityPage(browser, 'pk-fresh'));
    const again = await postJson(browser, `${passkeyPath('pk-fresh')}/options`, { csrf });
    expect(again).toEqual({ status: 401, body: { error: 'fresh_sign_in_required', error_description: expect.any(String), location: '/t/pk-fresh/account/login?fresh=security' } });
  });

  it('refuses a credential registered twice, renames and removes a passkey (audited)', async () => {
    const { browser, userId } = await signIn('pk-manage');
    const { secret } = await addAuthenticator(browser, 'pk-manage');
    await freshSignIn(browser, 'pk-manage', secret);
    const authenticator = new SoftAuthenticator();
    const first = await addPasskey(browser, 'pk-manage', authenticator, 'Key');
    expect(first.result.status).toBe(200);
    const twice = await addPasskey(browser, 'pk-manage', authenticator, 'Key again', { again: first.response.id });
    expect([twice.result.status, twice.result.body['error']]).toEqual([409, 'webauthn_credential_exists']);

    const passkeyId = String(first.result.body['id']);
    const security = await securityPage(browser, 'pk-manage');
    const renamed = expectPage(await browser.submit(security, `form[action$="/factors/${passkeyId}/rename"]`, { name: ' Work key ' }));
    expect(renamed.$('[role="status"]').text()).toBe('Passkey renamed to Work key.');
    expect(renamed.$('ul[aria-label="Your factors"]').text()).toContain('Passkey: Work key');
    const [event] = await auditOf('pk-manage', 'mfa.factor_renamed');
    expect(event?.details).toMatchObject({ factorId: passkeyId, before: 'Key', after: 'Work key', via: 'account_console' });

    for (const name of ['', '   ', 'x'.repeat(65), 'tab\tname']) {
      const refused = expectPage(await browser.submit(renamed, `form[action$="/factors/${passkeyId}/rename"]`, { name }));
      expect(refused.status, name).toBe(400);
    }
    // Only passkeys are renamed here; another user's or an unknown id is not found.
    const totpId = (await gh.app.mfa.factors.list('pk-manage', userId)).find((factor) => factor.type === 'totp')!.id;
    const csrf = renamed.$('#gh-passkey-form input[name="csrf"]').attr('value')!;
    for (const id of [totpId, 'no-such-factor']) {
      const missing = expectPage(await browser.navigate(`/t/pk-manage/account/security/factors/${id}/rename`, { form: { csrf, name: 'Mine' }, headers: { origin: gh.origin } }));
      expect(missing.status, id).toBe(404);
    }

    const removed = expectPage(await browser.submit(renamed, `form[action$="/factors/${passkeyId}/remove"]`));
    expect(removed.$('[role="status"]').text()).toBe('Passkey: Work key removed.');
    expect((await gh.app.mfa.factors.list('pk-manage', userId)).map((factor) => factor.type)).toEqual(['totp']);
    expect((await auditOf('pk-manage', 'mfa.factor_removed'))[0]?.details).toMatchObject({ factorId: passkeyId, type: 'webauthn' });

    offset += 6 * 60 * 1000;
    try {
      const stale = await postJson(browser, `${passkeyPath('pk-manage')}/options`, { csrf });
      expect([stale.status, stale.body['error']]).toEqual([401, 'fresh_sign_in_required']);
    } finally {
      offset -= 6 * 60 * 1000;
    }
  });
});

/** Another browser signed in with the password as the tenant's user (a second console session). */
async function passwordSession(tenantId: string): Promise<Browser> {
  const browser = new Browser(gh.origin);
  const login = expectPage(await browser.navigate(`/t/${tenantId}/account/login`));
  expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
  return browser;
}
