/**
 * Per-app certificate activation (issue 13, "activated per app or per tenant by the operator"):
 * `PUT /saml-apps/{id}/signing-certificate` pins an app to one of the tenant's published
 * certificates, and its Responses are then signed with that one; `DELETE` has it follow the
 * tenant's active certificate again. Signatures are checked with xmlsec1 against each certificate,
 * so the test does not trust samlify's own verification. Retiring a pinned certificate is refused
 * naming the app; bad and foreign kids, wrong scopes and another tenant's token are refused.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, BOOTSTRAP, call } from '../admin/helpers.js';
import { Browser, expectPage } from '../helpers/browser.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from '../helpers/gatehouse.js';
import { runSp } from '../helpers/saml-sp.js';
import { SAML, SAMLP, testKeyPair, verifiedByXmlsec, type TestKeyPair } from '../helpers/xmlsec.js';

const SP = 'https://sp.test/metadata';
const ACS = 'https://sp.test/acs';

let gh: TestGatehouse;
let root: string;
let sp: TestKeyPair;
let wiki: string;
let other: string;
let signedIn: Browser;

beforeAll(async () => {
  sp = await testKeyPair('sp.test');
  gh = await startGatehouse({ bootstrap: BOOTSTRAP });
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'globex');
  root = await adminToken(gh);
  const register = async (entityId: string, name: string) => {
    const created = await call(gh, root, 'POST', '/tenants/acme/saml-apps', { name, entity_id: entityId, acs_urls: [{ url: ACS, binding: 'HTTP-POST' }], name_id_formats: ['email'], sign_response: true, sign_assertion: true, idp_initiated: { allowed: true }, access: { all_users: true } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return String(created.body['id']);
  };
  wiki = await register(SP, 'Wiki');
  other = await register('https://other.test/metadata', 'Other');
  // One browser signed in once: each Response below comes from the "My apps"-style start form.
  signedIn = new Browser(gh.origin);
  const confirm = expectPage(await signedIn.navigate(`/t/acme/saml/apps/${wiki}/start`));
  const login = expectPage(await signedIn.submit(confirm, 'form#gh-saml-start'));
  expectPage(await signedIn.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
});
afterAll(async () => {
  await gh?.stop();
  await sp?.close();
});

/** A Response for `id` to the signed-in browser (IdP-initiated, no login page). */
async function responseFor(id: string): Promise<string> {
  const confirm = expectPage(await signedIn.navigate(`/t/acme/saml/apps/${id}/start`));
  const page = expectPage(await signedIn.submit(confirm, 'form#gh-saml-start'));
  const value = page.$('form#gh-saml-post input[name="SAMLResponse"]').attr('value');
  expect(value, page.html.slice(0, 400)).toBeDefined();
  return Buffer.from(value!, 'base64').toString('utf8');
}

/** A certificate (base64 DER) as a file xmlsec1 can check with. */
async function asPair(kid: string, certificate: string): Promise<TestKeyPair> {
  const certFile = join(sp.dir, `idp-${kid}.pem`);
  await writeFile(certFile, `-----BEGIN CERTIFICATE-----\n${certificate.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`);
  return { ...sp, certFile };
}

/** Which of `certificates` verifies both the Response's and the assertion's signature (exactly one must). */
async function signerOf(xml: string, certificates: Array<{ kid: string; certificate: string }>): Promise<string[]> {
  const signers: string[] = [];
  for (const { kid, certificate } of certificates) {
    const pair = await asPair(kid, certificate);
    const response = await verifiedByXmlsec(xml, pair, { namespace: SAMLP, localName: 'Response' });
    // xmlsec1 checks the first signature: without the Response's, that is the assertion's (which does not cover it).
    const assertion = await verifiedByXmlsec(xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, ''), pair, { namespace: SAML, localName: 'Assertion' });
    if (response && assertion) signers.push(kid);
  }
  return signers;
}

async function certificates(): Promise<Array<{ kid: string; state: string; certificate: string }>> {
  const listed = await call(gh, root, 'GET', '/tenants/acme/saml-certificates');
  expect(listed.status).toBe(200);
  return listed.body.items as Array<{ kid: string; state: string; certificate: string }>;
}

