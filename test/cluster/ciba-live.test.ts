/**
 * The account console's live list of CIBA requests across instances (issue 12): a page open on
 * instance A hears of a request made through instance B, and of its approval on B, through the
 * Redis change feed; two instances with everything short-lived in a real Redis.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage } from '../helpers/browser.js';
import { EventStreamReader, initiate } from '../helpers/ciba.js';
import { startCluster, type Cluster, type ClusterInstance } from '../helpers/cluster.js';
import { seedTenant, TEST_PASSWORD } from '../helpers/gatehouse.js';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { CIBA_GRANT } from '../../src/domain/client-metadata.js';

interface Listed {
  requests: Array<{ id: string; url: string; binding_message?: string }>;
}

describe.runIf(redisServerAvailable())('the console’s live CIBA list on several instances', () => {
  let redis: RedisServer;
  let cluster: Cluster;
  let a: ClusterInstance;
  let b: ClusterInstance;

  beforeAll(async () => {
    redis = await startRedisServer();
    cluster = await startCluster({ size: 2, redisUrl: redis.url, shortLived: 'redis' });
    [a, b] = cluster.instances as [ClusterInstance, ClusterInstance];
    await seedTenant({ app: a.app }, 'acme');
    await a.app.tenants.update('acme', { securityPolicy: { ciba: { enabled: true } } });
  });
  afterAll(async () => {
    await cluster?.close();
    await redis?.close();
  });

  it('shows a request made through another instance at once, and drops it when another instance decides it', async () => {
    const created = await a.app.clients.create('acme', { client_id: 'call-centre', client_name: 'Call centre', grant_types: [CIBA_GRANT], response_types: [], redirect_uris: [], backchannel_token_delivery_mode: 'poll', token_endpoint_auth_method: 'client_secret_basic' });
    // The CIBA client talks to instance B only.
    const toB: typeof fetch = (url, init) => fetch(new URL(new URL(String(url)).pathname + new URL(String(url)).search, b.server.url), init);
    const bank = await client.discovery(new URL(cluster.gh.issuer('acme')), created.clientId, created.clientSecret!, undefined, { execute: [client.allowInsecureRequests], [client.customFetch]: toB });

    // The browser signs in through the balancer; its list streams from instance A.
    const browser = new Browser(cluster.gh.origin);
    const login = expectPage(await browser.navigate('/t/acme/account/login'));
    expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
    const response = await fetch(`${a.server.url}/t/acme/account/ciba/events`, { headers: { cookie: browser.cookieHeader(new URL(`${cluster.gh.origin}/t/acme/account/ciba/events`)) } });
    expect(response.status).toBe(200);
    const stream = new EventStreamReader(response);
    try {
      expect((await stream.next<Listed>()).requests).toEqual([]);
      const started = Date.now();
      await initiate(bank, { login_hint: 'alice', binding_message: 'Via B' });
      const arrived = await stream.until<Listed>((data) => data.requests.length === 1, 5_000);
      // Well before the 20-second refresh: the feed carried it.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(arrived.requests[0]!.binding_message).toBe('Via B');

      // Approved on instance B's page: A's list empties.
      const viaB = new Browser(cluster.gh.origin, (url) => new URL(url.pathname + url.search, b.server.url));
      viaB.cookies.push(...browser.cookies);
      const page = expectPage(await viaB.navigate(arrived.requests[0]!.url));
      expect(expectPage(await viaB.submit(page, 'form[action$="/approve"]')).$('h1').text()).toBe('Request approved');
      await stream.until<Listed>((data) => data.requests.length === 0, 5_000);
    } finally {
      await stream.close();
    }
  });
});
