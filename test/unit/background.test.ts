/**
 * Background work (src/background.ts): what a request starts without waiting for. `idle` waits for
 * every task, those started meanwhile too, or gives up at its time limit (shutdown must not hang on
 * a gateway that never answers); a task that throws is reported, never an unhandled rejection.
 */
import { describe, expect, it } from 'vitest';
import { BackgroundWork } from '../../src/background.js';

const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('BackgroundWork', () => {
  it('runs a task without making its caller wait, and idle waits for it and for the tasks it starts', async () => {
    const work = new BackgroundWork(() => undefined);
    const done: string[] = [];
    work.run(async () => {
      await later(20);
      done.push('first');
      work.run(async () => {
        await later(20);
        done.push('second');
      });
    });
    expect(done).toEqual([]);
    await work.idle();
    expect(done).toEqual(['first', 'second']);
  });

  it('reports a task that throws, and keeps running the others', async () => {
    const errors: unknown[] = [];
    const work = new BackgroundWork((error) => errors.push(error));
    let ran = false;
    work.run(async () => {
      throw new Error('gateway exploded');
    });
    work.run(async () => {
      ran = true;
    });
    await work.idle();
    expect(errors).toEqual([new Error('gateway exploded')]);
    expect(ran).toBe(true);
  });

  it('gives up waiting at the time limit', async () => {
    const work = new BackgroundWork(() => undefined);
    let finished = false;
    work.run(async () => {
      await later(500);
      finished = true;
    });
    const started = Date.now();
    await work.idle(50);
    expect(Date.now() - started).toBeLessThan(400);
    expect(finished).toBe(false);
    await work.idle();
    expect(finished).toBe(true);
  });
});
