import { tenantKey } from '../../adapters/ephemeral.js';
import { chargeBudgets, type SendCharge } from './send-budgets.js';
import type { BucketPolicy, Throttle } from './throttle.js';

/**
 * Limits on SENDING texts, against SMS pumping (someone making Gatehouse text numbers that pay
 * them per message) and against flooding one person's phone. Each send is one unit in a leaky
 * bucket of `authn/throttle.ts` (so the window slides and parallel requests are counted before
 * any is sent); a bucket is full at `cap`, and one unit drains every `drainSeconds`:
 *
 * - per phone number: 5 texts, then one more every 12 minutes (5 an hour);
 * - per account: 10, then one every 6 minutes (10 an hour), whichever numbers;
 * - per client address: 20, then one every 3 minutes (20 an hour), whichever accounts.
 *
 * The resend cooldown of one transaction (30 s) is apart: `sms-codes.ts`.
 */
export const smsSendPolicies = {
  phone: { free: 5, cap: 5, drainSeconds: 12 * 60, maxDelaySeconds: 0, concurrent: 5 },
  account: { free: 10, cap: 10, drainSeconds: 6 * 60, maxDelaySeconds: 0, concurrent: 10 },
  address: { free: 20, cap: 20, drainSeconds: 3 * 60, maxDelaySeconds: 0, concurrent: 20 },
} satisfies Record<string, BucketPolicy>;

export type SmsBudget = keyof typeof smsSendPolicies;

/** Bucket keys under the tenant's prefix (deleted with the tenant). */
export const smsSendKeys = {
  phone: (tenant: string, e164: string) => tenantKey(tenant, 'sms', 'send', 'phone', e164),
  account: (tenant: string, accountId: string) => tenantKey(tenant, 'sms', 'send', 'acct', accountId),
  address: (tenant: string, address: string) => tenantKey(tenant, 'sms', 'send', 'ip', address),
};

export type SmsSendCharge = SendCharge<SmsBudget>;

/**
 * Takes one unit of each budget (address, account, phone), giving back those taken when one refuses.
 * `address` is left out for texts no browser asked for (a CIBA notification, asked by an
 * authenticated client for one of its customers): the per-account and per-phone budgets still hold.
 */
export async function chargeSmsSend(throttle: Throttle, send: { tenant: string; accountId: string; phone: string; address?: string }): Promise<SmsSendCharge> {
  const budgets: Array<readonly [SmsBudget, string, BucketPolicy]> = [
    ['account', smsSendKeys.account(send.tenant, send.accountId), smsSendPolicies.account],
    ['phone', smsSendKeys.phone(send.tenant, send.phone), smsSendPolicies.phone],
  ];
  if (send.address !== undefined) budgets.unshift(['address', smsSendKeys.address(send.tenant, send.address), smsSendPolicies.address]);
  return chargeBudgets(throttle, budgets);
}
