import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminScope } from '../../src/domain/admin-api.js';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { tenantAdmin, tokenRequest } from './client-helpers.js';
import { adminApi, adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  await seedTenant(gh, 'acme');
  await seedTenant(gh, 'umbrella');
  const api = adminApi(gh);
  const role = (scopes: AdminScope[]) => scopes.map((scope) => ({ api, scope }));
  for (const tenant of ['acme', 'umbrella']) {
    await gh.app.roles.create(tenant, { name: 'tenant-admin', permissions: role(['admin:tenants', 'admin:clients:read', 'admin:clients:write', 'admin:audit:read']) });
    await gh.app.roles.create(tenant, { name: 'auditor', permissions: role(['admin:audit:read']) });
  }
});
afterAll(() => gh.stop());

const auditOf = async (tenant: string) => gh.app.audit.list(tenant, { limit: 10_000 });
const keys = () => gh.app.apiKeys;

/** Creates a service account through the API and returns its id and secret. */
async function serviceAccount(tenant: string, name: string, roles: string[] = [], token = root): Promise<{ id: string; secret: string }> {
  const created = await call(gh, token, 'POST', `/tenants/${tenant}/service-accounts`, { name, roles });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { id: String(created.body['id']), secret: String(created.body['client_secret']) };
}

async function apiKey(tenant: string, id: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const issued = await call(gh, root, 'POST', `/tenants/${tenant}/service-accounts/${id}/api-keys`, { name, ...extra });
  expect(issued.status, JSON.stringify(issued.body)).toBe(201);
  return String(issued.body['key']);
}

