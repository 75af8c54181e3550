import argon2 from 'argon2';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { TEST_PASSWORD, seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, openLoginPage, relyingParty } from '../helpers/login.js';

async function seedClient(tenant: string) {
  const { clientSecret } = await gh.app.clients.create(tenant, { client_id: 'svc', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] });
  const api = `https://api.${tenant}.example`;
  await gh.app.resources.create(tenant, { identifier: api, name: 'API', scopes: [{ name: 'read' }] });
  return { rp: await relyingParty(gh, tenant, 'svc', clientSecret), api };
}

let gh: TestGatehouse;

describe('operations', () => {
  let acme: SeededTenant;
  let rp: client.Configuration;

  beforeAll(async () => {
    gh = await startGatehouse();
    acme = await seedTenant(gh, 'acme');
    rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  });
  afterAll(() => gh.stop());

  it('sets security headers on our pages and on the provider’s answers', async () => {
    const page = await openLoginPage(new Browser(gh.origin), rp, acme.client.redirectUri);
    for (const headers of [page.headers, (await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`)).headers]) {
      expect(headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('referrer-policy')).toBe('same-origin');
    }
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('writes only public-URL endpoints into discovery whatever Host the client sends, on the first and later requests', async () => {
    const { request } = await import('node:http');
    const get = () =>
      new Promise<{ headers: Record<string, unknown>; body: Record<string, string> }>((resolve, reject) => {
        const url = new URL(`${gh.issuer('fresh')}/.well-known/openid-configuration`);
        request(url, { headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ headers: res.headers, body: JSON.parse(text) as Record<string, string> }));
        }).on('error', reject).end();
      });
    await gh.app.tenants.create({ id: 'fresh', displayName: 'Fresh' });
    // The first request builds the tenant (through the root app); the second takes the fast path.
    for (const { headers, body } of [await get(), await get()]) {
      expect(body['issuer']).toBe(gh.issuer('fresh'));
      expect(body['token_endpoint']).toBe(`${gh.issuer('fresh')}/token`);
      expect(body['authorization_endpoint']).toBe(`${gh.issuer('fresh')}/auth`);
      expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(headers['content-security-policy']).toContain("default-src 'none'");
    }
  });

  it('keeps a well-formed incoming request id and replaces a hostile one', async () => {
    const kept = await fetch(`${gh.origin}/healthz`, { headers: { 'x-request-id': 'proxy-id-123' } });
    expect(kept.headers.get('x-request-id')).toBe('proxy-id-123');
    const replaced = await fetch(`${gh.origin}/healthz`, { headers: { 'x-request-id': '<script>alert(1)</script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('scopes provider cookies to the tenant path and makes them HttpOnly', async () => {
    const browser = new Browser(gh.origin);
    await openLoginPage(browser, rp, acme.client.redirectUri);
    expect(browser.cookies.length).toBeGreaterThan(0);
    for (const cookie of browser.cookies) expect(cookie.path.startsWith('/t/acme')).toBe(true);
    const raw = await fetch(
      client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' }),
      { redirect: 'manual' },
    );
    for (const line of raw.headers.getSetCookie()) expect(line.toLowerCase()).toContain('httponly');
  });

  it('gives the browser a new session id at every sign-in (no session fixation)', async () => {
    const browser = new Browser(gh.origin);
    const sessionId = () => browser.cookies.find((cookie) => cookie.name === '_session')?.value;
    await authorize(browser, rp, { redirectUri: acme.client.redirectUri, scope: 'openid' });
    const first = sessionId();
    expect(first).toBeTruthy();
    await authorize(browser, rp, { redirectUri: acme.client.redirectUri, scope: 'openid', extra: { prompt: 'login' } });
    const second = sessionId();
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);
  });

  it('upgrades a password hash made with weaker parameters when the user signs in', async () => {
    const weak = await argon2.hash(TEST_PASSWORD, { type: argon2.argon2i, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const user = await gh.app.users.create('acme', { username: 'legacy', passwordHash: weak });
    await authorize(new Browser(gh.origin), rp, { redirectUri: acme.client.redirectUri, username: 'legacy', scope: 'openid' });
    const after = await gh.app.users.findById('acme', user._id);
    expect(after?.passwordHash).not.toBe(weak);
    expect(after?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });

  it('rebuilds a tenant after eviction with what the store holds now (new keys are published)', async () => {
    const jwks = async () => ((await (await fetch(`${gh.issuer('acme')}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
    const before = await jwks();
    await gh.app.keys.rotate('acme');
    expect(await jwks()).toEqual(before);
    gh.gatehouse.pool.evict('acme');
    const after = await jwks();
    expect(after).toHaveLength(before.length + 2);
    expect(after).toEqual(expect.arrayContaining(before));
  });

  it('publishes a staged key at once but signs with it only from its activation time', async () => {
    await gh.app.tenants.create({ id: 'staged', displayName: 'Staged' });
    const staged = await seedClient('staged');
    const kidOfNewToken = async () => {
      const tokens = await client.clientCredentialsGrant(staged.rp, { resource: staged.api, scope: 'read' });
      return JSON.parse(Buffer.from(tokens.access_token.split('.')[0]!, 'base64url').toString()).kid as string;
    };
    const signingBefore = await kidOfNewToken();
    const { activatesAt } = await gh.app.keys.rotate('staged', { activateAfterSeconds: 3600 });
    gh.gatehouse.pool.evict('staged');
    const published = ((await (await fetch(`${gh.issuer('staged')}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
    expect(published).toHaveLength(4);
    expect(await kidOfNewToken()).toBe(signingBefore);
    // At activation time the new keys come first and sign.
    const later = await gh.app.keys.load('staged', new Date(activatesAt.getTime() + 1000));
    const newest = later!.jwks.keys.find((key) => key.alg === 'RS256')!.kid!;
    expect(newest).not.toBe(signingBefore);
    expect(published).toContain(newest);
    expect((await gh.app.keys.load('staged'))!.nextChange).toEqual(activatesAt);
  });

  it('builds a tenant once for many concurrent first requests', async () => {
    await gh.app.tenants.create({ id: 'busy', displayName: 'Busy' });
    const contexts = await Promise.all(Array.from({ length: 10 }, () => gh.gatehouse.pool.get('busy')));
    expect(new Set(contexts).size).toBe(1);
  });

  it('reports liveness always and readiness only while the store answers', async () => {
    expect((await fetch(`${gh.origin}/healthz`)).status).toBe(200);
    expect((await fetch(`${gh.origin}/readyz`)).status).toBe(200);
    await gh.app.store.close();
    const ready = await fetch(`${gh.origin}/readyz`);
    expect(ready.status).toBe(503);
    expect((await fetch(`${gh.origin}/healthz`)).status).toBe(200);
    // A request that needs the store fails closed with 503, and the process stays up.
    const login = await fetch(`${gh.issuer('unbuilt')}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
    expect(login.status).toBe(503);
    expect(await login.json()).toMatchObject({ error: 'store_unavailable' });
  });
});
