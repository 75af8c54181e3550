/**
 * A backend that cannot be reached fails requests closed with 503, on the Koa route and on the
 * protocol fast path alike, and readiness says which backend is down while liveness stays green.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

let gh: TestGatehouse | undefined;
afterEach(async () => {
  await gh?.stop().catch(() => undefined);
  gh = undefined;
});

function clientCredentials(gh: TestGatehouse, client: { clientId: string; clientSecret: string }, resource: string) {
  return fetch(`${gh.issuer('acme')}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource }),
  });
}

describe('a backend that is down', () => {
  it('answers protocol requests of a built tenant (the fast path) with 503, not 500 and never a token', async () => {
    gh = await startGatehouse();
    const tenant = await seedTenant(gh, 'acme');
    const ok = await clientCredentials(gh, tenant.client, tenant.api);
    expect(ok.status).toBe(200);
    expect(gh.gatehouse.pool.peek('acme')).toBeDefined();

    await gh.app.store.close();
    const refused = await Promise.all(Array.from({ length: 5 }, () => clientCredentials(gh!, tenant.client, tenant.api)));
    for (const response of refused) {
      expect(response.status).toBe(503);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body['access_token']).toBeUndefined();
      // The backend's message (hosts, causes) is for the log only.
      expect(JSON.stringify(body)).not.toMatch(/closed|nedb|mongo/i);
    }
    // A route of the provider itself (userinfo looks the token up through the adapter) answers 503 too.
    const userinfo = await fetch(`${gh.issuer('acme')}/me`, { headers: { authorization: 'Bearer some-opaque-token', accept: 'application/json' } });
    expect(userinfo.status).toBe(503);
    const discovery = await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect((await fetch(`${gh.origin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gh.origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable', store: 'down' });
  });
});