describe('pinning an app to a certificate', { timeout: 90_000 }, () => {
  it('signs that app with the pinned certificate (next, then previous), others with the active one, and with the active one again once unpinned', async () => {
    const [first] = await certificates();
    const created = await call(gh, root, 'POST', '/tenants/acme/saml-certificates', {});
    expect(created.status).toBe(201);
    const next = created.body as { kid: string; certificate: string };
    const all = [first!, next];

    expect(await call(gh, root, 'GET', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).toMatchObject({ status: 200, body: { pinned: false, certificate: { kid: first!.kid, state: 'active' } } });
    expect(await signerOf(await responseFor(wiki), all)).toEqual([first!.kid]);

    // Pinned to the next certificate: this app moves, the other stays.
    const pinned = await call(gh, root, 'PUT', `/tenants/acme/saml-apps/${wiki}/signing-certificate`, { kid: next.kid });
    expect(pinned).toMatchObject({ status: 200, body: { pinned: true, certificate: { kid: next.kid, state: 'next' } } });
    expect(await call(gh, root, 'GET', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).toMatchObject({ body: { pinned: true, certificate: { kid: next.kid } } });
    const wikiXml = await responseFor(wiki);
    expect(await signerOf(wikiXml, all)).toEqual([next.kid]);
    expect(wikiXml).toContain(next.certificate);
    expect(await signerOf(await responseFor(other), all)).toEqual([first!.kid]);

    // An SP that reads the metadata (both certificates published) takes it.
    const metadata = await (await fetch(`${gh.issuer('acme')}/saml/metadata`)).text();
    const confirm = expectPage(await signedIn.navigate(`/t/acme/saml/apps/${wiki}/start`));
    const page = expectPage(await signedIn.submit(confirm, 'form#gh-saml-start'));
    const accepted = await runSp<{ ok: boolean; error?: string }>('pysaml2', 'acs', { entity_id: SP, acs_url: ACS, slo_url: 'https://sp.test/slo', key_file: sp.keyFile, cert_file: sp.certFile, idp_metadata: metadata, want_assertions_signed: true, want_response_signed: true, allow_unsolicited: true, saml_response: page.$('input[name="SAMLResponse"]').attr('value')! });
    expect(accepted, accepted.error).toMatchObject({ ok: true });

    // The tenant activates the next certificate; the app is pinned back to the previous one.
    expect((await call(gh, root, 'POST', `/tenants/acme/saml-certificates/${next.kid}/activate`)).status).toBe(200);
    expect(await call(gh, root, 'PUT', `/tenants/acme/saml-apps/${wiki}/signing-certificate`, { kid: first!.kid })).toMatchObject({ status: 200, body: { pinned: true, certificate: { kid: first!.kid, state: 'previous' } } });
    expect(await signerOf(await responseFor(wiki), all)).toEqual([first!.kid]);
    expect(await signerOf(await responseFor(other), all)).toEqual([next.kid]);

    // Retiring the certificate the app is pinned to is refused, naming the app.
    const refused = await call(gh, root, 'POST', `/tenants/acme/saml-certificates/${first!.kid}/retire`);
    expect(refused.status).toBe(409);
    expect(refused.body.error_description).toContain(`"Wiki" (${wiki})`);
    expect((await certificates()).map((key) => key.kid)).toContain(first!.kid);

    // Unpinned, it follows the tenant again, and the old certificate can go.
    expect(await call(gh, root, 'DELETE', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).toMatchObject({ status: 200, body: { pinned: false, certificate: { kid: next.kid, state: 'active' } } });
    expect(await signerOf(await responseFor(wiki), all)).toEqual([next.kid]);
    expect((await call(gh, root, 'POST', `/tenants/acme/saml-certificates/${first!.kid}/retire`)).status).toBe(200);
    // Unpinning again changes nothing and is not an error.
    expect(await call(gh, root, 'DELETE', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).toMatchObject({ status: 200, body: { pinned: false } });

    const events = (await gh.app.audit.list('acme', { limit: 1000 })).filter((event) => event.type.startsWith('saml_app.signing_certificate_'));
    expect(events.map((event) => event.type)).toEqual(['saml_app.signing_certificate_unpinned', 'saml_app.signing_certificate_pinned', 'saml_app.signing_certificate_pinned']);
    expect(events[2]).toMatchObject({ target: { type: 'saml_app', id: wiki }, before: { pinned: false, kid: first!.kid }, after: { pinned: true, kid: next.kid, state: 'next' } });
    expect(events[0]).toMatchObject({ before: { pinned: true, kid: first!.kid }, after: { pinned: false, kid: next.kid } });
    expect(JSON.stringify(events)).not.toContain('PRIVATE KEY');
  });

  it('refuses retiring a next certificate an app is pinned to, naming every pinned app', async () => {
    const next = (await call(gh, root, 'POST', '/tenants/acme/saml-certificates', {})).body as { kid: string };
    for (const id of [wiki, other]) expect((await call(gh, root, 'PUT', `/tenants/acme/saml-apps/${id}/signing-certificate`, { kid: next.kid })).status).toBe(200);
    try {
      const refused = await call(gh, root, 'POST', `/tenants/acme/saml-certificates/${next.kid}/retire`);
      expect(refused.status).toBe(409);
      expect(refused.body.error_description).toContain(`"Wiki" (${wiki})`);
      expect(refused.body.error_description).toContain(`"Other" (${other})`);
    } finally {
      for (const id of [wiki, other]) expect((await call(gh, root, 'DELETE', `/tenants/acme/saml-apps/${id}/signing-certificate`)).status).toBe(200);
    }
    expect((await call(gh, root, 'POST', `/tenants/acme/saml-certificates/${next.kid}/retire`)).status).toBe(200);
  });
});

describe('a pin to a certificate that is gone', { timeout: 60_000 }, () => {
  it('fails closed: no Response is signed with another certificate, and the pin shows as a conflict until changed', async () => {
    const next = (await call(gh, root, 'POST', '/tenants/acme/saml-certificates', {})).body as { kid: string };
    expect((await call(gh, root, 'PUT', `/tenants/acme/saml-apps/${other}/signing-certificate`, { kid: next.kid })).status).toBe(200);
    // What only a retirement racing the pin could do: the key goes while the app is pinned to it.
    await gh.app.samlKeys.retire('acme', next.kid);
    try {
      const confirm = expectPage(await signedIn.navigate(`/t/acme/saml/apps/${other}/start`));
      const page = expectPage(await signedIn.submit(confirm, 'form#gh-saml-start'));
      expect(page.status).toBe(503);
      expect(page.$('form#gh-saml-post').length).toBe(0);
      const shown = await call(gh, root, 'GET', `/tenants/acme/saml-apps/${other}/signing-certificate`);
      expect(shown.status).toBe(409);
      expect(shown.body.error_description).toContain('no longer published');
    } finally {
      expect(await call(gh, root, 'DELETE', `/tenants/acme/saml-apps/${other}/signing-certificate`)).toMatchObject({ status: 200, body: { pinned: false } });
    }
    {
      const confirm = expectPage(await signedIn.navigate(`/t/acme/saml/apps/${other}/start`));
      expect(expectPage(await signedIn.submit(confirm, 'form#gh-saml-start')).$('form#gh-saml-post').length).toBe(1);
    }
  });
});

describe('what is refused', { timeout: 60_000 }, () => {
  it('a kid that is missing, malformed, unknown, retired or another tenant’s; extra fields; an unknown app', async () => {
    const [active] = await certificates();
    const globexKid = ((await call(gh, root, 'GET', '/tenants/globex/saml-certificates')).body.items as Array<{ kid: string }>)[0]!.kid;
    const pin = (body: unknown, id = wiki) => call(gh, root, 'PUT', `/tenants/acme/saml-apps/${id}/signing-certificate`, body);
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, 'kid'],
      [{ kid: 'not-a-kid' }, 400, 'kid'],
      [{ kid: { $ne: null } }, 400, 'may not start with "$"'],
      [{ kid: active!.kid, pinned: true }, 400, 'pinned'],
      [{ kid: '00000000-0000-4000-8000-000000000000' }, 404, 'no SAML certificate'],
      [{ kid: globexKid }, 404, 'no SAML certificate'],
    ];
    const retired = (await call(gh, root, 'POST', '/tenants/acme/saml-certificates', {})).body as { kid: string };
    expect((await call(gh, root, 'POST', `/tenants/acme/saml-certificates/${retired.kid}/retire`)).status).toBe(200);
    cases.push([{ kid: retired.kid }, 404, 'no SAML certificate']);
    for (const [body, status, text] of cases) {
      const answer = await pin(body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.error_description, JSON.stringify(body)).toContain(text);
    }
    expect((await pin({ kid: active!.kid }, 'sp_AAAAAAAAAAAAAAAA')).status).toBe(404);
    expect((await pin({ kid: active!.kid }, 'nope')).status).toBe(400);
    expect((await call(gh, root, 'GET', '/tenants/acme/saml-apps/sp_AAAAAAAAAAAAAAAA/signing-certificate')).status).toBe(404);
    expect((await call(gh, root, 'DELETE', '/tenants/acme/saml-apps/sp_AAAAAAAAAAAAAAAA/signing-certificate')).status).toBe(404);
    // The app is untouched by all that.
    expect(await call(gh, root, 'GET', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).toMatchObject({ body: { pinned: false } });
  });

  it('without the keys scopes, and with another tenant’s token', async () => {
    const [active] = await certificates();
    const clientsOnly = await adminToken(gh, { scope: 'admin:clients:read admin:clients:write' });
    expect((await call(gh, clientsOnly, 'GET', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).status).toBe(403);
    expect((await call(gh, clientsOnly, 'PUT', `/tenants/acme/saml-apps/${wiki}/signing-certificate`, { kid: active!.kid })).status).toBe(403);
    expect((await call(gh, clientsOnly, 'DELETE', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).status).toBe(403);
    const readOnly = await adminToken(gh, { scope: 'admin:keys:read' });
    expect((await call(gh, readOnly, 'GET', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).status).toBe(200);
    expect((await call(gh, readOnly, 'PUT', `/tenants/acme/saml-apps/${wiki}/signing-certificate`, { kid: active!.kid })).status).toBe(403);

    const api = `${gh.origin}/admin/v1`;
    await gh.app.roles.create('globex', { name: 'key-admin', permissions: ['admin:keys:read', 'admin:keys:write'].map((scope) => ({ api, scope })) });
    const { clientSecret } = await gh.app.clients.create('globex', { client_id: 'g-ops', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, { roles: ['key-admin'] });
    const globex = await adminToken(gh, { tenant: 'globex', clientId: 'g-ops', clientSecret: clientSecret!, scope: 'admin:keys:read admin:keys:write' });
    expect((await call(gh, globex, 'PUT', `/tenants/acme/saml-apps/${wiki}/signing-certificate`, { kid: active!.kid })).status).toBe(403);
    // Through its own tenant's path, acme's app is not there.
    expect((await call(gh, globex, 'PUT', `/tenants/globex/saml-apps/${wiki}/signing-certificate`, { kid: active!.kid })).status).toBe(404);
    expect(await call(gh, root, 'GET', `/tenants/acme/saml-apps/${wiki}/signing-certificate`)).toMatchObject({ body: { pinned: false } });
  });

  it('is in the OpenAPI document with its scopes', async () => {
    const openapi = (await (await fetch(`${gh.origin}/admin/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>> };
    const path = openapi.paths['/tenants/{tenant}/saml-apps/{id}/signing-certificate'];
    expect(Object.keys(path ?? {}).sort()).toEqual(['delete', 'get', 'put']);
    expect(JSON.stringify(path!['put']!.security)).toContain('admin:keys:write');
    expect(Object.keys(path!['put']!.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
  });
});
