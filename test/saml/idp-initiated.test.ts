/**
 * IdP-initiated single sign-on over real HTTP (issue 13): the start URL's GET is only a confirm
 * page, its POST (CSRF token bound to a signed cookie) signs the person in through the usual login
 * and posts an unsolicited Response (no InResponseTo) to the app's default ACS with its default
 * RelayState, which pysaml2 (with allow_unsolicited) and python3-saml accept with their own code.
 * "My apps" in the account console lists what the user may open. Every refusal has its test: no
 * token, a wrong or another browser's token, another site's Origin, an app that does not allow it
 * (at the GET, the POST and the callback), an unknown app, another tenant's app, an unassigned
 * user, and an ACS URL removed while the person signed in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { runSp, spLibrariesProblem, type SpSettings } from '../helpers/saml-sp.js';
import { testKeyPair, type TestKeyPair } from '../helpers/xmlsec.js';

const SP = 'https://sp.test/metadata';
const ACS = 'https://sp.test/acs';

let gh: TestGatehouse;
let root: string;
let sp: TestKeyPair;
let settings: SpSettings;
const ids: Record<'wiki' | 'plain' | 'closed' | 'restricted' | 'globex', string> = { wiki: '', plain: '', closed: '', restricted: '', globex: '' };

interface Accepted {
  ok: boolean;
  error?: string;
  name_id?: string;
  attributes?: Record<string, string[]>;
}

async function register(tenant: string, body: Record<string, unknown>): Promise<string> {
  const created = await call(gh, root, 'POST', `/tenants/${tenant}/saml-apps`, { name_id_formats: ['email'], attributes: [{ name: 'email', name_format: 'basic', source: 'email' }], access: { all_users: true }, ...body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return String(created.body['id']);
}

beforeAll(async () => {
  const problem = spLibrariesProblem();
  if (problem) throw new Error(`The SAML interoperability tools are not installed: ${problem}`);
  sp = await testKeyPair('sp.test');
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'globex');
  root = await adminToken(gh);
  await gh.app.roles.create('acme', { name: 'payroll', permissions: [] });
  ids.wiki = await register('acme', {
    name: 'Wiki',
    entity_id: SP,
    acs_urls: [
      { url: 'https://sp.test/other-acs', binding: 'HTTP-POST' },
      { url: ACS, binding: 'HTTP-POST', is_default: true },
    ],
    idp_initiated: { allowed: true, default_relay_state: '/wiki/home' },
  });
  ids.plain = await register('acme', { name: 'Plain', entity_id: 'https://plain.test/metadata', acs_urls: [{ url: 'https://plain.test/acs', binding: 'HTTP-POST' }], idp_initiated: { allowed: true } });
  ids.closed = await register('acme', { name: 'Closed', entity_id: 'https://closed.test/metadata', acs_urls: [{ url: 'https://closed.test/acs', binding: 'HTTP-POST' }] });
  ids.restricted = await register('acme', { name: 'Payroll', entity_id: 'https://payroll.test/metadata', acs_urls: [{ url: 'https://payroll.test/acs', binding: 'HTTP-POST' }], idp_initiated: { allowed: true }, access: { all_users: false, roles: ['payroll'] } });
  ids.globex = await register('globex', { name: 'Globex wiki', entity_id: SP, acs_urls: [{ url: ACS, binding: 'HTTP-POST' }], idp_initiated: { allowed: true } });
  const metadata = await (await fetch(`${gh.issuer('acme')}/saml/metadata`)).text();
  settings = { entity_id: SP, acs_url: ACS, slo_url: 'https://sp.test/slo', key_file: sp.keyFile, cert_file: sp.certFile, idp_metadata: metadata, want_assertions_signed: true };
});
afterAll(async () => {
  await gh?.stop();
  await sp?.close();
});

const startUrl = (id: string, tenant = 'acme') => `/t/${tenant}/saml/apps/${id}/start`;

function posted(page: Page): { action: string; response: string; xml: string; relayState?: string } {
  const form = page.$('form#gh-saml-post');
  expect(form.length, page.html.slice(0, 800)).toBe(1);
  const relayState = form.find('input[name="RelayState"]').attr('value');
  const response = form.find('input[name="SAMLResponse"]').attr('value')!;
  return { action: form.attr('action')!, response, xml: Buffer.from(response, 'base64').toString('utf8'), ...(relayState !== undefined ? { relayState } : {}) };
}

/** An error page of ours without a Response. */
function expectRefusal(page: Page, status: number, text: string): void {
  expect(page.status, page.html.slice(0, 400)).toBe(status);
  expect(page.$('form#gh-saml-post').length).toBe(0);
  expect(page.$('main').text()).toContain(text);
}

