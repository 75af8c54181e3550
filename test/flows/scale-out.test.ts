import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../adapters/index.js';
import type { Store } from '../../adapters/store.js';
import { loadConfig } from '../../config/load.js';
import { createAppContext, type AppContext } from '../../src/app-context.js';
import { ensureSystemTenant } from '../../src/seed.js';
import { startServer, type Gatehouse } from '../../src/server.js';
import { Browser } from '../helpers/browser.js';
import { freePort, seedTenant, type SeededTenant } from '../helpers/gatehouse.js';
import { authorize } from '../helpers/login.js';

/**
 * Two instances share one store and one public URL, with no sticky sessions: a "load balancer"
 * sends every request, browser or back-channel, to the next instance in turn.
 */
describe('two instances behind a round-robin balancer', () => {
  let store: Store;
  let instances: Array<{ app: AppContext; server: Gatehouse }>;
  let acme: SeededTenant;
  let publicOrigin: string;
  let next = 0;

  const balance = (url: URL): URL => {
    const target = instances[next++ % instances.length]!.server.url;
    return new URL(url.pathname + url.search, target);
  };

  beforeAll(async () => {
    const ports = [await freePort(), await freePort()];
    publicOrigin = `http://127.0.0.1:${ports[0]}`;
    const masterKey = randomBytes(32);
    store = await openStore({ kind: 'memory', dataDir: '.', mongodb: { database: 'unused' } });
    instances = [];
    for (const port of ports) {
      const config = loadConfig({ env: { NODE_ENV: 'test' }, overrides: { publicUrl: publicOrigin, host: '127.0.0.1', port, store: { kind: 'memory' }, masterKey: masterKey.toString('base64'), log: { level: 'silent' } } });
      const app = createAppContext(config, pino({ level: 'silent' }), store, masterKey);
      await ensureSystemTenant(app);
      instances.push({ app, server: await startServer(app, { host: '127.0.0.1', port }) });
    }
    const first = instances[0]!;
    acme = await seedTenant(first, 'acme');
  });
  afterAll(async () => {
    for (const instance of instances) await instance.server.close();
    await store.close();
  });

  it('completes sign-in, token, refresh and userinfo whichever instance each hop reaches', async () => {
    const balancedFetch: client.CustomFetch = (url, options) => fetch(balance(new URL(url)), options as RequestInit);
    const rp = await client.discovery(new URL(`${publicOrigin}/t/acme`), acme.client.clientId, acme.client.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
      [client.customFetch]: balancedFetch,
    });
    for (let round = 0; round < 3; round += 1) {
      const browser = new Browser(publicOrigin, balance);
      const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: acme.client.redirectUri });
      const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.claims()?.sub).toBe(acme.userId);
      const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
      const userinfo = await client.fetchUserInfo(rp, refreshed.access_token, acme.userId);
      expect(userinfo.email).toBe('alice@example.com');
      // A rotated refresh token replayed at the other instance still revokes the grant.
      await expect(client.refreshTokenGrant(rp, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
    // Both instances served requests.
    expect(next).toBeGreaterThan(20);
  });

  it('publishes one JWKS from every instance', async () => {
    const [a, b] = await Promise.all(instances.map(async ({ server }) => (await fetch(`${server.url}/t/acme/jwks`)).json()));
    expect(a).toEqual(b);
  });

  it('lets exactly one of 20 parallel redemptions win across instances', async () => {
    const rp = await client.discovery(new URL(`${publicOrigin}/t/acme`), acme.client.clientId, acme.client.clientSecret, undefined, { execute: [client.allowInsecureRequests] });
    const browser = new Browser(publicOrigin, balance);
    const { callback, verifier } = await authorize(browser, rp, { redirectUri: acme.client.redirectUri });
    const body = new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')!, code_verifier: verifier, redirect_uri: acme.client.redirectUri }).toString();
    const auth = `Basic ${Buffer.from(`${acme.client.clientId}:${acme.client.clientSecret}`).toString('base64')}`;
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(balance(new URL(`${publicOrigin}/t/acme/token`)), { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body }).then((response) => response.status),
      ),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
  });
});
