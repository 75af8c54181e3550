import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';

describe('client authentication throttling', () => {
  let gh: TestGatehouse;
  let acme: SeededTenant;
  let otherSecret: string;

  beforeAll(async () => {
    gh = await startGatehouse();
    acme = await seedTenant(gh, 'acme');
    otherSecret = (await gh.app.clients.create('acme', { client_id: 'other', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] })).clientSecret!;
  });
  afterAll(() => gh.stop());

  const grant = (clientId: string, secret: string, extraHeaders: Record<string, string> = {}) =>
    fetch(`${gh.issuer('acme')}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', ...extraHeaders },
      body: 'grant_type=client_credentials',
    });

  it('answers 429 with Retry-After after 10 wrong secrets for one client from one address, even for the right secret', async () => {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      // trustProxy is off: a forged X-Forwarded-For must not give each attempt a fresh address.
      const response = await grant('web-app', `wrong-${attempt}`, { 'x-forwarded-for': `203.0.113.${attempt}` });
      expect(response.status).toBe(401);
    }
    const blocked = await grant('web-app', acme.client.clientSecret);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.json()).toMatchObject({ error: 'invalid_client' });
    // Another client from the same address is not affected.
    expect((await grant('other', otherSecret)).status).toBe(200);
  });

  it('counts client_secret_post failures too', async () => {
    const post = (secret: string) =>
      fetch(`${gh.issuer('acme')}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'other', client_secret: secret }).toString(),
      });
    // `other` authenticates with client_secret_basic, so every post-style attempt is invalid_client.
    const statuses = [];
    for (let attempt = 0; attempt < 12; attempt += 1) statuses.push((await post(`wrong-${attempt}`)).status);
    expect(statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(10);
    expect(await gh.app.attempts.retryAfter(`client-auth:acme:client:other:ip:127.0.0.1`, { limit: 10, windowSeconds: 300 })).toBeGreaterThan(0);
  });
});
