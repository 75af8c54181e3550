/**
 * CIBA expiry audit (docs/ciba.md, "Expiry"): `ciba.expired` once per request, whether a late poll
 * or the periodic sweep notices it, under parallel polls and parallel sweeps on two instances that
 * share the store (and Redis), and never for a decided request; on both homes of short-lived state,
 * the store and Redis. Time moves by a faked `Date` that the provider (which judges expiry) and
 * Gatehouse's clock both read.
 */
import * as client from 'openid-client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EphemeralUnavailableError } from '../../adapters/ephemeral.js';
import { openEphemeral } from '../../adapters/index.js';
import { ConfigError, loadConfig } from '../../config/index.js';
import { createAppContext, type AppContext } from '../../src/app-context.js';
import { startServer, type Gatehouse } from '../../src/server.js';
import { openRecordKey, openRequestsKey, requestDigest } from '../../src/oidc/ciba-open.js';
import { sweepExpiredCiba, type SweepDeps } from '../../src/oidc/ciba-sweep.js';
import { api, approvalToken, BOOTSTRAP, cibaTenant, initiate, pendingId, pollOnce } from '../helpers/ciba.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { redisServerAvailable, redisSettings, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { everyDocument } from '../helpers/store-scan.js';

const clock = () => Date.now();

/** Moves time on: the provider's clock and Gatehouse's (both read the faked Date). */
function pass(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
});
afterAll(() => {
  vi.useRealTimers();
});

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** A second instance beside `gh`: the same configuration, store and master key, its own connection to Redis. */
async function secondInstance(gh: TestGatehouse, redisUrl: string | undefined): Promise<{ app: AppContext; server: Gatehouse; close(): Promise<void> }> {
  const ephemeral = redisUrl ? await openEphemeral(redisSettings(redisUrl)) : undefined;
  const app = createAppContext(gh.app.config, pino({ level: 'silent' }), gh.app.store, Buffer.from(gh.app.config.masterKey!, 'base64'), clock, ephemeral);
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  return {
    app,
    server,
    async close() {
      await server.close();
      await app.ephemeral.close();
    },
  };
}

/** A client configuration whose every request goes to `origin` (another instance under the same public URL). */
function via(origin: string): client.CustomFetch {
  return (url, options) => {
    const target = new URL(url);
    return fetch(new URL(target.pathname + target.search, origin), options as RequestInit);
  };
}

const backends = [
  { name: 'the store', redis: false },
  { name: 'Redis', redis: true },
] as const;

