/**
 * The SAML test tools checked on their own, before any Gatehouse SAML test leans on them: xmlsec1
 * signs and verifies (and sees tampering), openssl signs the Redirect binding's query, and both
 * Python service providers make AuthnRequests and accept a Response signed by an independent
 * signer, but refuse it once a byte of the signed assertion changes. The IdP here is a fixture made
 * of a test key, static metadata and a Response written by hand; Gatehouse is not involved.
 */
import { createPublicKey, createVerify, randomUUID } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSp, spLibrariesProblem, type SpLibrary, type SpSettings } from '../helpers/saml-sp.js';
import { SAML, SAMLP, signRedirectQuery, signXml, testKeyPair, verifiedByXmlsec, type TestKeyPair } from '../helpers/xmlsec.js';

const IDP = 'https://idp.test/saml/metadata';
const SSO = 'https://idp.test/saml/sso';
const SP = 'https://sp.test/metadata';
const ACS = 'https://sp.test/acs';

let idp: TestKeyPair;
let sp: TestKeyPair;
let settings: SpSettings;

function idpMetadata(cert: string): string {
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${IDP}"><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${SAMLP}">` +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/saml/slo"/>` +
    `<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${SSO}"/>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${SSO}"/>` +
    `</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

/** A Response to `requestId` with one assertion for alice@example.com, unsigned (the caller signs its assertion). */
function response(requestId: string, assertionId: string, email = 'alice@example.com'): string {
  const now = new Date();
  const at = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();
  return (
    `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_r${randomUUID()}" Version="2.0" IssueInstant="${at(0)}" Destination="${ACS}" InResponseTo="${requestId}">` +
    `<saml:Issuer>${IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="${assertionId}" Version="2.0" IssueInstant="${at(0)}"><saml:Issuer>${IDP}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${email}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${at(300)}" Recipient="${ACS}" InResponseTo="${requestId}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${at(-60)}" NotOnOrAfter="${at(300)}"><saml:AudienceRestriction><saml:Audience>${SP}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${at(0)}" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement><saml:Attribute Name="email" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue>${email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
    `</saml:Assertion></samlp:Response>`
  );
}

const problem = spLibrariesProblem();

beforeAll(async () => {
  if (problem) throw new Error(`The SAML interoperability tools are not installed: ${problem}`);
  [idp, sp] = await Promise.all([testKeyPair('test-idp'), testKeyPair('test-sp')]);
  settings = { entity_id: SP, acs_url: ACS, slo_url: 'https://sp.test/slo', key_file: sp.keyFile, cert_file: sp.certFile, idp_metadata: idpMetadata(idp.certBase64) };
});
afterAll(async () => {
  await Promise.all([idp?.close(), sp?.close()]);
});

describe('xmlsec1 and openssl as the independent signers', () => {
  it('signs an AuthnRequest that xmlsec1 verifies, and sees a changed byte', async () => {
    const id = `_${randomUUID()}`;
    const request = `<samlp:AuthnRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${SSO}"><saml:Issuer>${SP}</saml:Issuer></samlp:AuthnRequest>`;
    const signed = await signXml(request, sp, { namespace: SAMLP, localName: 'AuthnRequest', id });
    expect(signed).toContain('<ds:SignatureValue>');
    expect(await verifiedByXmlsec(signed, sp, { namespace: SAMLP, localName: 'AuthnRequest' })).toBe(true);
    expect(await verifiedByXmlsec(signed.replace(SSO, 'https://evil.test/sso'), sp, { namespace: SAMLP, localName: 'AuthnRequest' })).toBe(false);
    expect(await verifiedByXmlsec(signed, idp, { namespace: SAMLP, localName: 'AuthnRequest' })).toBe(false);
  });

  it('signs a Redirect-binding query with openssl, checked by node:crypto', async () => {
    const query = 'SAMLRequest=abc%2B&RelayState=x&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256';
    const signature = await signRedirectQuery(query, sp);
    expect(createVerify('sha256').update(query).verify(createPublicKey(sp.certPem), signature, 'base64')).toBe(true);
    expect(createVerify('sha256').update(`${query}x`).verify(createPublicKey(sp.certPem), signature, 'base64')).toBe(false);
  });
});

describe.each<SpLibrary>(['pysaml2', 'onelogin'])('the %s service provider', (library) => {
  it('sends an AuthnRequest over HTTP-Redirect to the IdP, signed when asked', async () => {
    for (const sign of [false, true]) {
      const { url, request_id: requestId } = await runSp<{ url: string; request_id: string }>(library, 'login', { ...settings, sign, relay_state: 'rs-1' });
      const target = new URL(url);
      expect(`${target.origin}${target.pathname}`).toBe(SSO);
      const xml = inflateRawSync(Buffer.from(target.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
      expect(xml).toContain(`ID="${requestId}"`);
      expect(xml).toContain(ACS);
      expect(target.searchParams.get('RelayState')).toBe('rs-1');
      expect(target.searchParams.has('Signature')).toBe(sign);
      if (sign) {
        // The signed bytes are the query's own parameters as sent, in the order SAML Bindings 3.4.4.1
        // gives, wherever the URL put them (python3-saml puts Signature before SigAlg).
        const raw = new Map(target.search.slice(1).split('&').map((pair) => [pair.slice(0, pair.indexOf('=')), pair] as const));
        const signedPart = ['SAMLRequest', 'RelayState', 'SigAlg'].map((name) => raw.get(name)).filter(Boolean).join('&');
        expect(target.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
        expect(createVerify('sha256').update(signedPart).verify(createPublicKey(sp.certPem), target.searchParams.get('Signature')!, 'base64')).toBe(true);
      }
    }
  });

  it('accepts a Response whose assertion xmlsec1 signed, and refuses it once the signed assertion is changed', async () => {
    const { request_id: requestId } = await runSp<{ request_id: string }>(library, 'login', settings);
    const assertionId = `_a${randomUUID()}`;
    const signed = await signXml(response(requestId, assertionId), idp, { namespace: SAML, localName: 'Assertion', id: assertionId });
    const accepted = await runSp(library, 'acs', { ...settings, want_assertions_signed: true, saml_response: Buffer.from(signed).toString('base64'), request_id: requestId });
    expect(accepted, JSON.stringify(accepted)).toMatchObject({ ok: true, name_id: 'alice@example.com', session_index: '_s1', attributes: { email: ['alice@example.com'] } });

    const tampered = signed.replace('<saml:AttributeValue>alice@example.com', '<saml:AttributeValue>mallory@example.com');
    const refused = await runSp(library, 'acs', { ...settings, want_assertions_signed: true, saml_response: Buffer.from(tampered).toString('base64'), request_id: requestId });
    expect(refused['ok']).toBe(false);
  });
});

describe('the pysaml2 service provider over HTTP-POST', () => {
  it('posts a signed AuthnRequest whose enveloped signature xmlsec1 verifies', async () => {
    const { form, request_id: requestId } = await runSp<{ form: Record<string, string>; request_id: string }>('pysaml2', 'login', { ...settings, binding: 'post', sign: true });
    expect(form['action']).toBe(SSO);
    const xml = Buffer.from(form['SAMLRequest']!, 'base64').toString('utf8');
    expect(xml).toContain(`ID="${requestId}"`);
    expect(await verifiedByXmlsec(xml, sp, { namespace: SAMLP, localName: 'AuthnRequest' })).toBe(true);
  });
});
