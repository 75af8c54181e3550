import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handOff } from '../../src/tenancy/handoff.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';
import { Browser } from '../helpers/browser.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, relyingParty } from '../helpers/login.js';

/**
 * Key states over time. The server's clock is injected and moved, so activation and the end of
 * publication are crossed without waiting; tokens themselves carry real times (the provider's own
 * clock), so an old token is verified as of the moment it was issued.
 */
const base = Date.now();
let offset = 0;
let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
let root: string;

interface KeyView {
  kid: string;
  kind: string;
  alg: string | null;
  use: string | null;
  state: string;
  activates_at: string;
  retires_at: string | null;
  unpublish_at: string | null;
}

beforeAll(async () => {
  gh = await startGatehouse({ bootstrap: BOOTSTRAP }, { clock: () => base + offset });
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
  root = await adminToken(gh);
});
afterAll(() => gh.stop());

async function jwks(): Promise<{ response: Response; set: JSONWebKeySet }> {
  const response = await fetch(`${gh.issuer('acme')}/jwks`);
  expect(response.status).toBe(200);
  return { response, set: (await response.json()) as JSONWebKeySet };
}

const kids = async () => (await jwks()).set.keys.map((key) => key.kid!);

/** The kid a token issued now is signed with (an RS256 JWT access token for the tenant's API). */
async function signingKid(): Promise<string> {
  const tokens = await client.clientCredentialsGrant(rp, { resource: acme.api, scope: 'read' });
  return decodeProtectedHeader(tokens.access_token).kid!;
}

async function keyList(): Promise<KeyView[]> {
  const listed = await call(gh, root, 'GET', '/tenants/acme/keys');
  expect(listed.status, JSON.stringify(listed.body)).toBe(200);
  return listed.body.items as unknown as KeyView[];
}

describe('key rotation', () => {
  it('publishes a next key before it signs, signs with it from its activation, and unpublishes the old key once its tokens have expired', async () => {
    const login = await authorize(new Browser(gh.origin), rp, { redirectUri: acme.client.redirectUri, scope: 'openid' });
    const tokens = await client.authorizationCodeGrant(rp, login.callback, { pkceCodeVerifier: login.verifier, expectedState: login.state });
    const oldIdToken = tokens.id_token!;
    const oldKid = decodeProtectedHeader(oldIdToken).kid!;
    expect(await signingKid()).toBe(oldKid);
    expect((await keyList()).find((key) => key.kid === oldKid)).toMatchObject({ state: 'active', alg: 'RS256', use: 'sig', retires_at: null, unpublish_at: null });

    const rotated = await call(gh, root, 'POST', '/tenants/acme/keys/rotate', { activate_in_seconds: 600 });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const activatesAt = Date.parse(rotated.body['activates_at'] as string);
    expect(activatesAt).toBe(base + offset + 600_000);

    // Published at once (the admin API evicts this instance's context), not signing yet.
    const next = (await keyList()).filter((key) => key.state === 'next');
    expect(next.map((key) => key.alg ?? 'cookie').sort()).toEqual(['ES256', 'RS256', 'cookie']);
    const newKid = next.find((key) => key.alg === 'RS256')!.kid;
    expect(await kids()).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(await signingKid()).toBe(oldKid);
    const old = (await keyList()).find((key) => key.kid === oldKid)!;
    expect(old).toMatchObject({ state: 'active', retires_at: new Date(activatesAt).toISOString() });

    // One second before activation nothing changes; at activation the new key signs (the pool
    // rebuilds the context at the state change, without an eviction).
    offset = activatesAt - base - 1000;
    expect(await signingKid()).toBe(oldKid);
    offset = activatesAt - base;
    expect(await signingKid()).toBe(newKid);
    const retired = (await keyList()).find((key) => key.kid === oldKid)!;
    expect(retired.state).toBe('retired');
    const unpublishAt = Date.parse(retired.unpublish_at!);
    // The longest lifetime of anything signed (a JWT access token of an API: up to a day) plus 5 minutes.
    expect(unpublishAt - activatesAt).toBe((86_400 + 300) * 1000);

    // Until then the old ID token still verifies with the JWKS a relying party fetches.
    offset = unpublishAt - base - 1000;
    const { set } = await jwks();
    expect(set.keys.map((key) => key.kid)).toContain(oldKid);
    const issuedAt = new Date((JSON.parse(Buffer.from(oldIdToken.split('.')[1]!, 'base64url').toString()) as { iat: number }).iat * 1000);
    const verified = await jwtVerify(oldIdToken, createLocalJWKSet(set), { issuer: gh.issuer('acme'), audience: acme.client.clientId, currentDate: issuedAt });
    expect(verified.protectedHeader.kid).toBe(oldKid);

    // Then it is gone from the JWKS, and a token it signed no longer verifies.
    offset = unpublishAt - base;
    const after = await jwks();
    expect(after.set.keys.map((key) => key.kid)).not.toContain(oldKid);
    expect(after.set.keys.map((key) => key.kid)).toContain(newKid);
    await expect(jwtVerify(oldIdToken, createLocalJWKSet(after.set), { currentDate: issuedAt })).rejects.toThrow(/no applicable key/i);
    expect((await keyList()).find((key) => key.kid === oldKid)!.state).toBe('unpublished');
    expect(await signingKid()).toBe(newKid);
  });
});

