import { createHash } from 'node:crypto';
import { tenantKey } from '../../adapters/ephemeral.js';
import { chargeBudgets, type SendCharge } from './send-budgets.js';
import type { BucketPolicy, Throttle } from './throttle.js';

/**
 * Limits on SENDING account mail (verification codes, reset links), against flooding someone's
 * mailbox through Gatehouse and against using it to send mail at volume. Leaky buckets as for SMS
 * (`sms-send-limits.ts`):
 *
 * - per mailbox (the address, or the identifier typed into the reset form): 3, then one more every 10 minutes;
 * - per account: 5, then one every 10 minutes, whichever addresses;
 * - per client address: 20, then one every 3 minutes.
 */
export const emailSendPolicies = {
  mailbox: { free: 3, cap: 3, drainSeconds: 10 * 60, maxDelaySeconds: 0, concurrent: 3 },
  account: { free: 5, cap: 5, drainSeconds: 10 * 60, maxDelaySeconds: 0, concurrent: 5 },
  client: { free: 20, cap: 20, drainSeconds: 3 * 60, maxDelaySeconds: 0, concurrent: 20 },
} satisfies Record<string, BucketPolicy>;

export type EmailBudget = keyof typeof emailSendPolicies;

/** Keys under the tenant's prefix; the mailbox is hashed (no addresses in the short-lived store's key names). */
const keys = {
  mailbox: (tenant: string, purpose: string, mailbox: string) => tenantKey(tenant, 'email', 'send', purpose, 'box', createHash('sha256').update(mailbox.trim().toLowerCase()).digest('base64url')),
  account: (tenant: string, purpose: string, accountId: string) => tenantKey(tenant, 'email', 'send', purpose, 'acct', accountId),
  client: (tenant: string, purpose: string, address: string) => tenantKey(tenant, 'email', 'send', purpose, 'ip', address),
};

/**
 * One unit of each budget named: `purpose` keeps verification and reset budgets apart (a reset flood
 * must not stop a user verifying their address). Budgets left out are not charged: the reset form
 * charges the mailbox and client openly, and the account only once it knows there is one (silently).
 */
export function chargeEmailSend(throttle: Throttle, send: { tenant: string; purpose: string; mailbox?: string; accountId?: string; client?: string }): Promise<SendCharge<EmailBudget>> {
  const budgets: Array<readonly [EmailBudget, string, BucketPolicy]> = [];
  if (send.client !== undefined) budgets.push(['client', keys.client(send.tenant, send.purpose, send.client), emailSendPolicies.client]);
  if (send.accountId !== undefined) budgets.push(['account', keys.account(send.tenant, send.purpose, send.accountId), emailSendPolicies.account]);
  if (send.mailbox !== undefined) budgets.push(['mailbox', keys.mailbox(send.tenant, send.purpose, send.mailbox), emailSendPolicies.mailbox]);
  return chargeBudgets(throttle, budgets);
}
