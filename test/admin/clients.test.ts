import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorizationRequest, tenantAdmin, tokenRequest } from './client-helpers.js';
import { adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'umbrella');
});
afterAll(() => gh.stop());

const auditOf = async (tenant: string) => gh.app.audit.list(tenant, { limit: 10_000 });

describe('clients', () => {
  it('creates, reads, lists, updates and deletes a client; the secret appears once and never in audit', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', {
      client_id: 'billing-web',
      client_name: 'Billing',
      redirect_uris: ['https://billing.example/callback', 'http://localhost:3000/callback'],
      post_logout_redirect_uris: ['https://billing.example/'],
      grant_types: ['authorization_code', 'refresh_token'],
      client_uri: 'https://billing.example',
      backchannel_logout_uri: 'https://billing.example/logout',
      backchannel_logout_session_required: true,
      first_party: true,
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/admin/v1/tenants/acme/clients/billing-web');
    expect(created.body).toMatchObject({ client_id: 'billing-web', client_name: 'Billing', response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', application_type: 'web', first_party: true, roles: [] });
    const secret = String(created.body['client_secret']);
    expect(secret.length).toBeGreaterThanOrEqual(43);

    const read = await call(gh, root, 'GET', '/tenants/acme/clients/billing-web');
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('client_secret');
    const { client_secret: _omit, ...withoutSecret } = created.body;
    expect(read.body).toEqual(withoutSecret);

    const generated = await call(gh, root, 'POST', '/tenants/acme/clients', { client_name: 'Generated', redirect_uris: ['https://gen.example/cb'] });
    expect(generated.status).toBe(201);
    expect(generated.body['client_id']).toMatch(/^[0-9a-f]{24}$/);

    const list = await call(gh, root, 'GET', '/tenants/acme/clients?limit=100');
    expect(list.body.items!.map((client) => client['client_id'])).toEqual(expect.arrayContaining(['billing-web', 'web-app', 'spa', generated.body['client_id']]));
    expect(JSON.stringify(list.body)).not.toContain('"client_secret"');

    const patched = await call(gh, root, 'PATCH', '/tenants/acme/clients/billing-web', { client_name: 'Billing 2', client_uri: null, scope: 'openid profile' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ client_name: 'Billing 2', scope: 'openid profile' });
    expect(patched.body).not.toHaveProperty('client_uri');

    const rotated = await call(gh, root, 'POST', '/tenants/acme/clients/billing-web/rotate-secret');
    expect(rotated.status).toBe(200);
    const newSecret = String(rotated.body['client_secret']);
    expect(newSecret).not.toBe(secret);

    expect((await call(gh, root, 'DELETE', '/tenants/acme/clients/billing-web')).status).toBe(204);
    expect((await call(gh, root, 'GET', '/tenants/acme/clients/billing-web')).status).toBe(404);
    expect((await call(gh, root, 'DELETE', '/tenants/acme/clients/billing-web')).status).toBe(404);

    const events = (await auditOf('acme')).filter((event) => event.target.id === 'billing-web');
    expect(events.map((event) => event.type).reverse()).toEqual(['client.created', 'client.updated', 'client.secret_rotated', 'client.deleted']);
    expect(events.every((event) => event.actor.id === 'ops-bot' && event.requestId)).toBe(true);
    const serialized = JSON.stringify(await call(gh, root, 'GET', '/tenants/acme/audit-events?limit=100'));
    for (const value of [secret, newSecret, '"client_secret"']) expect(serialized).not.toContain(value);
  });

  it('pages the list with a capped page size and keeps service accounts out of it', async () => {
    await gh.app.clients.create('acme', { client_id: 'zz-robot', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], service_account: true });
    const first = await call(gh, root, 'GET', '/tenants/acme/clients?limit=1');
    expect(first.body.items).toHaveLength(1);
    const second = await call(gh, root, 'GET', `/tenants/acme/clients?limit=1&cursor=${first.body['next_cursor']}`);
    expect(second.body.items![0]!['client_id']).not.toBe(first.body.items![0]!['client_id']);
    expect((await call(gh, root, 'GET', '/tenants/acme/clients?limit=101')).status).toBe(400);
    const all = await call(gh, root, 'GET', '/tenants/acme/clients?limit=100');
    expect(all.body.items!.map((client) => client['client_id'])).not.toContain('zz-robot');
    expect((await call(gh, root, 'GET', '/tenants/acme/clients/zz-robot')).status).toBe(404);
    expect((await call(gh, root, 'POST', '/tenants/acme/clients/zz-robot/rotate-secret')).status).toBe(404);
  });

  it('public clients have no secret and cannot become confidential by PATCH', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'mobile', client_name: 'Mobile', application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['com.example.mobile:/callback', 'http://127.0.0.1/callback'] });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('client_secret');
    expect((await call(gh, root, 'POST', '/tenants/acme/clients/mobile/rotate-secret')).status).toBe(400);
    const flip = await call(gh, root, 'PATCH', '/tenants/acme/clients/mobile', { token_endpoint_auth_method: 'client_secret_basic' });
    expect(flip.status).toBe(400);
    expect(flip.body.error_description).toContain('"token_endpoint_auth_method"');
  });
});

