/**
 * The short-lived state contract (adapters/ephemeral.ts): run against every backend — the store
 * (nedb in memory, nedb file, MongoDB when configured) and Redis. Expiry is crossed with
 * `advance`: the store backends take an injected clock, Redis needs real time to pass.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantKey, tenantPrefix, type EphemeralStore } from '../../adapters/ephemeral.js';
import { StoreEphemeral } from '../../adapters/ephemeral-store.js';
import type { Store } from '../../adapters/store.js';

export interface EphemeralUnderTest {
  ephemeral: EphemeralStore;
  /** Lets `ms` pass for expiry (moves an injected clock, or waits). */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** The store-backed short-lived state over a freshly opened store, with a clock the contract moves. */
export async function storeEphemeralUnderTest(open: () => Promise<Store>, cleanup?: () => Promise<void>): Promise<EphemeralUnderTest> {
  const store = await open();
  let offset = 0;
  return {
    ephemeral: new StoreEphemeral(store, () => Date.now() + offset),
    async advance(ms) {
      offset += ms;
    },
    async close() {
      await store.close();
      await cleanup?.();
    },
  };
}

export function describeEphemeralContract(label: string, open: () => Promise<EphemeralUnderTest>): void {
  describe(`ephemeral contract: ${label}`, () => {
    let under: EphemeralUnderTest | undefined;
    const e = () => {
      if (!under) throw new Error('the ephemeral store did not open');
      return under.ephemeral;
    };
    /** A key no other test uses, in a tenant no other test uses. */
    const fresh = (...parts: string[]) => tenantKey(`t${randomUUID().slice(0, 8)}`, ...(parts.length ? parts : ['k']));

    beforeAll(async () => {
      under = await open();
    });
    afterAll(async () => {
      await under?.close();
    });

    it('reads back what it wrote, until the lifetime ends', async () => {
      const key = fresh();
      expect(await e().get(key)).toBeUndefined();
      expect(await e().set(key, 'one', { ttlSeconds: 1 })).toBe(true);
      expect(await e().get(key)).toBe('one');
      expect(await e().set(key, 'two', { ttlSeconds: 1 })).toBe(true);
      expect(await e().get(key)).toBe('two');
      await under!.advance(1_300);
      expect(await e().get(key)).toBeUndefined();
    });

    it('keeps any string intact, large and non-ASCII ones included', async () => {
      const key = fresh();
      const value = `${'ä€𝄞\u0000"\\'.repeat(1000)}${'x'.repeat(60_000)}`;
      await e().set(key, value, { ttlSeconds: 60 });
      expect(await e().get(key)).toBe(value);
    });

    it('answers several keys in order, live ones only', async () => {
      const tenant = `t${randomUUID().slice(0, 8)}`;
      const [a, b, c] = ['a', 'b', 'c'].map((part) => tenantKey(tenant, part)) as [string, string, string];
      await e().set(a, 'A', { ttlSeconds: 60 });
      await e().set(c, 'C', { ttlSeconds: 60 });
      expect(await e().getMany([c, b, a])).toEqual(['C', undefined, 'A']);
      expect(await e().getMany([])).toEqual([]);
    });

    it('writes only-if-absent once among parallel writers, and again once the value expired', async () => {
      const key = fresh();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => e().set(key, `w${i}`, { ttlSeconds: 1, onlyIfAbsent: true })));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await e().get(key)).toBe(`w${results.indexOf(true)}`);
      await under!.advance(1_300);
      expect(await e().set(key, 'later', { ttlSeconds: 60, onlyIfAbsent: true })).toBe(true);
      expect(await e().get(key)).toBe('later');
    });

    it('gives a taken value to exactly one of parallel takers, and deletes it', async () => {
      const key = fresh();
      await e().set(key, 'prize', { ttlSeconds: 60 });
      const taken = await Promise.all(Array.from({ length: 20 }, () => e().take(key)));
      expect(taken.filter((value) => value === 'prize')).toHaveLength(1);
      expect(taken.filter((value) => value === undefined)).toHaveLength(19);
      expect(await e().get(key)).toBeUndefined();
      expect(await e().take(key)).toBeUndefined();
    });

    it('does not take an expired value', async () => {
      const key = fresh();
      await e().set(key, 'old', { ttlSeconds: 1 });
      await under!.advance(1_300);
      expect(await e().take(key)).toBeUndefined();
    });

    it('compares and sets: one winner among parallel writers that read the same value', async () => {
      const key = fresh();
      expect(await e().compareAndSet(key, 'nothing', 'x', 60)).toBe(false);
      expect(await e().get(key)).toBeUndefined();
      expect(await e().compareAndSet(key, undefined, 'v1', 60)).toBe(true);
      expect(await e().compareAndSet(key, undefined, 'v1b', 60)).toBe(false);
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => e().compareAndSet(key, 'v1', `v2-${i}`, 60)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await e().get(key)).toBe(`v2-${wins.indexOf(true)}`);
      expect(await e().compareAndSet(key, 'v1', 'stale', 60)).toBe(false);
      // `next` undefined deletes, but only the value it expected.
      expect(await e().compareAndSet(key, 'stale', undefined, 60)).toBe(false);
      expect(await e().compareAndSet(key, `v2-${wins.indexOf(true)}`, undefined, 60)).toBe(true);
      expect(await e().get(key)).toBeUndefined();
    });

    it('treats an expired value as absent when comparing', async () => {
      const key = fresh();
      await e().set(key, 'old', { ttlSeconds: 1 });
      await under!.advance(1_300);
      expect(await e().compareAndSet(key, 'old', 'new', 60)).toBe(false);
      expect(await e().compareAndSet(key, undefined, 'fresh', 60)).toBe(true);
      expect(await e().get(key)).toBe('fresh');
    });

    it('deletes keys and counts the ones that existed', async () => {
      const tenant = `t${randomUUID().slice(0, 8)}`;
      const [a, b] = [tenantKey(tenant, 'a'), tenantKey(tenant, 'b')];
      await e().set(a, '1', { ttlSeconds: 60 });
      expect(await e().delete([a, b])).toBe(1);
      expect(await e().get(a)).toBeUndefined();
      expect(await e().delete([])).toBe(0);
    });

    it('counts every parallel increment, each caller seeing a distinct count', async () => {
      const key = fresh();
      const seen = await Promise.all(Array.from({ length: 40 }, () => e().increment(key, { a: 1, b: 2 }, 60)));
      expect(new Set(seen.map((counts) => counts.a)).size).toBe(40);
      expect(Math.max(...seen.map((counts) => counts.a!))).toBe(40);
      expect(await e().increment(key, { a: 0, b: -80 }, 60)).toEqual({ a: 40, b: 0 });
    });

    it('keeps a counter window fixed: later increments do not extend it, a new one starts at zero', async () => {
      const key = fresh();
      expect(await e().increment(key, { n: 1 }, 2)).toEqual({ n: 1 });
      await under!.advance(1_000);
      expect(await e().increment(key, { n: 1 }, 2)).toEqual({ n: 2 });
      await under!.advance(1_300);
      expect(await e().increment(key, { n: 1, m: 5 }, 2)).toEqual({ n: 1, m: 5 });
    });

    it('refuses counter names that are not plain words', async () => {
      await expect(e().increment(fresh(), { 'a.b': 1 }, 60)).rejects.toThrow(TypeError);
      await expect(e().increment(fresh(), { $inc: 1 }, 60)).rejects.toThrow(TypeError);
      await expect(e().increment(fresh(), { a: 0.5 }, 60)).rejects.toThrow(TypeError);
    });

    it('keeps sets: add, list, remove, and a lifetime that only grows', async () => {
      const key = fresh();
      expect(await e().members(key)).toEqual([]);
      await e().addToSet(key, ['a', 'b'], 2);
      await Promise.all(['c', 'd', 'a'].map((member) => e().addToSet(key, [member], 1)));
      expect((await e().members(key)).sort()).toEqual(['a', 'b', 'c', 'd']);
      await e().removeFromSet(key, ['b', 'zzz']);
      expect((await e().members(key)).sort()).toEqual(['a', 'c', 'd']);
      // The shorter lifetimes above did not shorten the set's: it lives 2 s, not 1.
      await under!.advance(1_300);
      expect((await e().members(key)).sort()).toEqual(['a', 'c', 'd']);
      await under!.advance(1_000);
      expect(await e().members(key)).toEqual([]);
      await e().addToSet(key, ['new'], 60);
      expect(await e().members(key)).toEqual(['new']);
    });

    it('applies writes in the order given, and none when one of them is invalid', async () => {
      const tenant = `t${randomUUID().slice(0, 8)}`;
      const [a, b, set] = [tenantKey(tenant, 'a'), tenantKey(tenant, 'b'), tenantKey(tenant, 's')];
      await e().set(b, 'old', { ttlSeconds: 60 });
      await e().writeInOrder([
        { op: 'addToSet', key: set, members: ['x', 'y'], ttlSeconds: 60 },
        { op: 'set', key: a, value: 'first', ttlSeconds: 60 },
        { op: 'delete', keys: [a, b] },
        { op: 'set', key: a, value: 'second', ttlSeconds: 1 },
        { op: 'removeFromSet', key: set, members: ['x'] },
        { op: 'addToSet', key: set, members: [], ttlSeconds: 60 },
      ]);
      expect(await e().getMany([a, b])).toEqual(['second', undefined]);
      expect(await e().members(set)).toEqual(['y']);
      await e().writeInOrder([]);
      await expect(
        e().writeInOrder([
          { op: 'set', key: b, value: 'never', ttlSeconds: 60 },
          { op: 'set', key: a, value: 'never', ttlSeconds: 0 },
        ]),
      ).rejects.toThrow(RangeError);
      expect(await e().getMany([a, b])).toEqual(['second', undefined]);
      await under!.advance(1_300);
      expect(await e().get(a)).toBeUndefined();
    });

    it("deletes a tenant's keys by prefix and no other tenant's", async () => {
      const id = randomUUID().slice(0, 8);
      const one = `t${id}`;
      const ten = `t${id}0`;
      await e().set(tenantKey(one, 'a'), '1', { ttlSeconds: 60 });
      await e().increment(tenantKey(one, 'n'), { x: 1 }, 60);
      await e().addToSet(tenantKey(one, 's'), ['m'], 60);
      await e().set(tenantKey(ten, 'a'), '10', { ttlSeconds: 60 });
      expect(await e().deletePrefix(tenantPrefix(one))).toBe(3);
      expect(await e().get(tenantKey(one, 'a'))).toBeUndefined();
      expect(await e().members(tenantKey(one, 's'))).toEqual([]);
      expect(await e().get(tenantKey(ten, 'a'))).toBe('10');
      await expect(e().deletePrefix('')).rejects.toThrow(RangeError);
    });

    it('refuses lifetimes that are zero, negative, not numbers or beyond 400 days', async () => {
      for (const ttlSeconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 401 * 86400]) {
        await expect(e().set(fresh(), 'x', { ttlSeconds })).rejects.toThrow(RangeError);
      }
    });

    it('answers ping', async () => {
      await expect(e().ping()).resolves.toBeUndefined();
    });
  });
}
