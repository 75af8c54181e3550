import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { tenantAdmin } from './client-helpers.js';
import { adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  for (const id of ['initech', 'hooli']) expect((await call(gh, root, 'POST', '/tenants', { id, display_name: id })).status).toBe(201);
});
afterAll(() => gh.stop());

const kidsInJwks = async (tenant: string) => ((await (await fetch(`${gh.issuer(tenant)}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);

describe('GET /tenants/{tenant}/keys', () => {
  it('lists every key with its state and times, and nothing secret', async () => {
    const listed = await call(gh, root, 'GET', '/tenants/initech/keys');
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    const items = listed.body.items!;
    expect(items.map((key) => [key['kind'], key['alg'], key['use'], key['state']]).sort()).toEqual([
      ['cookie', null, null, 'active'],
      ['signing', 'ES256', 'sig', 'active'],
      ['signing', 'RS256', 'sig', 'active'],
    ]);
    for (const key of items) {
      expect(Object.keys(key).sort()).toEqual(['activates_at', 'alg', 'created_at', 'kid', 'kind', 'retires_at', 'state', 'unpublish_at', 'use']);
    }
    const text = JSON.stringify(listed.body);
    for (const secret of ['"d"', '"p"', '"q"', 'secret', 'private']) expect(text).not.toContain(secret);
  });
});

describe('POST /tenants/{tenant}/keys/rotate', () => {
  it('adds next keys that the JWKS publishes at once, audited, and by default waits for the JWKS cache and the refresh interval', async () => {
    const before = Date.now();
    const rotated = await call(gh, root, 'POST', '/tenants/initech/keys/rotate', {});
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    // Default: max(2 x tenants.refreshSeconds, keys.jwksCacheSeconds + tenants.refreshSeconds) = max(600, 600).
    const activatesAt = Date.parse(rotated.body['activates_at'] as string);
    expect(activatesAt - before).toBeGreaterThanOrEqual(600_000);
    expect(activatesAt - Date.now()).toBeLessThanOrEqual(600_000);
    const next = (rotated.body['keys'] as Array<Record<string, unknown>>).filter((key) => key['state'] === 'next');
    expect(next).toHaveLength(3);
    const published = await kidsInJwks('initech');
    for (const key of next.filter((item) => item['kind'] === 'signing')) expect(published).toContain(key['kid']);

    const events = await call(gh, root, 'GET', '/tenants/initech/audit-events?type=keys.rotated');
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items![0]).toMatchObject({ target: { type: 'tenant', id: 'initech' }, after: { activates_at: rotated.body['activates_at'] } });
  });

  it('refuses an activation sooner than relying parties may cache the JWKS unless forced, and says what to do', async () => {
    const soon = await call(gh, root, 'POST', '/tenants/hooli/keys/rotate', { activate_in_seconds: 60 });
    expect(soon.status).toBe(400);
    expect(soon.body.error_description).toContain('600');
    expect(soon.body.error_description).toContain('force');
    const forced = await call(gh, root, 'POST', '/tenants/hooli/keys/rotate', { activate_in_seconds: 0, force: true });
    expect(forced.status, JSON.stringify(forced.body)).toBe(200);
    expect(Date.parse(forced.body['activates_at'] as string)).toBeLessThanOrEqual(Date.now());
  });

  it('refuses bad input', async () => {
    for (const body of [
      { activate_in_seconds: '600' },
      { activate_in_seconds: -1 },
      { activate_in_seconds: 1.5 },
      { activate_in_seconds: 1e12 },
      { activate_in_seconds: 30 * 86400 + 1 },
      { activate_in_seconds: null },
      { force: 'yes' },
      { activate_in_seconds: 600, kid: 'mine' },
      { activate_in_seconds: { $gt: 0 } },
    ]) {
      const refused = await call(gh, root, 'POST', '/tenants/hooli/keys/rotate', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
    }
    expect((await call(gh, root, 'POST', '/tenants/hooli/keys/rotate', '[1]')).status).toBe(400);
    expect((await call(gh, root, 'POST', '/tenants/nope/keys/rotate', {})).status).toBe(404);
    expect((await call(gh, root, 'GET', '/tenants/nope/keys')).status).toBe(404);
    expect((await call(gh, root, 'GET', '/tenants/hooli/keys?limit=5')).status).toBe(400);
  });

  it('needs the keys scopes, and a tenant admin acts on its own tenant only', async () => {
    const { token: reader } = await tenantAdmin(gh, 'initech', 'initech-reader', ['admin:keys:read']);
    expect((await call(gh, reader, 'GET', '/tenants/initech/keys')).status).toBe(200);
    expect((await call(gh, reader, 'POST', '/tenants/initech/keys/rotate', {})).status).toBe(403);
    const { token: other } = await tenantAdmin(gh, 'initech', 'initech-users', ['admin:users:read']);
    expect((await call(gh, other, 'GET', '/tenants/initech/keys')).status).toBe(403);
    const { token: rotator } = await tenantAdmin(gh, 'initech', 'initech-keys', ['admin:keys:read', 'admin:keys:write']);
    expect((await call(gh, rotator, 'GET', '/tenants/hooli/keys')).status).toBe(403);
    expect((await call(gh, rotator, 'POST', '/tenants/hooli/keys/rotate', {})).status).toBe(403);
    expect((await call(gh, undefined, 'GET', '/tenants/initech/keys')).status).toBe(401);
    const own = await call(gh, rotator, 'POST', '/tenants/initech/keys/rotate', { activate_in_seconds: 3600 });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
  });

  it('holds a tenant to 20 key sets under parallel rotations, and refuses more until older ones leave', async () => {
    const cookieKeys = async () => (await call(gh, root, 'GET', '/tenants/hooli/keys')).body.items!.filter((key) => key['kind'] === 'cookie').length;
    const rotate = () => call(gh, root, 'POST', '/tenants/hooli/keys/rotate', {});
    expect((await Promise.all(Array.from({ length: 4 }, rotate))).map((result) => result.status)).toEqual([200, 200, 200, 200]);
    while ((await cookieKeys()) < 17) expect((await rotate()).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 6 }, rotate));
    expect(burst.filter((result) => result.status === 200)).toHaveLength(3);
    const refused = burst.filter((result) => result.status !== 200);
    expect(refused.map((result) => result.status)).toEqual([409, 409, 409]);
    expect(refused[0]!.body.error_description).toContain('20 key sets');
    expect(await cookieKeys()).toBe(20);
    expect((await kidsInJwks('hooli')).length).toBe(40);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gh.origin}/admin/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(doc.paths['/tenants/{tenant}/keys']?.['get']).toBeTruthy();
    expect(doc.paths['/tenants/{tenant}/keys/rotate']?.['post']).toBeTruthy();
  });
});