describe('client changes take effect at once', () => {
  it('a rotated secret works at the token endpoint immediately and the old one fails', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'worker', client_name: 'Worker', grant_types: ['client_credentials'] });
    const old = String(created.body['client_secret']);
    // Loads (and caches) the client in the tenant context.
    expect((await tokenRequest(gh, 'acme', 'worker', old)).status).toBe(200);
    const rotated = await call(gh, root, 'POST', '/tenants/acme/clients/worker/rotate-secret');
    expect((await tokenRequest(gh, 'acme', 'worker', String(rotated.body['client_secret']))).status).toBe(200);
    const refused = await tokenRequest(gh, 'acme', 'worker', old);
    expect(refused.status).toBe(401);
    expect(refused.body['error']).toBe('invalid_client');
  });

  it('a deleted client is refused at once', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'doomed', client_name: 'Doomed', grant_types: ['client_credentials'] });
    const secret = String(created.body['client_secret']);
    expect((await tokenRequest(gh, 'acme', 'doomed', secret)).status).toBe(200);
    expect((await call(gh, root, 'DELETE', '/tenants/acme/clients/doomed')).status).toBe(204);
    expect((await tokenRequest(gh, 'acme', 'doomed', secret)).status).toBe(401);
  });

  it('a redirect URI removed by PATCH is refused at once, without a redirect', async () => {
    const keep = 'https://app.example/keep';
    const drop = 'https://app.example/drop';
    expect((await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'redirects', client_name: 'Redirects', redirect_uris: [keep, drop] })).status).toBe(201);
    const before = await authorizationRequest(gh, 'acme', 'redirects', drop);
    expect(before.status).toBe(303);
    expect(before.location).toContain('/interaction/');
    expect((await call(gh, root, 'PATCH', '/tenants/acme/clients/redirects', { redirect_uris: [keep] })).status).toBe(200);
    const after = await authorizationRequest(gh, 'acme', 'redirects', drop);
    expect(after.status).toBe(400);
    expect(after.location).toBeNull();
    expect((await authorizationRequest(gh, 'acme', 'redirects', keep)).status).toBe(303);
  });
});

