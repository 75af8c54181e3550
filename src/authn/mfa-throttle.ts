import { tenantKey } from '../../adapters/ephemeral.js';
import type { BucketPolicy, Throttle } from './throttle.js';

/**
 * Failure budgets of second-factor codes (TOTP and recovery codes), with the rule of the password
 * sign-in (sign-in-throttle.ts, NIST SP 800-63B 5.2.2): counted before the code is checked, and a
 * browser that signed in to the account before has a budget of its own, so someone who knows the
 * password cannot lock the owner out by typing wrong codes.
 *
 * - Every other browser shares one budget per account: 5 free failures, then delays doubling from
 *   1 s up to 15 minutes, refused at 20 until they drain, one an hour. With two accepted steps, a
 *   guess succeeds with odds 2 in a million: at most ~44 guesses a day stay far from that.
 * - A known browser: the same, draining one failure per 15 minutes (the owner mistyping).
 */
export const mfaPolicies = {
  account: { free: 5, cap: 20, drainSeconds: 60 * 60, maxDelaySeconds: 15 * 60, concurrent: 5 },
  device: { free: 5, cap: 20, drainSeconds: 15 * 60, maxDelaySeconds: 5 * 60, concurrent: 5 },
} satisfies Record<string, BucketPolicy>;

/**
 * Bucket keys under the tenant's prefix of the short-lived state (deleted with the tenant); an
 * admin clearing a user's counters needs the same names. `devicesOf`: every device bucket of one
 * account (account ids contain no `:`).
 */
export const mfaKeys = {
  account: (tenant: string, accountId: string) => tenantKey(tenant, 'mfa', 'acct', accountId),
  device: (tenant: string, accountId: string, deviceId: string) => tenantKey(tenant, 'mfa', 'dev', accountId, deviceId),
  devicesOf: (tenant: string, accountId: string) => tenantKey(tenant, 'mfa', 'dev', accountId, ''),
};

export interface MfaAttempt {
  tenant: string;
  /** the account whose factor is being checked */
  accountId: string;
  /** the id of the browser's valid device cookie for this account (interactions/known-device.ts), if any */
  device?: string;
}

/**
 * `settle`: `failed` (a wrong code), `succeeded` (empties the budget), `released` (the code could not
 * be checked, e.g. the store failed: the attempt is given back). `budget`: which budget refused
 * (for metrics; never shown).
 */
export type MfaCharge = { ok: true; settle(outcome: 'failed' | 'succeeded' | 'released'): Promise<void> } | { ok: false; retryAfter: number; budget: keyof typeof mfaPolicies };

/** Counts one code attempt before the code is checked: a known browser to its own budget only, any other to the account's. */
export async function chargeMfa(throttle: Throttle, attempt: MfaAttempt): Promise<MfaCharge> {
  const [key, budget] =
    attempt.device !== undefined
      ? ([mfaKeys.device(attempt.tenant, attempt.accountId, attempt.device), 'device'] as const)
      : ([mfaKeys.account(attempt.tenant, attempt.accountId), 'account'] as const);
  const taken = await throttle.take(key, mfaPolicies[budget]);
  return taken.ok ? { ok: true, settle: (outcome) => taken.settle(outcome) } : { ok: false, retryAfter: taken.retryAfter, budget };
}
