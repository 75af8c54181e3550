import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { tenantAdmin, tokenRequest } from './client-helpers.js';
import { adminApi, adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;
let acme: SeededTenant;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  acme = await seedTenant(gh, 'acme');
  await seedTenant(gh, 'umbrella');
});
afterAll(() => gh.stop());

const auditOf = async (tenant: string) => gh.app.audit.list(tenant, { limit: 10_000 });
const orders = { identifier: 'https://orders.acme.example', name: 'Orders', scopes: [{ name: 'orders:read', description: 'Read orders' }, { name: 'orders:write' }] };

describe('APIs', () => {
  it('creates, reads, lists, updates and deletes an API, writing audit events', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/apis', { ...orders, access_token_ttl: 600 });
    expect(created.status).toBe(201);
    const id = String(created.body['id']);
    expect(id).toMatch(/^api_[0-9a-f]{24}$/);
    expect(created.headers.get('location')).toBe(`/admin/v1/tenants/acme/apis/${id}`);
    expect(created.body).toMatchObject({ ...orders, access_token_format: 'jwt', access_token_ttl: 600 });
    expect((await call(gh, root, 'GET', `/tenants/acme/apis/${id}`)).body).toEqual(created.body);

    const list = await call(gh, root, 'GET', '/tenants/acme/apis');
    expect(list.body.items!.map((api) => api['identifier']).sort()).toEqual([acme.api, orders.identifier].sort());
    const first = await call(gh, root, 'GET', '/tenants/acme/apis?limit=1');
    const second = await call(gh, root, 'GET', `/tenants/acme/apis?limit=1&cursor=${first.body['next_cursor']}`);
    expect(second.body.items![0]!['id']).not.toBe(first.body.items![0]!['id']);
    expect(second.body['next_cursor']).toBeNull();
    expect((await call(gh, root, 'GET', '/tenants/acme/apis?limit=101')).status).toBe(400);

    const updated = await call(gh, root, 'PATCH', `/tenants/acme/apis/${id}`, { name: 'Orders v2', scopes: [{ name: 'orders:read' }] });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ identifier: orders.identifier, name: 'Orders v2', scopes: [{ name: 'orders:read' }], access_token_ttl: 600 });

    expect((await call(gh, root, 'DELETE', `/tenants/acme/apis/${id}`)).status).toBe(204);
    expect((await call(gh, root, 'GET', `/tenants/acme/apis/${id}`)).status).toBe(404);
    expect((await call(gh, root, 'DELETE', `/tenants/acme/apis/${id}`)).status).toBe(404);
    expect(await gh.app.resources.find('acme', orders.identifier)).toBeNull();

    const events = (await auditOf('acme')).filter((event) => event.target.id === id);
    expect(events.map((event) => event.type).reverse()).toEqual(['api.created', 'api.updated', 'api.deleted']);
    expect(events[1]).toMatchObject({ before: { name: 'Orders' }, after: { name: 'Orders v2' }, actor: { id: 'ops-bot' } });
  });

  it('resource indicators work for an API right after creation and fail with invalid_target once it is deleted', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/apis', { identifier: 'https://ledger.acme.example', name: 'Ledger', scopes: [{ name: 'ledger:read' }, { name: 'ledger:write' }] });
    expect(created.status).toBe(201);
    await gh.app.roles.create('acme', { name: 'ledger-reader', permissions: [{ api: 'https://ledger.acme.example', scope: 'ledger:read' }] });
    await gh.app.clients.setRoles('acme', acme.client.clientId, ['api-user', 'ledger-reader']);

    const issued = await tokenRequest(gh, 'acme', acme.client.clientId, acme.client.clientSecret, { grant_type: 'client_credentials', resource: 'https://ledger.acme.example', scope: 'ledger:read ledger:write' });
    expect(issued.status).toBe(200);
    const { payload, protectedHeader } = await jwtVerify(issued.body['access_token']!, createRemoteJWKSet(new URL(`${gh.issuer('acme')}/jwks`)), { issuer: gh.issuer('acme'), audience: 'https://ledger.acme.example' });
    expect(protectedHeader.typ).toBe('at+jwt');
    // Only what the client's roles grant.
    expect(payload['scope']).toBe('ledger:read');
    expect(payload['client_id']).toBe(acme.client.clientId);

    // A change applies to the next token: opaque tokens from now on.
    await call(gh, root, 'PATCH', `/tenants/acme/apis/${created.body['id']}`, { access_token_format: 'opaque' });
    const opaque = await tokenRequest(gh, 'acme', acme.client.clientId, acme.client.clientSecret, { grant_type: 'client_credentials', resource: 'https://ledger.acme.example', scope: 'ledger:read' });
    expect(opaque.status).toBe(200);
    expect(opaque.body['access_token']!.split('.')).toHaveLength(1);

    expect((await call(gh, root, 'DELETE', `/tenants/acme/apis/${created.body['id']}`)).status).toBe(204);
    const refused = await tokenRequest(gh, 'acme', acme.client.clientId, acme.client.clientSecret, { grant_type: 'client_credentials', resource: 'https://ledger.acme.example', scope: 'ledger:read' });
    expect(refused.status).toBe(400);
    expect(refused.body['error']).toBe('invalid_target');
  });

  it('rejects bad input with a 400 naming the field, duplicates with 409, and writes nothing', async () => {
    const audit = (await auditOf('acme')).length;
    const cases: Array<[unknown, string]> = [
      [{ ...orders, identifier: 'orders' }, '"identifier"'],
      [{ ...orders, identifier: 'https://orders.example/#frag' }, '"identifier"'],
      [{ ...orders, identifier: 'https://user:pw@orders.example' }, '"identifier"'],
      [{ ...orders, identifier: adminApi(gh) }, '"identifier"'],
      [{ ...orders, identifier: 42 }, '"identifier"'],
      [{ ...orders, name: '' }, '"name"'],
      [{ ...orders, name: 'x'.repeat(101) }, '"name"'],
      [{ ...orders, scopes: [{ name: 'has space' }] }, '"scopes.0.name"'],
      [{ ...orders, scopes: [{ name: 'quote"' }] }, '"scopes.0.name"'],
      [{ ...orders, scopes: [{ name: 'a' }, { name: 'a' }] }, '"scopes"'],
      [{ ...orders, scopes: [{ name: 'a', extra: true }] }, '"scopes.0.extra"'],
      [{ ...orders, scopes: Array.from({ length: 101 }, (_, i) => ({ name: `s${i}` })) }, '"scopes"'],
      [{ ...orders, access_token_format: 'paseto' }, '"access_token_format"'],
      [{ ...orders, access_token_ttl: 59 }, '"access_token_ttl"'],
      [{ ...orders, access_token_ttl: 86401 }, '"access_token_ttl"'],
      [{ ...orders, access_token_ttl: '600' }, '"access_token_ttl"'],
      [{ ...orders, id: 'api_000000000000000000000000' }, '"id"'],
      [{ ...orders, tenant: 'umbrella' }, '"tenant"'],
    ];
    for (const [body, field] of cases) {
      const result = await call(gh, root, 'POST', '/tenants/acme/apis', body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error_description, JSON.stringify(body)).toContain(field);
    }
    expect((await call(gh, root, 'POST', '/tenants/acme/apis', { ...orders, identifier: { $ne: null } })).status).toBe(400);
    expect((await call(gh, root, 'POST', '/tenants/acme/apis', '{"identifier": ')).status).toBe(400);
    expect((await call(gh, root, 'POST', '/tenants/acme/apis', { ...orders, name: 'x'.repeat(100_000) })).status).toBe(413);
    expect(await gh.app.resources.find('acme', orders.identifier)).toBeNull();
    expect(await gh.app.resources.find('acme', adminApi(gh))).toBeNull();

    const seeded = (await gh.app.resources.find('acme', acme.api))!;
    const duplicate = await call(gh, root, 'POST', '/tenants/acme/apis', { identifier: acme.api, name: 'Again' });
    expect(duplicate.status).toBe(409);
    const patches: Array<[unknown, string]> = [
      [{ identifier: 'https://moved.example' }, '"identifier"'],
      [{ scopes: [{ name: '' }] }, '"scopes.0.name"'],
      [{ access_token_ttl: 0 }, '"access_token_ttl"'],
      [{ name: { $ne: null } }, 'query operators'],
    ];
    for (const [body, message] of patches) {
      const result = await call(gh, root, 'PATCH', `/tenants/acme/apis/${seeded.id}`, body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error_description).toContain(message);
    }
    expect((await call(gh, root, 'GET', '/tenants/acme/apis/not-an-id')).status).toBe(400);
    expect(await gh.app.resources.find('acme', acme.api)).toEqual(seeded);
    expect((await auditOf('acme')).length).toBe(audit);
  });
});

