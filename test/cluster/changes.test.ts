import { Redis } from 'ioredis';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeChannel } from '../../adapters/redis/change-feed.js';
import { StoreUnavailableError, type Collection, type Store } from '../../adapters/store.js';
import { changeRecordKey } from '../../src/tenancy/change-log.js';
import { adminToken, call } from '../admin/helpers.js';
import { Browser, expectPage } from '../helpers/browser.js';
import { clientCredentialsEverywhere, clientCredentialsStatus, startCluster, type Cluster, type ClusterInstance } from '../helpers/cluster.js';
import { seedTenant, TEST_PASSWORD, type SeededTenant } from '../helpers/gatehouse.js';
import { openLoginPage } from '../helpers/login.js';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/** The store, whose short-lived collection fails while `down.ephemeral` is set (a backend gone). */
function failableEphemeral(store: Store, down: { ephemeral: boolean }): Store {
  const bind = (target: object, value: unknown) => (typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value);
  return new Proxy(store, {
    get(target, property) {
      if (property !== 'collection') return bind(target, Reflect.get(target, property));
      return (name: string) => {
        const collection = target.collection(name);
        if (name !== 'ephemeral') return collection;
        return new Proxy(collection, {
          get(inner, method) {
            const value = Reflect.get(inner, method);
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (down.ephemeral) return Promise.reject(new StoreUnavailableError('ephemeral store down (test)'));
              return (value as (...a: unknown[]) => unknown).apply(inner, args);
            };
          },
        }) as Collection;
      };
    },
  });
}

/**
 * Three instances sharing one store and one Redis: a change made through the admin API of one
 * instance is in force on every other once the call has answered (issue 8, review defect 10).
 */
