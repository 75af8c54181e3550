/**
 * SAML single logout end to end with two service providers independent of samlify (issue 13):
 * pysaml2 (its SLO over HTTP-POST) and OneLogin's python3-saml (over HTTP-Redirect) sign in through
 * Gatehouse, then log out: SP-initiated, ending with the SP checking Gatehouse's signed
 * LogoutResponse; propagated to the session's other app, which answers; and IdP-initiated, from
 * Gatehouse's own sign-out. An OIDC client of the same session gets its back-channel logout token.
 */
import * as client from 'openid-client';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { startBackchannelReceiver, type BackchannelReceiver } from '../helpers/backchannel-receiver.js';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { runSp, spLibrariesProblem, type SpLibrary, type SpSettings } from '../helpers/saml-sp.js';
import { testKeyPair, type TestKeyPair } from '../helpers/xmlsec.js';
import { Participations } from '../../src/saml/slo/participation.js';

const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const BCL_REDIRECT = 'http://127.0.0.1:9/bcl-callback';
const apps: Record<SpLibrary, { entity: string; acs: string; slo: string; binding: 'HTTP-POST' | 'HTTP-Redirect'; name: string }> = {
  pysaml2: { entity: 'https://wiki.test/metadata', acs: 'https://wiki.test/acs', slo: 'https://wiki.test/slo', binding: 'HTTP-POST', name: 'Wiki' },
  onelogin: { entity: 'https://tickets.test/metadata', acs: 'https://tickets.test/acs', slo: 'https://tickets.test/slo', binding: 'HTTP-Redirect', name: 'Tickets' },
};

let gh: TestGatehouse;
let sp: TestKeyPair;
let receiver: BackchannelReceiver;
let bclRp: client.Configuration;
const settings = {} as Record<SpLibrary, SpSettings>;

