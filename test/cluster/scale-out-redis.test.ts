/**
 * Issue 8's production shape in one test process: three instances that share nothing in memory but
 * the durable store's handle, with short-lived state and the change feed on one real redis-server
 * (opened exactly as a start opens them), behind a round-robin balancer. Every hop of a flow lands
 * on another instance.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, call } from '../admin/helpers.js';
import { Browser, expectPage } from '../helpers/browser.js';
import { clientCredentialsEverywhere, startCluster, type Cluster } from '../helpers/cluster.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant } from '../helpers/gatehouse.js';
import { authorize, openLoginPage, relyingParty, wrongPasswordBurst } from '../helpers/login.js';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

describe.runIf(redisServerAvailable())('three instances on one Redis behind a balancer', () => {
  let redis: RedisServer;
  let cluster: Cluster;
  let acme: SeededTenant;
  let rp: client.Configuration;
  let token: string;

  /** Requests the balancer sent to each instance since `before`. */
  const servedSince = (before: number[]) => cluster.balancer.served.map((count, index) => count - (before[index] ?? 0));

  beforeAll(async () => {
    redis = await startRedisServer();
    cluster = await startCluster({
      size: 3,
      redisUrl: redis.url,
      shortLived: 'redis',
      overrides: { bootstrap: { clientId: 'ops-bot', clientSecret: 'ops-bot-secret-0123456789abcdefghijklmnop' } },
    });
    acme = await seedTenant({ app: cluster.instances[0]!.app }, 'acme');
    rp = await relyingParty(cluster.gh, 'acme', acme.client.clientId, acme.client.clientSecret);
    token = await adminToken(cluster.gh);
  });
  afterAll(async () => {
    await cluster?.close();
    await redis?.close();
  });

  it('keeps short-lived state in Redis on every instance', () => {
    expect(cluster.instances.map((instance) => instance.app.ephemeral.kind)).toEqual(['redis', 'redis', 'redis']);
    expect(cluster.instances.map((instance) => instance.app.changes.kind)).toEqual(['redis', 'redis', 'redis']);
  });

  it('signs in, refreshes, revokes and signs out with every hop on another instance', async () => {
    const before = [...cluster.balancer.served];
    const browser = new Browser(cluster.gh.origin);
    const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: acme.client.redirectUri });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.sub).toBe(acme.userId);
    // The session, interaction and code written by one instance were read by the others.
    expect(servedSince(before).every((count) => count >= 2)).toBe(true);

    const userinfo = await client.fetchUserInfo(rp, tokens.access_token, acme.userId);
    expect(userinfo.email).toBe('alice@example.com');
    const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);

    await client.tokenRevocation(rp, refreshed.refresh_token ?? tokens.refresh_token!);
    await expect(client.refreshTokenGrant(rp, refreshed.refresh_token ?? tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Revoking the grant's refresh token ends its access tokens too, on every instance.
    const introspections = await Promise.all([0, 1, 2].map(() => client.tokenIntrospection(rp, refreshed.access_token)));
    expect(introspections.map((answer) => answer.active)).toEqual([false, false, false]);

    // RP-initiated logout: the confirmation page on one instance, the POST on the next.
    const logout = client.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/signed-out' });
    const confirm = expectPage(await browser.navigate(logout.href));
    const done = await browser.submit(confirm, 'form', {}, 'http://127.0.0.1:9/signed-out', { button: { name: 'logout', value: 'yes' } });
    expect('redirectedTo' in done && done.redirectedTo).toMatch(/^http:\/\/127\.0\.0\.1:9\/signed-out/);
    // Signed out everywhere: a new authorization request shows the login page again.
    const again = await openLoginPage(browser, rp, acme.client.redirectUri);
    expect(again.$('form[action$="/password"]').length).toBe(1);
  });

  it('lets exactly one of 20 parallel redemptions of one code win, spread over the instances', async () => {
    const { callback, verifier, state } = await authorize(new Browser(cluster.gh.origin), rp, { redirectUri: acme.client.redirectUri });
    const code = callback.searchParams.get('code')!;
    expect(callback.searchParams.get('state')).toBe(state);
    const credentials = Buffer.from(`${acme.client.clientId}:${acme.client.clientSecret}`).toString('base64');
    const before = [...cluster.balancer.served];
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const response = await fetch(`${cluster.gh.issuer('acme')}/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: acme.client.redirectUri, code_verifier: verifier }),
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(19);
    expect(servedSince(before).every((count) => count >= 6)).toBe(true);
  });

  it('holds 40 parallel wrong passwords spread over the instances to the limit', async () => {
    const app = cluster.instances[0]!.app;
    await app.users.create('acme', { username: 'racer', passwordHash: await app.passwords.hash(TEST_PASSWORD) });
    const statuses = await wrongPasswordBurst(cluster.gh.origin, rp, acme.client.redirectUri, 'racer', 40);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(30);
  });

  it('refuses a rotated client secret on every instance once the rotation has answered', async () => {
    const created = await call(cluster.instances[1]!.direct, token, 'POST', '/tenants/acme/clients', { client_id: 'rotor', client_name: 'Rotor', grant_types: ['client_credentials'], redirect_uris: [] });
    expect(created.status).toBe(201);
    const secret = String(created.body['client_secret']);
    const everywhere = (value: string) => clientCredentialsEverywhere(cluster, 'acme', 'rotor', value);
    expect(await everywhere(secret)).toEqual([200, 200, 200]);
    const rotated = await call(cluster.instances[2]!.direct, token, 'POST', '/tenants/acme/clients/rotor/rotate-secret');
    expect(rotated.status).toBe(200);
    expect(await everywhere(secret)).toEqual([401, 401, 401]);
    expect(await everywhere(String(rotated.body['client_secret']))).toEqual([200, 200, 200]);
  });

  it('finishes a login started before every instance was restarted', async () => {
    const browser = new Browser(cluster.gh.origin);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(rp, {
      redirect_uri: acme.client.redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      prompt: 'consent',
    });
    const login = expectPage(await browser.navigate(url.href, {}, acme.client.redirectUri));
    expect(login.$('form[action$="/password"]').length).toBe(1);
    // Every process goes away and comes back with nothing in memory: a rolling restart at its worst.
    for (const index of [0, 1, 2]) await cluster.restart(index);
    const consent = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }, acme.client.redirectUri));
    const back = await browser.submit(consent, 'form[action$="/consent"]', {}, acme.client.redirectUri);
    expect('redirectedTo' in back).toBe(true);
    const callback = new URL((back as { redirectedTo: string }).redirectedTo);
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.sub).toBe(acme.userId);
  });

  it('fails closed while Redis is down and signs people in again within seconds of its return', async () => {
    const ready = () => Promise.all(cluster.instances.map(async (instance) => (await fetch(`${instance.server.url}/readyz`)).status));
    expect(await ready()).toEqual([200, 200, 200]);
    const browser = new Browser(cluster.gh.origin);
    const page = await openLoginPage(browser, rp, acme.client.redirectUri);

    await redis.kill();
    // Nothing that needs short-lived state answers other than 503: no login, no token.
    const submitted = await browser.submit(page, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD });
    expect(expectPage(submitted).status).toBe(503);
    const tokenStatuses = await clientCredentialsEverywhere(cluster, 'acme', acme.client.clientId, acme.client.clientSecret);
    expect(tokenStatuses).toEqual([503, 503, 503]);
    expect(await ready()).toEqual([503, 503, 503]);
    expect(await Promise.all(cluster.instances.map(async (instance) => (await fetch(`${instance.server.url}/healthz`)).status))).toEqual([200, 200, 200]);

    await redis.start();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await ready()).some((status) => status !== 200)) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await ready()).toEqual([200, 200, 200]);
    // Redis came back empty (no persistence): the old sign-in is gone, a new one works end to end.
    const { callback, verifier, state } = await authorize(new Browser(cluster.gh.origin), rp, { redirectUri: acme.client.redirectUri });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.sub).toBe(acme.userId);
  });
});
