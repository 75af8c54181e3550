import { createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaFilesIn, schemaProblems } from '../../src/saml/schema.js';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';

/**
 * The SAML metadata schema is not shipped by any npm package we use; Debian's python3-onelogin-saml2
 * (installed by .ci/run for the interoperability tests) carries the OASIS schema files.
 */
const DEBIAN_SCHEMAS = '/usr/lib/python3/dist-packages/onelogin/saml2/schemas';

interface SpSideView {
  entityMeta: {
    getEntityID(): string;
    getX509Certificate(use: string): string | string[];
    getSingleSignOnService(binding: string): string | Record<string, string>;
    getSingleLogoutService(binding: string): string | Record<string, string>;
    isWantAuthnRequestsSigned(): boolean;
  };
}
// The test reads the metadata as an SP built on samlify would: its own loading, not our wrapper's.
const samlify = createRequire(import.meta.url)('samlify') as { IdentityProvider(options: { metadata: string }): SpSideView };

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'umbrella');
});
afterAll(() => gh.stop());

async function metadata(tenant: string): Promise<{ status: number; type: string | null; xml: string }> {
  const response = await fetch(`${gh.issuer(tenant)}/saml/metadata`);
  return { status: response.status, type: response.headers.get('content-type'), xml: await response.text() };
}

