/**
 * The SSO endpoint's refusals over real HTTP (issue 13, "Defences"): a request that cannot be
 * trusted gets an error page and never a Response, so an assertion can only ever reach a registered
 * ACS URL of a registered app of this tenant; a trusted request that cannot be met gets a SAML error
 * Response at the registered ACS. Requests are crafted here and signed by xmlsec1 and openssl.
 */
import { randomUUID } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { Browser, expectPage, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { SAML, SAMLP, signRedirectQuery, signXml, testKeyPair, type TestKeyPair } from '../helpers/xmlsec.js';

const SP = 'https://sp.test/metadata';
const ACS = 'https://sp.test/acs';
const SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

let gh: TestGatehouse;
let key: TestKeyPair;
let sso: string;

beforeAll(async () => {
  key = await testKeyPair('sp.test');
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'globex');
  const root = await adminToken(gh);
  for (const [tenant, entityId] of [['acme', SP], ['globex', 'https://globex-sp.test/metadata']] as const) {
    const created = await call(gh, root, 'POST', `/tenants/${tenant}/saml-apps`, { name: 'Wiki', entity_id: entityId, acs_urls: [{ url: ACS, binding: 'HTTP-POST' }], signing_certificates: [key.certPem], name_id_formats: ['email'], authn_requests_signed: true, access: { all_users: true } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  sso = `${gh.issuer('acme')}/saml/sso`;
});
afterAll(async () => {
  await gh?.stop();
  await key?.close();
});

function authnRequest(options: { issuer?: string; acs?: string; binding?: string; nameIdFormat?: string } = {}): { id: string; xml: string } {
  const id = `_${randomUUID()}`;
  return {
    id,
    xml:
      `<samlp:AuthnRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${sso}" AssertionConsumerServiceURL="${options.acs ?? ACS}" ProtocolBinding="${options.binding ?? 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'}">` +
      `<saml:Issuer>${options.issuer ?? SP}</saml:Issuer><samlp:NameIDPolicy Format="${options.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'}"/></samlp:AuthnRequest>`,
  };
}

async function redirectUrl(xml: string, relayState = 'rs'): Promise<string> {
  const signed = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}&RelayState=${encodeURIComponent(relayState)}&SigAlg=${encodeURIComponent(SHA256)}`;
  return `${sso}?${signed}&Signature=${encodeURIComponent(await signRedirectQuery(signed, key))}`;
}

/** The page, which must be an error page of ours without a Response form. */
function expectRefusal(page: Page, status: number, text: string): void {
  expect(page.status, page.html.slice(0, 400)).toBe(status);
  expect(page.$('form#gh-saml-post').length).toBe(0);
  expect(page.$('main').text()).toContain(text);
}

describe('requests that cannot be trusted get an error page, never a Response', () => {
  it('refuses an ACS URL the app has not registered, and a binding other than HTTP-POST', async () => {
    expectRefusal(expectPage(await new Browser(gh.origin).navigate(await redirectUrl(authnRequest({ acs: 'https://evil.test/acs' }).xml))), 400, 'has not registered');
    expectRefusal(expectPage(await new Browser(gh.origin).navigate(await redirectUrl(authnRequest({ binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect' }).xml))), 400, 'HTTP-POST only');
  });

  it('refuses an app registered with another tenant, and the same signed request a second time', async () => {
    expectRefusal(expectPage(await new Browser(gh.origin).navigate(await redirectUrl(authnRequest({ issuer: 'https://globex-sp.test/metadata' }).xml))), 400, 'not an app registered');
    const url = await redirectUrl(authnRequest().xml);
    const first = expectPage(await new Browser(gh.origin).navigate(url));
    expect(first.status).toBe(200);
    expectRefusal(expectPage(await new Browser(gh.origin).navigate(url)), 400, 'received before');
  });

  it('answers malformed, unsigned, oversized and hostile POSTs with an error page, not a crash', async () => {
    const post = (fields: Record<string, string>) => new Browser(gh.origin).navigate(sso, { form: fields });
    expectRefusal(expectPage(await post({ SAMLRequest: Buffer.from('<samlp:AuthnRequest').toString('base64') })), 400, 'not well-formed');
    expectRefusal(expectPage(await post({ SAMLRequest: Buffer.from(authnRequest().xml).toString('base64') })), 400, 'must sign');
    expectRefusal(expectPage(await post({ SAMLRequest: 'not base64!' })), 400, 'not base64');
    expectRefusal(expectPage(await post({})), 400, 'no SAMLRequest');
    const doctype = `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${authnRequest().xml}`;
    expectRefusal(expectPage(await post({ SAMLRequest: Buffer.from(doctype).toString('base64') })), 400, 'DOCTYPE');
    const huge = await fetch(sso, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `SAMLRequest=${'A'.repeat(2 * 1024 * 1024)}` });
    expect([400, 413]).toContain(huge.status);
    expectRefusal(expectPage(await new Browser(gh.origin).navigate(await redirectUrl(authnRequest().xml, 'r'.repeat(81)))), 400, '80 bytes');
  });
});

describe('requests that are trusted but cannot be met get a SAML error Response at the registered ACS', () => {
  it('answers InvalidNameIDPolicy to a NameID format the app is not registered for', async () => {
    const { id, xml } = authnRequest({ nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' });
    const page = expectPage(await new Browser(gh.origin).navigate(await redirectUrl(xml)));
    const form = page.$('form#gh-saml-post');
    expect(form.attr('action')).toBe(ACS);
    const response = Buffer.from(form.find('input[name="SAMLResponse"]').attr('value')!, 'base64').toString('utf8');
    expect(response).toContain('urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy');
    expect(response).toContain(`InResponseTo="${id}"`);
    expect(response).toContain('<ds:Signature');
    expect(response).not.toContain('<saml:Assertion');
  });

  it('signs a POSTed request’s answer too: xmlsec1-signed POST requests are read', async () => {
    const { id, xml } = authnRequest();
    const signed = await signXml(xml, key, { namespace: SAMLP, localName: 'AuthnRequest', id });
    const page = expectPage(await new Browser(gh.origin).navigate(sso, { form: { SAMLRequest: Buffer.from(signed).toString('base64'), RelayState: 'rs-post' } }));
    // Accepted: the browser is on its way to the login page.
    expect(page.status).toBe(200);
    expect(page.$('form[action$="/password"]').length).toBe(1);
  });
});