/** The confirm page of an app: its name, a Continue button, and never a Response. */
async function confirmPage(browser: Browser, id: string): Promise<Page> {
  const page = expectPage(await browser.navigate(startUrl(id)));
  expect(page.status, page.html.slice(0, 400)).toBe(200);
  expect(page.$('form#gh-saml-post').length).toBe(0);
  expect(page.$('form#gh-saml-start button').text()).toContain('Continue');
  return page;
}

/** Continue on the confirm page, then the password on the login page. */
async function continueAndSignIn(browser: Browser, confirm: Page, username = 'alice'): Promise<Page> {
  const login = expectPage(await browser.submit(confirm, 'form#gh-saml-start'));
  expect(login.$('form[action$="/password"]').length, login.html.slice(0, 400)).toBe(1);
  return expectPage(await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }));
}

/** The tenant's sign-on events, newest first. */
const ssoEvents = async () => (await gh.app.audit.list('acme', { limit: 1000 })).filter((event) => event.type === 'saml.sso' || event.type === 'saml.sso_refused');

describe('IdP-initiated sign-on to an app that allows it', { timeout: 90_000 }, () => {
  it('shows a confirm page, signs in on Continue, and posts an unsolicited Response to the default ACS with the default RelayState, which pysaml2 and python3-saml accept', async () => {
    const browser = new Browser(gh.origin);
    const confirm = await confirmPage(browser, ids.wiki);
    expect(confirm.$('h1').text()).toContain('Wiki');
    const { action, response, xml, relayState } = posted(await continueAndSignIn(browser, confirm));
    expect(action).toBe(ACS);
    expect(relayState).toBe('/wiki/home');
    expect(xml).not.toContain('InResponseTo');

    const pysaml2 = await runSp<Accepted>('pysaml2', 'acs', { ...settings, allow_unsolicited: true, saml_response: response });
    expect(pysaml2, pysaml2.error).toMatchObject({ ok: true, name_id: 'alice@example.com', attributes: { email: ['alice@example.com'] } });
    // The same Response to an SP that takes only answers to its own requests: refused, so the check above is real.
    const strict = await runSp<Accepted>('pysaml2', 'acs', { ...settings, allow_unsolicited: false, saml_response: response });
    expect(strict.ok).toBe(false);
    const onelogin = await runSp<Accepted>('onelogin', 'acs', { ...settings, saml_response: response });
    expect(onelogin, onelogin.error).toMatchObject({ ok: true, name_id: 'alice@example.com' });

    const [event] = (await ssoEvents()).filter((e) => e.type === 'saml.sso' && e.target.id === ids.wiki);
    expect(event?.details).toMatchObject({ idp_initiated: true, entity_id: SP });
  });

  it('sends no RelayState when the app has no default one; a signed-in browser still sees the confirm page first, then gets the Response with no login page', async () => {
    const browser = new Browser(gh.origin);
    await continueAndSignIn(browser, await confirmPage(browser, ids.wiki));
    // Signed in now: the GET is still only the confirm page.
    const confirm = await confirmPage(browser, ids.plain);
    const page = expectPage(await browser.submit(confirm, 'form#gh-saml-start'));
    const answer = posted(page);
    expect(answer.action).toBe('https://plain.test/acs');
    expect(answer.relayState).toBeUndefined();
  });

  it('records SP-initiated sign-ins as not IdP-initiated', async () => {
    const request = await runSp<{ url: string }>('pysaml2', 'login', settings);
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate(request.url));
    posted(expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD })));
    const [event] = (await ssoEvents()).filter((e) => e.type === 'saml.sso');
    expect(event?.details).toMatchObject({ idp_initiated: false });
  });
});

