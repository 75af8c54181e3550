import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantKey } from '../../adapters/ephemeral.js';
import { clientAuthThrottle } from '../../src/oidc/client-auth-throttle.js';
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

  it('applies the per-client limit to secrets sent in the form body', async () => {
    const { clientSecret } = await gh.app.clients.create('acme', { client_id: 'poster', grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post' });
    const post = (secret: string) =>
      fetch(`${gh.issuer('acme')}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'poster', client_secret: secret }).toString(),
      });
    // Sent chunked (no Content-Length) half of the time: the client is still known before the check.
    const chunked = (secret: string) =>
      fetch(`${gh.issuer('acme')}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new Blob([new URLSearchParams({ grant_type: 'client_credentials', client_id: 'poster', client_secret: secret }).toString()]).stream(),
        duplex: 'half',
      } as RequestInit);
    for (let attempt = 0; attempt < 10; attempt += 1) expect((await (attempt % 2 ? chunked : post)(`wrong-${attempt}`)).status).toBe(401);
    expect((await chunked(clientSecret!)).status).toBe(429);
    // A chunked body over the provider's limit is refused without being buffered whole.
    const huge = await fetch(`${gh.issuer('acme')}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new Blob([`client_id=poster&x=${'a'.repeat(100_000)}`]).stream(), duplex: 'half' } as RequestInit);
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: 'invalid_request' });
    const blocked = await post(clientSecret!);
    expect(blocked.status).toBe(429);
    expect(await blocked.json()).toMatchObject({ error: 'invalid_client' });
    expect(await gh.app.attempts.failures(tenantKey('acme', 'client-auth', 'ip', '127.0.0.1'), 'client:poster', clientAuthThrottle.windowSeconds)).toBe(10);
  });

  it('applies it to client assertions (private_key_jwt) as well, keyed by the assertion’s subject', async () => {
    const { generateKeyPair, exportJWK, SignJWT } = await import('jose');
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    await gh.app.clients.create('acme', {
      client_id: 'signer',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig' }] },
    });
    const { privateKey: wrongKey } = await generateKeyPair('ES256');
    const assertion = (key: Parameters<InstanceType<typeof SignJWT>['sign']>[0]) =>
      new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuer('signer').setSubject('signer').setAudience(gh.issuer('acme')).setIssuedAt().setExpirationTime('1m').setJti(crypto.randomUUID()).sign(key);
    const grantWith = async (key: Parameters<InstanceType<typeof SignJWT>['sign']>[0]) =>
      fetch(`${gh.issuer('acme')}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion(key) }).toString(),
      });
    expect((await grantWith(privateKey)).status).toBe(200);
    for (let attempt = 0; attempt < 10; attempt += 1) expect((await grantWith(wrongKey)).status).toBe(401);
    expect((await grantWith(privateKey)).status).toBe(429);
  });

  it('does not refuse an honest client that keeps many requests in flight', async () => {
    const { clientSecret } = await gh.app.clients.create('acme', { client_id: 'busy', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] });
    const statuses = await Promise.all(Array.from({ length: 40 }, () => grant('busy', clientSecret!).then((response) => response.status)));
    expect(statuses.every((status) => status === 200)).toBe(true);
  });
});

describe('client authentication throttling under a burst', () => {
  it('counts before checking: of 200 simultaneous wrong secrets no more than 60 are checked', async () => {
    // A fresh server: no earlier failures from this address in its window.
    const fresh = await startGatehouse();
    try {
      await seedTenant(fresh, 'acme');
      const { clientSecret } = await fresh.app.clients.create('acme', { client_id: 'burst', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] });
      const send = (secret: string) =>
        fetch(`${fresh.issuer('acme')}/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`burst:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
      const statuses = await Promise.all(Array.from({ length: 200 }, (_, attempt) => send(`wrong-${attempt}`).then((response) => response.status)));
      const checked = statuses.filter((status) => status === 401).length;
      expect(checked).toBeLessThanOrEqual(clientAuthThrottle.clientAtAddress.failures + clientAuthThrottle.clientAtAddress.concurrent);
      expect(statuses.filter((status) => status === 429).length).toBe(200 - checked);
      expect((await send(clientSecret!)).status).toBe(429);
    } finally {
      await fresh.stop();
    }
  });
});
