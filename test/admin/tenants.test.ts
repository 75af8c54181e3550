import { adminAuthThrottle } from '../../src/admin/router.js';
import { mfaFactorTypes } from '../../src/domain/tenants.js';
import { POW_DIFFICULTY } from '../../src/domain/proof-of-work-settings.js';
import { SignJWT, importJWK } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';
import { adminApi, adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
});
afterAll(() => gh.stop());

describe('admin API authentication', () => {
  it('knows the bootstrap service account through GET /me', async () => {
    const me = await call(gh, root, 'GET', '/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenant: 'system', type: 'client', id: 'ops-bot', client_id: 'ops-bot', roles: ['gatehouse-admin'] });
    expect(me.body['scopes']).toContain('admin:tenants');
  });

  it('refuses a missing, malformed, foreign-audience or expired token with 401', async () => {
    const none = await call(gh, undefined, 'GET', '/me');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await call(gh, 'not-a-token', 'GET', '/me')).status).toBe(401);
    expect((await call(gh, 'a.b.c', 'GET', '/me')).status).toBe(401);

    // A valid token of the same tenant, but for another API.
    const acme = await seedTenant(gh, 'audience-test');
    const rp = await relyingParty(gh, 'audience-test', acme.client.clientId, acme.client.clientSecret);
    const other = await client.clientCredentialsGrant(rp, { resource: acme.api, scope: 'read' });
    const foreign = await call(gh, other.access_token, 'GET', '/me');
    expect(foreign.status).toBe(401);
    expect(foreign.body.error_description).toMatch(/audience/);

    // Signed with the system tenant's real key, but expired.
    const keys = await gh.app.keys.load('system');
    const jwk = keys!.jwks.keys.find((key) => key.alg === 'RS256')!;
    const expired = await new SignJWT({ scope: 'admin:tenants', client_id: 'ops-bot' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: jwk.kid! })
      .setIssuer(gh.issuer('system'))
      .setAudience(adminApi(gh))
      .setSubject('ops-bot')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(await importJWK(jwk, 'RS256'));
    const stale = await call(gh, expired, 'GET', '/me');
    expect(stale.status).toBe(401);
    expect(stale.body.error_description).toMatch(/expired/);
  });

  it('refuses a token without the scope a route needs with 403', async () => {
    const narrow = await adminToken(gh, { scope: 'admin:audit:read' });
    const result = await call(gh, narrow, 'POST', '/tenants', { id: 'nope', display_name: 'Nope' });
    expect(result.status).toBe(403);
    expect(result.body.error).toBe('insufficient_scope');
    expect((await gh.app.tenants.find('nope'))).toBeNull();
  });

  it("refuses a plain user's access token (no admin permissions) with 403", async () => {
    const acme = await seedTenant(gh, 'plain-users');
    // Users' admin tokens come only through clients an operator marked admin_console.
    await gh.app.clients.update('plain-users', 'web-app', { ...(await gh.app.clients.get('plain-users', 'web-app'))!.metadata, admin_console: true });
    gh.gatehouse.pool.evict('plain-users');
    const rp = await relyingParty(gh, 'plain-users', acme.client.clientId, acme.client.clientSecret);
    const { callback, verifier, state } = await authorize(new Browser(gh.origin), rp, { redirectUri: acme.client.redirectUri, scope: 'openid admin:users:read', extra: { resource: adminApi(gh) } });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: adminApi(gh) });
    const me = await call(gh, tokens.access_token, 'GET', '/me');
    expect(me.status).toBe(403);
    expect((await call(gh, tokens.access_token, 'GET', '/tenants/plain-users')).status).toBe(403);
  });

  it('refuses an authorization request for the admin API from a client not marked admin_console', async () => {
    const acme = await seedTenant(gh, 'no-console');
    const rp = await relyingParty(gh, 'no-console', acme.client.clientId, acme.client.clientSecret);
    const url = client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid admin:users:read', resource: adminApi(gh), code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
    const response = await fetch(url, { redirect: 'manual' });
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_target');
  });
});

