/**
 * SAML single sign-on end to end with two service providers independent of samlify (issue 13):
 * pysaml2 and OneLogin's python3-saml make the AuthnRequests (HTTP-Redirect and HTTP-POST, signed)
 * and check the Responses with their own code (signatures, encryption, audience, times,
 * InResponseTo, Destination, attributes). The person signs in through Gatehouse's real login pages
 * (the cheerio browser): the same login as OIDC, second factors included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { runSp, spLibrariesProblem, type SpLibrary, type SpSettings } from '../helpers/saml-sp.js';
import { totpCode } from '../helpers/totp.js';
import { testKeyPair, type TestKeyPair } from '../helpers/xmlsec.js';

const SP = 'https://sp.test/metadata';
const ACS = 'https://sp.test/acs';

let gh: TestGatehouse;
let acme: SeededTenant;
let root: string;
let sp: TestKeyPair;
let settings: SpSettings;
let appId: string;

interface Accepted {
  ok: boolean;
  error?: string;
  name_id?: string;
  name_id_format?: string;
  sp_name_qualifier?: string;
  attributes?: Record<string, string[]>;
  session_index?: string;
  authn_context?: string;
  encrypted?: boolean;
}

beforeAll(async () => {
  const problem = spLibrariesProblem();
  if (problem) throw new Error(`The SAML interoperability tools are not installed: ${problem}`);
  sp = await testKeyPair('sp.test');
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
  acme = await seedTenant(gh, 'acme');
  root = await adminToken(gh);
  const created = await call(gh, root, 'POST', '/tenants/acme/saml-apps', {
    name: 'Wiki',
    entity_id: SP,
    acs_urls: [{ url: ACS, binding: 'HTTP-POST' }],
    signing_certificates: [sp.certPem],
    encryption_certificate: sp.certPem,
    encrypt_assertion: true,
    name_id_formats: ['email', 'persistent', 'transient'],
    authn_requests_signed: true,
    attributes: [
      { name: 'email', name_format: 'basic', source: 'email' },
      { name: 'givenName', name_format: 'basic', source: 'given_name' },
      { name: 'roles', name_format: 'basic', source: 'roles' },
    ],
    access: { all_users: true },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  appId = String(created.body['id']);
  const metadata = await (await fetch(`${gh.issuer('acme')}/saml/metadata`)).text();
  settings = { entity_id: SP, acs_url: ACS, slo_url: 'https://sp.test/slo', key_file: sp.keyFile, cert_file: sp.certFile, idp_metadata: metadata, sign: true, want_assertions_signed: true };
});
afterAll(async () => {
  await gh?.stop();
  await sp?.close();
});

/** Follows the SP's request through the login pages to the page that posts the Response to the ACS. */
async function signIn(browser: Browser, start: { url?: string; form?: Record<string, string> }, steps: (page: Page) => Promise<Page> = password): Promise<Page> {
  let page: Page;
  if (start.url) page = expectPage(await browser.navigate(start.url));
  else {
    const { action, ...fields } = start.form!;
    page = expectPage(await browser.navigate(action!, { form: fields }));
  }
  if (page.$('form#gh-saml-post').length === 0) page = await steps(page);
  return page;
}

