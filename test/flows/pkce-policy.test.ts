import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, call, startAdminGatehouse } from '../admin/helpers.js';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';

const CHALLENGE = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
});
afterAll(() => gh.stop());

/**
 * An authorization request without a browser: where the provider sends it. A request it accepts goes
 * on to the login interaction; one it refuses goes back to the client with `error`.
 */
async function authorization(tenant: string, clientId: string, pkce: boolean) {
  const url = new URL(`${gh.issuer(tenant)}/auth`);
  url.search = new URLSearchParams({ client_id: clientId, redirect_uri: 'http://127.0.0.1:9/callback', response_type: 'code', scope: 'openid', ...(pkce ? CHALLENGE : {}) }).toString();
  const response = await fetch(url, { redirect: 'manual' });
  await response.text();
  const location = new URL(response.headers.get('location') ?? '', url);
  return { status: response.status, error: location.searchParams.get('error'), description: location.searchParams.get('error_description'), toLogin: location.pathname.includes('/interaction/') };
}

describe('PKCE policy', () => {
  it('new tenants require PKCE of every client; a confidential client without it is refused with invalid_request', async () => {
    const created = await call(gh, root, 'POST', '/tenants', { id: 'strict', display_name: 'Strict' });
    expect(created.status).toBe(201);
    expect(created.body['security_policy']).toMatchObject({ require_pkce: true });
    await seedTenant(gh, 'seeded');
    for (const tenant of ['strict', 'seeded']) {
      if (tenant === 'strict') await gh.app.clients.create('strict', { client_id: 'web-app', redirect_uris: ['http://127.0.0.1:9/callback'], grant_types: ['authorization_code'], response_types: ['code'] });
      expect(await authorization(tenant, 'web-app', false), tenant).toMatchObject({ status: 303, error: 'invalid_request' });
      expect((await authorization(tenant, 'web-app', true)).toLogin, tenant).toBe(true);
    }
  });

  it('a tenant that turns the requirement off lets confidential clients go without PKCE, never public ones', async () => {
    await seedTenant(gh, 'relaxed');
    const changed = await call(gh, root, 'PATCH', '/tenants/relaxed', { security_policy: { require_pkce: false } });
    expect(changed.status).toBe(200);
    expect(changed.body['security_policy']).toMatchObject({ require_pkce: false });
    expect((await call(gh, root, 'GET', '/tenants/relaxed')).body['security_policy']).toMatchObject({ require_pkce: false });

    expect((await authorization('relaxed', 'web-app', false)).toLogin).toBe(true);
    expect(await authorization('relaxed', 'spa', false)).toMatchObject({ status: 303, error: 'invalid_request' });
    expect((await authorization('relaxed', 'spa', true)).toLogin).toBe(true);

    // Changing another part of the policy keeps the PKCE setting as it is.
    expect((await call(gh, root, 'PATCH', '/tenants/relaxed', { security_policy: { password: { min_length: 12 } } })).body['security_policy']).toMatchObject({ password: { min_length: 12 }, require_pkce: false });
    const strictAgain = await call(gh, root, 'PATCH', '/tenants/relaxed', { security_policy: { require_pkce: true } });
    expect(strictAgain.body['security_policy']).toMatchObject({ require_pkce: true });
    expect(await authorization('relaxed', 'web-app', false)).toMatchObject({ status: 303, error: 'invalid_request' });
  });

  it('a client that requires PKCE is refused without it, even where its tenant does not require it', async () => {
    await seedTenant(gh, 'per-client');
    await call(gh, root, 'PATCH', '/tenants/per-client', { security_policy: { require_pkce: false } });
    const strict = await call(gh, root, 'PATCH', '/tenants/per-client/clients/web-app', { require_pkce: true });
    expect(strict.status, JSON.stringify(strict.body)).toBe(200);
    expect(strict.body['require_pkce']).toBe(true);
    expect(await authorization('per-client', 'web-app', false)).toMatchObject({ status: 303, error: 'invalid_request' });
    expect((await authorization('per-client', 'web-app', true)).toLogin).toBe(true);

    const created = await call(gh, root, 'POST', '/tenants/per-client/clients', { client_id: 'strict-web', client_name: 'Strict web', redirect_uris: ['http://127.0.0.1:9/callback'], require_pkce: true });
    expect(created.status).toBe(201);
    expect(created.body['require_pkce']).toBe(true);
    expect(await authorization('per-client', 'strict-web', false)).toMatchObject({ status: 303, error: 'invalid_request' });

    // `false` on a client does not lift its tenant's requirement; `null` removes the client's own setting.
    await call(gh, root, 'PATCH', '/tenants/per-client', { security_policy: { require_pkce: true } });
    expect((await call(gh, root, 'PATCH', '/tenants/per-client/clients/web-app', { require_pkce: false })).status).toBe(200);
    expect(await authorization('per-client', 'web-app', false)).toMatchObject({ status: 303, error: 'invalid_request' });
    await call(gh, root, 'PATCH', '/tenants/per-client', { security_policy: { require_pkce: false } });
    const removed = await call(gh, root, 'PATCH', '/tenants/per-client/clients/web-app', { require_pkce: null });
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty('require_pkce');
    expect((await authorization('per-client', 'web-app', false)).toLogin).toBe(true);
  });

  it('refuses bad values for both settings with a 400 and changes nothing', async () => {
    await seedTenant(gh, 'bad-input');
    for (const value of ['true', 1, null, {}, ['yes']]) {
      const tenant = await call(gh, root, 'PATCH', '/tenants/bad-input', { security_policy: { require_pkce: value } });
      expect(tenant.status, JSON.stringify(value)).toBe(400);
      expect(tenant.body.error_description).toContain('require_pkce');
      const client = await call(gh, root, 'PATCH', '/tenants/bad-input/clients/web-app', { require_pkce: value === null ? 'no' : value });
      expect(client.status, JSON.stringify(value)).toBe(400);
      expect(client.body.error_description).toContain('require_pkce');
    }
    const created = await call(gh, root, 'POST', '/tenants', { id: 'bad-pkce', display_name: 'Bad', security_policy: { require_pkce: 'false' } });
    expect(created.status).toBe(400);
    expect((await call(gh, root, 'GET', '/tenants/bad-input')).body['security_policy']).toMatchObject({ require_pkce: true });
    expect((await call(gh, root, 'GET', '/tenants/bad-input/clients/web-app')).body).not.toHaveProperty('require_pkce');
  });
});