describe('APIs and tenants', () => {
  it('a tenant admin acts on its own APIs only, whatever the path, query, header or body say', async () => {
    const { token } = await tenantAdmin(gh, 'umbrella', 'umbrella-ops', ['admin:apis:read', 'admin:apis:write']);
    const acmeApi = (await gh.app.resources.find('acme', acme.api))!;
    const attempts = [
      await call(gh, token, 'GET', '/tenants/acme/apis'),
      await call(gh, token, 'GET', `/tenants/acme/apis/${acmeApi.id}`),
      await call(gh, token, 'PATCH', `/tenants/acme/apis/${acmeApi.id}`, { name: 'Owned' }),
      await call(gh, token, 'DELETE', `/tenants/acme/apis/${acmeApi.id}`),
      await call(gh, token, 'POST', '/tenants/acme/apis', { identifier: 'https://planted.example', name: 'Planted' }),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(403);
      expect(JSON.stringify(attempt.body)).not.toContain(acme.api);
    }
    // Another tenant's API id is unknown here.
    expect((await call(gh, token, 'GET', `/tenants/umbrella/apis/${acmeApi.id}`)).status).toBe(404);
    expect((await call(gh, token, 'PATCH', `/tenants/umbrella/apis/${acmeApi.id}`, { name: 'Owned' })).status).toBe(404);
    expect((await call(gh, token, 'DELETE', `/tenants/umbrella/apis/${acmeApi.id}`)).status).toBe(404);
    expect((await call(gh, token, 'GET', '/tenants/umbrella/apis?tenant=acme')).status).toBe(400);
    const viaHeader = await call(gh, token, 'GET', '/tenants/umbrella/apis', undefined, { 'x-tenant': 'acme' });
    expect(JSON.stringify(viaHeader.body)).not.toContain(acme.api);
    expect((await call(gh, token, 'POST', '/tenants/umbrella/apis', { tenant: 'acme', identifier: 'https://planted.example', name: 'Planted' })).status).toBe(400);
    expect(await gh.app.resources.find('acme', 'https://planted.example')).toBeNull();
    expect(await gh.app.resources.find('umbrella', 'https://planted.example')).toBeNull();
    expect(await gh.app.resources.find('acme', acme.api)).toEqual(acmeApi);

    const reader = await tenantAdmin(gh, 'umbrella', 'umbrella-reader', ['admin:apis:read']);
    expect((await call(gh, reader.token, 'POST', '/tenants/umbrella/apis', { identifier: 'https://nope.example', name: 'Nope' })).status).toBe(403);
    expect(await gh.app.resources.find('umbrella', 'https://nope.example')).toBeNull();
  });
});
