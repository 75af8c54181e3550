import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { adminToken, call, startAdminGatehouse, userAdminToken } from '../admin/helpers.js';
import { bindingUrns, spCertificate, spMetadata } from './helpers.js';

let gh: TestGatehouse;
let root: string;
let spCert: string;
let expiredCert: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'umbrella');
  [spCert, expiredCert] = await Promise.all([spCertificate(), spCertificate({ validityDays: -10 })]);
});
afterAll(() => gh.stop());

const base = '/tenants/acme/saml-apps';
const minimal = (entityId: string) => ({ entity_id: entityId, acs_urls: [{ url: 'https://sp.example/acs', binding: 'HTTP-POST' }] });
const auditOf = async (tenant: string) => gh.app.audit.list(tenant, { limit: 10_000 });

/** Creates with `body` and expects a 400 whose description names `field`. */
async function refused(body: unknown, field: string, path = base, method = 'POST') {
  const response = await call(gh, root, method, path, body);
  expect(response.status, JSON.stringify(response.body)).toBe(400);
  expect(response.body.error).toBe('invalid_request');
  expect(response.body.error_description).toContain(`"${field}`);
  return response.body.error_description!;
}

describe('SAML apps: registration from fields', () => {
  it('creates, reads, lists, updates and deletes an app with defaults, audited with before and after', async () => {
    const created = await call(gh, root, 'POST', base, {
      ...minimal('https://wiki.example/saml'),
      name: 'Wiki',
      signing_certificates: [`-----BEGIN CERTIFICATE-----\n${spCert.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`],
      attributes: [{ name: 'mail', name_format: 'basic', source: 'email' }],
      access: { roles: ['api-user'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = String(created.body['id']);
    expect(id).toMatch(/^sp_/);
    expect(created.headers.get('location')).toBe(`/admin/v1${base}/${id}`);
    expect(created.body).toMatchObject({
      name: 'Wiki',
      entity_id: 'https://wiki.example/saml',
      acs_urls: [{ url: 'https://sp.example/acs', binding: 'HTTP-POST', index: 0, is_default: false }],
      signing_certificates: [spCert],
      encryption_certificate: null,
      name_id_formats: ['persistent'],
      authn_requests_signed: false,
      sign_response: true,
      sign_assertion: true,
      encrypt_assertion: false,
      encryption_algorithm: 'aes256-gcm',
      signature_algorithm: 'rsa-sha256',
      allow_sha1: false,
      attributes: [{ name: 'mail', name_format: 'basic', source: 'email' }],
      assertion_lifetime_seconds: 300,
      clock_skew_seconds: 60,
      idp_initiated: { allowed: false },
      access: { all_users: false, user_ids: [], roles: ['api-user'] },
      slo: null,
      warnings: [],
    });
    expect((created.body['certificates'] as Array<Record<string, unknown>>)[0]).toMatchObject({ use: 'signing', subject: 'CN=sp.example', warning: null });

    const read = await call(gh, root, 'GET', `${base}/${id}`);
    const { warnings: _warnings, ...stored } = created.body;
    expect(read.body).toEqual(stored);

    const updated = await call(gh, root, 'PATCH', `${base}/${id}`, { sign_response: false, encrypt_assertion: true, encryption_certificate: spCert, encryption_algorithm: 'aes256-cbc', idp_initiated: { allowed: true, default_relay_state: '/home' } });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ sign_response: false, encrypt_assertion: true, encryption_certificate: spCert, encryption_algorithm: 'aes256-cbc', idp_initiated: { allowed: true, default_relay_state: '/home' }, name: 'Wiki' });
    // Removing the certificate an enabled setting needs is refused, naming the setting.
    await refused({ encryption_certificate: null }, 'encrypt_assertion', `${base}/${id}`, 'PATCH');

    const list = await call(gh, root, 'GET', `${base}?limit=100`);
    expect(list.body.items!.map((app) => app['id'])).toContain(id);

    expect((await call(gh, root, 'DELETE', `${base}/${id}`)).status).toBe(204);
    expect((await call(gh, root, 'GET', `${base}/${id}`)).status).toBe(404);

    const events = (await auditOf('acme')).filter((event) => event.target.id === id);
    expect(events.map((event) => event.type).sort()).toEqual(['saml_app.created', 'saml_app.deleted', 'saml_app.updated']);
    const update = events.find((event) => event.type === 'saml_app.updated')!;
    expect(update.before).toMatchObject({ sign_response: true });
    expect(update.after).toMatchObject({ sign_response: false });
  });

  it('pages with a capped page size', async () => {
    for (let i = 0; i < 3; i += 1) expect((await call(gh, root, 'POST', '/tenants/umbrella/saml-apps', minimal(`urn:example:paged:${i}`))).status).toBe(201);
    const first = await call(gh, root, 'GET', '/tenants/umbrella/saml-apps?limit=2');
    expect(first.body.items).toHaveLength(2);
    const second = await call(gh, root, 'GET', `/tenants/umbrella/saml-apps?limit=2&cursor=${String(first.body['next_cursor'])}`);
    expect(second.body.items).toHaveLength(1);
    expect(second.body['next_cursor']).toBeNull();
    expect((await call(gh, root, 'GET', '/tenants/umbrella/saml-apps?limit=101')).status).toBe(400);
  });

  it('refuses bad input field by field, and stores nothing', async () => {
    const before = (await call(gh, root, 'GET', `${base}?limit=100`)).body.items!.length;
    const entity = 'https://bad.example/saml';
    await refused({ acs_urls: minimal(entity).acs_urls }, 'entity_id');
    await refused({ ...minimal(entity), entity_id: 'not a uri' }, 'entity_id');
    await refused({ ...minimal(entity), entity_id: `https://x.example/${'a'.repeat(1100)}` }, 'entity_id');
    await refused({ entity_id: entity }, 'acs_urls');
    await refused({ ...minimal(entity), acs_urls: [] }, 'acs_urls');
    const redirect = await refused({ ...minimal(entity), acs_urls: [{ url: 'https://sp.example/acs', binding: 'HTTP-Redirect' }] }, 'acs_urls.0.binding');
    expect(redirect).toContain('HTTP-POST');
    await refused({ ...minimal(entity), acs_urls: [{ url: 'http://sp.example/acs', binding: 'HTTP-POST' }] }, 'acs_urls.0.url');
    await refused({ ...minimal(entity), acs_urls: [{ url: 'https://a.example/acs', binding: 'HTTP-POST', index: 1 }, { url: 'https://b.example/acs', binding: 'HTTP-POST', index: 1 }] }, 'acs_urls');
    await refused({ ...minimal(entity), signing_certificates: ['not a certificate'] }, 'signing_certificates.0');
    await refused({ ...minimal(entity), signing_certificates: ['A'.repeat(20_000)] }, 'signing_certificates.0');
    await refused({ ...minimal(entity), authn_requests_signed: true }, 'authn_requests_signed');
    await refused({ ...minimal(entity), encrypt_assertion: true }, 'encrypt_assertion');
    await refused({ ...minimal(entity), sign_response: false, sign_assertion: false }, 'sign_assertion');
    const sha1 = await refused({ ...minimal(entity), signature_algorithm: 'rsa-sha1' }, 'signature_algorithm');
    expect(sha1).toContain('allow_sha1');
    await refused({ ...minimal(entity), encryption_algorithm: 'aes128-cbc' }, 'encryption_algorithm');
    await refused({ ...minimal(entity), name_id_formats: ['kerberos'] }, 'name_id_formats.0');
    await refused({ ...minimal(entity), attributes: [{ name: 'a', source: 'password_hash' }] }, 'attributes.0.source');
    await refused({ ...minimal(entity), attributes: [{ name: 'a', source: 'email' }, { name: 'a', source: 'phone' }] }, 'attributes');
    await refused({ ...minimal(entity), assertion_lifetime_seconds: 10 }, 'assertion_lifetime_seconds');
    await refused({ ...minimal(entity), clock_skew_seconds: 3601 }, 'clock_skew_seconds');
    await refused({ ...minimal(entity), idp_initiated: { allowed: true, default_relay_state: 'x'.repeat(81) } }, 'idp_initiated.default_relay_state');
    await refused({ ...minimal(entity), access: { user_ids: ['nobody'] } }, 'access.user_ids.0');
    await refused({ ...minimal(entity), access: { roles: ['no-such-role'] } }, 'access.roles.0');
    await refused({ ...minimal(entity), slo: { url: 'https://sp.example/slo', binding: 'SOAP' } }, 'slo.binding');
    await refused({ ...minimal(entity), unknown_field: true }, 'unknown_field');
    await refused({ ...minimal(entity), tenant: 'umbrella' }, 'tenant');
    // Query operators never reach the store: refused as field names, and objects are not strings.
    for (const hostile of [{ ...minimal(entity), entity_id: { $ne: null } }, { ...minimal(entity), access: { $where: 'true' } }]) {
      const operator = await call(gh, root, 'POST', base, hostile);
      expect(operator.status).toBe(400);
      expect(operator.body.error_description).toContain('"$"');
    }
    await refused({ ...minimal(entity), entity_id: ['https://a.example'] }, 'entity_id');
    await refused({ ...minimal(entity), acs_urls: 'https://sp.example/acs' }, 'acs_urls');
    expect((await call(gh, root, 'GET', `${base}?limit=100`)).body.items!.length).toBe(before);
  });

  it('allows SHA-1 only with the explicit override, and accepts an expired certificate with a warning', async () => {
    const sha1 = await call(gh, root, 'POST', base, { ...minimal('urn:example:legacy'), signature_algorithm: 'rsa-sha1', allow_sha1: true, signing_certificates: [expiredCert] });
    expect(sha1.status, JSON.stringify(sha1.body)).toBe(201);
    expect(sha1.body['warnings']).toEqual([expect.stringMatching(/^"signing_certificates\.0": the certificate expired on /)]);
    expect((sha1.body['certificates'] as Array<Record<string, unknown>>)[0]!['warning']).toMatch(/expired/);
  });

  it('gives one entity ID to one app: of parallel creates exactly one wins', async () => {
    const body = minimal('https://race.example/saml');
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(gh, root, 'POST', base, body)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect(answers.find((answer) => answer.status === 409)!.body.error_description).toContain('"entity_id"');
    // Another tenant may register the same SP.
    expect((await call(gh, root, 'POST', '/tenants/umbrella/saml-apps', body)).status).toBe(201);
  });

  it('keeps tenants apart: another tenant’s token gets 403, another tenant’s app 404', async () => {
    const created = await call(gh, root, 'POST', base, minimal('https://private.example/saml'));
    const id = String(created.body['id']);
    // A tenant admin of umbrella holding the clients scopes: acme's apps are not theirs, whatever the path says.
    const api = `${gh.origin}/admin/v1`;
    await gh.app.roles.create('umbrella', { name: 'saml-admin', permissions: ['admin:clients:read', 'admin:clients:write'].map((scope) => ({ api, scope })) });
    const { clientSecret } = await gh.app.clients.create('umbrella', { client_id: 'u-ops', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, { roles: ['saml-admin'] });
    const umbrella = await adminToken(gh, { tenant: 'umbrella', clientId: 'u-ops', clientSecret: clientSecret!, scope: 'admin:clients:read admin:clients:write' });
    expect((await call(gh, umbrella, 'GET', `${base}/${id}`)).status).toBe(403);
    expect((await call(gh, umbrella, 'PATCH', `${base}/${id}`, { name: 'mine' })).status).toBe(403);
    expect((await call(gh, umbrella, 'DELETE', `${base}/${id}`)).status).toBe(403);
    expect((await call(gh, umbrella, 'GET', `/tenants/umbrella/saml-apps/${id}`)).status).toBe(404);
    expect((await call(gh, umbrella, 'GET', '/tenants/umbrella/saml-apps')).status).toBe(200);
    // Without the clients scopes: refused before anything is read.
    const usersOnly = await userAdminToken(gh, 'umbrella');
    expect((await call(gh, usersOnly, 'GET', '/tenants/umbrella/saml-apps')).status).toBe(403);
    // The system operator asking umbrella for acme's app: not found there.
    expect((await call(gh, root, 'GET', `/tenants/umbrella/saml-apps/${id}`)).status).toBe(404);
    expect((await call(gh, root, 'DELETE', `/tenants/umbrella/saml-apps/${id}`)).status).toBe(404);
    expect((await call(gh, root, 'GET', `${base}/${id}`)).status).toBe(200);
  });
});

describe('SAML apps: registration from metadata', () => {
  it('reads the SP metadata; fields given beside it override it', async () => {
    const xml = spMetadata({
      entityId: 'https://crm.example/sp',
      signingCert: spCert,
      encryptionCert: spCert,
      authnRequestsSigned: true,
      acs: [{ url: 'https://crm.example/acs' }, { url: 'https://crm.example/artifact', binding: bindingUrns.artifact }],
      nameIdFormats: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', 'urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos'],
    });
    const created = await call(gh, root, 'POST', base, { metadata_xml: xml, name: 'CRM' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      name: 'CRM',
      entity_id: 'https://crm.example/sp',
      acs_urls: [{ url: 'https://crm.example/acs', binding: 'HTTP-POST', index: 0 }],
      slo: { url: 'https://sp.example/saml/slo', binding: 'HTTP-Redirect' },
      signing_certificates: [spCert],
      encryption_certificate: spCert,
      name_id_formats: ['email'],
      authn_requests_signed: true,
      sign_assertion: true,
      metadata_url: null,
    });
    expect(created.body['warnings']).toEqual([expect.stringContaining('HTTP-Artifact'), expect.stringContaining('kerberos')]);
  });

  it('refuses hostile or unusable metadata, naming metadata_xml', async () => {
    const entity = 'https://hostile.example/sp';
    const doctype = spMetadata({ entityId: entity, prolog: '<?xml version="1.0"?>\n<!DOCTYPE md:EntityDescriptor [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>' });
    expect(await refused({ metadata_xml: doctype }, 'metadata_xml')).toContain('DOCTYPE');
    const external = spMetadata({ entityId: entity, prolog: '<!DOCTYPE x SYSTEM "file:///etc/passwd">' });
    expect(await refused({ metadata_xml: external }, 'metadata_xml')).toContain('DOCTYPE');
    const redirect = spMetadata({ entityId: entity, acs: [{ url: 'https://hostile.example/acs', binding: bindingUrns.redirect }] });
    expect(await refused({ metadata_xml: redirect }, 'metadata_xml')).toContain('HTTP-Redirect');
    expect(await refused({ metadata_xml: '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"' }, 'metadata_xml')).toContain('well-formed');
    expect(await refused({ metadata_xml: '<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>' }, 'metadata_xml')).toContain('several entities');
    expect(await refused({ metadata_xml: '<a>not metadata</a>' }, 'metadata_xml')).toContain('EntityDescriptor');
    // Bigger than the cap: refused by the body's limits before any parsing.
    const huge = await call(gh, root, 'POST', base, { metadata_xml: `<a>${'x'.repeat(300 * 1024)}</a>` });
    expect([400, 413]).toContain(huge.status);
    // A value the metadata gave that is refused says so.
    const noAcs = spMetadata({ entityId: entity, acs: [{ url: 'https://hostile.example/artifact', binding: bindingUrns.artifact }] });
    expect(await refused({ metadata_xml: noAcs }, 'acs_urls')).toContain('as read from the metadata');
    await refused({ metadata_xml: spMetadata({ entityId: entity }), metadata_url: 'https://sp.example/metadata' }, 'metadata_url');
  });

  it('refuses a metadata_url at loopback or link-local addresses (SSRF)', async () => {
    for (const url of ['https://127.0.0.1/metadata', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/metadata', 'https://10.0.0.1/metadata']) {
      const description = await refused({ metadata_url: url }, 'metadata_url');
      expect(description).toContain('SSRF');
    }
    await refused({ metadata_url: 'http://sp.example/metadata' }, 'metadata_url');
  });
});

describe('SAML apps: metadata_url where the operator allows private addresses', () => {
  let open: TestGatehouse;
  let server: Server;
  let origin: string;
  const served = new Map<string, { status: number; body: string; delayMs?: number }>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const answer = served.get(req.url ?? '') ?? { status: 404, body: '' };
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/samlmetadata+xml', ...(answer.status === 302 ? { location: '/elsewhere' } : {}) });
        res.end(answer.body);
      }, answer.delayMs ?? 0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { startGatehouse } = await import('../helpers/gatehouse.js');
    const { BOOTSTRAP } = await import('../admin/helpers.js');
    open = await startGatehouse({ bootstrap: BOOTSTRAP, http: { allowPrivateNetworkFetch: true } });
    await seedTenant(open, 'acme');
  });
  afterAll(async () => {
    await open.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fetches the metadata, keeps its URL, and bounds the answer’s size and status', async () => {
    const token = await adminToken(open);
    served.set('/ok', { status: 200, body: spMetadata({ entityId: 'https://fetched.example/sp', signingCert: spCert }) });
    served.set('/big', { status: 200, body: `<a>${'x'.repeat(300 * 1024)}</a>` });
    served.set('/moved', { status: 302, body: '' });
    const created = await call(open, token, 'POST', base, { metadata_url: `${origin}/ok` });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ entity_id: 'https://fetched.example/sp', metadata_url: `${origin}/ok`, signing_certificates: [spCert] });
    const big = await call(open, token, 'POST', base, { metadata_url: `${origin}/big` });
    expect(big.status).toBe(400);
    expect(big.body.error_description).toContain('larger than');
    const moved = await call(open, token, 'POST', base, { metadata_url: `${origin}/moved` });
    expect(moved.body.error_description).toContain('redirects are not followed');
    const missing = await call(open, token, 'POST', base, { metadata_url: `${origin}/missing` });
    expect(missing.body.error_description).toContain('404');
    // A server that does not answer in time: refused after the fetch timeout, not waited for.
    served.set('/slow', { status: 200, body: spMetadata({ entityId: 'https://slow.example/sp' }), delayMs: 8000 });
    const started = Date.now();
    const slow = await call(open, token, 'POST', base, { metadata_url: `${origin}/slow` });
    expect(slow.status).toBe(400);
    expect(slow.body.error_description).toContain('no answer within 5000 ms');
    expect(Date.now() - started).toBeLessThan(7000);
    expect((await call(open, token, 'GET', `${base}?limit=100`)).body.items!.map((app) => app['entity_id'])).toEqual(['https://fetched.example/sp']);
  });
});
