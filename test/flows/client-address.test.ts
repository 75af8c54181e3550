import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import type { ConfigInput } from '../../config/schema.js';
import { boot } from '../../src/boot.js';
import { adminAuthThrottle } from '../../src/admin/router.js';
import { clientAuthThrottle } from '../../src/oidc/client-auth-throttle.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { send, startAppendingProxy, type AppendingProxy } from '../helpers/proxy.js';

// Real, distinct client addresses: every 127.x.y.z is a local address on Linux.
const attacker = '127.0.0.5';
const victim = '127.0.0.6';

/**
 * The throttles count in fixed windows of the app clock: the servers here run on a clock held a
 * second into a window, so a count never straddles a window's end however slow the machine is.
 * The window is one that starts ten minutes or more from now: the counters expire at its end by the
 * app clock, but the store's TTL clean-up runs on real time, and with the current window it could
 * delete a count mid-test whenever the test ran across the real window's end (CI saw a 401 for 429).
 */
const windowStart = () => Math.ceil((Date.now() + 10 * 60_000) / (5 * 60_000)) * 5 * 60_000 + 1000;

/** A failed admin API authentication, counted against the client address (30 per 5 minutes). */
const adminFailure = (base: string, options: { from: string; spoof?: string }) =>
  send(`${base}/admin/v1/me`, { from: options.from, headers: { authorization: 'Bearer not-a-token', ...(options.spoof ? { 'x-forwarded-for': options.spoof } : {}) } });

describe('client address behind one trusted proxy hop', () => {
  let gh: TestGatehouse;
  let proxy: AppendingProxy;
  let acme: SeededTenant;

  beforeAll(async () => {
    const now = windowStart();
    gh = await startGatehouse({ proxy: { hops: 1 } }, { clock: () => now });
    acme = await seedTenant(gh, 'acme');
    proxy = await startAppendingProxy(gh.origin);
  });
  afterAll(async () => {
    await proxy.close();
    await gh.stop();
  });

  it('counts admin API failures against the address the proxy saw, however the client rotates X-Forwarded-For', async () => {
    for (let attempt = 0; attempt < adminAuthThrottle.address.failures; attempt += 1) {
      expect((await adminFailure(proxy.url, { from: attacker, spoof: `203.0.113.${attempt}` })).status).toBe(401);
    }
    const blocked = await adminFailure(proxy.url, { from: attacker, spoof: '198.51.100.77' });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // The victim's real address was never counted, though the attacker could name it in the header.
    expect((await adminFailure(proxy.url, { from: victim, spoof: attacker })).status).toBe(401);
  });

  it('cannot be used to lock out an address named in X-Forwarded-For', async () => {
    const named = '127.0.0.7';
    for (let attempt = 0; attempt < adminAuthThrottle.address.failures + 5; attempt += 1) {
      await adminFailure(proxy.url, { from: '127.0.0.8', spoof: named });
    }
    expect((await adminFailure(proxy.url, { from: named })).status).toBe(401);
  });

  it('believes X-Forwarded-Proto and X-Forwarded-Host from no one: URLs follow publicUrl', async () => {
    const forged = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };
    // Twice: the first request builds the tenant through the Koa app, the second takes the fast path.
    for (let round = 0; round < 2; round += 1) {
      const discovery = await send(`${proxy.url}/t/acme/.well-known/openid-configuration`, { headers: forged });
      expect(discovery.status).toBe(200);
      const metadata = JSON.parse(discovery.body) as { issuer: string; authorization_endpoint: string };
      expect(metadata.issuer).toBe(gh.issuer('acme'));
      expect(metadata.authorization_endpoint.startsWith(`${gh.origin}/`)).toBe(true);
    }
    const account = await send(`${proxy.url}/t/acme/account/login`, { headers: forged });
    expect(account.status).toBe(302);
    expect(account.headers.location?.startsWith(`${gh.origin}/`)).toBe(true);
    expect(account.headers['set-cookie']?.join(';')).not.toMatch(/secure/i);
  });

  it('counts token endpoint failures on the protocol fast path against the real address too', async () => {
    const grant = (from: string, secret: string, spoof: string) =>
      send(`${proxy.url}/t/acme/token`, {
        from,
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${acme.client.clientId}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': spoof,
        },
        body: 'grant_type=client_credentials',
      });
    // The fast path serves tenants already built: build acme through the Koa app first.
    expect((await send(`${proxy.url}/t/acme/.well-known/openid-configuration`)).status).toBe(200);
    expect(gh.gatehouse.pool.peek('acme')).toBeDefined();

    for (let attempt = 0; attempt < clientAuthThrottle.clientAtAddress.failures; attempt += 1) {
      expect((await grant(attacker, `wrong-${attempt}`, `203.0.113.${attempt}`)).status).toBe(401);
    }
    expect((await grant(attacker, acme.client.clientSecret, '198.51.100.77')).status).toBe(429);
    expect((await grant(victim, acme.client.clientSecret, attacker)).status).toBe(200);
  });
});

