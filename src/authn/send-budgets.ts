import type { BucketPolicy, Take, Throttle } from './throttle.js';

/**
 * `settle(true)`: the message went to the sender (it counts, even if the gateway failed: it may
 * have sent it); `settle(false)`: nothing was sent, the units are given back.
 */
export type SendCharge<B extends string> = { ok: true; settle(sent: boolean): Promise<void> } | { ok: false; retryAfter: number; budget: B };

/**
 * Takes one unit of each budget in order (leaky buckets of `throttle.ts`, counted before anything
 * is sent, so parallel requests cannot all pass), giving back those taken when one refuses. The
 * one rule behind the SMS and e-mail sending limits.
 */
export async function chargeBudgets<B extends string>(throttle: Throttle, budgets: ReadonlyArray<readonly [B, string, BucketPolicy]>): Promise<SendCharge<B>> {
  const taken: Array<Extract<Take, { ok: true }>> = [];
  for (const [budget, key, policy] of budgets) {
    const take = await throttle.take(key, policy);
    if (!take.ok) {
      await Promise.all(taken.map((unit) => unit.settle('released')));
      return { ok: false, retryAfter: take.retryAfter, budget };
    }
    taken.push(take);
  }
  return {
    ok: true,
    settle: async (sent) => {
      // A unit "failed" stays in the bucket until it drains: here, a message sent.
      await Promise.all(taken.map((unit) => unit.settle(sent ? 'failed' : 'released')));
    },
  };
}
