import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { tenantAdmin } from './client-helpers.js';
import { adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  for (const id of ['initech', 'hooli', 'race-a', 'race-b', 'freed-a', 'freed-b']) {
    expect((await call(gh, root, 'POST', '/tenants', { id, display_name: id })).status).toBe(201);
  }
});
afterAll(() => gh.stop());

describe("a tenant's own admins", () => {
  let token: string;
  beforeAll(async () => {
    ({ token } = await tenantAdmin(gh, 'initech', 'initech-ops', ['admin:tenants', 'admin:audit:read']));
  });

  it('may change the display name, branding and password policy of their tenant', async () => {
    const changed = await call(gh, token, 'PATCH', '/tenants/initech', {
      display_name: 'Initech Inc.',
      branding: { accent_color: '#112233', logo_url: 'https://cdn.initech.example/logo.png' },
      security_policy: { password: { min_length: 14 }, mfa: 'off' },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ display_name: 'Initech Inc.', branding: { accent_color: '#112233' }, security_policy: { password: { min_length: 14 }, mfa: 'off' } });
    const events = await call(gh, token, 'GET', '/tenants/initech/audit-events?type=tenant.updated');
    expect(events.body.items![0]).toMatchObject({ actor: { type: 'client', id: 'initech-ops', tenant: 'initech' } });
  });

  it('may not set or clear custom_host: 403 naming the field, and nothing is written', async () => {
    for (const custom_host of ['login.initech.example', null]) {
      const refused = await call(gh, token, 'PATCH', '/tenants/initech', { display_name: 'Sneaky', custom_host });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('forbidden');
      expect(refused.body.error_description).toContain('"custom_host"');
    }
    const tenant = await gh.app.tenants.find('initech');
    expect(tenant?.customHost).toBeUndefined();
    expect(tenant?.displayName).not.toBe('Sneaky');
  });

  it('keep system-only fields system-only when an operator set them', async () => {
    expect((await call(gh, root, 'PATCH', '/tenants/initech', { custom_host: 'login.initech.example' })).status).toBe(200);
    const refused = await call(gh, token, 'PATCH', '/tenants/initech', { custom_host: 'login.hooli.example' });
    expect(refused.status).toBe(403);
    expect((await gh.app.tenants.find('initech'))?.customHost).toBe('login.initech.example');
    // Their own allowed changes leave the host alone.
    expect((await call(gh, token, 'PATCH', '/tenants/initech', { display_name: 'Initech' })).body['custom_host']).toBe('login.initech.example');
  });

  it('still cannot touch another tenant, nor send read-only fields', async () => {
    expect((await call(gh, token, 'PATCH', '/tenants/hooli', { display_name: 'Owned' })).status).toBe(403);
    for (const body of [{ id: 'hooli' }, { issuer: 'https://evil.example' }, { created_at: '2020-01-01T00:00:00Z' }, { custom_host: { $ne: null } }]) {
      expect((await call(gh, token, 'PATCH', '/tenants/initech', body)).status).toBe(400);
    }
    expect((await gh.app.tenants.find('hooli'))?.displayName).toBe('hooli');
  });
});

