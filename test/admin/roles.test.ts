import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminScope } from '../../src/domain/admin-api.js';
import { seedTenant, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { adminApi, adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;
let acme: SeededTenant;
let umbrella: SeededTenant;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  acme = await seedTenant(gh, 'acme');
  umbrella = await seedTenant(gh, 'umbrella');
});
afterAll(() => gh.stop());

const auditCount = async (tenant: string) => (await gh.app.audit.list(tenant, { limit: 10_000 })).length;
const admin = (...scopes: AdminScope[]) => scopes.map((scope) => ({ api: adminApi(gh), scope }));

/** A service account of `tenant` whose admin token carries `scopes`, made through the roles API. */
async function tenantAdmin(tenant: string, clientId: string, scopes: AdminScope[]): Promise<{ token: string; secret: string }> {
  expect((await call(gh, root, 'POST', `/tenants/${tenant}/roles`, { name: `${clientId}-role`, permissions: admin(...scopes) })).status).toBe(201);
  const { clientSecret } = await gh.app.clients.create(tenant, { client_id: clientId, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
  expect((await call(gh, root, 'POST', `/tenants/${tenant}/roles/${clientId}-role/members`, { client_id: clientId })).status).toBe(200);
  return { token: await adminToken(gh, { tenant, clientId, clientSecret: clientSecret!, scope: scopes.join(' ') }), secret: clientSecret! };
}

describe('roles', () => {
  it('creates, reads, lists, updates and deletes a role, writing audit events', async () => {
    const created = await call(gh, root, 'POST', '/tenants/acme/roles', { name: 'billing.viewer', description: 'Sees invoices', permissions: [{ api: acme.api, scope: 'read' }, { api: acme.api, scope: 'read' }] });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/admin/v1/tenants/acme/roles/billing.viewer');
    expect(created.body).toMatchObject({ name: 'billing.viewer', description: 'Sees invoices', permissions: [{ api: acme.api, scope: 'read' }] });
    expect((await call(gh, root, 'GET', '/tenants/acme/roles/billing.viewer')).body).toEqual(created.body);

    const updated = await call(gh, root, 'PATCH', '/tenants/acme/roles/billing.viewer', { description: null, permissions: [{ api: acme.api, scope: 'write' }, ...admin('admin:audit:read')] });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'billing.viewer', description: null, permissions: [{ api: acme.api, scope: 'write' }, { api: adminApi(gh), scope: 'admin:audit:read' }] });
    expect((await call(gh, root, 'PATCH', '/tenants/acme/roles/billing.viewer', { name: 'renamed' })).status).toBe(400);

    expect((await call(gh, root, 'DELETE', '/tenants/acme/roles/billing.viewer')).status).toBe(204);
    expect((await call(gh, root, 'GET', '/tenants/acme/roles/billing.viewer')).status).toBe(404);
    expect((await call(gh, root, 'DELETE', '/tenants/acme/roles/billing.viewer')).status).toBe(404);
    expect((await call(gh, root, 'PATCH', '/tenants/acme/roles/billing.viewer', { description: 'x' })).status).toBe(404);

    const events = await call(gh, root, 'GET', '/tenants/acme/audit-events?type=role.updated');
    expect(events.body.items![0]).toMatchObject({ target: { type: 'role', id: 'billing.viewer' }, actor: { id: 'ops-bot' }, before: { description: 'Sees invoices' }, after: { description: null } });
    for (const type of ['role.created', 'role.deleted']) expect((await call(gh, root, 'GET', `/tenants/acme/audit-events?type=${type}`)).body.items!.some((event) => (event['target'] as { id: string }).id === 'billing.viewer')).toBe(true);
  });

  it('pages the role list with a capped page size', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await call(gh, root, 'POST', '/tenants/umbrella/roles', { name, permissions: [] });
    const first = await call(gh, root, 'GET', '/tenants/umbrella/roles?limit=2');
    expect(first.body.items!.map((role) => role['name'])).toEqual(['api-user', 'page-a']);
    const second = await call(gh, root, 'GET', `/tenants/umbrella/roles?limit=2&cursor=${first.body['next_cursor']}`);
    expect(second.body.items!.map((role) => role['name'])).toEqual(['page-b', 'page-c']);
    expect(second.body['next_cursor']).toBeNull();
    expect((await call(gh, root, 'GET', '/tenants/umbrella/roles?limit=101')).status).toBe(400);
  });

  it('accepts only permissions on a scope an API of the tenant (or the admin API) defines, naming the bad one', async () => {
    const cases: Array<[unknown[], string]> = [
      [[{ api: acme.api, scope: 'read' }, { api: 'https://nowhere.example', scope: 'read' }], '"permissions.1"'],
      [[{ api: acme.api, scope: 'delete' }], '"permissions.0"'],
      [[{ api: umbrella.api, scope: 'read' }], '"permissions.0"'], // another tenant's API
      [admin('admin:everything' as AdminScope), '"permissions.0"'],
      [[{ api: acme.api }], '"permissions.0.scope"'],
      [[{ api: acme.api, scope: 'read', tenant: 'umbrella' }], '"permissions.0.tenant"'],
    ];
    for (const [permissions, named] of cases) {
      const result = await call(gh, root, 'POST', '/tenants/acme/roles', { name: 'checked', permissions });
      expect(result.status).toBe(400);
      expect(result.body.error_description).toContain(named);
      const patched = await call(gh, root, 'PATCH', '/tenants/acme/roles/api-user', { permissions });
      expect(patched.status).toBe(400);
    }
    expect(await gh.app.roles.find('acme', 'checked')).toBeNull();
    expect((await gh.app.roles.find('acme', 'api-user'))!.permissions).toHaveLength(2);
  });

  it('rejects bad input on every write endpoint with a 400 naming the field, and writes nothing', async () => {
    await call(gh, root, 'POST', '/tenants/acme/roles', { name: 'stable', description: 'Stable', permissions: [] });
    const before = await auditCount('acme');
    const post = (body: unknown, headers?: Record<string, string>) => call(gh, root, 'POST', '/tenants/acme/roles', body, headers);
    expect((await post({ name: 'bad-1', permissions: [], created_at: 'x' })).body.error_description).toContain('"created_at"');
    expect((await post({ name: 'bad-2', permissions: 'read' })).body.error_description).toContain('"permissions"');
    expect((await post({ name: 'bad-3' })).body.error_description).toContain('"permissions"');
    expect((await post({ name: 'bad-4', description: 'x'.repeat(501), permissions: [] })).body.error_description).toContain('"description"');
    expect((await post({ name: 'x'.repeat(65), permissions: [] })).body.error_description).toContain('"name"');
    expect((await post({ name: 'bad name', permissions: [] })).body.error_description).toContain('"name"');
    expect((await post({ name: { $ne: null }, permissions: [] })).status).toBe(400);
    expect((await post({ name: 'bad-5', permissions: [{ api: acme.api, scope: { $ne: null } }] })).status).toBe(400);
    expect((await post({ name: 'bad-6', permissions: Array.from({ length: 101 }, () => ({ api: acme.api, scope: 'read' })) })).body.error_description).toContain('"permissions"');
    expect((await post('{"name": "bad-7",')).status).toBe(400);
    expect((await post('name=bad-8', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(400);
    expect((await post({ name: 'bad-9', description: 'x'.repeat(100_000), permissions: [] })).status).toBe(413);

    const patch = (body: unknown) => call(gh, root, 'PATCH', '/tenants/acme/roles/stable', body);
    expect((await patch({})).status).toBe(400);
    expect((await patch({ description: 7 })).body.error_description).toContain('"description"');
    expect((await patch({ description: { $set: 'x' } })).status).toBe(400);
    expect((await patch({ permissions: [{ api: acme.api, scope: 'read' }], tenant: 'umbrella' })).body.error_description).toContain('"tenant"');
    expect((await call(gh, root, 'PATCH', '/tenants/acme/roles/Bad%20Name', { description: 'x' })).status).toBe(400);

    const member = (body: unknown) => call(gh, root, 'POST', '/tenants/acme/roles/stable/members', body);
    expect((await member({})).status).toBe(400);
    expect((await member({ user_id: acme.userId, client_id: 'web-app' })).status).toBe(400);
    expect((await member({ user_id: 42 })).body.error_description).toContain('"user_id"');
    expect((await member({ user_id: { $ne: null } })).status).toBe(400);
    expect((await member({ user_id: acme.userId, role: 'api-user' })).body.error_description).toContain('"role"');
    expect((await member({ user_id: 'x'.repeat(201) })).status).toBe(400);
    expect((await call(gh, root, 'DELETE', `/tenants/acme/roles/stable/members/users/${'x'.repeat(201)}`)).status).toBe(400);
    expect((await call(gh, root, 'GET', '/tenants/acme/roles/stable/members?cursor=zzz')).status).toBe(400);

    for (let n = 1; n <= 9; n += 1) expect(await gh.app.roles.find('acme', `bad-${n}`)).toBeNull();
    expect(await gh.app.roles.find('acme', 'stable')).toMatchObject({ description: 'Stable', permissions: [] });
    expect((await gh.app.users.findById('acme', acme.userId))!.roles).toEqual(['api-user']);
    expect(await auditCount('acme')).toBe(before);
  });

  it('refuses a duplicate name with 409 and keeps the original', async () => {
    expect((await call(gh, root, 'POST', '/tenants/acme/roles', { name: 'dup', description: 'First', permissions: [] })).status).toBe(201);
    const duplicate = await call(gh, root, 'POST', '/tenants/acme/roles', { name: 'dup', description: 'Second', permissions: [{ api: acme.api, scope: 'write' }] });
    expect(duplicate.status).toBe(409);
    expect(await gh.app.roles.find('acme', 'dup')).toMatchObject({ description: 'First', permissions: [] });
    // The same name in another tenant is another role.
    expect((await call(gh, root, 'POST', '/tenants/umbrella/roles', { name: 'dup', permissions: [] })).status).toBe(201);
  });

  it('never changes or deletes the built-in operator role', async () => {
    expect((await call(gh, root, 'DELETE', '/tenants/system/roles/gatehouse-admin')).status).toBe(403);
    expect((await call(gh, root, 'PATCH', '/tenants/system/roles/gatehouse-admin', { permissions: [] })).status).toBe(403);
    expect((await gh.app.roles.find('system', 'gatehouse-admin'))!.permissions.length).toBeGreaterThan(5);
  });
});

describe('role members', () => {
  it('adds users and service accounts idempotently, lists them paged, removes them, and audits changes only', async () => {
    await call(gh, root, 'POST', '/tenants/umbrella/roles', { name: 'crew', permissions: [{ api: umbrella.api, scope: 'read' }] });
    const bob = await gh.app.users.create('umbrella', { username: 'bob' });
    const before = await auditCount('umbrella');
    const added = await call(gh, root, 'POST', '/tenants/umbrella/roles/crew/members', { user_id: umbrella.userId });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({ type: 'user', id: umbrella.userId, username: 'alice' });
    expect((await call(gh, root, 'POST', '/tenants/umbrella/roles/crew/members', { user_id: umbrella.userId })).status).toBe(200);
    await call(gh, root, 'POST', '/tenants/umbrella/roles/crew/members', { user_id: bob._id });
    expect((await call(gh, root, 'POST', '/tenants/umbrella/roles/crew/members', { client_id: 'web-app' })).body).toEqual({ type: 'client', id: 'web-app', client_name: 'Web App' });
    await call(gh, root, 'POST', '/tenants/umbrella/roles/crew/members', { client_id: 'spa' });
    expect((await gh.app.users.findById('umbrella', umbrella.userId))!.roles).toEqual(['api-user', 'crew']);
    expect(await auditCount('umbrella')).toBe(before + 4);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const result = await call(gh, root, 'GET', `/tenants/umbrella/roles/crew/members?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(result.body.items!.length).toBeLessThanOrEqual(3);
      seen.push(...result.body.items!.map((item) => `${item['type']}:${item['id']}`));
      cursor = result.body['next_cursor'] as string | null;
    } while (cursor);
    expect(seen).toEqual([...[umbrella.userId, bob._id].sort().map((id) => `user:${id}`), 'client:spa', 'client:web-app']);

    expect((await call(gh, root, 'DELETE', `/tenants/umbrella/roles/crew/members/users/${bob._id}`)).status).toBe(204);
    expect((await call(gh, root, 'DELETE', `/tenants/umbrella/roles/crew/members/users/${bob._id}`)).status).toBe(204);
    expect((await call(gh, root, 'DELETE', '/tenants/umbrella/roles/crew/members/clients/spa')).status).toBe(204);
    expect((await gh.app.users.findById('umbrella', bob._id))!.roles).toEqual([]);
    expect(await gh.app.clients.rolesOf('umbrella', 'spa')).toEqual([]);
    const removed = await call(gh, root, 'GET', '/tenants/umbrella/audit-events?type=role.member_removed');
    expect(removed.body.items).toHaveLength(2);
    expect(removed.body.items![1]).toMatchObject({ target: { type: 'role', id: 'crew' }, before: { member: { type: 'user', id: bob._id } } });
  });

  it('answers 404 for an unknown role, user or client, changing nothing', async () => {
    expect((await call(gh, root, 'POST', '/tenants/umbrella/roles/ghost/members', { user_id: umbrella.userId })).status).toBe(404);
    expect((await call(gh, root, 'GET', '/tenants/umbrella/roles/ghost/members')).status).toBe(404);
    expect((await call(gh, root, 'POST', '/tenants/umbrella/roles/api-user/members', { user_id: 'no-such-user' })).status).toBe(404);
    expect((await call(gh, root, 'POST', '/tenants/umbrella/roles/api-user/members', { client_id: 'no-such-client' })).status).toBe(404);
    expect((await call(gh, root, 'DELETE', '/tenants/umbrella/roles/api-user/members/clients/no-such-client')).status).toBe(404);
    expect((await gh.app.users.findById('umbrella', umbrella.userId))!.roles).not.toContain('ghost');
  });

  it('takes a deleted role from every member, so a new role of that name grants nothing by accident', async () => {
    await call(gh, root, 'POST', '/tenants/umbrella/roles', { name: 'temp', permissions: [{ api: umbrella.api, scope: 'write' }] });
    await call(gh, root, 'POST', '/tenants/umbrella/roles/temp/members', { user_id: umbrella.userId });
    await call(gh, root, 'POST', '/tenants/umbrella/roles/temp/members', { client_id: 'web-app' });
    expect((await call(gh, root, 'DELETE', '/tenants/umbrella/roles/temp')).status).toBe(204);
    expect((await gh.app.users.findById('umbrella', umbrella.userId))!.roles).not.toContain('temp');
    expect(await gh.app.clients.rolesOf('umbrella', 'web-app')).not.toContain('temp');
    await call(gh, root, 'POST', '/tenants/umbrella/roles', { name: 'temp', permissions: [] });
    expect((await call(gh, root, 'GET', '/tenants/umbrella/roles/temp/members')).body.items).toEqual([]);
  });
});

describe('privilege escalation', () => {
  it('never lets a principal create, change, hand out or take away a role with admin permissions it does not hold', async () => {
    const { token } = await tenantAdmin('acme', 'acme-roles', ['admin:roles:read', 'admin:roles:write', 'admin:users:read']);
    const me = (await gh.app.clients.rolesOf('acme', 'acme-roles'))[0]!;
    await call(gh, root, 'POST', '/tenants/acme/roles', { name: 'user-manager', permissions: admin('admin:users:write') });
    const before = await auditCount('acme');

    const mint = await call(gh, token, 'POST', '/tenants/acme/roles', { name: 'superuser', permissions: admin('admin:users:read', 'admin:users:write') });
    expect(mint.status).toBe(403);
    expect(mint.body.error_description).toContain('admin:users:write');
    expect((await call(gh, token, 'PATCH', `/tenants/acme/roles/${me}`, { permissions: admin('admin:roles:read', 'admin:roles:write', 'admin:users:read', 'admin:clients:write') })).status).toBe(403);
    expect((await call(gh, token, 'POST', '/tenants/acme/roles/user-manager/members', { client_id: 'acme-roles' })).status).toBe(403);
    expect((await call(gh, token, 'PATCH', '/tenants/acme/roles/user-manager', { description: 'mine now' })).status).toBe(403);
    expect((await call(gh, token, 'DELETE', '/tenants/acme/roles/user-manager')).status).toBe(403);
    await call(gh, root, 'POST', '/tenants/acme/roles/user-manager/members', { user_id: acme.userId });
    const stripped = await call(gh, token, 'DELETE', `/tenants/acme/roles/user-manager/members/users/${acme.userId}`);
    expect(stripped.status).toBe(403);

    expect(await gh.app.roles.find('acme', 'superuser')).toBeNull();
    expect((await gh.app.roles.find('acme', me))!.permissions).toHaveLength(3);
    expect(await gh.app.clients.rolesOf('acme', 'acme-roles')).toEqual([me]);
    expect((await gh.app.users.findById('acme', acme.userId))!.roles).toContain('user-manager');
    expect(await auditCount('acme')).toBe(before + 1); // root's own assignment only
  });

  it('lets a principal hand out what it holds, and a narrower token narrows that further', async () => {
    const { token: full, secret } = await tenantAdmin('acme', 'acme-delegator', ['admin:roles:read', 'admin:roles:write', 'admin:audit:read']);
    const reader = await call(gh, full, 'POST', '/tenants/acme/roles', { name: 'auditor', permissions: [...admin('admin:audit:read'), { api: acme.api, scope: 'write' }] });
    expect(reader.status).toBe(201);
    expect((await call(gh, full, 'POST', '/tenants/acme/roles/auditor/members', { user_id: acme.userId })).status).toBe(200);
    const narrow = await adminToken(gh, { tenant: 'acme', clientId: 'acme-delegator', clientSecret: secret, scope: 'admin:roles:read admin:roles:write' });
    expect((await call(gh, narrow, 'POST', '/tenants/acme/roles', { name: 'auditor-2', permissions: admin('admin:audit:read') })).status).toBe(403);
    expect((await call(gh, narrow, 'DELETE', '/tenants/acme/roles/auditor')).status).toBe(403);
  });

  it('keeps a tenant admin holding admin:tenants inside its own tenant', async () => {
    const { token } = await tenantAdmin('acme', 'acme-owner', ['admin:tenants', 'admin:roles:read', 'admin:roles:write']);
    expect((await call(gh, token, 'GET', '/tenants/acme')).status).toBe(200);
    expect((await call(gh, token, 'POST', '/tenants', { id: 'escaped', display_name: 'Escaped' })).status).toBe(403);
    expect((await call(gh, token, 'PATCH', '/tenants/umbrella', { display_name: 'Owned' })).status).toBe(403);
    expect((await call(gh, token, 'DELETE', '/tenants/acme')).status).toBe(403);
    expect(await gh.app.tenants.find('escaped')).toBeNull();
    expect((await gh.app.tenants.find('umbrella'))!.displayName).toBe('Tenant umbrella');
  });
});

describe('tenant isolation', () => {
  it("refuses a tenant-A admin on tenant-B roles and members, and tenant-B ids on tenant-A roles", async () => {
    const { token } = await tenantAdmin('acme', 'acme-isolated', ['admin:roles:read', 'admin:roles:write']);
    const before = await auditCount('umbrella');
    const aliceRoles = (await gh.app.users.findById('umbrella', umbrella.userId))!.roles;
    const webAppRoles = await gh.app.clients.rolesOf('umbrella', 'web-app');
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', '/tenants/umbrella/roles'],
      ['GET', '/tenants/umbrella/roles/api-user'],
      ['GET', '/tenants/umbrella/roles/api-user/members'],
      ['POST', '/tenants/umbrella/roles', { name: 'planted', permissions: [] }],
      ['PATCH', '/tenants/umbrella/roles/api-user', { permissions: [] }],
      ['DELETE', '/tenants/umbrella/roles/api-user'],
      ['POST', '/tenants/umbrella/roles/api-user/members', { client_id: 'web-app' }],
      ['DELETE', `/tenants/umbrella/roles/api-user/members/users/${umbrella.userId}`],
      ['DELETE', '/tenants/umbrella/roles/api-user/members/clients/web-app'],
      ['GET', '/tenants/no-such-tenant/roles'],
    ];
    for (const [method, path, body] of attempts) {
      const result = await call(gh, token, method, path, body);
      expect(result.status, `${method} ${path}`).toBe(403);
      expect(JSON.stringify(result.body)).not.toContain(umbrella.api);
    }
    expect((await call(gh, token, 'GET', '/tenants/acme/roles?tenant=umbrella')).status).toBe(400);
    expect((await call(gh, token, 'POST', '/tenants/acme/roles', { name: 'x', tenant: 'umbrella', permissions: [] })).status).toBe(400);
    // Ids of tenant B do not exist in tenant A.
    expect((await call(gh, token, 'POST', '/tenants/acme/roles/api-user/members', { user_id: umbrella.userId })).status).toBe(404);
    expect((await call(gh, token, 'DELETE', `/tenants/acme/roles/api-user/members/users/${umbrella.userId}`)).status).toBe(404);
    expect((await gh.app.users.findById('umbrella', umbrella.userId))!.roles).toEqual(aliceRoles);
    expect(await gh.app.roles.find('umbrella', 'planted')).toBeNull();
    expect((await gh.app.roles.find('umbrella', 'api-user'))!.permissions).toHaveLength(2);
    expect(await gh.app.clients.rolesOf('umbrella', 'web-app')).toEqual(webAppRoles);
    expect(await auditCount('umbrella')).toBe(before);
  });
});