describe.runIf(redisServerAvailable())('changes seen by every instance at once', () => {
  let redis: RedisServer;
  let cluster: Cluster;
  let acme: SeededTenant;
  let token: string;
  let a: ClusterInstance;
  let b: ClusterInstance;
  let c: ClusterInstance;
  const down = { ephemeral: false };

  const grant = (instance: ClusterInstance, clientId: string, secret: string) => clientCredentialsStatus(instance, 'acme', clientId, secret);
  const everywhere = (clientId: string, secret: string) => clientCredentialsEverywhere(cluster, 'acme', clientId, secret);
  const newClient = async (id: string): Promise<string> => {
    const created = await call(a.direct, token, 'POST', '/tenants/acme/clients', { client_id: id, client_name: id, grant_types: ['client_credentials'], redirect_uris: [] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return String(created.body['client_secret']);
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    cluster = await startCluster({ size: 3, redisUrl: redis.url, overrides: { bootstrap: { clientId: 'ops-bot', clientSecret: 'ops-bot-secret-0123456789abcdefghijklmnop' } }, wrapStore: (store) => failableEphemeral(store, down) });
    [a, b, c] = cluster.instances as [ClusterInstance, ClusterInstance, ClusterInstance];
    acme = await seedTenant({ app: a.app }, 'acme');
    token = await adminToken(cluster.gh);
  });
  afterAll(async () => {
    await cluster?.close();
    await redis?.close();
  });

  it('refuses a rotated secret on every other instance as soon as the rotation has answered', async () => {
    const { clientId, clientSecret } = acme.client;
    // Every instance has the client (and its secret) cached before the rotation.
    expect(await everywhere(clientId, clientSecret)).toEqual([200, 200, 200]);
    const providers = cluster.instances.map((instance) => instance.server.pool.peek('acme')?.provider);
    const rotated = await call(a.direct, token, 'POST', `/tenants/acme/clients/${clientId}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const fresh = String(rotated.body['client_secret']);
    expect(await Promise.all([grant(b, clientId, clientSecret), grant(c, clientId, clientSecret)])).toEqual([401, 401]);
    expect(await everywhere(clientId, fresh)).toEqual([200, 200, 200]);
    acme.client.clientSecret = fresh;
    // Only the client was dropped: every instance kept the tenant's provider (review defect 10).
    expect(cluster.instances.map((instance, index) => instance.server.pool.peek('acme')?.provider === providers[index])).toEqual([true, true, true]);
    expect(providers.every((provider) => provider !== undefined)).toBe(true);
  });

  it('refuses a deleted client everywhere at once', async () => {
    const secret = await newClient('doomed');
    expect(await everywhere('doomed', secret)).toEqual([200, 200, 200]);
    expect((await call(b.direct, token, 'DELETE', '/tenants/acme/clients/doomed')).status).toBe(204);
    expect(await everywhere('doomed', secret)).toEqual([401, 401, 401]);
  });

  it('applies a tenant security policy change at the next login step of every instance', async () => {
    // The login page of a browser pinned to instance B, which has the tenant built.
    const viaB = (url: URL) => new URL(url.pathname + url.search, b.server.url);
    const rp = await client.discovery(new URL(cluster.gh.issuer('acme')), acme.client.clientId, acme.client.clientSecret, undefined, { execute: [client.allowInsecureRequests] });
    const authorizeWithoutPkce = async () => {
      const url = client.buildAuthorizationUrl(rp, { redirect_uri: acme.client.redirectUri, scope: 'openid' });
      url.searchParams.delete('code_challenge');
      const response = await fetch(viaB(url), { redirect: 'manual' });
      await response.arrayBuffer();
      return decodeURIComponent((response.headers.get('location') ?? '').replaceAll('+', ' '));
    };
    // New tenants require PKCE; the tenant's admins lift that on A, then restore it on C.
    expect(await authorizeWithoutPkce()).toMatch(/error=invalid_request.*requires PKCE/);
    expect((await call(a.direct, token, 'PATCH', '/tenants/acme', { security_policy: { require_pkce: false } })).status).toBe(200);
    expect(await authorizeWithoutPkce()).toContain('/interaction/');
    expect((await call(c.direct, token, 'PATCH', '/tenants/acme', { security_policy: { require_pkce: true } })).status).toBe(200);
    expect(await authorizeWithoutPkce()).toMatch(/error=invalid_request.*requires PKCE/);

    // The password policy is read by the change-password step of instance C (a Koa route).
    const user = await call(a.direct, token, 'POST', '/tenants/acme/users', { username: 'mustchange', password: 'temporary pw 1' });
    await call(a.direct, token, 'PUT', `/tenants/acme/users/${String(user.body['id'])}/password`, { password: 'temporary pw 1', must_change: true });
    const browser = new Browser(cluster.gh.origin, (url) => new URL(url.pathname + url.search, c.server.url));
    const login = await openLoginPage(browser, rp, acme.client.redirectUri);
    const change = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'mustchange', password: 'temporary pw 1' }));
    expect(change.$('#new_password-hint').text()).toContain('At least 8');
    expect((await call(b.direct, token, 'PATCH', '/tenants/acme', { security_policy: { password: { min_length: 14 } } })).status).toBe(200);
    const short = expectPage(await browser.submit(change, 'form[action$="/change-password"]', { new_password: 'twelve chars', confirm_password: 'twelve chars' }));
    expect(short.$('#new_password-error').text()).toMatch(/at least 14/);
  });

  it('ignores malformed messages on the channel and malformed change records, and keeps serving', async () => {
    const rogue = new Redis(redis.url);
    try {
      for (const message of ['{not json', 'null', '[]', '{"tenant":"acme","kind":"nuke"}', '{"tenant":{"$ne":1},"kind":"client"}', `{"tenant":"acme","kind":"client","id":"${'x'.repeat(5000)}"}`, 'x'.repeat(200_000)]) {
        await rogue.publish(changeChannel('gatehouse:'), message);
      }
    } finally {
      rogue.disconnect();
    }
    expect(await everywhere(acme.client.clientId, acme.client.clientSecret)).toEqual([200, 200, 200]);
    // A change record that is not one (garbage, an operator's typo) makes instances rebuild, not fail.
    for (const value of ['{not json', '{"epoch":1,"seq":"x","recent":{}}', JSON.stringify({ epoch: 'e', seq: 1e300, recent: [] })]) {
      await a.app.ephemeral.set(changeRecordKey('acme'), value, { ttlSeconds: 60 });
      expect(await everywhere(acme.client.clientId, acme.client.clientSecret)).toEqual([200, 200, 200]);
    }
  });

  it('drops what an instance cached when its subscription comes back (a flush)', async () => {
    const secret = await newClient('quiet');
    expect(await everywhere('quiet', secret)).toEqual([200, 200, 200]);
    // Changed behind every instance's back (no feed, no change record): caches keep the old secret.
    await a.app.clients.rotateSecret('acme', 'quiet');
    expect(await grant(b, 'quiet', secret)).toBe(200);
    // B's subscriber loses its connection and reconnects: it cannot know what it missed.
    b.redis!.subscriber.disconnect(true);
    await expect.poll(() => grant(b, 'quiet', secret), { timeout: 5_000, interval: 100 }).toBe(401);
  });

  it('refuses a rotated secret on an instance whose subscription is gone (the per-request check)', async () => {
    const secret = await newClient('unheard');
    expect(await everywhere('unheard', secret)).toEqual([200, 200, 200]);
    // B hears nothing from now on: its subscriber is closed for good.
    b.redis!.subscriber.disconnect();
    const rotated = await call(a.direct, token, 'POST', '/tenants/acme/clients/unheard/rotate-secret');
    expect(rotated.status).toBe(200);
    expect(await grant(b, 'unheard', secret)).toBe(401);
    expect(await grant(b, 'unheard', String(rotated.body['client_secret']))).toBe(200);
  });

  it('follows 40 parallel changes made on other instances while it hears nothing (more than the record keeps)', async () => {
    // B's subscription is gone since the previous test.
    const ids = ['p0', 'p1', 'p2', 'p3'];
    const secrets = await Promise.all(ids.map(newClient));
    await newClient('noisy');
    for (const [index, id] of ids.entries()) expect(await grant(b, id, secrets[index]!)).toBe(200);
    const seq = async () => (JSON.parse((await a.app.ephemeral.get(changeRecordKey('acme')))!) as { seq: number }).seq;
    const before = await seq();
    const writers = [a, c];
    const answers = await Promise.all([
      ...ids.map((id, index) => call(writers[index % 2]!.direct, token, 'POST', `/tenants/acme/clients/${id}/rotate-secret`)),
      ...Array.from({ length: 36 }, (_, index) => call(writers[index % 2]!.direct, token, 'PATCH', '/tenants/acme/clients/noisy', { client_name: `noisy ${index}` })),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([...ids.map(() => 200), ...Array.from({ length: 36 }, () => 200)]);
    // Parallel writers each got their own place in the record: none overwrote another.
    expect((await seq()) - before).toBe(40);
    for (const [index, id] of ids.entries()) {
      expect(await Promise.all(cluster.instances.map((instance) => grant(instance, id, secrets[index]!)))).toEqual([401, 401, 401]);
      expect(await grant(b, id, String(answers[index]!.body['client_secret']))).toBe(200);
    }
  });

  it('fails closed (503) while the change record cannot be read, on the fast path and the Koa route', async () => {
    const { clientId, clientSecret } = acme.client;
    expect(await everywhere(clientId, clientSecret)).toEqual([200, 200, 200]);
    down.ephemeral = true;
    try {
      expect(await everywhere(clientId, clientSecret)).toEqual([503, 503, 503]);
      const page = await fetch(`${c.server.url}/t/acme/account`, { redirect: 'manual' });
      await page.arrayBuffer();
      expect(page.status).toBe(503);
    } finally {
      down.ephemeral = false;
    }
    expect(await everywhere(clientId, clientSecret)).toEqual([200, 200, 200]);
  });

  it('answers 503 when a change cannot be announced, and the change record still makes it hold', async () => {
    const secret = await newClient('unannounced');
    expect(await everywhere('unannounced', secret)).toEqual([200, 200, 200]);
    await redis.kill();
    try {
      const rotated = await call(a.direct, token, 'POST', '/tenants/acme/clients/unannounced/rotate-secret');
      expect(rotated.status).toBe(503);
      expect(rotated.body.error_description).toMatch(/other instances/);
      // The record was bumped before publishing failed: no instance accepts the old secret.
      expect(await everywhere('unannounced', secret)).toEqual([401, 401, 401]);
    } finally {
      await redis.start();
    }
  });
});