async function password(page: Page, browser = lastBrowser): Promise<Page> {
  return expectPage(await browser.submit(page, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
}
let lastBrowser: Browser;

function posted(page: Page): { action: string; response: string; relayState?: string } {
  const form = page.$('form#gh-saml-post');
  expect(form.length, page.html.slice(0, 800)).toBe(1);
  const relayState = form.find('input[name="RelayState"]').attr('value');
  return { action: form.attr('action')!, response: form.find('input[name="SAMLResponse"]').attr('value')!, ...(relayState !== undefined ? { relayState } : {}) };
}

// Each test runs the Python SPs a few times (a second or two apiece on a busy machine).
describe.each<SpLibrary>(['pysaml2', 'onelogin'])('SP-initiated SSO with %s over HTTP-Redirect', { timeout: 90_000 }, (library) => {
  it('signs the user in through the login page and the SP accepts the signed, encrypted assertion with its attributes', async () => {
    const request = await runSp<{ url: string; request_id: string }>(library, 'login', { ...settings, relay_state: 'rs-42', name_id_format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' });
    lastBrowser = new Browser(gh.origin);
    const page = await signIn(lastBrowser, request);
    const { action, response, relayState } = posted(page);
    expect(action).toBe(ACS);
    expect(relayState).toBe('rs-42');
    const accepted = await runSp<Accepted>(library, 'acs', { ...settings, want_assertions_encrypted: true, saml_response: response, request_id: request.request_id });
    expect(accepted, accepted.error).toMatchObject({ ok: true, name_id: 'alice@example.com', attributes: { email: ['alice@example.com'], givenName: ['Alice'], roles: ['api-user'] } });
    expect(Buffer.from(response, 'base64').toString()).toContain('EncryptedAssertion');
  });
});

describe('SP-initiated SSO with pysaml2 over HTTP-POST', { timeout: 90_000 }, () => {
  it('accepts a signed POSTed AuthnRequest; a signed-in user gets the assertion without a prompt; persistent IDs are pairwise and stable', async () => {
    const request = await runSp<{ form: Record<string, string>; request_id: string }>('pysaml2', 'login', { ...settings, binding: 'post', name_id_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' });
    lastBrowser = new Browser(gh.origin);
    const first = posted(await signIn(lastBrowser, request));
    const accepted = await runSp<Accepted>('pysaml2', 'acs', { ...settings, saml_response: first.response, request_id: request.request_id });
    expect(accepted, accepted.error).toMatchObject({ ok: true, name_id_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', sp_name_qualifier: SP });
    expect(accepted.name_id).not.toContain(acme.userId);

    // The same browser again: its Gatehouse session signs it in without a page.
    const again = await runSp<{ form: Record<string, string>; request_id: string }>('pysaml2', 'login', { ...settings, binding: 'post', name_id_format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' });
    const second = posted(await signIn(lastBrowser, again, async () => {
      throw new Error('asked for a page although the browser is signed in');
    }));
    const repeat = await runSp<Accepted>('pysaml2', 'acs', { ...settings, saml_response: second.response, request_id: again.request_id });
    expect(repeat.name_id).toBe(accepted.name_id);
  });
});

describe('what the request asks for', { timeout: 90_000 }, () => {
  it('answers NoPassive to IsPassive without a session, and NoAuthnContext for a context Gatehouse cannot meet', async () => {
    const passive = await runSp<{ url: string; request_id: string }>('onelogin', 'login', { ...settings, is_passive: true });
    const page = expectPage(await new Browser(gh.origin).navigate(passive.url));
    const answer = await runSp<Accepted>('onelogin', 'acs', { ...settings, saml_response: posted(page).response, request_id: passive.request_id });
    expect(answer.ok).toBe(false);
    expect(Buffer.from(posted(page).response, 'base64').toString()).toContain('urn:oasis:names:tc:SAML:2.0:status:NoPassive');

    const smartcard = await runSp<{ url: string; request_id: string }>('pysaml2', 'login', { ...settings, authn_context: ['urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard'] });
    const refused = expectPage(await new Browser(gh.origin).navigate(smartcard.url));
    expect(Buffer.from(posted(refused).response, 'base64').toString()).toContain('urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext');
  });

  it('asks for the second factor when the app asks for REFEDS MFA, and says so in the assertion', async () => {
    const bob = await gh.app.users.create('acme', { username: 'bob', email: 'bob@example.com', emailVerified: true, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
    const enrolment = await gh.app.mfa.totp.startEnrollment('acme', bob._id);
    await gh.app.mfa.totp.confirmEnrollment('acme', bob._id, enrolment.enrollmentId, totpCode(enrolment.secret, -1));
    const request = await runSp<{ url: string; request_id: string }>('pysaml2', 'login', { ...settings, authn_context: ['https://refeds.org/profile/mfa'], comparison: 'exact' });
    const browser = new Browser(gh.origin);
    const login = expectPage(await browser.navigate(request.url));
    const second = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'bob', password: TEST_PASSWORD }));
    const page = expectPage(await browser.submit(second, 'form[action$="/totp"]', { code: totpCode(enrolment.secret) }));
    const accepted = await runSp<Accepted>('pysaml2', 'acs', { ...settings, saml_response: posted(page).response, request_id: request.request_id });
    expect(accepted, accepted.error).toMatchObject({ ok: true, authn_context: 'https://refeds.org/profile/mfa' });
  });

  it('shows an unassigned user an error page, not an assertion', async () => {
    expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${appId}`, { access: { all_users: false, user_ids: [] } })).status).toBe(200);
    try {
      const request = await runSp<{ url: string; request_id: string }>('pysaml2', 'login', settings);
      lastBrowser = new Browser(gh.origin);
      const page = await signIn(lastBrowser, request);
      expect(page.status).toBe(403);
      expect(page.$('form#gh-saml-post').length).toBe(0);
      expect(page.$('main').text()).toContain('has not been given access to Wiki');
    } finally {
      expect((await call(gh, root, 'PATCH', `/tenants/acme/saml-apps/${appId}`, { access: { all_users: true } })).status).toBe(200);
    }
  });
});
