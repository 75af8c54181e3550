/**
 * The SLO endpoint's refusals over real HTTP (issue 13, "Defences"): a LogoutRequest ends a session
 * only when it is signed by the registered app (always, whatever `authn_requests_signed` says), is
 * addressed here, fresh and new, and names the NameID and SessionIndex Gatehouse sent that app in a
 * live session; a LogoutResponse only when it answers a LogoutRequest Gatehouse sent. Messages are
 * crafted here and signed by xmlsec1 (HTTP-POST) and openssl (HTTP-Redirect), not by samlify.
 */
import { createVerify, randomUUID, X509Certificate } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { Browser, expectPage, expectRedirect, type Page } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { SAML, SAMLP, signRedirectQuery, signXml, testKeyPair, type TestKeyPair } from '../helpers/xmlsec.js';
import { Participations } from '../../src/saml/slo/participation.js';

const SP = 'https://sp.test/metadata';
const NO_SLO = 'https://noslo.test/metadata';
const SP_SLO = 'https://sp.test/slo';
const SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

let gh: TestGatehouse;
let key: TestKeyPair;
let other: TestKeyPair;
let slo: string;
let root: string;
let wikiId: string;

beforeAll(async () => {
  [key, other] = await Promise.all([testKeyPair('sp.test'), testKeyPair('attacker.test')]);
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
  await seedTenant(gh, 'acme');
  root = await adminToken(gh);
  // Neither app requires signed AuthnRequests: their LogoutRequests must be signed all the same.
  for (const [entityId, extra] of [[SP, { slo: { url: SP_SLO, binding: 'HTTP-Redirect' } }], [NO_SLO, {}]] as const) {
    const created = await call(gh, root, 'POST', '/tenants/acme/saml-apps', { name: entityId === SP ? 'Wiki' : 'Legacy', entity_id: entityId, acs_urls: [{ url: entityId.replace('metadata', 'acs'), binding: 'HTTP-POST' }], signing_certificates: [key.certPem], name_id_formats: ['email'], access: { all_users: true }, ...extra });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    if (entityId === SP) wikiId = String(created.body['id']);
  }
  slo = `${gh.issuer('acme')}/saml/slo`;
});
afterAll(async () => {
  await gh?.stop();
  await Promise.all([key?.close(), other?.close()]);
});

const deflated = (xml: string) => encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'));

/** Signs alice in to `issuer` in a fresh browser with an unsigned AuthnRequest; answers her NameID and SessionIndex there. */
async function signedIn(issuer = SP): Promise<{ browser: Browser; nameId: string; sessionIndex: string }> {
  const browser = new Browser(gh.origin);
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_${randomUUID()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${gh.issuer('acme')}/saml/sso">` +
    `<saml:Issuer>${issuer}</saml:Issuer></samlp:AuthnRequest>`;
  const login = expectPage(await browser.navigate(`${gh.issuer('acme')}/saml/sso?SAMLRequest=${deflated(xml)}`));
  const page = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
  const response = Buffer.from(page.$('form#gh-saml-post input[name="SAMLResponse"]').attr('value')!, 'base64').toString('utf8');
  return { browser, nameId: /<saml:NameID[^>]*>([^<]+)</.exec(response)![1]!, sessionIndex: /SessionIndex="([^"]+)"/.exec(response)![1]! };
}

function logoutRequest(options: { nameId: string; sessionIndex: string; issuer?: string; destination?: string; issueInstant?: Date }): { id: string; xml: string } {
  const id = `_${randomUUID()}`;
  return {
    id,
    xml:
      `<samlp:LogoutRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${(options.issueInstant ?? new Date()).toISOString()}" Destination="${options.destination ?? slo}">` +
      `<saml:Issuer>${options.issuer ?? SP}</saml:Issuer><saml:NameID Format="${EMAIL}">${options.nameId}</saml:NameID><samlp:SessionIndex>${options.sessionIndex}</samlp:SessionIndex></samlp:LogoutRequest>`,
  };
}

/** The HTTP-Redirect URL of `xml`, signed by openssl with `pair` (or unsigned). */
async function redirectUrl(xml: string, pair: TestKeyPair | null = key): Promise<string> {
  const signed = `SAMLRequest=${deflated(xml)}&RelayState=rs&SigAlg=${encodeURIComponent(SHA256)}`;
  if (!pair) return `${slo}?SAMLRequest=${deflated(xml)}&RelayState=rs`;
  return `${slo}?${signed}&Signature=${encodeURIComponent(await signRedirectQuery(signed, pair))}`;
}