describe('client address behind trusted proxy networks', () => {
  let gh: TestGatehouse;
  let inner: AppendingProxy;
  let outer: AppendingProxy;

  beforeAll(async () => {
    // Listening on :: makes IPv4 peers appear as IPv4-mapped IPv6 (::ffff:127.0.0.1), as on many hosts.
    const now = windowStart();
    gh = await startGatehouse({ host: '::', proxy: { trustedNetworks: ['127.0.0.1/32', '127.0.0.2'] } }, { clock: () => now });
    inner = await startAppendingProxy(gh.origin);
    // client -> outer proxy -> (from 127.0.0.2) inner proxy -> (from 127.0.0.1) Gatehouse
    outer = await startAppendingProxy(inner.url, { from: '127.0.0.2' });
  });
  afterAll(async () => {
    await outer.close();
    await inner.close();
    await gh.stop();
  });

  it('walks X-Forwarded-For from the right past trusted proxies, and ignores it from untrusted peers', async () => {
    const half = adminAuthThrottle.address.failures / 2;
    for (let attempt = 0; attempt < half; attempt += 1) {
      expect((await adminFailure(outer.url, { from: attacker, spoof: `203.0.113.${attempt}` })).status).toBe(401);
    }
    // Straight to Gatehouse, bypassing the proxies: the header is the client's own and is ignored.
    for (let attempt = 0; attempt < adminAuthThrottle.address.failures - half; attempt += 1) {
      expect((await adminFailure(gh.origin, { from: attacker, spoof: `127.0.0.2, 198.51.100.${attempt}` })).status).toBe(401);
    }
    expect((await adminFailure(outer.url, { from: attacker })).status).toBe(429);
    expect((await adminFailure(gh.origin, { from: attacker, spoof: victim })).status).toBe(429);
    expect((await adminFailure(outer.url, { from: victim, spoof: attacker })).status).toBe(401);
    expect((await adminFailure(gh.origin, { from: victim })).status).toBe(401);
  });

  it('does not trust or crash on malformed X-Forwarded-For entries', async () => {
    for (const spoof of ['unknown', '', ' , ,', '999.1.1.1', '1.2.3.4:80:90', '[::1', 'a'.repeat(5000), '127.0.0.1, garbage']) {
      const reply = await adminFailure(outer.url, { from: '127.0.0.9', spoof });
      expect(reply.status).toBe(401);
    }
  });
});

describe('start-up warning', () => {
  /** Boots with an https public URL and returns the warnings logged on the way up. */
  async function warningsAt(overrides: ConfigInput): Promise<string[]> {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const config = loadConfig({
      env: { NODE_ENV: 'test' },
      overrides: { publicUrl: 'https://id.example.test', host: '127.0.0.1', port: 0, masterKey: randomBytes(32).toString('base64'), store: { kind: 'memory' }, ...overrides },
    });
    const running = await boot(config, logger);
    await running.stop();
    return lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  }

  it('says so when TLS ends in front of Gatehouse but no proxy is trusted', async () => {
    expect((await warningsAt({})).some((message) => message.includes('no proxy is trusted'))).toBe(true);
    expect((await warningsAt({ proxy: { hops: 1 } })).some((message) => message.includes('no proxy is trusted'))).toBe(false);
  });
});