describe('the start form is refused', { timeout: 60_000 }, () => {
  it('without a CSRF token, with a wrong one, with another browser’s, without the cookie, and from another site', async () => {
    const browser = new Browser(gh.origin);
    const confirm = await confirmPage(browser, ids.wiki);
    const token = confirm.$('form#gh-saml-start input[name="csrf"]').attr('value')!;
    const origin = { origin: gh.origin };
    const attempts: Array<[string, Browser, Record<string, string>, Record<string, string>]> = [
      ['no token', browser, {}, origin],
      ['a wrong token', browser, { csrf: `${token.slice(0, -2)}xx` }, origin],
      ['another app’s token', browser, { csrf: (await confirmPage(browser, ids.plain)).$('input[name="csrf"]').attr('value')! }, origin],
      ['no cookie', new Browser(gh.origin), { csrf: token }, origin],
      ['another browser’s cookie', await (async () => {
        const other = new Browser(gh.origin);
        await confirmPage(other, ids.wiki);
        return other;
      })(), { csrf: token }, origin],
      ['another site', browser, { csrf: token }, { origin: 'https://evil.test' }],
    ];
    for (const [what, who, form, headers] of attempts) {
      const page = expectPage(await who.navigate(startUrl(ids.wiki), { form, headers }));
      expect(page.status, what).toBe(403);
      expect(page.$('form#gh-saml-post').length, what).toBe(0);
      expect(page.headers.get('location'), what).toBeNull();
    }
    // The real form still works after all that.
    posted(await continueAndSignIn(browser, confirm));
  });

  it('for an app that does not allow IdP-initiated sign-on, at the GET and at the POST', async () => {
    expectRefusal(expectPage(await new Browser(gh.origin).navigate(startUrl(ids.closed))), 403, 'Closed does not allow sign-in to start');
    const browser = new Browser(gh.origin);
    const confirm = await confirmPage(browser, ids.plain);
    expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.plain}`, { idp_initiated: { allowed: false } })).status).toBe(200);
    try {
      expectRefusal(expectPage(await browser.submit(confirm, 'form#gh-saml-start')), 403, 'Plain does not allow sign-in to start');
    } finally {
      expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.plain}`, { idp_initiated: { allowed: true } })).status).toBe(200);
    }
  });

  it('for an unknown app, a malformed id, and another tenant’s app', async () => {
    const browser = new Browser(gh.origin);
    expectRefusal(expectPage(await browser.navigate(startUrl('sp_AAAAAAAAAAAAAAAA'))), 404, 'There is no such app');
    expectRefusal(expectPage(await browser.navigate(startUrl('not-an-app'))), 404, 'There is no such app');
    expectRefusal(expectPage(await browser.navigate(startUrl(ids.globex))), 404, 'There is no such app');
    // The other tenant's own URL works: the id is that tenant's.
    expect(expectPage(await browser.navigate(startUrl(ids.globex, 'globex'))).status).toBe(200);
    // A token of globex's confirm page is no use at acme.
    const globex = expectPage(await browser.navigate(startUrl(ids.globex, 'globex')));
    const page = expectPage(await browser.navigate(startUrl(ids.globex), { form: { csrf: globex.$('input[name="csrf"]').attr('value')! }, headers: { origin: gh.origin } }));
    expect(page.status).toBe(403);
    expect(page.$('form#gh-saml-post').length).toBe(0);
  });
});