const certificatesIn = (xml: string) => [...xml.matchAll(/<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map((match) => match[1]);
const certificates = async (tenant: string) => (await call(gh, root, 'GET', `/tenants/${tenant}/saml-certificates`)).body.items!;

describe('IdP metadata', () => {
  it('publishes the entity ID, endpoints for both bindings, the NameID formats and the active certificate', async () => {
    const { status, type, xml } = await metadata('acme');
    expect(status).toBe(200);
    expect(type).toContain('application/samlmetadata+xml');
    const issuer = gh.issuer('acme');
    expect(xml).toContain(`entityID="${issuer}/saml/metadata"`);
    expect(xml).toContain('WantAuthnRequestsSigned="false"');
    for (const binding of ['HTTP-Redirect', 'HTTP-POST']) {
      expect(xml).toContain(`<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${issuer}/saml/sso"`);
      expect(xml).toContain(`<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${issuer}/saml/slo"`);
    }
    for (const format of ['1.1:nameid-format:emailAddress', '2.0:nameid-format:persistent', '2.0:nameid-format:transient', '1.1:nameid-format:unspecified']) {
      expect(xml).toContain(`<NameIDFormat>urn:oasis:names:tc:SAML:${format}</NameIDFormat>`);
    }
    const [active] = await certificates('acme');
    expect(certificatesIn(xml)).toEqual([active!['certificate']]);
    // Every instance and every request publishes the same first certificate.
    expect((await metadata('acme')).xml).toBe(xml);
  });

  it.skipIf(!existsSync(DEBIAN_SCHEMAS))('is valid against the SAML 2.0 metadata schema', async () => {
    const schema = schemaFilesIn(DEBIAN_SCHEMAS, 'saml-schema-metadata-2.0.xsd', ['saml-schema-assertion-2.0.xsd', 'xmldsig-core-schema.xsd', 'xenc-schema.xsd', 'xml.xsd']);
    expect(await schemaProblems((await metadata('acme')).xml, schema)).toEqual([]);
    // The validator does find problems: a descriptor without its required SSO endpoint fails.
    const broken = (await metadata('acme')).xml.replace(/<SingleSignOnService[^>]*><\/SingleSignOnService>/g, '');
    expect((await schemaProblems(broken, schema)).length).toBeGreaterThan(0);
  });

  it('is what an SP built on samlify reads', async () => {
    const { xml } = await metadata('acme');
    const idp = samlify.IdentityProvider({ metadata: xml });
    expect(idp.entityMeta.getEntityID()).toBe(`${gh.issuer('acme')}/saml/metadata`);
    expect(idp.entityMeta.getSingleSignOnService('redirect')).toBe(`${gh.issuer('acme')}/saml/sso`);
    expect(idp.entityMeta.isWantAuthnRequestsSigned()).toBe(false);
    const [active] = await certificates('acme');
    expect([idp.entityMeta.getX509Certificate('signing')].flat()).toEqual([active!['certificate']]);
  });

  it('answers 404 for an unknown tenant, and publishes the SLO endpoint for both bindings', async () => {
    expect((await metadata('no-such-tenant')).status).toBe(404);
    const { xml } = await metadata('acme');
    const idp = samlify.IdentityProvider({ metadata: xml });
    expect(idp.entityMeta.getSingleLogoutService('redirect')).toBe(`${gh.issuer('acme')}/saml/slo`);
    expect(idp.entityMeta.getSingleLogoutService('post')).toBe(`${gh.issuer('acme')}/saml/slo`);
    // A POST with no SAML message is a clear refusal, not a crash or a 501.
    const empty = await fetch(`${gh.issuer('acme')}/saml/slo`, { method: 'POST' });
    expect(empty.status).toBe(400);
  });
});

describe('SAML signing certificates: explicit rotation', () => {
  it('publishes a next certificate, activates it, keeps the old one until it is retired', async () => {
    const [first] = await certificates('umbrella');
    expect(first).toMatchObject({ state: 'active', modulus_length: 2048 });
    const original = String(first!['certificate']);

    const next = await call(gh, root, 'POST', '/tenants/umbrella/saml-certificates', { modulus_length: 3072, validity_days: 730 });
    expect(next.status, JSON.stringify(next.body)).toBe(201);
    expect(next.body).toMatchObject({ state: 'next', modulus_length: 3072, activated_at: null });
    const validity = new Date(String(next.body['not_after'])).getTime() - new Date(String(next.body['not_before'])).getTime();
    expect(Math.round(validity / 86_400_000)).toBe(730);
    const staged = String(next.body['certificate']);
    expect(new X509Certificate(Buffer.from(staged, 'base64')).publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    // Published before it signs, after the active one; signing stays with the active key.
    expect(certificatesIn((await metadata('umbrella')).xml)).toEqual([original, staged]);
    expect((await gh.app.samlKeys.signingKey('umbrella')).certificate).toBe(original);
    // One next certificate at a time.
    expect((await call(gh, root, 'POST', '/tenants/umbrella/saml-certificates', {})).status).toBe(409);
    // Only the next certificate can be activated; the active one cannot be retired.
    expect((await call(gh, root, 'POST', `/tenants/umbrella/saml-certificates/${String(first!['kid'])}/activate`)).status).toBe(409);
    expect((await call(gh, root, 'POST', `/tenants/umbrella/saml-certificates/${String(first!['kid'])}/retire`)).status).toBe(409);

    const activated = await call(gh, root, 'POST', `/tenants/umbrella/saml-certificates/${String(next.body['kid'])}/activate`);
    expect(activated.status, JSON.stringify(activated.body)).toBe(200);
    expect(activated.body['activated']).toMatchObject({ kid: next.body['kid'], state: 'active' });
    expect(activated.body['previous']).toMatchObject({ kid: first!['kid'], state: 'previous' });
    expect((await gh.app.samlKeys.signingKey('umbrella')).certificate).toBe(staged);
    // SPs that pinned the old certificate keep working until the operator retires it.
    expect(certificatesIn((await metadata('umbrella')).xml)).toEqual([staged, original]);

    const retired = await call(gh, root, 'POST', `/tenants/umbrella/saml-certificates/${String(first!['kid'])}/retire`);
    expect(retired.status).toBe(200);
    expect(certificatesIn((await metadata('umbrella')).xml)).toEqual([staged]);
    expect((await certificates('umbrella')).map((key) => key['state'])).toEqual(['active']);
    expect((await call(gh, root, 'POST', `/tenants/umbrella/saml-certificates/${String(first!['kid'])}/retire`)).status).toBe(404);

    const events = (await gh.app.audit.list('umbrella', { limit: 100 })).filter((event) => event.type.startsWith('saml_certificate.'));
    expect(events.map((event) => event.type).sort()).toEqual(['saml_certificate.activated', 'saml_certificate.created', 'saml_certificate.retired']);
  });

  it('withdraws a next certificate that should not be used, and stages one of parallel creations', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => call(gh, root, 'POST', '/tenants/acme/saml-certificates', {})));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409]);
    const staged = answers.find((answer) => answer.status === 201)!.body;
    expect((await certificates('acme')).map((key) => key['state'])).toEqual(['active', 'next']);
    expect((await call(gh, root, 'POST', `/tenants/acme/saml-certificates/${String(staged['kid'])}/retire`)).status).toBe(200);
    expect((await certificates('acme')).map((key) => key['state'])).toEqual(['active']);
    expect(certificatesIn((await metadata('acme')).xml)).toHaveLength(1);
  });

  it('keeps private keys sealed: never in a response, the audit trail or the store in the clear', async () => {
    const responses = [
      await call(gh, root, 'GET', '/tenants/acme/saml-certificates'),
      await call(gh, root, 'POST', '/tenants/acme/saml-certificates', {}),
      await call(gh, root, 'GET', '/tenants/acme/audit-events?limit=100'),
    ];
    const stored = await gh.app.store.collection('saml_keys').find({ tenant: 'acme' });
    for (const text of [...responses.map((response) => JSON.stringify(response.body)), JSON.stringify(stored), (await metadata('acme')).xml]) {
      expect(text).not.toMatch(/PRIVATE KEY|"d":|privateKey/);
    }
    // The sealed key is the certificate's key.
    const signing = await gh.app.samlKeys.signingKey('acme');
    const fromCertificate = new X509Certificate(Buffer.from(signing.certificate, 'base64')).publicKey.export({ type: 'spki', format: 'der' });
    expect(createPublicKey(signing.privateKeyPem).export({ type: 'spki', format: 'der' })).toEqual(fromCertificate);
  });

  it('documents the SAML routes in the OpenAPI document, with their scopes', async () => {
    const document = (await (await fetch(`${gh.origin}/admin/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: Array<Record<string, string[]>>; tags?: string[] }>> };
    const expected: Array<[string, string, string]> = [
      ['/tenants/{tenant}/saml-apps', 'post', 'admin:clients:write'],
      ['/tenants/{tenant}/saml-apps', 'get', 'admin:clients:read'],
      ['/tenants/{tenant}/saml-apps/{id}', 'patch', 'admin:clients:write'],
      ['/tenants/{tenant}/saml-apps/{id}', 'delete', 'admin:clients:write'],
      ['/tenants/{tenant}/saml-certificates', 'get', 'admin:keys:read'],
      ['/tenants/{tenant}/saml-certificates', 'post', 'admin:keys:write'],
      ['/tenants/{tenant}/saml-certificates/{kid}/activate', 'post', 'admin:keys:write'],
      ['/tenants/{tenant}/saml-certificates/{kid}/retire', 'post', 'admin:keys:write'],
    ];
    for (const [path, method, scope] of expected) {
      const operation = document.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(JSON.stringify(operation!.security), `${method} ${path}`).toContain(scope);
    }
  });

  it('refuses bad input and other tenants', async () => {
    for (const body of [{ modulus_length: 1024 }, { validity_days: 0 }, { validity_days: 100_000 }, { private_key: 'x' }]) {
      expect((await call(gh, root, 'POST', '/tenants/umbrella/saml-certificates', body)).status).toBe(400);
    }
    expect((await call(gh, root, 'POST', '/tenants/umbrella/saml-certificates/not-a-kid/activate')).status).toBe(400);
    const api = `${gh.origin}/admin/v1`;
    await gh.app.roles.create('umbrella', { name: 'key-admin', permissions: ['admin:keys:read', 'admin:keys:write'].map((scope) => ({ api, scope })) });
    const { clientSecret } = await gh.app.clients.create('umbrella', { client_id: 'k-ops', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, { roles: ['key-admin'] });
    const umbrella = await adminToken(gh, { tenant: 'umbrella', clientId: 'k-ops', clientSecret: clientSecret!, scope: 'admin:keys:read admin:keys:write' });
    expect((await call(gh, umbrella, 'GET', '/tenants/acme/saml-certificates')).status).toBe(403);
    expect((await call(gh, umbrella, 'POST', '/tenants/acme/saml-certificates', {})).status).toBe(403);
    expect((await call(gh, umbrella, 'GET', '/tenants/umbrella/saml-certificates')).status).toBe(200);
  });
});
