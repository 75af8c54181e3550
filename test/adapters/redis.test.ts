/**
 * Short-lived state on a real redis-server: the shared contract, then what only Redis has (key
 * prefixes, the eviction check, a server that dies and comes back).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEphemeral } from '../../adapters/index.js';
import { EphemeralUnavailableError, tenantKey, tenantPrefix, type EphemeralStore } from '../../adapters/ephemeral.js';
import { freePort } from '../helpers/gatehouse.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { startRedisSentinel, type RedisSentinel } from '../helpers/redis-sentinel.js';
import { redisServerAvailable, redisSettings, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { makeCertificates } from '../helpers/test-ca.js';
import { describeEphemeralContract } from './ephemeral-contract.js';

const available = redisServerAvailable();
/** Never used: with Redis configured, openEphemeral does not touch the store. */

interface Logged {
  level: 'warn' | 'info';
  message: string;
  fields: Record<string, unknown>;
}

function recordingLog(lines: Logged[]) {
  return {
    warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'warn', message, fields }),
    info: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'info', message, fields }),
  };
}

describe.skipIf(!available)('Redis short-lived state', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  describeEphemeralContract('redis', async () => {
    const ephemeral = await openEphemeral(redisSettings(server.url));
    return { ephemeral, advance: (ms) => sleep(ms), close: () => ephemeral.close() };
  });

  describe('keys and prefixes', () => {
    let one: EphemeralStore;
    let two: EphemeralStore;
    beforeAll(async () => {
      one = await openEphemeral(redisSettings(server.url, { keyPrefix: 'one:' }));
      two = await openEphemeral(redisSettings(server.url, { keyPrefix: 'two:' }));
    });
    afterAll(async () => {
      await Promise.all([one?.close(), two?.close()]);
    });

    it('is Redis', () => {
      expect(one.kind).toBe('redis');
    });

    it('keeps two deployments with different prefixes on one Redis apart, deletePrefix included', async () => {
      const key = tenantKey('acme', 'session', 'a');
      await one.set(key, 'one', { ttlSeconds: 60 });
      await two.set(key, 'two', { ttlSeconds: 60 });
      await one.increment(tenantKey('acme', 'n'), { x: 1 }, 60);
      expect(await one.get(key)).toBe('one');
      expect(await two.get(key)).toBe('two');
      expect(await one.increment(tenantKey('acme', 'n'), { x: 1 }, 60)).toEqual({ x: 2 });
      expect(await two.increment(tenantKey('acme', 'n'), { x: 1 }, 60)).toEqual({ x: 1 });
      expect(await one.deletePrefix(tenantPrefix('acme'))).toBe(2);
      expect(await one.get(key)).toBeUndefined();
      expect(await two.get(key)).toBe('two');
      expect(await two.deletePrefix(tenantPrefix('acme'))).toBe(2);
    });

    it('stores keys under the prefix, with the tenant hash tag intact', async () => {
      const raw = await startRawClient(server.url);
      try {
        await one.set(tenantKey('acme', 'k'), 'v', { ttlSeconds: 60 });
        expect(await raw.get('one:{acme}:k')).toBe('v');
        const ttl = await raw.pttl('one:{acme}:k');
        expect(ttl).toBeGreaterThan(55_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      } finally {
        raw.disconnect();
      }
    });

    it('treats glob characters in a prefix as themselves', async () => {
      for (const tenant of ['a*', 'a?', 'a[bc]', 'a\\']) await one.set(tenantKey(tenant, 'k'), tenant, { ttlSeconds: 60 });
      for (const other of ['ab', 'ax', 'ac', 'a']) await one.set(tenantKey(other, 'k'), other, { ttlSeconds: 60 });
      expect(await one.deletePrefix('{a*}:')).toBe(1);
      expect(await one.deletePrefix('{a?}:')).toBe(1);
      expect(await one.deletePrefix('{a[bc]}:')).toBe(1);
      expect(await one.deletePrefix('{a\\}:')).toBe(1);
      for (const other of ['ab', 'ax', 'ac', 'a']) expect(await one.get(tenantKey(other, 'k'))).toBe(other);
      // A prefix that matches every key of the deployment still stays within it.
      await two.set('other', 'x', { ttlSeconds: 60 });
      expect(await one.deletePrefix('{')).toBeGreaterThanOrEqual(4);
      for (const other of ['ab', 'ax', 'ac', 'a']) expect(await one.get(tenantKey(other, 'k'))).toBeUndefined();
      expect(await two.get('other')).toBe('x');
    });

    it('deletes many keys of a tenant in batches', async () => {
      const keys = Array.from({ length: 1200 }, (_, i) => tenantKey('bulk', String(i)));
      await Promise.all(keys.map((key) => one.set(key, 'x', { ttlSeconds: 60 })));
      expect(await one.deletePrefix(tenantPrefix('bulk'))).toBe(1200);
      expect(await one.getMany(keys.slice(0, 3))).toEqual([undefined, undefined, undefined]);
    });
  });
});