for (const backend of backends) {
  describe.skipIf(backend.redis && !redisServerAvailable())(`expiry audit with short-lived state in ${backend.name}`, () => {
    let redis: RedisServer | undefined;
    let gh: TestGatehouse;
    let seeded: SeededTenant;
    let bank: client.Configuration;
    let clientId: string;
    let token: string;
    let second: Awaited<ReturnType<typeof secondInstance>>;
    /** the same client, talking to the second instance */
    let bankThere: client.Configuration;

    const deps = (app: AppContext = gh.app): SweepDeps => ({ tenants: app.tenants, ephemeral: app.ephemeral, audit: app.audit, logger: app.logger, clock });
    const expired = () => gh.app.audit.list('acme', { type: 'ciba.expired', limit: 100 });

    beforeAll(async () => {
      redis = backend.redis ? await startRedisServer() : undefined;
      // The server's own sweep waits 10 minutes here: the tests sweep when they mean to.
      gh = await startGatehouse({ bootstrap: BOOTSTRAP, ciba: { sweepIntervalSeconds: 600 }, ...(redis ? { redis: { url: redis.url } } : {}) }, { clock });
      let secret: string;
      ({ seeded, bank, clientId, secret } = await cibaTenant(gh));
      token = await approvalToken(gh, seeded);
      second = await secondInstance(gh, redis?.url);
      bankThere = await client.discovery(new URL(gh.issuer('acme')), clientId, secret, undefined, { execute: [client.allowInsecureRequests], [client.customFetch]: via(second.server.url) });
    });
    afterAll(async () => {
      await second?.close();
      await gh?.stop();
      await redis?.close();
    });

    it('audits a poll after expiry once, even when late polls come in parallel to both instances, and the sweep adds nothing', async () => {
      const before = (await expired()).length;
      const startedAt = Date.now();
      const { response } = await initiate(bank, { login_hint: 'alice', binding_message: 'Late poll', requested_expiry: '30' });
      expect((await pollOnce(bank, response!.auth_req_id)).error).toBe('authorization_pending');
      pass(40);
      const answers = await Promise.all(Array.from({ length: 6 }, (_, index) => pollOnce(index % 2 ? bankThere : bank, response!.auth_req_id)));
      expect(answers.map((answer) => answer.error)).toEqual(Array(6).fill('expired_token'));

      const events = await expired();
      expect(events).toHaveLength(before + 1);
      expect(events[0]).toMatchObject({ type: 'ciba.expired', actor: { type: 'system' }, target: { type: 'user', id: seeded.userId }, details: { client: clientId } });
      const expiredAt = Date.parse(String((events[0]!.details as Record<string, unknown>)['expired_at']));
      expect(expiredAt).toBeGreaterThanOrEqual(startedAt + 29_000);
      expect(expiredAt).toBeLessThanOrEqual(startedAt + 32_000);

      expect(await sweepExpiredCiba(deps())).toBe(0);
      expect(await pollOnce(bank, response!.auth_req_id)).toEqual({ error: 'expired_token' });
      expect(await expired()).toHaveLength(before + 1);
      expect(await gh.app.ephemeral.members(openRequestsKey('acme'))).not.toContain(requestDigest(response!.auth_req_id));
    });

    it('audits an unpolled request at the sweep once, when both instances sweep at once, twice each; approving it then is 404', async () => {
      const before = (await expired()).length;
      const { response } = await initiate(bank, { login_hint: 'alice', binding_message: 'Unpolled', requested_expiry: '30' });
      const id = await pendingId(gh, token, 'Unpolled');
      expect(await gh.app.ephemeral.members(openRequestsKey('acme'))).toContain(requestDigest(response!.auth_req_id));
      // Not expired yet: nothing to audit, and it stays open.
      expect(await sweepExpiredCiba(deps())).toBe(0);
      expect(await gh.app.ephemeral.members(openRequestsKey('acme'))).toContain(requestDigest(response!.auth_req_id));

      pass(40);
      const swept = await Promise.all([sweepExpiredCiba(deps()), sweepExpiredCiba(deps(second.app)), sweepExpiredCiba(deps()), sweepExpiredCiba(deps(second.app))]);
      expect(sum(swept)).toBe(1);
      const events = await expired();
      expect(events).toHaveLength(before + 1);
      expect(events[0]).toMatchObject({ actor: { type: 'system' }, target: { type: 'user', id: seeded.userId }, details: { client: clientId } });

      expect((await api(gh, token, 'POST', `/requests/${id}/approve`)).status).toBe(404);
      expect((await api(gh, token, 'POST', `/requests/${id}/deny`)).status).toBe(404);
      // A poll after the sweep hears expired_token, and nothing more is audited.
      expect(await pollOnce(bank, response!.auth_req_id)).toEqual({ error: 'expired_token' });
      expect(await sweepExpiredCiba(deps())).toBe(0);
      expect(await expired()).toHaveLength(before + 1);
      expect(await gh.app.ephemeral.members(openRequestsKey('acme'))).not.toContain(requestDigest(response!.auth_req_id));
    });

    it('never audits a decided request as expired, whether swept or polled after its expiry', async () => {
      const before = (await expired()).length;
      const approved = await initiate(bank, { login_hint: 'alice', binding_message: 'Approved, never collected', requested_expiry: '30' });
      const denied = await initiate(bank, { login_hint: 'alice', binding_message: 'Denied, never collected', requested_expiry: '30' });
      expect((await api(gh, token, 'POST', `/requests/${await pendingId(gh, token, 'Approved, never collected')}/approve`)).status).toBe(204);
      expect((await api(gh, token, 'POST', `/requests/${await pendingId(gh, token, 'Denied, never collected')}/deny`)).status).toBe(204);
      const open = await gh.app.ephemeral.members(openRequestsKey('acme'));
      expect(open).not.toContain(requestDigest(approved.response!.auth_req_id));
      expect(open).not.toContain(requestDigest(denied.response!.auth_req_id));

      pass(40);
      expect(sum(await Promise.all([sweepExpiredCiba(deps()), sweepExpiredCiba(deps(second.app))]))).toBe(0);
      // oidc-provider says expired_token for a decided request collected too late; it is still no expiry.
      expect(await pollOnce(bank, approved.response!.auth_req_id)).toEqual({ error: 'expired_token' });
      expect(await pollOnce(bankThere, denied.response!.auth_req_id)).toEqual({ error: 'expired_token' });
      expect(await expired()).toHaveLength(before);
    });

    it('drops from the open set what it cannot audit, and leaves tenants with CIBA off alone', async () => {
      const before = (await expired()).length;
      const key = openRequestsKey('acme');
      const now = Math.floor(Date.now() / 1000);
      // A member without its record, a record that is not ours, and a request that expired two days ago.
      await gh.app.ephemeral.addToSet(key, ['no-record', 'garbage', 'long-gone'], 3600);
      await gh.app.ephemeral.set(openRecordKey('acme', 'garbage'), '{"client":42,"exp":"soon"}', { ttlSeconds: 3600 });
      await gh.app.ephemeral.set(openRecordKey('acme', 'long-gone'), JSON.stringify({ client: clientId, account: seeded.userId, exp: now - 2 * 86_400 }), { ttlSeconds: 3600 });
      // A tenant that has CIBA off is not swept, whatever its set holds.
      await seedTenant(gh, 'globex');
      await gh.app.ephemeral.addToSet(openRequestsKey('globex'), ['elsewhere'], 3600);
      await gh.app.ephemeral.set(openRecordKey('globex', 'elsewhere'), JSON.stringify({ client: 'x', account: 'y', exp: now - 60 }), { ttlSeconds: 3600 });

      expect(await sweepExpiredCiba(deps())).toBe(0);
      const left = await gh.app.ephemeral.members(key);
      for (const member of ['no-record', 'garbage', 'long-gone']) expect(left).not.toContain(member);
      expect(await gh.app.ephemeral.members(openRequestsKey('globex'))).toEqual(['elsewhere']);
      expect(await gh.app.audit.list('globex', { type: 'ciba.expired', limit: 5 })).toEqual([]);
      expect(await expired()).toHaveLength(before);
    });

    it('stops a sweep that is told to (shutdown) before it audits, leaving the request to the next one', async () => {
      const before = (await expired()).length;
      const { response } = await initiate(bank, { login_hint: 'alice', binding_message: 'Shutdown', requested_expiry: '30' });
      pass(40);
      expect(await sweepExpiredCiba(deps(), AbortSignal.abort())).toBe(0);
      expect(await gh.app.ephemeral.members(openRequestsKey('acme'))).toContain(requestDigest(response!.auth_req_id));
      expect(await sweepExpiredCiba(deps(second.app))).toBe(1);
      expect(await expired()).toHaveLength(before + 1);
    });

    it(backend.redis ? 'keeps all of it off the store' : 'keeps it in the store’s short-lived collection', async () => {
      const found = (await everyDocument(gh.app.store)).filter((entry) => /ciba-open|ciba-decided|BackchannelAuthenticationRequest/.test(entry.text));
      if (backend.redis) expect(found.map((entry) => entry.collection)).toEqual([]);
      else expect(new Set(found.map((entry) => entry.collection))).toEqual(new Set(['ephemeral', 'oidc']));
    });

    it('is swept by the server itself every ciba.sweepIntervalSeconds', async () => {
      const swept = await startGatehouse({ bootstrap: BOOTSTRAP, ciba: { sweepIntervalSeconds: 1 }, ...(redis ? { redis: { url: redis.url, keyPrefix: 'timer:' } } : {}) }, { clock });
      try {
        const { bank: timed } = await cibaTenant(swept);
        await initiate(timed, { login_hint: 'alice', binding_message: 'Timer', requested_expiry: '30' });
        pass(40);
        await vi.waitFor(async () => expect(await swept.app.audit.list('acme', { type: 'ciba.expired', limit: 5 })).toHaveLength(1), { timeout: 5_000, interval: 100 });
      } finally {
        await swept.stop();
      }
    });

    it.skipIf(!backend.redis)('ends a sweep at once when Redis is down (one error, not one per tenant), and sweeps again once it is back', async () => {
      await initiate(bank, { login_hint: 'alice', binding_message: 'Redis down', requested_expiry: '30' });
      pass(40);
      await redis!.kill();
      await expect(sweepExpiredCiba(deps())).rejects.toBeInstanceOf(EphemeralUnavailableError);
      // Back empty (no persistence): nothing is left to audit, and the sweep works again.
      await redis!.start();
      await vi.waitFor(async () => expect(await sweepExpiredCiba(deps())).toBe(0), { timeout: 10_000, interval: 200 });
    });
  });
}

describe('ciba.sweepIntervalSeconds', () => {
  it('takes whole seconds from 1 to 600, from the file or GATEHOUSE_CIBA_SWEEP_INTERVAL_SECONDS', () => {
    expect(loadConfig({ env: { NODE_ENV: 'test' } }).ciba.sweepIntervalSeconds).toBe(60);
    expect(loadConfig({ env: { NODE_ENV: 'test', GATEHOUSE_CIBA_SWEEP_INTERVAL_SECONDS: '5' } }).ciba.sweepIntervalSeconds).toBe(5);
    for (const value of ['0', '601', '1.5', 'often']) {
      expect(() => loadConfig({ env: { NODE_ENV: 'test', GATEHOUSE_CIBA_SWEEP_INTERVAL_SECONDS: value } }), value).toThrow(ConfigError);
    }
    expect(() => loadConfig({ env: { NODE_ENV: 'test' }, overrides: { ciba: { sweepIntervalSeconds: 30, everySoOften: true } as never } })).toThrow(/ciba/);
  });
});
