import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/authn/semaphore.js';

/** A job that records how many jobs run at once and finishes when told to. */
function gate(counts: { now: number; max: number }) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const job = async () => {
    counts.now += 1;
    counts.max = Math.max(counts.max, counts.now);
    await done;
    counts.now -= 1;
  };
  return { job, finish };
}

describe('Semaphore', () => {
  it('never runs more than its limit, even when a newcomer arrives while a slot is handed to a waiter', async () => {
    // The window is a few microtasks wide: between a finishing job giving its slot back and the
    // waiter it wakes resuming. Newcomers are sent in at every depth of that window.
    for (let depth = 0; depth < 6; depth += 1) {
      const semaphore = new Semaphore(1);
      const counts = { now: 0, max: 0 };
      const newcomers: Array<Promise<void>> = [];
      const later = (hops: number, task: () => void): void => (hops === 0 ? task() : queueMicrotask(() => later(hops - 1, task)));
      const waiter = gate(counts);
      const first = semaphore.run(async () => {
        counts.now += 1;
        counts.max = Math.max(counts.max, counts.now);
        await Promise.resolve();
        later(depth, () => newcomers.push(semaphore.run(async () => {
          counts.now += 1;
          counts.max = Math.max(counts.max, counts.now);
          await new Promise((resolve) => setImmediate(resolve));
          counts.now -= 1;
        })));
        counts.now -= 1;
      });
      const waiting = semaphore.run(waiter.job);
      await first;
      await new Promise((resolve) => setImmediate(resolve));
      waiter.finish();
      await Promise.all([waiting, ...newcomers]);
      expect(counts.max, `newcomer ${depth} microtasks after the release`).toBe(1);
    }
  });

  it('serves waiters first in, first out', async () => {
    const semaphore = new Semaphore(2);
    const order: number[] = [];
    const gates = Array.from({ length: 6 }, () => gate({ now: 0, max: 0 }));
    const runs = gates.map((g, index) => semaphore.run(async () => {
      order.push(index);
      await g.job();
    }));
    for (const g of gates) {
      g.finish();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('frees its slot when a job fails', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await semaphore.run(async () => 'ran')).toBe('ran');
  });
});
