/**
 * A backend that cannot be reached fails requests closed with 503, on the Koa route and on the
 * protocol fast path alike, and readiness says which backend is down while liveness stays green.
 */
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

let gh: TestGatehouse | undefined;
let redis: RedisServer | undefined;
afterEach(async () => {
  await gh?.stop().catch(() => undefined);
  await redis?.close();
  gh = undefined;
  redis = undefined;
});

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function readiness(gh: TestGatehouse) {
  const response = await fetch(`${gh.origin}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function clientCredentials(gh: TestGatehouse, client: { clientId: string; clientSecret: string }, resource: string) {
  return fetch(`${gh.issuer('acme')}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource }),
  });
}

describe('a backend that is down', () => {
  it('answers protocol requests of a built tenant (the fast path) with 503, not 500 and never a token', async () => {
    gh = await startGatehouse();
    const tenant = await seedTenant(gh, 'acme');
    const ok = await clientCredentials(gh, tenant.client, tenant.api);
    expect(ok.status).toBe(200);
    expect(gh.gatehouse.pool.peek('acme')).toBeDefined();

    await gh.app.store.close();
    const refused = await Promise.all(Array.from({ length: 5 }, () => clientCredentials(gh!, tenant.client, tenant.api)));
    for (const response of refused) {
      expect(response.status).toBe(503);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body['access_token']).toBeUndefined();
      // The backend's message (hosts, causes) is for the log only.
      expect(JSON.stringify(body)).not.toMatch(/closed|nedb|mongo/i);
    }
    // A route of the provider itself (userinfo looks the token up through the adapter) answers 503 too.
    const userinfo = await fetch(`${gh.issuer('acme')}/me`, { headers: { authorization: 'Bearer some-opaque-token', accept: 'application/json' } });
    expect(userinfo.status).toBe(503);
    const discovery = await fetch(`${gh.issuer('acme')}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect((await fetch(`${gh.origin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gh.origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable', store: 'down' });
  });
});

describe.skipIf(!redisServerAvailable())('Redis for short-lived state', () => {
  it('keeps liveness green and turns readiness red while Redis is down, naming it, and green again when it returns', async () => {
    redis = await startRedisServer();
    gh = await startGatehouse({ redis: { url: redis.url } });
    expect(gh.app.ephemeral.kind).toBe('redis');
    expect(await readiness(gh)).toEqual({ status: 200, body: { status: 'ready', store: 'ok', redis: 'ok' } });

    await redis.kill();
    const started = Date.now();
    const [down, live] = await Promise.all([readiness(gh), fetch(`${gh.origin}/healthz`)]);
    expect(down).toEqual({ status: 503, body: { status: 'unavailable', store: 'ok', redis: 'down' } });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(live.status).toBe(200);

    await redis.start();
    let ready = await readiness(gh);
    for (const back = Date.now(); ready.status !== 200 && Date.now() - back < 10_000; ready = await readiness(gh)) await sleep(200);
    expect(ready).toEqual({ status: 200, body: { status: 'ready', store: 'ok', redis: 'ok' } });
    // The process is whole: a protocol request still works.
    expect((await fetch(`${gh.issuer('demo')}/.well-known/openid-configuration`)).status).not.toBe(500);
  });

  it('refuses to start on a Redis that may evict keys, saying what to set', async () => {
    redis = await startRedisServer(['--maxmemory-policy', 'volatile-lru']);
    const error = await startGatehouse({ redis: { url: redis.url } }).catch((caught: unknown) => caught);
    expect((error as Error).message).toContain('maxmemory-policy volatile-lru');
    expect((error as Error).message).toContain('maxmemory-policy noeviction');
    // With the check relaxed it starts, warning loudly.
    const { logger, lines } = capturingLogger();
    gh = await startGatehouse({ redis: { url: redis.url, requireNoEviction: false } }, { logger });
    expect(lines.some((line) => line.level === 40 && line.msg.startsWith('SECURITY WARNING'))).toBe(true);
  });

  it('refuses to start when Redis cannot be reached, without waiting long or leaking the password', async () => {
    redis = await startRedisServer();
    const url = redis.url.replace('redis://', 'redis://gatehouse:pa55-word-xyz@');
    await redis.kill();
    const started = Date.now();
    const error = await startGatehouse({ redis: { url, connectTimeoutMs: 500 } }).catch((caught: unknown) => caught);
    expect((error as Error).message).toContain(`127.0.0.1:${redis.port}`);
    expect((error as Error).message).not.toContain('pa55-word-xyz');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('several instances on MongoDB without Redis', () => {
  it('is warned about at start (checked here through the warning helper the boot uses)', async () => {
    const { startupWarnings } = await import('../../src/boot.js');
    const base = { store: { kind: 'mongodb' }, redis: { url: undefined, sentinel: undefined, cluster: undefined }, env: 'production' } as const;
    expect(startupWarnings(base).join('\n')).toMatch(/several instances.*Redis/i);
    expect(startupWarnings({ ...base, redis: { url: 'redis://cache', sentinel: undefined, cluster: undefined } })).toEqual([]);
    expect(startupWarnings({ ...base, store: { kind: 'nedb' } })).toEqual([]);
    expect(startupWarnings({ ...base, env: 'development' })).toEqual([]);
  });
});