describe('service accounts', () => {
  it('creates, reads, lists, renames, re-roles and deletes a service account; the secret appears once', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/service-accounts', { name: 'Nightly export', roles: ['auditor'] });
    expect(created.status).toBe(201);
    const id = String(created.body['id']);
    expect(id).toMatch(/^sa-[0-9a-f]{24}$/);
    expect(created.headers.get('location')).toBe(`/admin/v1/tenants/acme/service-accounts/${id}`);
    expect(created.body).toMatchObject({ name: 'Nightly export', roles: ['auditor'] });
    const secret = String(created.body['client_secret']);

    // A real client-credentials client, and only that.
    const token = await tokenRequest(gh, 'acme', id, secret, { grant_type: 'client_credentials', resource: adminApi(gh), scope: 'admin:audit:read admin:clients:write' });
    expect(token.status).toBe(200);
    expect(token.body['scope']).toBe('admin:audit:read');
    const stored = (await gh.app.clients.get('acme', id))!;
    expect(stored.metadata).toMatchObject({ service_account: true, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] });

    const read = await call(gh, root, 'GET', `/tenants/acme/service-accounts/${id}`);
    expect(read.body).not.toHaveProperty('client_secret');
    expect((await call(gh, root, 'GET', '/tenants/acme/service-accounts')).body.items!.map((item) => item['id'])).toContain(id);
    expect((await call(gh, root, 'GET', `/tenants/acme/clients/${id}`)).status).toBe(404);

    expect((await call(gh, root, 'PATCH', `/tenants/acme/service-accounts/${id}`, { name: 'Export' })).body['name']).toBe('Export');
    const roles = await call(gh, root, 'PUT', `/tenants/acme/service-accounts/${id}/roles`, { roles: ['tenant-admin', 'auditor'] });
    expect(roles.status).toBe(200);
    expect(roles.body['roles']).toEqual(['tenant-admin', 'auditor']);

    const rotated = await call(gh, root, 'POST', `/tenants/acme/service-accounts/${id}/rotate-secret`);
    expect((await tokenRequest(gh, 'acme', id, secret)).status).toBe(401);
    expect((await tokenRequest(gh, 'acme', id, String(rotated.body['client_secret']))).status).toBe(200);

    expect((await call(gh, root, 'DELETE', `/tenants/acme/service-accounts/${id}`)).status).toBe(204);
    expect((await call(gh, root, 'GET', `/tenants/acme/service-accounts/${id}`)).status).toBe(404);
    expect((await tokenRequest(gh, 'acme', id, String(rotated.body['client_secret']))).status).toBe(401);

    const events = (await auditOf('acme')).filter((event) => event.target.id === id);
    expect(events.map((event) => event.type).reverse()).toEqual(['service_account.created', 'service_account.updated', 'service_account.roles_set', 'service_account.secret_rotated', 'service_account.deleted']);
    const serialized = JSON.stringify(events);
    for (const value of [secret, String(rotated.body['client_secret']), 'client_secret"']) expect(serialized).not.toContain(value);
  });

  it('rejects unknown roles, bad input and duplicates, writing nothing', async () => {
    const before = (await gh.app.clients.list('acme', { serviceAccounts: true, limit: 1000 })).length;
    const audit = (await auditOf('acme')).length;
    const unknown = await call(gh, root, 'POST', '/tenants/acme/service-accounts', { name: 'Ghost', roles: ['auditor', 'no-such-role'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error_description).toContain('"roles"');
    expect(unknown.body.error_description).toContain('"no-such-role"');
    const cases: Array<[unknown, string]> = [
      [{ name: 'Bad', client_id: 'chosen' }, '"client_id"'],
      [{ name: 'Bad', grant_types: ['authorization_code'] }, '"grant_types"'],
      [{ name: 'Bad', redirect_uris: ['https://x.example/cb'] }, '"redirect_uris"'],
      [{ name: 42 }, '"name"'],
      [{ name: '' }, '"name"'],
      [{ name: 'x'.repeat(101) }, '"name"'],
      [{ name: 'Bad', roles: 'auditor' }, '"roles"'],
      [{ name: 'Bad', roles: ['bad role'] }, '"roles.0"'],
      [{ name: 'Bad', roles: ['auditor', 'auditor'] }, '"roles"'],
      [{ name: 'Bad', roles: [{ $ne: null }] }, 'query operators'],
    ];
    for (const [body, message] of cases) {
      const result = await call(gh, root, 'POST', '/tenants/acme/service-accounts', body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error_description, JSON.stringify(body)).toContain(message);
    }
    expect((await call(gh, root, 'POST', '/tenants/acme/service-accounts', { name: 'x'.repeat(100_000) })).status).toBe(413);
    expect((await gh.app.clients.list('acme', { serviceAccounts: true, limit: 1000 })).length).toBe(before);

    const { id } = await serviceAccount('acme', 'Target', ['auditor']);
    const audited = (await auditOf('acme')).length;
    const badRoles = await call(gh, root, 'PUT', `/tenants/acme/service-accounts/${id}/roles`, { roles: ['ghost'] });
    expect(badRoles.status).toBe(400);
    expect(badRoles.body.error_description).toContain('"ghost"');
    expect((await call(gh, root, 'PUT', `/tenants/acme/service-accounts/${id}/roles`, { roles: ['auditor'], extra: 1 })).status).toBe(400);
    expect((await call(gh, root, 'PATCH', `/tenants/acme/service-accounts/${id}`, { name: 'Renamed', roles: [] })).status).toBe(400);
    expect((await call(gh, root, 'PATCH', `/tenants/acme/service-accounts/${id}`, { name: { $ne: null } })).status).toBe(400);
    expect(await gh.app.clients.get('acme', id)).toMatchObject({ roles: ['auditor'], metadata: { client_name: 'Target' } });

    // API keys: bad input, duplicate names.
    const keyCases: Array<[unknown, string]> = [
      [{ name: '' }, '"name"'],
      [{ name: 'k', expires_at: '2001-01-01T00:00:00Z' }, '"expires_at"'],
      [{ name: 'k', expires_at: 'tomorrow' }, '"expires_at"'],
      [{ name: 'k', expires_at: 1_900_000_000 }, '"expires_at"'],
      [{ name: 'k', key: 'ghk_0000000000000000_chosen' }, '"key"'],
    ];
    for (const [body, field] of keyCases) {
      const result = await call(gh, root, 'POST', `/tenants/acme/service-accounts/${id}/api-keys`, body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error_description).toContain(field);
    }
    expect(await keys().list('acme', id, { limit: 100 })).toEqual([]);
    await apiKey('acme', id, 'deploy');
    expect((await call(gh, root, 'POST', `/tenants/acme/service-accounts/${id}/api-keys`, { name: 'deploy' })).status).toBe(409);
    expect(await keys().list('acme', id, { limit: 100 })).toHaveLength(1);
    expect((await call(gh, root, 'POST', '/tenants/acme/service-accounts/web-app/api-keys', { name: 'not-a-sa' })).status).toBe(404);
    expect((await call(gh, root, 'DELETE', `/tenants/acme/service-accounts/${id}/api-keys/zz`)).status).toBe(400);
    expect((await call(gh, root, 'DELETE', `/tenants/acme/service-accounts/${id}/api-keys/0000000000000000`)).status).toBe(404);
    expect((await auditOf('acme')).length).toBe(audited + 1);
    expect(audit).toBeLessThan(audited);
  });

  it('a tenant admin cannot reach another tenant’s service accounts, nor hand out more power than it holds', async () => {
    const { token } = await tenantAdmin(gh, 'umbrella', 'umbrella-ops', ['admin:clients:read', 'admin:clients:write']);
    const { id } = await serviceAccount('acme', 'Acme robot', ['tenant-admin']);
    const attempts = [
      await call(gh, token, 'GET', '/tenants/acme/service-accounts'),
      await call(gh, token, 'GET', `/tenants/acme/service-accounts/${id}`),
      await call(gh, token, 'PATCH', `/tenants/acme/service-accounts/${id}`, { name: 'Owned' }),
      await call(gh, token, 'PUT', `/tenants/acme/service-accounts/${id}/roles`, { roles: [] }),
      await call(gh, token, 'POST', `/tenants/acme/service-accounts/${id}/rotate-secret`),
      await call(gh, token, 'POST', `/tenants/acme/service-accounts/${id}/api-keys`, { name: 'stolen' }),
      await call(gh, token, 'GET', `/tenants/acme/service-accounts/${id}/api-keys`),
      await call(gh, token, 'DELETE', `/tenants/acme/service-accounts/${id}`),
      await call(gh, token, 'POST', '/tenants/acme/service-accounts', { name: 'Planted' }),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(403);
      expect(JSON.stringify(attempt.body)).not.toContain('Acme robot');
    }
    for (const [method, path] of [['GET', ''], ['PATCH', ''], ['GET', '/api-keys'], ['POST', '/api-keys']] as const) {
      const body = method === 'PATCH' ? { name: 'Owned' } : method === 'POST' ? { name: 'stolen' } : undefined;
      expect((await call(gh, token, method, `/tenants/umbrella/service-accounts/${id}${path}`, body)).status).toBe(404);
    }
    expect((await call(gh, token, 'GET', '/tenants/umbrella/service-accounts?tenant=acme')).status).toBe(400);
    expect((await call(gh, token, 'POST', '/tenants/umbrella/service-accounts', { name: 'Planted', tenant: 'acme' })).status).toBe(400);
    expect(await gh.app.clients.get('acme', id)).toMatchObject({ roles: ['tenant-admin'], metadata: { client_name: 'Acme robot' } });
    expect(await keys().list('acme', id, { limit: 100 })).toEqual([]);

    // Escalation: its token lacks admin:tenants and admin:audit:read, which tenant-admin grants.
    const escalate = await call(gh, token, 'POST', '/tenants/umbrella/service-accounts', { name: 'Stronger', roles: ['tenant-admin'] });
    expect(escalate.status).toBe(403);
    const { id: strong } = await serviceAccount('umbrella', 'Strong', ['tenant-admin']);
    expect((await call(gh, token, 'POST', `/tenants/umbrella/service-accounts/${strong}/api-keys`, { name: 'mine' })).status).toBe(403);
    expect((await call(gh, token, 'POST', `/tenants/umbrella/service-accounts/${strong}/rotate-secret`)).status).toBe(403);
    const { id: weak } = await serviceAccount('umbrella', 'Weak', [], token);
    expect((await call(gh, token, 'PUT', `/tenants/umbrella/service-accounts/${weak}/roles`, { roles: ['tenant-admin'] })).status).toBe(403);
    expect((await gh.app.clients.get('umbrella', weak))!.roles).toEqual([]);
    expect(await keys().list('umbrella', strong, { limit: 100 })).toEqual([]);
  });
});