beforeAll(async () => {
  const problem = spLibrariesProblem();
  if (problem) throw new Error(`The SAML interoperability tools are not installed: ${problem}`);
  sp = await testKeyPair('sp.test');
  receiver = await startBackchannelReceiver();
  // The relying party's back-channel endpoint is on loopback, which is refused by default.
  gh = await startGatehouse({ bootstrap: BOOTSTRAP, http: { allowPrivateNetworkFetch: true } });
  await seedTenant(gh, 'acme');
  const root = await adminToken(gh);
  for (const library of ['pysaml2', 'onelogin'] as const) {
    const spec = apps[library];
    const created = await call(gh, root, 'POST', '/tenants/acme/saml-apps', {
      name: spec.name,
      entity_id: spec.entity,
      acs_urls: [{ url: spec.acs, binding: 'HTTP-POST' }],
      slo: { url: spec.slo, binding: spec.binding },
      signing_certificates: [sp.certPem],
      name_id_formats: ['email'],
      // python3-saml in strict mode wants an AttributeStatement.
      attributes: [{ name: 'email', name_format: 'basic', source: 'email' }],
      access: { all_users: true },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  const { clientSecret } = await gh.app.clients.create('acme', {
    client_id: 'bcl-app',
    redirect_uris: [BCL_REDIRECT],
    backchannel_logout_uri: `http://127.0.0.1:${receiver.port}/backchannel`,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  });
  bclRp = await relyingParty(gh, 'acme', 'bcl-app', clientSecret!);
  const metadata = await (await fetch(`${gh.issuer('acme')}/saml/metadata`)).text();
  for (const library of ['pysaml2', 'onelogin'] as const) {
    const spec = apps[library];
    settings[library] = { entity_id: spec.entity, acs_url: spec.acs, slo_url: spec.slo, key_file: sp.keyFile, cert_file: sp.certFile, idp_metadata: metadata, sign: false, want_assertions_signed: true, want_messages_signed: library === 'onelogin', name_id_format: EMAIL };
  }
});
afterAll(async () => {
  await gh?.stop();
  await receiver?.close();
  await sp?.close();
});

interface Session {
  name_id: string;
  session_index: string;
}

/** Signs `browser` in to the SP (through the password page unless the browser is signed in already); answers what the SP accepted. */
async function signIn(browser: Browser, library: SpLibrary): Promise<Session> {
  const request = await runSp<{ url: string; request_id: string }>(library, 'login', settings[library]);
  let page = expectPage(await browser.navigate(request.url));
  if (page.$('form#gh-saml-post').length === 0) page = expectPage(await browser.submit(page, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
  const response = page.$('form#gh-saml-post input[name="SAMLResponse"]').attr('value');
  expect(response, page.html.slice(0, 600)).toBeDefined();
  const accepted = await runSp<Session & { ok: boolean; error?: string }>(library, 'acs', { ...settings[library], saml_response: response, request_id: request.request_id });
  expect(accepted.ok, accepted.error).toBe(true);
  return accepted;
}

/** Signs `browser` in to the OIDC client with a back-channel logout URI. */
async function signInToBcl(browser: Browser): Promise<void> {
  const { callback, verifier, state } = await authorize(browser, bclRp, { redirectUri: BCL_REDIRECT, scope: 'openid' });
  await client.authorizationCodeGrant(bclRp, callback, { pkceCodeVerifier: verifier, expectedState: state });
}

function postedForm(page: Page, id = 'form#gh-saml-post'): { action: string; fields: Record<string, string> } {
  const form = page.$(id);
  expect(form.length, page.html.slice(0, 800)).toBe(1);
  const fields: Record<string, string> = {};
  form.find('input').each((_, input) => {
    const name = page.$(input).attr('name');
    if (name) fields[name] = page.$(input).attr('value') ?? '';
  });
  return { action: form.attr('action')!, fields };
}

const live = (sessionIndex: string) => new Participations(gh.app.ephemeral).of('acme', sessionIndex);

describe('SP-initiated single logout', { timeout: 120_000 }, () => {
  it('pysaml2 logs out: the Gatehouse session ends, the OIDC client gets its logout token, and pysaml2 accepts the signed LogoutResponse', async () => {
    const browser = new Browser(gh.origin);
    await signInToBcl(browser);
    const wiki = await signIn(browser, 'pysaml2');
    const before = receiver.received.length;

    const request = await runSp<{ url: string; request_id: string }>('pysaml2', 'logout', { ...settings.pysaml2, name_id: wiki.name_id, name_id_format: EMAIL, session_index: wiki.session_index });
    const page = expectPage(await browser.navigate(request.url));
    const { action, fields } = postedForm(page);
    expect(action).toBe(apps.pysaml2.slo);
    const checked = await runSp<{ ok: boolean; status?: string; signed?: boolean; in_response_to?: string; error?: string }>('pysaml2', 'logout-response', { ...settings.pysaml2, saml_response: fields['SAMLResponse'], binding: 'post' });
    expect(checked, checked.error).toMatchObject({ ok: true, status: 'urn:oasis:names:tc:SAML:2.0:status:Success', signed: true, in_response_to: request.request_id });

    expect(receiver.received.slice(before).map((entry) => entry.path)).toEqual(['/backchannel']);
    expect(await live(wiki.session_index)).toBeUndefined();
    // The browser's Gatehouse session is gone: the next sign-in asks for the password again.
    const again = await runSp<{ url: string }>('pysaml2', 'login', settings.pysaml2);
    expect(expectPage(await browser.navigate(again.url)).$('form[action$="/password"]').length).toBe(1);
  });
});

/** The status codes of the LogoutResponse in a Redirect-binding URL. */
function statusesOf(url: string): string[] {
  const xml = inflateRawSync(Buffer.from(new URL(url).searchParams.get('SAMLResponse')!, 'base64')).toString('utf8');
  return [...xml.matchAll(/StatusCode Value="([^"]+)"/g)].map((match) => match[1]!);
}

/** Answers the framed LogoutRequest of the progress page as pysaml2 (the Wiki); answers the step page. */
async function wikiAnswers(browser: Browser, progress: Page, wiki: Session): Promise<Page> {
  expect(progress.$('h1').text()).toContain('Wiki');
  const frame = progress.$('#gh-saml-logout-frame').attr('src')!;
  const { action, fields } = postedForm(expectPage(await browser.navigate(frame)));
  expect(action).toBe(apps.pysaml2.slo);
  const answered = await runSp<{ ok: boolean; error?: string; signed: boolean; name_id: string; session_index: string[]; form: Record<string, string> }>('pysaml2', 'slo', { ...settings.pysaml2, saml_request: fields['SAMLRequest'], binding: 'post' });
  expect(answered, answered.error).toMatchObject({ ok: true, signed: true, name_id: wiki.name_id, session_index: [wiki.session_index] });
  const { action: back, ...form } = answered.form;
  expect(back).toBe(`${gh.issuer('acme')}/saml/slo`);
  return expectPage(await browser.navigate(back!, { form }));
}

describe('single logout passed on to the session\'s other app', { timeout: 120_000 }, () => {
  it('OneLogin logs out; Gatehouse logs the browser out of the Wiki (pysaml2) too, then answers OneLogin Success, which it verifies', async () => {
    const browser = new Browser(gh.origin);
    const wiki = await signIn(browser, 'pysaml2');
    const tickets = await signIn(browser, 'onelogin');
    const request = await runSp<{ url: string; request_id: string }>('onelogin', 'logout', { ...settings.onelogin, name_id: tickets.name_id, name_id_format: EMAIL, session_index: tickets.session_index });
    const progress = expectPage(await browser.navigate(request.url));
    expect(progress.headers.get('refresh')).toMatch(/^10; url=/);
    expect(progress.headers.get('content-security-policy')).toContain("frame-src 'self' https://wiki.test");
    const step = await wikiAnswers(browser, progress, wiki);
    const back = expectRedirect(await browser.navigate(step.$('#gh-saml-continue').attr('href')!, {}, apps.onelogin.slo));
    const checked = await runSp<{ ok: boolean; error?: string }>('onelogin', 'logout-response', { ...settings.onelogin, query_string: new URL(back).search.slice(1), request_id: request.request_id });
    expect(checked.ok, checked.error).toBe(true);
    expect(statusesOf(back)).toEqual(['urn:oasis:names:tc:SAML:2.0:status:Success']);
    expect(await live(wiki.session_index)).toBeUndefined();
  });

  it('answers PartialLogout when the other app does not answer in time (its SLO URL is down)', async () => {
    const browser = new Browser(gh.origin);
    const wiki = await signIn(browser, 'pysaml2');
    const tickets = await signIn(browser, 'onelogin');
    const request = await runSp<{ url: string; request_id: string }>('onelogin', 'logout', { ...settings.onelogin, name_id: tickets.name_id, name_id_format: EMAIL, session_index: tickets.session_index });
    const progress = expectPage(await browser.navigate(request.url));
    // The frame's request to https://wiki.test never comes back: the page's Refresh moves on.
    const refresh = progress.headers.get('refresh')!.replace(/^10; url=/, '');
    const back = expectRedirect(await browser.navigate(refresh, {}, apps.onelogin.slo));
    const checked = await runSp<{ ok: boolean; error?: string }>('onelogin', 'logout-response', { ...settings.onelogin, query_string: new URL(back).search.slice(1), request_id: request.request_id });
    expect(checked.ok, checked.error).toBe(true);
    expect(statusesOf(back)).toEqual(['urn:oasis:names:tc:SAML:2.0:status:Success', 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout']);
    expect(await live(wiki.session_index)).toBeUndefined();
    // The journey is over: its pages say so, and it answers OneLogin once.
    expect(expectPage(await browser.navigate(refresh)).status).toBe(400);
  });
});

/** Answers the framed LogoutRequest of the progress page as python3-saml (Tickets, HTTP-Redirect); answers the step page. */
async function ticketsAnswers(browser: Browser, progress: Page): Promise<Page> {
  expect(progress.$('h1').text()).toContain('Tickets');
  const sent = expectRedirect(await browser.navigate(progress.$('#gh-saml-logout-frame').attr('src')!, {}, apps.onelogin.slo));
  const answered = await runSp<{ ok: boolean; error?: string; url: string }>('onelogin', 'slo', { ...settings.onelogin, query_string: new URL(sent).search.slice(1) });
  expect(answered.ok, answered.error).toBe(true);
  expect(answered.url.startsWith(`${gh.issuer('acme')}/saml/slo?SAMLResponse=`)).toBe(true);
  return expectPage(await browser.navigate(answered.url));
}

describe('IdP-initiated single logout from a browser', { timeout: 120_000 }, () => {
  it('signing out at the OIDC logout confirmation visits both apps, each answers, and the page says so; the OIDC client gets its logout token', async () => {
    const browser = new Browser(gh.origin);
    await signInToBcl(browser);
    const wiki = await signIn(browser, 'pysaml2');
    const tickets = await signIn(browser, 'onelogin');
    const before = receiver.received.length;
    const confirm = expectPage(await browser.navigate(`${gh.issuer('acme')}/session/end?client_id=bcl-app`));
    const first = expectPage(await browser.submit(confirm, 'form', {}, undefined, { button: { name: 'logout', value: 'yes' } }));
    expect(receiver.received.slice(before).map((entry) => entry.path)).toEqual(['/backchannel']);
    const second = expectPage(await browser.navigate((await wikiAnswers(browser, first, wiki)).$('#gh-saml-continue').attr('href')!));
    const summary = expectPage(await browser.navigate((await ticketsAnswers(browser, second)).$('#gh-saml-continue').attr('href')!));
    expect(summary.$('main').text()).toContain('Also signed out of: Wiki, Tickets.');
    expect(summary.$('[role=alert]').length).toBe(0);
    // On to where the provider would have sent the browser: its signed-out page.
    expect(summary.$('#gh-saml-done').attr('href')).toContain('/session/end/success');
    expect(await live(wiki.session_index)).toBeUndefined();
    expect(await live(tickets.session_index)).toBeUndefined();
  });

  it('signing out of the account console does it too, and names the app that did not answer', async () => {
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate('/t/acme/account/login'));
    const account = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const wiki = await signIn(browser, 'pysaml2');
    await signIn(browser, 'onelogin');
    const console = expectPage(await browser.navigate('/t/acme/account'));
    expect(account.status).toBe(200);
    const confirm = expectPage(await browser.submit(console, 'form[action$="/logout"]'));
    const first = expectPage(await browser.submit(confirm, 'form', {}, undefined, { button: { name: 'logout', value: 'yes' } }));
    const second = expectPage(await browser.navigate((await wikiAnswers(browser, first, wiki)).$('#gh-saml-continue').attr('href')!));
    // Tickets never answers: the Refresh header moves on after 10 s.
    const summary = expectPage(await browser.navigate(second.headers.get('refresh')!.replace(/^10; url=/, '')));
    expect(summary.$('main').text()).toContain('Also signed out of: Wiki.');
    expect(summary.$('[role=alert]').text()).toContain('Could not sign you out of Tickets');
    expect(summary.$('#gh-saml-done').attr('href')).toBe(`${gh.issuer('acme')}/account`);
  });
});