describe('custom_host', () => {
  it('belongs to one tenant: a second tenant asking for it gets 409, on create and on update', async () => {
    expect((await call(gh, root, 'PATCH', '/tenants/hooli', { custom_host: 'login.hooli.example' })).status).toBe(200);
    const taken = await call(gh, root, 'PATCH', '/tenants/race-a', { custom_host: 'login.hooli.example' });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toBe('conflict');
    expect(taken.body.error_description).toContain('login.hooli.example');
    const created = await call(gh, root, 'POST', '/tenants', { id: 'copycat', display_name: 'Copycat', custom_host: 'login.hooli.example' });
    expect(created.status).toBe(409);
    expect(created.body.error_description).toContain('custom_host');
    expect(await gh.app.tenants.find('copycat')).toBeNull();
    expect((await gh.app.tenants.find('race-a'))?.customHost).toBeUndefined();
    // Setting a tenant's own host again is no conflict.
    expect((await call(gh, root, 'PATCH', '/tenants/hooli', { custom_host: 'login.hooli.example', display_name: 'Hooli' })).status).toBe(200);
  });

  it('given to two tenants at once: exactly one wins', async () => {
    const host = 'shared.race.example';
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(gh, root, 'PATCH', `/tenants/${i % 2 ? 'race-b' : 'race-a'}`, { custom_host: host })),
    );
    const winners = new Set(results.filter((result) => result.status === 200).map((result) => result.body['id']));
    expect(winners.size).toBe(1);
    expect(results.every((result) => result.status === 200 || result.status === 409)).toBe(true);
    const holders = [await gh.app.tenants.find('race-a'), await gh.app.tenants.find('race-b')].filter((tenant) => tenant?.customHost === host);
    expect(holders).toHaveLength(1);
  });

  it('is freed by clearing it (null), so another tenant can take it', async () => {
    const host = 'moving.example';
    expect((await call(gh, root, 'PATCH', '/tenants/freed-a', { custom_host: host })).status).toBe(200);
    expect((await call(gh, root, 'PATCH', '/tenants/freed-b', { custom_host: host })).status).toBe(409);
    const cleared = await call(gh, root, 'PATCH', '/tenants/freed-a', { custom_host: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body['custom_host']).toBeNull();
    const moved = await call(gh, root, 'PATCH', '/tenants/freed-b', { custom_host: host });
    expect(moved.status).toBe(200);
    expect(moved.body['custom_host']).toBe(host);
    // Two tenants without a host never collide.
    expect((await call(gh, root, 'PATCH', '/tenants/freed-a', { custom_host: null })).status).toBe(200);
    expect((await call(gh, root, 'PATCH', '/tenants/race-a', { custom_host: null, display_name: 'Race A' })).status).toBe(200);
  });

  it('refuses malformed hosts with 400', async () => {
    for (const custom_host of ['Login.Example.COM', 'localhost', 'a..example', '-x.example', `${'a'.repeat(64)}.example`, 'x.example:8443', 'https://x.example', 42, '']) {
      const result = await call(gh, root, 'PATCH', '/tenants/freed-a', { custom_host });
      expect(result.status, String(custom_host)).toBe(400);
      expect(result.body.error_description).toContain('"custom_host"');
    }
  });
});

/**
 * `security_policy.self_service.account_deletion` (issue 14): off by default, set and cleared
 * through the admin API, merged with the rest of the policy, and refused when it is not a boolean.
 */
describe('self-service account deletion switch', () => {
  it('is off by default, turns on and off, and merges with the rest of the policy', async () => {
    expect((await call(gh, root, 'POST', '/tenants', { id: 'ss-a', display_name: 'A', security_policy: { mfa: 'required' } })).status).toBe(201);
    expect((await call(gh, root, 'GET', '/tenants/ss-a')).body).toMatchObject({ security_policy: { self_service: { account_deletion: false }, mfa: 'required' } });
    const on = await call(gh, root, 'PATCH', '/tenants/ss-a', { security_policy: { self_service: { account_deletion: true } } });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body).toMatchObject({ security_policy: { self_service: { account_deletion: true }, mfa: 'required', require_pkce: true } });
    expect((await gh.app.tenants.find('ss-a'))!.securityPolicy!.selfService).toEqual({ accountDeletion: true });
    // Another part of the policy changed leaves the switch as it is.
    expect((await call(gh, root, 'PATCH', '/tenants/ss-a', { security_policy: { mfa: 'optional', self_service: {} } })).body).toMatchObject({ security_policy: { self_service: { account_deletion: true }, mfa: 'optional' } });
    const off = await call(gh, root, 'PATCH', '/tenants/ss-a', { security_policy: { self_service: { account_deletion: null } } });
    expect(off.body).toMatchObject({ security_policy: { self_service: { account_deletion: false } } });
    expect((await gh.app.tenants.find('ss-a'))!.securityPolicy!.selfService).toEqual({});
    expect((await call(gh, root, 'POST', '/tenants', { id: 'ss-b', display_name: 'B', security_policy: { self_service: { account_deletion: true } } })).body).toMatchObject({ security_policy: { self_service: { account_deletion: true } } });
  });

  it('refuses anything but a boolean, and unknown switches', async () => {
    expect((await call(gh, root, 'POST', '/tenants', { id: 'ss-c', display_name: 'C' })).status).toBe(201);
    for (const self_service of [{ account_deletion: 'yes' }, { account_deletion: 1 }, { account_deletion: true, delete_everyone: true }, 'on', null, []]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/ss-c', { security_policy: { self_service } });
      expect(refused.status, JSON.stringify(self_service)).toBe(400);
    }
    expect((await call(gh, root, 'GET', '/tenants/ss-c')).body).toMatchObject({ security_policy: { self_service: { account_deletion: false } } });
  });

  it('is in the OpenAPI document', async () => {
    const doc = await call(gh, undefined, 'GET', '/openapi.json');
    expect(JSON.stringify(doc.body)).toContain('account_deletion');
  });
});