describe('refused after the sign-in', { timeout: 60_000 }, () => {
  it('shows an unassigned user an error page, not an assertion, and audits it', async () => {
    const browser = new Browser(gh.origin);
    expectRefusal(await continueAndSignIn(browser, await confirmPage(browser, ids.restricted)), 403, 'has not been given access to Payroll');
    const [event] = (await ssoEvents()).filter((e) => e.target.id === ids.restricted);
    expect(event).toMatchObject({ type: 'saml.sso_refused', details: { reason: 'not_assigned' } });
  });

  it('when the app stops allowing IdP-initiated sign-on while the person signs in', async () => {
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.submit(await confirmPage(browser, ids.plain), 'form#gh-saml-start'));
    expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.plain}`, { idp_initiated: { allowed: false } })).status).toBe(200);
    try {
      expectRefusal(expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD })), 403, 'can no longer be opened from here');
    } finally {
      expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.plain}`, { idp_initiated: { allowed: true } })).status).toBe(200);
    }
  });

  it('when the ACS URL the answer was for is no longer registered (SP- and IdP-initiated alike)', async () => {
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.submit(await confirmPage(browser, ids.plain), 'form#gh-saml-start'));
    expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.plain}`, { acs_urls: [{ url: 'https://plain.test/new-acs', binding: 'HTTP-POST' }] })).status).toBe(200);
    try {
      expectRefusal(expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD })), 400, 'no longer has the address');
    } finally {
      expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.plain}`, { acs_urls: [{ url: 'https://plain.test/acs', binding: 'HTTP-POST' }] })).status).toBe(200);
    }

    const request = await runSp<{ url: string }>('pysaml2', 'login', settings);
    const spBrowser = new Browser(gh.origin);
    const spLogin = expectPage(await spBrowser.navigate(request.url));
    expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.wiki}`, { acs_urls: [{ url: 'https://sp.test/other-acs', binding: 'HTTP-POST' }] })).status).toBe(200);
    try {
      expectRefusal(expectPage(await spBrowser.submit(spLogin, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD })), 400, 'no longer has the address');
    } finally {
      const restored = await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.wiki}`, { acs_urls: [{ url: 'https://sp.test/other-acs', binding: 'HTTP-POST' }, { url: ACS, binding: 'HTTP-POST', is_default: true }] });
      expect(restored.status).toBe(200);
    }
  });
});

describe('"My apps" in the account console', { timeout: 60_000 }, () => {
  it('lists the apps the user may open from Gatehouse, and each button starts sign-on without another login', async () => {
    const browser = new Browser(gh.origin);
    // Signed out, the page sends the browser to sign in and back.
    const login = expectPage(await browser.navigate('/t/acme/account/apps'));
    const apps = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    expect(apps.url).toBe(`${gh.issuer('acme')}/account/apps`);
    const names = apps.$('#gh-apps li strong').map((_, element) => apps.$(element).text()).get();
    // Closed does not allow it; Payroll is not alice's; Globex wiki is another tenant's.
    expect(names).toEqual(['Plain', 'Wiki']);

    const account = expectPage(await browser.navigate('/t/acme/account'));
    expect(account.$('a[href="/t/acme/account/apps"]').length).toBe(1);

    const page = expectPage(await browser.submit(apps, `form[action="${startUrl(ids.wiki)}"]`));
    const { action, relayState, response } = posted(page);
    expect([action, relayState]).toEqual([ACS, '/wiki/home']);
    const accepted = await runSp<Accepted>('pysaml2', 'acs', { ...settings, allow_unsolicited: true, saml_response: response });
    expect(accepted, accepted.error).toMatchObject({ ok: true, name_id: 'alice@example.com' });
  });

  it('lists the app once the user holds its role, and nothing for a user with no apps', async () => {
    await gh.app.users.create('acme', { username: 'carol', email: 'carol@example.com', emailVerified: true, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.wiki}`, { access: { all_users: false, roles: ['api-user'] } })).status).toBe(200);
    expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${ids.plain}`, { access: { all_users: false, roles: ['api-user'] } })).status).toBe(200);
    try {
      const browser = new Browser(gh.origin);
      const login = expectPage(await browser.navigate('/t/acme/account/apps'));
      const apps = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'carol', password: TEST_PASSWORD }));
      expect(apps.$('#gh-apps').length).toBe(0);
      expect(apps.$('#gh-apps-empty').text()).toContain('no apps');

      const alice = new Browser(gh.origin);
      const aliceLogin = expectPage(await alice.navigate('/t/acme/account/apps'));
      const aliceApps = expectPage(await alice.submit(aliceLogin, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
      expect(aliceApps.$('#gh-apps li strong').map((_, element) => aliceApps.$(element).text()).get()).toEqual(['Plain', 'Wiki']);
    } finally {
      for (const id of [ids.wiki, ids.plain]) expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${id}`, { access: { all_users: true } })).status).toBe(200);
    }
  });
});