function expectRefusal(page: Page, text: string): void {
  expect(page.status, page.html.slice(0, 400)).toBe(400);
  expect(page.$('form#gh-saml-post').length).toBe(0);
  expect(page.$('main').text()).toContain(text);
}

const live = (sessionIndex: string) => new Participations(gh.app.ephemeral).of('acme', sessionIndex);

/** The status codes of a LogoutResponse sent over HTTP-Redirect. */
function statusesOf(url: string): string[] {
  const xml = inflateRawSync(Buffer.from(new URL(url).searchParams.get('SAMLResponse')!, 'base64')).toString('utf8');
  return [...xml.matchAll(/StatusCode Value="([^"]+)"/g)].map((match) => match[1]!);
}

describe('LogoutRequests that cannot be trusted get an error page and end nothing', () => {
  it('refuses an unsigned LogoutRequest over either binding though the app does not sign its AuthnRequests, and a signature of another key', async () => {
    const alice = await signedIn();
    const request = () => logoutRequest(alice);
    expectRefusal(expectPage(await alice.browser.navigate(await redirectUrl(request().xml, null))), 'must sign its LogoutRequests');
    expectRefusal(expectPage(await alice.browser.navigate(slo, { form: { SAMLRequest: Buffer.from(request().xml).toString('base64') } })), 'must sign its LogoutRequests');
    expectRefusal(expectPage(await alice.browser.navigate(await redirectUrl(request().xml, other))), 'does not verify');
    const posted = request();
    const forged = await signXml(posted.xml, other, { namespace: SAMLP, localName: 'LogoutRequest', id: posted.id });
    expectRefusal(expectPage(await alice.browser.navigate(slo, { form: { SAMLRequest: Buffer.from(forged).toString('base64') } })), 'does not verify');
    expect(await live(alice.sessionIndex)).toBeDefined();
  });

  it('refuses an unknown issuer, another Destination, a stale IssueInstant and an app without an SLO URL', async () => {
    const alice = await signedIn();
    expectRefusal(expectPage(await alice.browser.navigate(await redirectUrl(logoutRequest({ ...alice, issuer: 'https://unknown.test/metadata' }).xml))), 'not an app registered');
    expectRefusal(expectPage(await alice.browser.navigate(await redirectUrl(logoutRequest({ ...alice, destination: 'https://elsewhere.test/slo' }).xml))), 'Destination');
    expectRefusal(expectPage(await alice.browser.navigate(await redirectUrl(logoutRequest({ ...alice, issueInstant: new Date(Date.now() - 20 * 60_000) }).xml))), 'too long ago');
    const legacy = await signedIn(NO_SLO);
    expectRefusal(expectPage(await legacy.browser.navigate(await redirectUrl(logoutRequest({ ...legacy, issuer: NO_SLO }).xml))), 'has not registered a single logout URL');
    expect(await live(alice.sessionIndex)).toBeDefined();
    expect(await live(legacy.sessionIndex)).toBeDefined();
  });

  it('refuses DOCTYPEs and oversized messages', async () => {
    const alice = await signedIn();
    const doctype = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>${logoutRequest(alice).xml}`;
    expectRefusal(expectPage(await alice.browser.navigate(slo, { form: { SAMLRequest: Buffer.from(doctype).toString('base64') } })), 'DOCTYPE');
    const huge = logoutRequest({ ...alice, nameId: 'a'.repeat(70 * 1024) }).xml;
    // Over HTTP-POST the body limit (64 KB) refuses it before the SAML reader does.
    expect(expectPage(await alice.browser.navigate(slo, { form: { SAMLRequest: Buffer.from(huge).toString('base64') } })).status).toBe(413);
    expectRefusal(expectPage(await alice.browser.navigate(await redirectUrl(huge))), 'inflates to more than');
    expect(await live(alice.sessionIndex)).toBeDefined();
  });
});

describe('a trusted LogoutRequest', () => {
  it('naming another user answers UnknownPrincipal and ends nothing', async () => {
    const alice = await signedIn();
    const answer = expectRedirect(await alice.browser.navigate(await redirectUrl(logoutRequest({ ...alice, nameId: 'bob@example.com' }).xml), {}, SP_SLO));
    expect(statusesOf(answer)).toEqual(['urn:oasis:names:tc:SAML:2.0:status:Requester', 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal']);
    // Another session's index with the right NameID does not end this one either.
    const wrongIndex = expectRedirect(await alice.browser.navigate(await redirectUrl(logoutRequest({ ...alice, sessionIndex: `_${'0'.repeat(40)}` }).xml), {}, SP_SLO));
    expect(statusesOf(wrongIndex)[1]).toBe('urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal');
    expect(await live(alice.sessionIndex)).toBeDefined();
  });

  it('signed by xmlsec1 over HTTP-POST ends the session and answers Success; the same message again is refused', async () => {
    const alice = await signedIn();
    const request = logoutRequest(alice);
    const signed = await signXml(request.xml, key, { namespace: SAMLP, localName: 'LogoutRequest', id: request.id });
    const form = { SAMLRequest: Buffer.from(signed).toString('base64'), RelayState: 'rs-7' };
    const answer = expectRedirect(await alice.browser.navigate(slo, { form }, SP_SLO));
    expect(statusesOf(answer)).toEqual(['urn:oasis:names:tc:SAML:2.0:status:Success']);
    expect(new URL(answer).searchParams.get('RelayState')).toBe('rs-7');
    const xml = inflateRawSync(Buffer.from(new URL(answer).searchParams.get('SAMLResponse')!, 'base64')).toString('utf8');
    expect(xml).toContain(`InResponseTo="${request.id}"`);
    expect(new URL(answer).searchParams.get('Signature')).toBeTruthy();
    expect(await live(alice.sessionIndex)).toBeUndefined();
    expectRefusal(expectPage(await alice.browser.navigate(slo, { form })), 'received before');
  });
});

describe('LogoutResponses', () => {
  it('refuses one whose InResponseTo names no LogoutRequest Gatehouse sent, signed or not', async () => {
    const id = `_${randomUUID()}`;
    const xml =
      `<samlp:LogoutResponse xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${slo}" InResponseTo="_${randomUUID()}">` +
      `<saml:Issuer>${SP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`;
    const signed = await signXml(xml, key, { namespace: SAMLP, localName: 'LogoutResponse', id });
    expectRefusal(expectPage(await new Browser(gh.origin).navigate(slo, { form: { SAMLResponse: Buffer.from(signed).toString('base64') } })), 'does not answer a LogoutRequest Gatehouse sent');
    expectRefusal(expectPage(await new Browser(gh.origin).navigate(slo, { form: { SAMLResponse: Buffer.from(xml.replace(id, `_${randomUUID()}`)).toString('base64') } })), 'must sign');
  });
});