async function startRawClient(url: string) {
  const { Redis } = await import('ioredis');
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

describe.skipIf(!available)('Redis eviction policy at start-up', () => {
  let lru: RedisServer;
  beforeAll(async () => {
    lru = await startRedisServer(['--maxmemory-policy', 'allkeys-lru']);
  });
  afterAll(async () => {
    await lru?.close();
  });

  it('refuses a Redis that may evict keys, saying what to set', async () => {
    const error = await openEphemeral(redisSettings(lru.url)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('maxmemory-policy allkeys-lru');
    expect(message).toContain('maxmemory-policy noeviction');
    expect(message).toContain('GATEHOUSE_REDIS_REQUIRE_NO_EVICTION');
  });

  it('starts with a loud warning when told not to require noeviction', async () => {
    const lines: Logged[] = [];
    const ephemeral = await openEphemeral(redisSettings(lru.url, { requireNoEviction: false }), recordingLog(lines));
    try {
      expect(ephemeral.kind).toBe('redis');
      const warning = lines.find((line) => line.level === 'warn');
      expect(warning?.message).toMatch(/^SECURITY WARNING: .*allkeys-lru.*noeviction/);
      await ephemeral.set('{t}:k', 'v', { ttlSeconds: 5 });
      expect(await ephemeral.get('{t}:k')).toBe('v');
    } finally {
      await ephemeral.close();
    }
  });
});

describe.skipIf(!available)('Redis that goes away', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('fails fast at start when nobody listens, naming the server but not the password', async () => {
    const url = server.url.replace('redis://', 'redis://user:s3cret-pass@');
    await server.kill();
    try {
      const started = Date.now();
      const error = await openEphemeral(redisSettings(url)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EphemeralUnavailableError);
      expect((error as Error).message).toContain(`127.0.0.1:${server.port}`);
      expect((error as Error).message).not.toContain('s3cret-pass');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await server.start();
    }
  });

  it('rejects commands quickly with EphemeralUnavailableError while Redis is down, and recovers by itself', async () => {
    const lines: Logged[] = [];
    const ephemeral = await openEphemeral(redisSettings(server.url), recordingLog(lines));
    try {
      await ephemeral.set('{t}:k', 'before', { ttlSeconds: 60 });
      await server.kill();

      const started = Date.now();
      const attempts = await Promise.allSettled([
        ephemeral.get('{t}:k'),
        ephemeral.set('{t}:k', 'x', { ttlSeconds: 60 }),
        ephemeral.take('{t}:k'),
        ephemeral.compareAndSet('{t}:k', 'before', 'after', 60),
        ephemeral.increment('{t}:n', { a: 1 }, 60),
        ephemeral.addToSet('{t}:s', ['m'], 60),
        ephemeral.members('{t}:s'),
        ephemeral.getMany(['{t}:a', '{t}:b']),
        ephemeral.delete(['{t}:k']),
        ephemeral.deletePrefix('{t}:'),
        ephemeral.ping(),
      ]);
      for (const attempt of attempts) {
        expect(attempt.status).toBe('rejected');
        expect((attempt as PromiseRejectedResult).reason).toBeInstanceOf(EphemeralUnavailableError);
      }
      // Bounded: no queueing behind a reconnection (the bound is generous for a loaded machine).
      expect(Date.now() - started).toBeLessThan(3_000);

      // Still down a while later: still failing closed, never a hang.
      await sleep(1_500);
      await expect(ephemeral.get('{t}:k')).rejects.toBeInstanceOf(EphemeralUnavailableError);
      // One line for the outage, not one per failed reconnection.
      expect(lines.filter((line) => line.level === 'warn')).toHaveLength(1);

      await server.start();
      const back = Date.now();
      let answered = false;
      while (!answered && Date.now() - back < 10_000) {
        answered = await ephemeral.ping().then(
          () => true,
          () => false,
        );
        if (!answered) await sleep(100);
      }
      expect(answered).toBe(true);
      // The restarted server kept nothing (no persistence): the value is gone, writes work again.
      expect(await ephemeral.get('{t}:k')).toBeUndefined();
      expect(await ephemeral.set('{t}:k', 'after', { ttlSeconds: 60 })).toBe(true);
      expect(await ephemeral.increment('{t}:n', { a: 1 }, 60)).toEqual({ a: 1 });
      expect(lines.some((line) => line.level === 'info' && /back/.test(line.message))).toBe(true);
    } finally {
      await ephemeral.close();
    }
  });

  it('closes cleanly even while Redis is down', async () => {
    const ephemeral = await openEphemeral(redisSettings(server.url));
    await server.kill();
    try {
      await expect(ephemeral.close()).resolves.toBeUndefined();
    } finally {
      await server.start();
    }
  });
});

describe.skipIf(!available)('Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });
  const settings = () => redisSettings('redis://127.0.0.1', { url: undefined, cluster: { nodes: cluster.nodes } });

  describeEphemeralContract('redis cluster', async () => {
    const ephemeral = await openEphemeral(settings());
    return { ephemeral, advance: (ms) => sleep(ms), close: () => ephemeral.close() };
  });

  it("keeps each tenant's keys on one slot, spreads tenants over the primaries, and deletes a tenant's keys wherever they are", async () => {
    const ephemeral = await openEphemeral(settings());
    const { Cluster } = await import('ioredis');
    const raw = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })));
    try {
      const tenants = Array.from({ length: 12 }, (_, i) => `spread${i}`);
      for (const tenant of tenants) {
        for (const part of ['a', 'b', 'c']) await ephemeral.set(tenantKey(tenant, part), part, { ttlSeconds: 60 });
        // Multi-key calls within a tenant work on Cluster: one slot.
        expect(await ephemeral.getMany(['a', 'b', 'c', 'd'].map((part) => tenantKey(tenant, part)))).toEqual(['a', 'b', 'c', undefined]);
        expect(await ephemeral.delete([tenantKey(tenant, 'c'), tenantKey(tenant, 'd')])).toBe(1);
      }
      const holding = await Promise.all(raw.nodes('master').map(async (node) => (await node.keys('gatehouse:{spread*')).length));
      expect(holding.filter((count) => count > 0).length).toBeGreaterThan(1);
      expect(holding.reduce((sum, count) => sum + count, 0)).toBe(24);
      expect(await ephemeral.deletePrefix('{spread')).toBe(24);
      expect(await ephemeral.get(tenantKey('spread0', 'a'))).toBeUndefined();
    } finally {
      raw.disconnect();
      await ephemeral.close();
    }
  });
});

