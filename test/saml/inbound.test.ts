/**
 * Reading incoming SAML messages (issue 13, "Defences"): every refusal with a message crafted and
 * signed by tools independent of samlify and xml-crypto (xmlsec1, openssl), so the test does not
 * trust the code it tests. Signature wrapping variants, the Redirect binding's raw-bytes rule,
 * DOCTYPE and entities, deflate bombs and oversized bodies, schema validation, the IssueInstant
 * window, replay across parallel requests, Destination, and unknown issuers.
 */
import { randomUUID } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreEphemeral } from '../../adapters/ephemeral-store.js';
import { openStore } from '../../adapters/index.js';
import type { Store } from '../../adapters/store.js';
import { authnRequestFields } from '../../src/saml/inbound/authn-request.js';
import { fromPost, fromRedirect, MAX_MESSAGE_BYTES } from '../../src/saml/inbound/bindings.js';
import { SamlMessageError } from '../../src/saml/inbound/errors.js';
import { readInbound, type InboundContext, type SpTrust } from '../../src/saml/inbound/message.js';
import { messageMemory } from '../../src/saml/inbound/replay.js';
import { samlProtocolSchema } from '../../src/saml/schema.js';
import { RSA_SHA1, SAML, SAMLP, signRedirectQuery, signXml, testKeyPair, type TestKeyPair } from '../helpers/xmlsec.js';

const SP = 'https://sp.test/metadata';
const SSO = 'https://idp.test/t/acme/saml/sso';
const ACS = 'https://sp.test/acs';
const SHA256_ALG = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

let key: TestKeyPair;
let stranger: TestKeyPair;
let store: Store;
let trust: SpTrust;
const schema = samlProtocolSchema();

beforeAll(async () => {
  [key, stranger] = await Promise.all([testKeyPair('sp'), testKeyPair('stranger')]);
  trust = { entityId: SP, certificates: [key.certPem], requireSignedRequests: true, allowSha1: false, clockSkewSeconds: 60 };
  store = await openStore({ kind: 'memory', dataDir: '.', mongodb: { database: 'unused' } });
});
afterAll(async () => {
  await Promise.all([key?.close(), stranger?.close(), store?.close()]);
});

function context(overrides: Partial<SpTrust> = {}, nowMs = Date.now()): InboundContext<SpTrust> {
  const ephemeral = new StoreEphemeral(store, () => nowMs);
  return { destination: SSO, nowMs, schema, findSp: async (entityId) => (entityId === SP ? { ...trust, ...overrides } : undefined), remember: messageMemory(ephemeral, 'acme') };
}

interface Options {
  id?: string;
  issuer?: string;
  destination?: string | null;
  acs?: string;
  instant?: Date;
  inner?: string;
  attributes?: string;
}

function authnRequest(options: Options = {}): { id: string; xml: string } {
  const id = options.id ?? `_${randomUUID()}`;
  const destination = options.destination === null ? '' : ` Destination="${options.destination ?? SSO}"`;
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${(options.instant ?? new Date()).toISOString()}"${destination} AssertionConsumerServiceURL="${options.acs ?? ACS}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"${options.attributes ?? ''}>` +
    `<saml:Issuer>${options.issuer ?? SP}</saml:Issuer>${options.inner ?? ''}<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/></samlp:AuthnRequest>`;
  return { id, xml };
}

const signed = async (options: Options = {}, pair = key, algorithm?: string) => {
  const { id, xml } = authnRequest(options);
  return { id, xml: await signXml(xml, pair, { namespace: SAMLP, localName: 'AuthnRequest', id }, algorithm) };
};

const post = (xml: string, relayState?: string) => fromPost({ SAMLRequest: Buffer.from(xml).toString('base64'), ...(relayState !== undefined ? { RelayState: relayState } : {}) });

/** A Redirect-binding query for `xml`, signed by openssl over the raw parameters (`encode` picks how they are percent-encoded). */
async function redirectQuery(xml: string, options: { relayState?: string; pair?: TestKeyPair; sigAlg?: string; encode?: (value: string) => string; order?: 'spec' | 'signature-first' } = {}): Promise<string> {
  const encode = options.encode ?? encodeURIComponent;
  const parts = [`SAMLRequest=${encode(deflateRawSync(Buffer.from(xml)).toString('base64'))}`];
  if (options.relayState !== undefined) parts.push(`RelayState=${encode(options.relayState)}`);
  if (!options.pair) return parts.join('&');
  parts.push(`SigAlg=${encode(options.sigAlg ?? SHA256_ALG)}`);
  const signature = `Signature=${encode(await signRedirectQuery(parts.join('&'), options.pair, options.sigAlg))}`;
  return options.order === 'signature-first' ? [signature, ...parts].join('&') : [...parts, signature].join('&');
}