describe('the key of logout messages', () => {
  it('is the one the app is pinned to, as for its Responses: a LogoutResponse verifies with the pinned certificate, not the active one', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/saml-certificates', {});
    expect(created.status).toBe(201);
    const next = created.body as { kid: string; certificate: string };
    const listed = (await call(gh, root, 'GET', '/tenants/acme/saml-certificates')).body.items as Array<{ state: string; certificate: string }>;
    const active = listed.find((certificate) => certificate.state === 'active')!;
    expect((await call(gh, root, 'PUT', `/tenants/acme/saml-apps/${wikiId}/signing-certificate`, { kid: next.kid })).status).toBe(200);
    try {
      const alice = await signedIn();
      const answer = expectRedirect(await alice.browser.navigate(await redirectUrl(logoutRequest(alice).xml), {}, SP_SLO));
      // HTTP-Redirect: the signature covers the query as sent, up to "&Signature=".
      const query = answer.slice(answer.indexOf('?') + 1);
      const signedPart = query.slice(0, query.indexOf('&Signature='));
      const signature = Buffer.from(new URL(answer).searchParams.get('Signature')!, 'base64');
      const verifies = (der: string) => createVerify('RSA-SHA256').update(signedPart).verify(new X509Certificate(Buffer.from(der, 'base64')).publicKey, signature);
      expect(verifies(next.certificate)).toBe(true);
      expect(verifies(active.certificate)).toBe(false);
    } finally {
      expect((await call(gh, root, 'DELETE', `/tenants/acme/saml-apps/${wikiId}/signing-certificate`)).status).toBeLessThan(300);
    }
  });
});