describe('JWKS and discovery responses', () => {
  const paths = ['/jwks', '/.well-known/openid-configuration'];

  it('carry Cache-Control and an ETag, and answer a matching If-None-Match with 304', async () => {
    for (const path of paths) {
      const first = await fetch(`${gh.issuer('acme')}${path}`);
      expect(first.status).toBe(200);
      const firstBody = await first.text();
      expect(first.headers.get('cache-control')).toBe('public, max-age=300');
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{16,}"$/);
      expect(first.headers.get('x-content-type-options')).toBe('nosniff');
      expect(first.headers.get('x-request-id')).toBeTruthy();
      expect(first.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(first.headers.get('access-control-allow-origin')).toBe('*');
      expect(first.headers.get('vary')).toBe('Origin');
      const cors = await fetch(`${gh.issuer('acme')}${path}`, { headers: { origin: 'https://rp.example' } });
      expect(cors.headers.get('access-control-allow-origin')).toBe('https://rp.example');
      expect(cors.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));

      for (const condition of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const again = await fetch(`${gh.issuer('acme')}${path}`, { headers: { 'if-none-match': condition } });
        expect(again.status, condition).toBe(304);
        expect(await again.text()).toBe('');
        expect(again.headers.get('etag')).toBe(etag);
        expect(again.headers.get('cache-control')).toBe('public, max-age=300');
        expect(again.headers.get('x-content-type-options')).toBe('nosniff');
      }
      for (const condition of ['"other"', 'garbage', etag.slice(0, -2) + '"']) {
        const changed = await fetch(`${gh.issuer('acme')}${path}`, { headers: { 'if-none-match': condition } });
        expect(changed.status, condition).toBe(200);
        expect(await changed.text()).toBe(firstBody);
      }
      const head = await fetch(`${gh.issuer('acme')}${path}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('etag')).toBe(etag);
      expect(await head.text()).toBe('');
    }
  });

  it('change their ETag when the keys change, and agree with what the provider itself serves, whatever Host the client sends', async () => {
    await gh.app.tenants.create({ id: 'fresh', displayName: 'Fresh' });
    // The first request builds the tenant through the Koa route: the same headers there.
    const first = await fetch(`${gh.issuer('fresh')}/jwks`);
    expect(first.headers.get('cache-control')).toBe('public, max-age=300');
    const etag = first.headers.get('etag');
    expect((await call(gh, root, 'POST', '/tenants/fresh/keys/rotate', { activate_in_seconds: 600 })).status).toBe(200);
    const after = await fetch(`${gh.issuer('fresh')}/jwks`, { headers: { 'if-none-match': etag! } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);

    // The provider on its own, reached the way Gatehouse hands requests to it.
    const tenant = (await gh.gatehouse.pool.get('fresh'))!;
    const bare: Server = createServer((req, res) => void handOff(tenant, req, res, new URL(gh.origin), '127.0.0.1'));
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    try {
      const bareOrigin = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
      for (const path of paths) {
        const fromProvider = await fetch(`${bareOrigin}/t/fresh${path}`);
        const providerBody = await fromProvider.text();
        expect(fromProvider.headers.get('etag')).toBeNull();
        for (const headers of [{} as Record<string, string>, { host: 'login.evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }]) {
          const served = await rawGet(`${gh.issuer('fresh')}${path}`, headers);
          expect(served.status).toBe(200);
          expect(served.body).toBe(providerBody);
          expect(served.headers['content-type']).toBe(fromProvider.headers.get('content-type'));
          expect(served.headers['access-control-allow-origin']).toBe('*');
        }
      }
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });

  it('echo the Origin for CORS as the provider does, and leave other methods and paths to the provider', async () => {
    const withOrigin = await fetch(`${gh.issuer('acme')}/jwks`, { headers: { origin: 'https://rp.example' } });
    expect(withOrigin.headers.get('access-control-allow-origin')).toBe('https://rp.example');
    expect(withOrigin.headers.get('vary')).toContain('Origin');
    const post = await fetch(`${gh.issuer('acme')}/jwks`, { method: 'POST' });
    expect(post.headers.get('etag')).toBeNull();
    expect(post.status).not.toBe(200);
    const slash = await fetch(`${gh.issuer('acme')}/jwks/`);
    expect(slash.headers.get('etag')).toBeNull();
  });
});

/** A GET with headers fetch will not send (Host). */
async function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