describe('client validation', () => {
  it('rejects bad input with a 400 naming the field and writes nothing', async () => {
    const audit = (await auditOf('acme')).length;
    const cases: Array<[unknown, string]> = [
      [{ client_id: 'bad-1', client_name: 'Bad', client_secret: 'chosen' }, '"client_secret"'],
      [{ client_id: 'bad-2', client_name: 'Bad', roles: ['api-user'] }, '"roles"'],
      [{ client_id: 'bad-3', client_name: 42 }, '"client_name"'],
      [{ client_id: 'bad-4', client_name: 'x'.repeat(101) }, '"client_name"'],
      [{ client_id: 'bad 5', client_name: 'Bad' }, '"client_id"'],
      [{ client_id: 'bad-6', client_name: 'Bad', redirect_uris: ['http://evil.example/cb'] }, '"redirect_uris.0"'],
      [{ client_id: 'bad-7', client_name: 'Bad', redirect_uris: ['https://ok.example/cb#frag'] }, '"redirect_uris.0"'],
      [{ client_id: 'bad-8', client_name: 'Bad', redirect_uris: ['not a url'] }, '"redirect_uris.0"'],
      [{ client_id: 'bad-9', client_name: 'Bad', redirect_uris: ['javascript:alert(1)'] }, '"redirect_uris.0"'],
      [{ client_id: 'bad-10', client_name: 'Bad', redirect_uris: Array.from({ length: 21 }, (_, i) => `https://a.example/${i}`) }, '"redirect_uris"'],
      [{ client_id: 'bad-11', client_name: 'Bad', redirect_uris: ['https://a.example/cb', 'https://a.example/cb'] }, '"redirect_uris"'],
      [{ client_id: 'bad-12', client_name: 'Bad', grant_types: ['implicit'] }, '"grant_types.0"'],
      [{ client_id: 'bad-13', client_name: 'Bad', token_endpoint_auth_method: 'client_secret_jwt' }, '"token_endpoint_auth_method": client_secret_jwt is not supported'],
      [{ client_id: 'bad-14', client_name: 'Bad', logo_uri: 'http://cdn.example/logo.png' }, '"logo_uri"'],
      [{ client_id: 'bad-15', client_name: 'Bad', first_party: 'yes' }, '"first_party"'],
      [{ client_id: 'bad-16', client_name: 'Bad', service_account: true }, '"service_account"'],
      // oidc-provider's own validation, mapped to the field it names:
      [{ client_id: 'bad-17', client_name: 'Bad', grant_types: ['authorization_code'] }, '"redirect_uris"'],
      [{ client_id: 'bad-18', client_name: 'Bad', redirect_uris: ['com.example.app:/cb'] }, '"redirect_uris"'],
      [{ client_id: 'bad-19', client_name: 'Bad', application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['https://localhost/cb'] }, '"redirect_uris"'],
      [{ client_id: 'bad-20', client_name: 'Bad', grant_types: ['client_credentials'], response_types: ['code'], redirect_uris: ['https://a.example/cb'] }, '"response_types"'],
      [{ client_id: 'bad-21', client_name: 'Bad', scope: 'openid admin:tenants' }, '"scope"'],
    ];
    for (const [body, field] of cases) {
      const result = await call(gh, root, 'POST', '/tenants/acme/clients', body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error_description, JSON.stringify(body)).toContain(field);
    }
    expect((await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: { $ne: null }, client_name: 'Bad' })).status).toBe(400);
    expect((await call(gh, root, 'POST', '/tenants/acme/clients', '{"client_id": "bad-22",')).status).toBe(400);
    expect((await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'bad-23', client_name: 'x'.repeat(100_000) })).status).toBe(413);
    for (let i = 1; i <= 23; i++) expect(await gh.app.clients.get('acme', `bad-${i}`)).toBeNull();

    const before = (await gh.app.clients.get('acme', 'web-app'))!;
    const patches: Array<[unknown, string]> = [
      [{ client_id: 'renamed' }, '"client_id"'],
      [{ redirect_uris: ['http://evil.example/cb'] }, '"redirect_uris.0"'],
      [{ redirect_uris: [] }, '"redirect_uris"'],
      [{ client_name: null }, '"client_name"'],
      [{ post_logout_redirect_uris: { $ne: null } }, 'query operators'],
      [{ scope: 'openid admin:tenants' }, '"scope"'],
    ];
    for (const [body, message] of patches) {
      const result = await call(gh, root, 'PATCH', '/tenants/acme/clients/web-app', body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error_description, JSON.stringify(body)).toContain(message);
    }
    expect(await gh.app.clients.get('acme', 'web-app')).toEqual(before);
    expect((await call(gh, root, 'POST', '/tenants/acme/clients/web-app/rotate-secret', { extra: true })).status).toBe(400);
    expect((await auditOf('acme')).length).toBe(audit);
  });

  it('refuses a duplicate client id with 409 and the built-in account console with 403', async () => {
    const duplicate = await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'web-app', client_name: 'Again', redirect_uris: ['https://x.example/cb'] });
    expect(duplicate.status).toBe(409);
    expect((await gh.app.clients.get('acme', 'web-app'))!.metadata['client_name']).toBe('Web App');
    const reserved = await call(gh, root, 'POST', '/tenants/acme/clients', { client_id: 'gatehouse-account', client_name: 'Mine', redirect_uris: ['https://x.example/cb'] });
    expect(reserved.status).toBe(403);
    expect((await call(gh, root, 'PATCH', '/tenants/acme/clients/gatehouse-account', { client_name: 'Mine' })).status).toBe(403);
    expect((await call(gh, root, 'DELETE', '/tenants/acme/clients/gatehouse-account')).status).toBe(403);
    expect((await call(gh, root, 'POST', '/tenants/acme/clients/gatehouse-account/rotate-secret')).status).toBe(403);
    expect(await gh.app.clients.get('acme', 'gatehouse-account')).toBeNull();
  });
});