describe('tenants', () => {
  it('creates, reads, lists, updates and deletes a tenant, writing audit events', async () => {
    const created = await call(gh, root, 'POST', '/tenants', { id: 'globex', display_name: 'Globex', branding: { accent_color: '#ff5500' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'globex', display_name: 'Globex', issuer: gh.issuer('globex'), branding: { accent_color: '#ff5500' } });
    expect(created.headers.get('location')).toBe('/admin/v1/tenants/globex');

    // The new tenant works at once: discovery names its issuer.
    const discovery = (await (await fetch(`${gh.issuer('globex')}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).toBe(gh.issuer('globex'));

    expect((await call(gh, root, 'GET', '/tenants/globex')).body['display_name']).toBe('Globex');
    const updated = await call(gh, root, 'PATCH', '/tenants/globex', { display_name: 'Globex Corp', security_policy: { mfa: 'off', password: { min_length: 12 } } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ display_name: 'Globex Corp', security_policy: { mfa: 'off', password: { min_length: 12 } } });

    // A PATCH of the policy merges: what it leaves out is kept, and only null removes a field.
    const defaultSms = { allowed_countries: null, message: '{code} is your {tenant} sign-in code.', webhook_url: null };
    const defaultCiba = { enabled: false, notifications: { sms: false, webhook: false }, webhook_url: null };
    const defaultRegistration = { enabled: false, fields: { email: 'required' }, verify_email: true };
    const defaultPow = { sign_up: false, sign_in_after_failures: null, password_reset: false, sms: false, difficulty: POW_DIFFICULTY.default };
    const merged = await call(gh, root, 'PATCH', '/tenants/globex', { security_policy: { mfa: 'off' } });
    expect(merged.body['security_policy']).toEqual({ mfa: 'off', mfa_factors: [...mfaFactorTypes], sms: defaultSms, password: { min_length: 12, breached_check: 'list' }, require_pkce: true, device_flow: { enabled: true, user_code_lifetime_seconds: 600 }, ciba: defaultCiba, registration: defaultRegistration, proof_of_work: defaultPow, self_service: { account_deletion: false } });
    const removed = await call(gh, root, 'PATCH', '/tenants/globex', { security_policy: { password: null } });
    expect(removed.body['security_policy']).toEqual({ mfa: 'off', mfa_factors: [...mfaFactorTypes], sms: defaultSms, password: { breached_check: 'list' }, require_pkce: true, device_flow: { enabled: true, user_code_lifetime_seconds: 600 }, ciba: defaultCiba, registration: defaultRegistration, proof_of_work: defaultPow, self_service: { account_deletion: false } });
    for (const bad of [{ password: 'strong' }, { password: { min_length: null } }, { require_pkce: null }, { password: { min_length: 7 } }]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/globex', { security_policy: bad });
      expect(refused.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await call(gh, root, 'GET', '/tenants/globex')).body['security_policy']).toEqual({ mfa: 'off', mfa_factors: [...mfaFactorTypes], sms: defaultSms, password: { breached_check: 'list' }, require_pkce: true, device_flow: { enabled: true, user_code_lifetime_seconds: 600 }, ciba: defaultCiba, registration: defaultRegistration, proof_of_work: defaultPow, self_service: { account_deletion: false } });

    const events = await call(gh, root, 'GET', '/tenants/globex/audit-events');
    expect(events.body.items!.map((event) => event['type'])).toEqual(['tenant.updated', 'tenant.updated', 'tenant.updated', 'tenant.created']);
    expect(events.body.items![0]).toMatchObject({ actor: { type: 'client', id: 'ops-bot', tenant: 'system' }, target: { type: 'tenant', id: 'globex' } });
    expect(events.body.items![0]!['request_id']).toMatch(/^[0-9a-f-]{36}$/);
    const filtered = await call(gh, root, 'GET', '/tenants/globex/audit-events?type=tenant.created');
    expect(filtered.body.items).toHaveLength(1);

    expect((await call(gh, root, 'DELETE', '/tenants/globex')).status).toBe(204);
    expect((await call(gh, root, 'GET', '/tenants/globex')).status).toBe(404);
    expect((await fetch(`${gh.issuer('globex')}/.well-known/openid-configuration`)).status).toBe(404);
  });

  it('pages the tenant list with a capped page size', async () => {
    for (const id of ['page-a', 'page-b', 'page-c']) await call(gh, root, 'POST', '/tenants', { id, display_name: id });
    const first = await call(gh, root, 'GET', '/tenants?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(first.body['next_cursor']).toBeTruthy();
    const second = await call(gh, root, 'GET', `/tenants?limit=2&cursor=${encodeURIComponent(String(first.body['next_cursor']))}`);
    expect(second.body.items![0]!['id']).not.toBe(first.body.items![1]!['id']);
    expect((await call(gh, root, 'GET', '/tenants?limit=1000')).status).toBe(400);
  });

  it('rejects bad input with a 400 naming the field, duplicates with 409, and writes nothing', async () => {
    const unknown = await call(gh, root, 'POST', '/tenants', { id: 'bad-1', display_name: 'Bad', created_at: '2020-01-01' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error_description).toContain('"created_at"');
    const wrongType = await call(gh, root, 'POST', '/tenants', { id: 'bad-2', display_name: 42 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error_description).toContain('"display_name"');
    const tooLong = await call(gh, root, 'POST', '/tenants', { id: 'bad-3', display_name: 'x'.repeat(101) });
    expect(tooLong.body.error_description).toContain('"display_name"');
    const badId = await call(gh, root, 'POST', '/tenants', { id: 'Bad_Id', display_name: 'Bad' });
    expect(badId.body.error_description).toContain('"id"');
    const injection = await call(gh, root, 'POST', '/tenants', { id: { $ne: null }, display_name: 'Bad' });
    expect(injection.status).toBe(400);
    const nestedInjection = await call(gh, root, 'PATCH', '/tenants/page-a', { branding: { $set: { accent_color: '#000000' } } });
    expect(nestedInjection.status).toBe(400);
    const malformed = await call(gh, root, 'POST', '/tenants', '{"id": "bad-4",');
    expect(malformed.status).toBe(400);
    const huge = await call(gh, root, 'POST', '/tenants', { id: 'bad-5', display_name: 'x'.repeat(100_000) });
    expect(huge.status).toBe(413);
    const form = await call(gh, root, 'POST', '/tenants', 'id=bad-6', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(400);
    for (const id of ['bad-1', 'bad-2', 'bad-3', 'bad-4', 'bad-5', 'bad-6']) expect(await gh.app.tenants.find(id)).toBeNull();

    expect((await call(gh, root, 'POST', '/tenants', { id: 'dup', display_name: 'Dup' })).status).toBe(201);
    const duplicate = await call(gh, root, 'POST', '/tenants', { id: 'dup', display_name: 'Dup again' });
    expect(duplicate.status).toBe(409);
    expect((await gh.app.tenants.find('dup'))?.displayName).toBe('Dup');
  });

  it('never deletes the system tenant', async () => {
    const result = await call(gh, root, 'DELETE', '/tenants/system');
    expect(result.status).toBe(403);
    expect(await gh.app.tenants.find('system')).not.toBeNull();
  });
});

describe('tenant admins', () => {
  it('act on their own tenant only, whatever the path, query, header or body say', async () => {
    await call(gh, root, 'POST', '/tenants', { id: 'initech', display_name: 'Initech' });
    await call(gh, root, 'POST', '/tenants', { id: 'hooli', display_name: 'Hooli' });
    // An admin service account of initech, holding tenant-admin permissions of the admin API.
    const api = adminApi(gh);
    await gh.app.roles.create('initech', { name: 'tenant-admin', permissions: ['admin:tenants', 'admin:audit:read'].map((scope) => ({ api, scope })) });
    const { clientSecret } = await gh.app.clients.create('initech', { client_id: 'initech-ops', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, { roles: ['tenant-admin'] });
    const token = await adminToken(gh, { tenant: 'initech', clientId: 'initech-ops', clientSecret: clientSecret!, scope: 'admin:tenants admin:audit:read' });

    const own = await call(gh, token, 'GET', '/tenants/initech');
    expect(own.status).toBe(200);
    const other = await call(gh, token, 'GET', '/tenants/hooli');
    expect(other.status).toBe(403);
    expect(JSON.stringify(other.body)).not.toContain('Hooli');
    const missing = await call(gh, token, 'GET', '/tenants/does-not-exist');
    expect(missing.status).toBe(403);
    expect((await call(gh, token, 'GET', '/tenants/hooli/audit-events')).status).toBe(403);
    expect((await call(gh, token, 'GET', '/tenants/initech?tenant=hooli')).status).toBe(400);
    const viaHeader = await call(gh, token, 'GET', '/tenants/initech', undefined, { 'x-tenant': 'hooli', 'x-gatehouse-tenant': 'hooli' });
    expect(viaHeader.body['id']).toBe('initech');
    const patchOther = await call(gh, token, 'PATCH', '/tenants/hooli', { display_name: 'Owned' });
    expect(patchOther.status).toBe(403);
    const bodyTenant = await call(gh, token, 'PATCH', '/tenants/initech', { id: 'hooli', display_name: 'Owned' });
    expect(bodyTenant.status).toBe(400);
    expect((await gh.app.tenants.find('hooli'))?.displayName).toBe('Hooli');
    // Creating, listing and deleting tenants is for system operators only.
    expect((await call(gh, token, 'POST', '/tenants', { id: 'sneaky', display_name: 'Sneaky' })).status).toBe(403);
    expect((await call(gh, token, 'GET', '/tenants')).status).toBe(403);
    expect((await call(gh, token, 'DELETE', '/tenants/initech')).status).toBe(403);
    const me = await call(gh, token, 'GET', '/me');
    expect(me.body).toMatchObject({ tenant: 'initech', roles: ['tenant-admin'] });
  });
});

describe('OpenAPI', () => {
  it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
    const response = await fetch(`${adminApi(gh)}/openapi.json`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { additionalProperties?: boolean; properties?: Record<string, unknown> } }> } }>> };
    expect(doc.openapi).toBe('3.1.0');
    const create = doc.paths['/tenants']!['post']!;
    const schema = create.requestBody!.content['application/json']!.schema;
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties!)).toContain('display_name');
    expect(doc.paths['/tenants/{tenant}/audit-events']).toBeDefined();
  });
});

describe('admin authentication throttling', () => {
  it('answers 429 with Retry-After once an address has failed too often, even with a good token', async () => {
    const other = await startAdminGatehouse();
    try {
      const good = await adminToken(other);
      let last = 0;
      for (let attempt = 0; attempt < 30; attempt += 1) last = (await call(other, `ghk_0000000000000000_${'x'.repeat(43)}`, 'GET', '/me')).status;
      expect(last).toBe(401);
      const blocked = await call(other, good, 'GET', '/me');
      expect(blocked.status).toBe(429);
      expect(blocked.body.error).toBe('too_many_requests');
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await other.stop();
    }
  });

  it('counts before checking: of 200 simultaneous bad tokens from one address at most 50 are checked', async () => {
    const other = await startAdminGatehouse();
    try {
      // Forged JWTs naming a tenant that is not built yet: checking each one waits for the build,
      // so checks made before failures are recorded would all pass a check-then-record throttle.
      const forged = (attempt: number) => `${Buffer.from('{"alg":"ES256","typ":"at+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: other.issuer('system'), jti: String(attempt) })).toString('base64url')}.${'A'.repeat(86)}`;
      const statuses = await Promise.all(Array.from({ length: 200 }, (_, attempt) => call(other, forged(attempt), 'GET', '/me').then((response) => response.status)));
      const checked = statuses.filter((status) => status === 401).length;
      expect(checked).toBeLessThanOrEqual(adminAuthThrottle.address.failures + adminAuthThrottle.address.concurrent);
      expect(statuses.filter((status) => status === 429).length).toBe(200 - checked);
    } finally {
      await other.stop();
    }
  });
});
