import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { adminToken, BOOTSTRAP, call } from './helpers.js';

let gh: TestGatehouse;
let root: string;

// Production's shape: keys are never generated on demand, so a tenant created in the store (CLI,
// migration) has none until an operator runs `gatehouse keys rotate --tenant <id>`.
beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP, keys: { autoGenerate: false } });
  await gh.app.keys.rotate('system');
  root = await adminToken(gh);
  await gh.app.tenants.create({ id: 'keyless', displayName: 'No keys yet' });
});
afterAll(() => gh.stop());

describe('client metadata of a tenant without keys', () => {
  it('is validated without building the tenant: a valid client is registered, an invalid one refused naming the field', async () => {
    const poolSize = gh.gatehouse.pool.size;
    const valid = await call(gh, root, 'POST', '/tenants/keyless/clients', { client_id: 'web', client_name: 'Web', redirect_uris: ['https://web.example/cb'] });
    expect(valid.status, JSON.stringify(valid.body)).toBe(201);
    expect(valid.body['client_secret']).toEqual(expect.any(String));

    const patched = await call(gh, root, 'PATCH', '/tenants/keyless/clients/web', { scope: 'openid profile' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);

    const account = await call(gh, root, 'POST', '/tenants/keyless/service-accounts', { name: 'Backend' });
    expect(account.status, JSON.stringify(account.body)).toBe(201);

    // Refusals that only oidc-provider's own client validation makes (the zod schemas let them through).
    const refusals: Array<[string, string, unknown, string]> = [
      ['POST', '/tenants/keyless/clients', { client_id: 'bad-1', client_name: 'Bad', redirect_uris: ['com.example.app:/cb'] }, '"redirect_uris"'],
      ['POST', '/tenants/keyless/clients', { client_id: 'bad-2', client_name: 'Bad', scope: 'openid admin:tenants' }, '"scope"'],
      ['POST', '/tenants/keyless/clients', { client_id: 'bad-3', client_name: 'Bad', grant_types: ['authorization_code'] }, '"redirect_uris"'],
      ['PATCH', '/tenants/keyless/clients/web', { scope: 'openid nonsense' }, '"scope"'],
    ];
    for (const [method, path, body, field] of refusals) {
      const result = await call(gh, root, method, path, body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error).toBe('invalid_request');
      expect(result.body.error_description, JSON.stringify(body)).toContain(field);
    }
    for (const id of ['bad-1', 'bad-2', 'bad-3']) expect(await gh.app.clients.get('keyless', id)).toBeNull();
    expect((await gh.app.clients.get('keyless', 'web'))!.metadata['scope']).toBe('openid profile');

    // Nothing built the tenant's provider: it still has no keys and the pool holds no more tenants.
    expect(await gh.app.keys.load('keyless')).toBeNull();
    expect(gh.gatehouse.pool.size).toBe(poolSize);
    expect(gh.gatehouse.pool.peek('keyless')).toBeUndefined();
  });

  it('still answers 404 for a tenant that does not exist', async () => {
    const result = await call(gh, root, 'POST', '/tenants/ghost/clients', { client_id: 'web', client_name: 'Web', redirect_uris: ['https://web.example/cb'] });
    expect(result.status).toBe(404);
  });
});