describe('clients and tenants', () => {
  it('a tenant admin acts on its own clients only, whatever the path, query, header or body say', async () => {
    const { token } = await tenantAdmin(gh, 'umbrella', 'umbrella-ops', ['admin:clients:read', 'admin:clients:write']);
    expect((await call(gh, token, 'GET', '/tenants/umbrella/clients')).status).toBe(200);
    const acmeBefore = (await gh.app.clients.get('acme', 'web-app'))!;
    const attempts = [
      await call(gh, token, 'GET', '/tenants/acme/clients'),
      await call(gh, token, 'GET', '/tenants/acme/clients/web-app'),
      await call(gh, token, 'PATCH', '/tenants/acme/clients/web-app', { client_name: 'Owned' }),
      await call(gh, token, 'POST', '/tenants/acme/clients/web-app/rotate-secret'),
      await call(gh, token, 'DELETE', '/tenants/acme/clients/web-app'),
      await call(gh, token, 'POST', '/tenants/acme/clients', { client_id: 'planted', client_name: 'Planted', redirect_uris: ['https://x.example/cb'] }),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(403);
      expect(JSON.stringify(attempt.body)).not.toContain('Web App');
    }
    // The client ids of another tenant do not exist here.
    const foreignId = await gh.app.clients.create('acme', { client_id: 'acme-only', redirect_uris: ['https://x.example/cb'] });
    expect((await call(gh, token, 'GET', `/tenants/umbrella/clients/${foreignId.clientId}`)).status).toBe(404);
    expect((await call(gh, token, 'PATCH', `/tenants/umbrella/clients/${foreignId.clientId}`, { client_name: 'Owned' })).status).toBe(404);
    expect((await call(gh, token, 'GET', '/tenants/umbrella/clients?tenant=acme')).status).toBe(400);
    const viaHeader = await call(gh, token, 'GET', '/tenants/umbrella/clients?limit=100', undefined, { 'x-tenant': 'acme' });
    expect(viaHeader.body.items!.map((client) => client['client_id'])).not.toContain('acme-only');
    const bodyTenant = await call(gh, token, 'POST', '/tenants/umbrella/clients', { tenant: 'acme', client_id: 'planted', client_name: 'Planted', redirect_uris: ['https://x.example/cb'] });
    expect(bodyTenant.status).toBe(400);
    expect(await gh.app.clients.get('acme', 'planted')).toBeNull();
    expect(await gh.app.clients.get('umbrella', 'planted')).toBeNull();
    expect(await gh.app.clients.get('acme', 'web-app')).toEqual(acmeBefore);
  });

  it('a read-only admin cannot write, and a clients admin cannot take over a more powerful client', async () => {
    const reader = await tenantAdmin(gh, 'umbrella', 'umbrella-reader', ['admin:clients:read']);
    const denied = await call(gh, reader.token, 'POST', '/tenants/umbrella/clients', { client_id: 'nope', client_name: 'Nope', redirect_uris: ['https://x.example/cb'] });
    expect(denied.status).toBe(403);
    expect(await gh.app.clients.get('umbrella', 'nope')).toBeNull();

    const clientsAdmin = await tenantAdmin(gh, 'umbrella', 'umbrella-clients', ['admin:clients:read', 'admin:clients:write']);
    const strong = await tenantAdmin(gh, 'umbrella', 'umbrella-strong', ['admin:users:write', 'admin:clients:write']);
    await gh.app.clients.create('umbrella', { client_id: 'strong-app', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, { roles: [strong.role] });
    const takeover = await call(gh, clientsAdmin.token, 'POST', '/tenants/umbrella/clients/strong-app/rotate-secret');
    expect(takeover.status).toBe(403);
    expect(takeover.body.error_description).toContain('admin:users:write');
    expect((await call(gh, clientsAdmin.token, 'DELETE', '/tenants/umbrella/clients/strong-app')).status).toBe(403);
    expect(await gh.app.clients.get('umbrella', 'strong-app')).not.toBeNull();
    const read = await call(gh, clientsAdmin.token, 'GET', '/tenants/umbrella/clients/strong-app');
    expect(read.body['roles']).toEqual([strong.role]);
  });
});