describe('API keys', () => {
  it('act as the service account on the admin API, with the scopes of its roles', async () => {
    const { id } = await serviceAccount('acme', 'Key holder', ['tenant-admin']);
    const issued = await call(gh, root, 'POST', `/tenants/acme/service-accounts/${id}/api-keys`, { name: 'ci' });
    expect(issued.status).toBe(201);
    const key = String(issued.body['key']);
    expect(key).toMatch(/^ghk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(issued.body).toMatchObject({ id: key.slice(4, 20), name: 'ci', expires_at: null });

    const me = await call(gh, key, 'GET', '/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenant: 'acme', type: 'api_key', id: issued.body['id'], client_id: id, roles: ['tenant-admin'] });
    expect(me.body['scopes']).toEqual(['admin:audit:read', 'admin:clients:read', 'admin:clients:write', 'admin:tenants']);
    expect((await call(gh, key, 'GET', '/tenants/acme')).status).toBe(200);
    const made = await call(gh, key, 'POST', '/tenants/acme/clients', { client_id: 'made-by-key', client_name: 'By key', redirect_uris: ['https://x.example/cb'] });
    expect(made.status).toBe(201);
    const event = (await auditOf('acme')).find((item) => item.target.id === 'made-by-key')!;
    expect(event.actor).toEqual({ type: 'api_key', id: issued.body['id'], tenant: 'acme' });

    // Another tenant: 403, nothing leaked or changed.
    for (const path of ['/tenants/umbrella', '/tenants/umbrella/clients', '/tenants/umbrella/service-accounts']) expect((await call(gh, key, 'GET', path)).status).toBe(403);
    expect((await call(gh, key, 'PATCH', '/tenants/umbrella/clients/web-app', { client_name: 'Owned' })).status).toBe(403);
    expect((await gh.app.clients.get('umbrella', 'web-app'))!.metadata['client_name']).toBe('Web App');
    // Tenant management stays with the system tenant.
    expect((await call(gh, key, 'GET', '/tenants')).status).toBe(403);

    // Listing never shows the key or its hash.
    const list = await call(gh, root, 'GET', `/tenants/acme/service-accounts/${id}/api-keys`);
    expect(list.body.items).toEqual([{ id: issued.body['id'], name: 'ci', expires_at: null, created_at: issued.body['created_at'] }]);
    const audit = JSON.stringify(await auditOf('acme'));
    expect(audit).not.toContain(key.slice(21));
    expect(audit).not.toContain('secretHash');

    // Taking the role away takes effect at the next request.
    expect((await call(gh, root, 'PUT', `/tenants/acme/service-accounts/${id}/roles`, { roles: ['auditor'] })).status).toBe(200);
    expect((await call(gh, key, 'GET', '/tenants/acme/clients')).status).toBe(403);
    expect((await call(gh, key, 'GET', '/tenants/acme/audit-events')).status).toBe(200);
    expect((await call(gh, root, 'PUT', `/tenants/acme/service-accounts/${id}/roles`, { roles: [] })).status).toBe(200);
    expect((await call(gh, key, 'GET', '/tenants/acme/audit-events')).status).toBe(403);
  });

  it('refuses revoked, expired, malformed and unknown keys alike with 401', async () => {
    const { id } = await serviceAccount('acme', 'Short lived', ['auditor']);
    const revoked = await apiKey('acme', id, 'revoked');
    expect((await call(gh, revoked, 'GET', '/me')).status).toBe(200);
    const keyId = revoked.slice(4, 20);
    expect((await call(gh, root, 'DELETE', `/tenants/acme/service-accounts/${id}/api-keys/${keyId}`)).status).toBe(204);
    expect((await auditOf('acme')).some((event) => event.type === 'api_key.revoked' && event.target.id === keyId)).toBe(true);

    // Expired: one issued through the API with a near expiry, one written with a past date.
    const soon = await apiKey('acme', id, 'soon', { expires_at: new Date(Date.now() + 1500).toISOString() });
    expect((await call(gh, soon, 'GET', '/me')).status).toBe(200);
    const { key: past } = await keys().issue('acme', id, { name: 'past', expiresAt: new Date(Date.now() - 1000) });

    const good = await apiKey('acme', id, 'good');
    const tampered = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const refusals = await Promise.all([revoked, soon, past, tampered, 'ghk_nope', `ghk_0123456789abcdef_${'A'.repeat(43)}`].map((bad) => call(gh, bad, 'GET', '/me')));
    for (const refusal of refusals) {
      expect(refusal.status).toBe(401);
      expect(refusal.body).toEqual({ error: 'invalid_token', error_description: 'The API key is not valid.' });
    }
    expect((await call(gh, good, 'GET', '/me')).status).toBe(200);

    // Deleting the service account ends its keys.
    expect((await call(gh, root, 'DELETE', `/tenants/acme/service-accounts/${id}`)).status).toBe(204);
    expect((await call(gh, good, 'GET', '/me')).status).toBe(401);
    expect(await keys().list('acme', id, { limit: 100 })).toEqual([]);
  });
});