describe.skipIf(!available)('Redis behind Sentinel', () => {
  let primary: RedisServer;
  let sentinel: RedisSentinel;
  beforeAll(async () => {
    primary = await startRedisServer();
    sentinel = await startRedisSentinel(primary);
  });
  afterAll(async () => {
    await sentinel?.close();
    await primary?.close();
  });

  it('finds the primary through the sentinels and keeps its data there', async () => {
    const ephemeral = await openEphemeral(redisSettings('redis://127.0.0.1', { url: undefined, sentinel: { sentinels: [sentinel.address], name: sentinel.name } }));
    try {
      await ephemeral.set(tenantKey('acme', 'k'), 'via sentinel', { ttlSeconds: 10 });
      expect(await ephemeral.increment(tenantKey('acme', 'n'), { a: 2 }, 10)).toEqual({ a: 2 });
      const raw = await startRawClient(primary.url);
      try {
        expect(await raw.get('gatehouse:{acme}:k')).toBe('via sentinel');
      } finally {
        raw.disconnect();
      }
    } finally {
      await ephemeral.close();
    }
  });

  it('refuses a name the sentinels do not monitor', async () => {
    const settings = redisSettings('redis://127.0.0.1', { url: undefined, sentinel: { sentinels: [sentinel.address], name: 'unknown-primary' } });
    await expect(openEphemeral(settings)).rejects.toBeInstanceOf(EphemeralUnavailableError);
  });
});

const certDir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-tls-'));
const haveCertificates = available && makeCertificates(certDir);
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

describe.skipIf(!haveCertificates)('Redis over TLS', () => {
  let server: RedisServer;
  let tlsPort: number;
  beforeAll(async () => {
    tlsPort = await freePort();
    const file = (name: string) => join(certDir, name);
    server = await startRedisServer(['--tls-port', String(tlsPort), '--tls-cert-file', file('server.pem'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.pem'), '--tls-auth-clients', 'no']);
  });
  afterAll(async () => {
    await server?.close();
  });
  const url = () => `rediss://localhost:${tlsPort}`;

  it('connects with the CA given in redis.tls.caFile', async () => {
    const ephemeral = await openEphemeral(redisSettings(url(), { tls: { caFile: join(certDir, 'ca.pem'), rejectUnauthorized: true } }));
    try {
      await ephemeral.set('{t}:k', 'over tls', { ttlSeconds: 10 });
      expect(await ephemeral.get('{t}:k')).toBe('over tls');
    } finally {
      await ephemeral.close();
    }
  });

  it('refuses a certificate it cannot check, and a CA file it cannot read', async () => {
    const started = Date.now();
    await expect(openEphemeral(redisSettings(url()))).rejects.toBeInstanceOf(EphemeralUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(openEphemeral(redisSettings(url(), { tls: { caFile: join(certDir, 'missing.pem'), rejectUnauthorized: true } }))).rejects.toThrow(
      /redis\.tls\.caFile: cannot read .*missing\.pem: ENOENT/,
    );
  });

  it('skips the check only when told to (refused in production by the configuration)', async () => {
    const ephemeral = await openEphemeral(redisSettings(url(), { tls: { rejectUnauthorized: false } }));
    try {
      await expect(ephemeral.ping()).resolves.toBeUndefined();
    } finally {
      await ephemeral.close();
    }
  });
});
