import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../adapters/index.js';
import type { Store } from '../../adapters/store.js';
import { AttemptWindows } from '../../src/authn/attempts.js';
import { delaySeconds, Throttle, type BucketPolicy } from '../../src/authn/throttle.js';

/** The counting primitives on their own, against the embedded store, with a clock the test moves. */
let store: Store;
// Near the real time: the store's TTL index drops documents whose expiry has really passed.
let now = Date.now();
const clock = () => now;

beforeAll(async () => {
  store = await openStore({ kind: 'memory', dataDir: '', mongodb: { database: 'unused' } });
});
afterAll(() => store.close());

const policy: BucketPolicy = { free: 3, cap: 6, drainSeconds: 60, maxDelaySeconds: 8, concurrent: 4 };

describe('Throttle (leaky bucket)', () => {
  it('doubles the delay with each failure past the free ones, up to the maximum', () => {
    expect([0, 2, 2.5, 3, 3.5, 4, 5, 9].map((level) => delaySeconds(level, policy))).toEqual([0, 0, 0, 1, 2, 2, 4, 8]);
  });

  it('lets at most `concurrent` of 50 parallel attempts through, and counts them before they settle', async () => {
    const throttle = new Throttle(store, clock);
    const takes = await Promise.all(Array.from({ length: 50 }, () => throttle.take('unit:burst', policy)));
    const allowed = takes.filter((take) => take.ok);
    expect(allowed.length).toBeLessThanOrEqual(policy.concurrent);
    expect(allowed.length).toBeGreaterThan(0);
    for (const take of allowed) if (take.ok) await take.settle('failed');
    expect(await throttle.level('unit:burst', policy)).toBe(allowed.length);
  });

  it('never loses a failure to a concurrent attempt', async () => {
    const throttle = new Throttle(store, clock);
    const wide: BucketPolicy = { free: 100, cap: 100, drainSeconds: 60, maxDelaySeconds: 1, concurrent: 100 };
    const takes = await Promise.all(Array.from({ length: 30 }, () => throttle.take('unit:wide', wide)));
    await Promise.all(takes.map((take) => (take.ok ? take.settle('failed') : undefined)));
    expect(await throttle.level('unit:wide', wide)).toBe(takes.filter((take) => take.ok).length);
  });

  it('drains continuously and refuses at the cap with the time until one failure has drained', async () => {
    const throttle = new Throttle(store, clock);
    for (let failure = 0; failure < policy.cap; failure += 1) {
      const take = await throttle.take('unit:cap', policy);
      expect(take.ok).toBe(true);
      if (take.ok) await take.settle('failed');
      now += 8_000;
    }
    const refused = await throttle.take('unit:cap', policy);
    expect(refused).toEqual({ ok: false, retryAfter: expect.any(Number) });
    if (!refused.ok) now += refused.retryAfter * 1000;
    const again = await throttle.take('unit:cap', policy);
    expect(again.ok).toBe(true);
  });

  it('empties the bucket on success, and forgets it when cleared', async () => {
    const throttle = new Throttle(store, clock);
    for (let failure = 0; failure < 3; failure += 1) {
      const take = await throttle.take('unit:reset', policy);
      if (take.ok) await take.settle('failed');
    }
    expect(await throttle.level('unit:reset', policy)).toBe(3);
    now += 1_000;
    const good = await throttle.take('unit:reset', policy);
    if (good.ok) await good.settle('succeeded');
    expect(await throttle.level('unit:reset', policy)).toBe(0);
    const take = await throttle.take('unit:reset', policy);
    if (take.ok) await take.settle('failed');
    expect(await throttle.clearPrefix('unit:re')).toBe(1);
    expect(await throttle.level('unit:reset', policy)).toBe(0);
  });
});

describe('AttemptWindows (machine authentication)', () => {
  it('checks at most failures + concurrent of 200 parallel attempts, and counts every failure', async () => {
    const windows = new AttemptWindows(store, clock);
    const limit = { failures: 5, concurrent: 10 };
    const attempts = await Promise.all(Array.from({ length: 200 }, () => windows.begin('unit:auth', [['x', limit]], 300)));
    const checked = attempts.filter((attempt) => attempt.ok);
    expect(checked.length).toBeLessThanOrEqual(15);
    await Promise.all(checked.map((attempt) => (attempt.ok ? attempt.settle(true) : undefined)));
    expect(await windows.failures('unit:auth', 'x', 300)).toBe(checked.length);
    expect((await windows.begin('unit:auth', [['x', limit]], 300)).ok).toBe(false);
  });

  it('does not count an honest success against the source', async () => {
    const windows = new AttemptWindows(store, clock);
    for (let request = 0; request < 50; request += 1) {
      const attempt = await windows.begin('unit:honest', [['x', { failures: 1, concurrent: 1 }]], 300);
      expect(attempt.ok).toBe(true);
      if (attempt.ok) await attempt.settle(false);
    }
  });
});