async function refusal(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof SamlMessageError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('HTTP-POST with an enveloped signature', () => {
  it('accepts a request xmlsec1 signed and reads it from the signed content', async () => {
    const { id, xml } = await signed({}, key);
    const message = await readInbound(post(xml, 'state-1'), 'AuthnRequest', context());
    expect(message).toMatchObject({ id, signed: true, relayState: 'state-1', binding: 'post', destination: SSO });
    expect(authnRequestFields(message.root)).toMatchObject({ id, assertionConsumerServiceUrl: ACS, forceAuthn: false, isPassive: false, nameIdPolicy: { format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', allowCreate: true } });
  });

  it('refuses a changed byte, another key, and a key the message carries itself', async () => {
    const { xml } = await signed();
    expect(await refusal(readInbound(post(xml.replace(ACS, 'https://evil.test/acs')), 'AuthnRequest', context()))).toBe('bad_signature');
    const other = await signed({}, stranger);
    // xmlsec1 put the stranger's certificate in KeyInfo: it is never what a signature is checked with.
    expect(other.xml).toContain('<ds:X509Certificate>');
    expect(await refusal(readInbound(post(other.xml), 'AuthnRequest', context()))).toBe('bad_signature');
  });

  it('refuses signature wrapping: a signed request moved under a forged root, a duplicate ID, a signature off the root, two signatures', async () => {
    const original = await signed();
    const signatureXml = original.xml.slice(original.xml.indexOf('<ds:Signature'), original.xml.indexOf('</ds:Signature>') + '</ds:Signature>'.length);
    const unsignedOriginal = original.xml.replace(signatureXml, '');
    // Extensions take elements of other namespaces (the schema's ##other): the signed request goes in a foreign wrapper.
    const asChild = (xml: string) => `<samlp:Extensions><x:Wrap xmlns:x="urn:example:wrap">${xml.replace(/^<\?xml[^>]*>\s*/, '')}</x:Wrap></samlp:Extensions>`;

    // The forged root (another ID, the attacker's ACS) carries the signature; the signed element sits in Extensions.
    const forged = authnRequest({ acs: 'https://evil.test/acs', inner: signatureXml + asChild(unsignedOriginal) });
    expect(await refusal(readInbound(post(forged.xml), 'AuthnRequest', context()))).toBe('signature_wrapping');
    // The forged root takes the signed element's ID, and a foreign element has it too (an `Id` the
    // schema does not type, so only our rule sees the duplicate; xml-crypto resolves either).
    const sameId = authnRequest({ id: original.id, acs: 'https://evil.test/acs', inner: `${signatureXml}<samlp:Extensions><x:Wrap xmlns:x="urn:example:wrap" Id="${original.id}"/></samlp:Extensions>` });
    expect(await refusal(readInbound(post(sameId.xml), 'AuthnRequest', context()))).toBe('signature_wrapping');
    // An unsigned forged root around the whole signed request (signature and all), for an SP that need not sign.
    const around = authnRequest({ acs: 'https://evil.test/acs', inner: asChild(original.xml) });
    expect(await refusal(readInbound(post(around.xml), 'AuthnRequest', context({ requireSignedRequests: false })))).toBe('signature_wrapping');
    // A valid signature of the root that is not its child but sits in an extension (made so by xmlsec1).
    const offRoot = authnRequest({ inner: '<samlp:Extensions><x:Wrap xmlns:x="urn:example:wrap"><!--signature--></x:Wrap></samlp:Extensions>' });
    const offRootSigned = await signXml(offRoot.xml, key, { namespace: SAMLP, localName: 'AuthnRequest', id: offRoot.id });
    expect(await refusal(readInbound(post(offRootSigned), 'AuthnRequest', context()))).toBe('signature_wrapping');
    // A second signature, where the schema lets one hide (inside an extension).
    const twice = original.xml.replace('</ds:Signature>', `</ds:Signature>${asChild(signatureXml)}`);
    expect(await refusal(readInbound(post(twice), 'AuthnRequest', context()))).toBe('signature_wrapping');
  });

  it('refuses an unsigned request where the app must sign, and SHA-1 unless the app is allowed it', async () => {
    expect(await refusal(readInbound(post(authnRequest().xml), 'AuthnRequest', context()))).toBe('signature_required');
    expect(await refusal(readInbound(post(authnRequest().xml), 'AuthnRequest', context({ requireSignedRequests: false })))).toBe('accepted');
    const sha1 = await signed({}, key, RSA_SHA1);
    expect(await refusal(readInbound(post(sha1.xml), 'AuthnRequest', context()))).toBe('unsupported_algorithm');
    expect(await refusal(readInbound(post(sha1.xml), 'AuthnRequest', context({ allowSha1: true })))).toBe('accepted');
  });
});

describe('HTTP-Redirect with a detached signature', () => {
  it('checks the signature over the query’s bytes as they arrived, in any parameter order and percent-encoding', async () => {
    const { xml, id } = authnRequest();
    expect((await readInbound(fromRedirect(await redirectQuery(xml, { relayState: 'rs', pair: key })), 'AuthnRequest', context())).id).toBe(id);
    // Lower-case hex escapes, as ADFS makes them: re-encoding here would break the signature.
    const lower = (value: string) => encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    const second = authnRequest();
    const query = await redirectQuery(second.xml, { relayState: 'a/b c', pair: key, encode: lower, order: 'signature-first' });
    expect(query).toMatch(/%2f|%2b|%3d/);
    expect((await readInbound(fromRedirect(query), 'AuthnRequest', context())).relayState).toBe('a/b c');
  });

  it('refuses a changed RelayState, another key, a missing signature where one is required, SHA-1, and a repeated parameter', async () => {
    const query = await redirectQuery(authnRequest().xml, { relayState: 'rs', pair: key });
    expect(await refusal(readInbound(fromRedirect(query.replace('RelayState=rs', 'RelayState=rt')), 'AuthnRequest', context()))).toBe('bad_signature');
    expect(await refusal(readInbound(fromRedirect(query.replace('RelayState=rs&', '')), 'AuthnRequest', context()))).toBe('bad_signature');
    expect(await refusal(readInbound(fromRedirect(query.replace('rsa-sha256', 'rsa-sha512')), 'AuthnRequest', context()))).toBe('bad_signature');
    expect(await refusal(readInbound(fromRedirect(await redirectQuery(authnRequest().xml, { pair: stranger })), 'AuthnRequest', context()))).toBe('bad_signature');
    expect(await refusal(readInbound(fromRedirect(await redirectQuery(authnRequest().xml)), 'AuthnRequest', context()))).toBe('signature_required');
    expect(await refusal(readInbound(fromRedirect(await redirectQuery(authnRequest().xml, { pair: key, sigAlg: RSA_SHA1 })), 'AuthnRequest', context()))).toBe('unsupported_algorithm');
    expect(await refusal(() => fromRedirect(`${query}&SAMLRequest=${encodeURIComponent('x')}`))).toBe('duplicate_parameter');
    expect(await refusal(() => fromRedirect(query.replace(/&Signature=.*/, '')))).toBe('bad_signature');
  });

  it('refuses an XML signature inside a Redirect message', async () => {
    const { xml } = await signed();
    expect(await refusal(readInbound(fromRedirect(await redirectQuery(xml, { pair: key })), 'AuthnRequest', context()))).toBe('signature_wrapping');
  });

  it('stops inflating a deflate bomb at the size limit, quickly', async () => {
    const bomb = deflateRawSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(100_000);
    const started = process.hrtime.bigint();
    expect(await refusal(() => fromRedirect(`SAMLRequest=${encodeURIComponent(bomb.toString('base64'))}`))).toBe('too_large');
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2_000);
    expect(await refusal(() => fromRedirect(`SAMLRequest=${encodeURIComponent(Buffer.from('<not-deflated/>').toString('base64'))}`))).toBe('not_deflated');
  });
});

describe('what is refused before any signature is looked at', () => {
  it('refuses DOCTYPE and entity declarations, malformed XML, schema violations and the wrong message', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><samlp:AuthnRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_x" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>&lol2;</saml:Issuer></samlp:AuthnRequest>`;
    expect(await refusal(readInbound(post(laughs), 'AuthnRequest', context()))).toBe('malformed');
    const external = authnRequest().xml.replace('<samlp:AuthnRequest', '<!DOCTYPE x SYSTEM "http://169.254.169.254/"><samlp:AuthnRequest');
    expect(await refusal(readInbound(post(external), 'AuthnRequest', context()))).toBe('malformed');
    expect(await refusal(readInbound(post('<samlp:AuthnRequest'), 'AuthnRequest', context()))).toBe('malformed');
    expect(await refusal(readInbound(post(authnRequest({ inner: '<samlp:Unknown/>' }).xml), 'AuthnRequest', context()))).toBe('not_schema_valid');
    const logout = `<samlp:LogoutResponse xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_l" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>${SP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`;
    expect(await refusal(readInbound(post(logout), 'AuthnRequest', context()))).toBe('unexpected_message');
  });

  it('refuses oversized, non-base64 and repeated fields, and a RelayState over 80 bytes', async () => {
    expect(await refusal(() => fromPost({ SAMLRequest: 'A'.repeat(MAX_MESSAGE_BYTES * 2) }))).toBe('too_large');
    expect(await refusal(() => fromPost({ SAMLRequest: '<xml>' }))).toBe('not_base64');
    expect(await refusal(() => fromPost({ SAMLRequest: ['a', 'b'] }))).toBe('duplicate_parameter');
    expect(await refusal(() => fromPost({}))).toBe('missing');
    expect(await refusal(() => post(authnRequest().xml, 'r'.repeat(81)))).toBe('too_large');
  });

  it('refuses an unknown issuer, also one made to look known by a comment', async () => {
    expect(await refusal(readInbound(post(authnRequest({ issuer: 'https://other.test' }).xml), 'AuthnRequest', context({ requireSignedRequests: false })))).toBe('unknown_issuer');
    // The comment is not an end: the Issuer reads "https://sp.test/metadata.evil.test", unknown.
    expect(await refusal(readInbound(post(authnRequest({ issuer: `${SP}<!-- -->.evil.test` }).xml), 'AuthnRequest', context({ requireSignedRequests: false })))).toBe('unknown_issuer');
  });
});

describe('time, place and once', () => {
  it('accepts a request only within the clock skew plus five minutes of its IssueInstant', async () => {
    const now = Date.now();
    const at = (offsetMs: number) => signed({ instant: new Date(now + offsetMs) }).then(({ xml }) => refusal(readInbound(post(xml), 'AuthnRequest', context({}, now))));
    expect(await at(-5 * 60_000)).toBe('accepted');
    expect(await at(-7 * 60_000)).toBe('stale');
    expect(await at(50_000)).toBe('accepted');
    expect(await at(2 * 60_000)).toBe('stale');
  });

  it('refuses a request for another Destination, and a signed one that names none', async () => {
    expect(await refusal(readInbound(post((await signed({ destination: 'https://idp.test/t/other/saml/sso' })).xml), 'AuthnRequest', context()))).toBe('wrong_destination');
    expect(await refusal(readInbound(post((await signed({ destination: null })).xml), 'AuthnRequest', context()))).toBe('wrong_destination');
    const unsigned = readInbound(post(authnRequest({ destination: null }).xml), 'AuthnRequest', context({ requireSignedRequests: false }));
    expect(await unsigned.catch((error: Error) => error.message)).toMatchObject({ signed: false });
  });

  it('accepts a message once, also when ten copies arrive together', async () => {
    const { xml } = await signed();
    const shared = context();
    const results = await Promise.all(Array.from({ length: 10 }, () => refusal(readInbound(post(xml), 'AuthnRequest', shared))));
    expect(results.filter((result) => result === 'accepted')).toHaveLength(1);
    expect(results.filter((result) => result === 'replayed')).toHaveLength(9);
    expect(await refusal(readInbound(post(xml), 'AuthnRequest', context()))).toBe('replayed');
  });
});

describe('the AuthnRequest’s fields', () => {
  it('reads ForceAuthn, IsPassive, the requested context and its comparison, and refuses an index with a URL', async () => {
    const { xml } = await signed({
      attributes: ' ForceAuthn="true" IsPassive="1"',
      inner: `<samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>https://refeds.org/profile/mfa</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>`,
    });
    // The schema puts NameIDPolicy before RequestedAuthnContext: rebuild in that order.
    const ordered = xml.replace(/(<samlp:RequestedAuthnContext[\s\S]*<\/samlp:RequestedAuthnContext>)(<samlp:NameIDPolicy[^>]*\/>)/, '$2$1');
    const message = await refusal(readInbound(post(ordered), 'AuthnRequest', context()));
    // Reordering after signing breaks the signature: sign the schema-valid order instead.
    expect(message).toBe('bad_signature');
    const valid = authnRequest({ attributes: ' ForceAuthn="true" IsPassive="1"' });
    const withContext = valid.xml.replace('AllowCreate="true"/>', 'AllowCreate="true"/><samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>https://refeds.org/profile/mfa</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>');
    const read = await readInbound(post(await signXml(withContext, key, { namespace: SAMLP, localName: 'AuthnRequest', id: valid.id })), 'AuthnRequest', context());
    expect(authnRequestFields(read.root)).toMatchObject({ forceAuthn: true, isPassive: true, requestedAuthnContext: { comparison: 'minimum', classRefs: ['https://refeds.org/profile/mfa'] } });

    const both = authnRequest({ attributes: ' AssertionConsumerServiceIndex="1"' });
    const bothRead = await readInbound(post(await signXml(both.xml, key, { namespace: SAMLP, localName: 'AuthnRequest', id: both.id })), 'AuthnRequest', context());
    expect(await refusal(() => authnRequestFields(bothRead.root))).toBe('malformed');
  });
});
