import { tenantKey } from '../../adapters/ephemeral.js';
import type { BucketPolicy, Throttle } from './throttle.js';

/**
 * Failure budgets of the password sign-in (NIST SP 800-63B 5.2.2: slow the guesser, keep the owner in).
 *
 * - A browser that has signed in to the account before carries a device cookie and has a budget of
 *   its own: failures elsewhere never touch it, so an attacker cannot lock the owner out.
 * - Every other browser shares one budget per typed identifier (a username or an e-mail address,
 *   after normalisation, so look-alike spellings share it too): 5 free failures, then delays that
 *   double from 1 s up to 15 minutes, refused at 25 failures until they drain, one failure an hour.
 *   An account has at most two identifiers, so unknown browsers get at most 50 failures per account
 *   in any 24 hours, well under NIST's 100. Keyed by identifier rather than account, an unknown
 *   identifier is throttled exactly like a real one, so the answer never tells them apart.
 * - Unknown browsers are also bounded per client address (100 failures, draining 100 per 15 minutes)
 *   so one source cannot spray many accounts.
 */
export const signInPolicies = {
  identifier: { free: 5, cap: 25, drainSeconds: 60 * 60, maxDelaySeconds: 15 * 60, concurrent: 10 },
  device: { free: 5, cap: 20, drainSeconds: 15 * 60, maxDelaySeconds: 5 * 60, concurrent: 5 },
  address: { free: 100, cap: 100, drainSeconds: 9, maxDelaySeconds: 0, concurrent: 50 },
} satisfies Record<string, BucketPolicy>;

/**
 * Bucket keys, under the tenant's prefix of the short-lived state (so deleting the tenant deletes
 * them); an admin clearing a user's counters needs the same names. `devicesOf` is the prefix of
 * every device bucket of one account (account ids contain no `:`).
 */
export const signInKeys = {
  identifier: (tenant: string, identifierKey: string) => tenantKey(tenant, 'signin', 'id', identifierKey),
  device: (tenant: string, accountId: string, deviceId: string) => tenantKey(tenant, 'signin', 'dev', accountId, deviceId),
  devicesOf: (tenant: string, accountId: string) => tenantKey(tenant, 'signin', 'dev', accountId, ''),
  address: (tenant: string, address: string) => tenantKey(tenant, 'signin', 'ip', address),
};

export interface SignInAttempt {
  tenant: string;
  /** the normalised identifier as typed (see `identifierKey`) */
  identifier: string;
  address: string;
  /** set when the browser carries a valid device cookie for the account the identifier names */
  device?: { accountId: string; deviceId: string };
}

/** `budget`: which budget refused (for metrics; never shown to the browser). */
export type SignInCharge = { ok: true; settle(outcome: 'failed' | 'succeeded'): Promise<void> } | { ok: false; retryAfter: number; budget: keyof typeof signInPolicies };

/**
 * Counts one sign-in attempt against its budgets before the password is checked. A known device
 * is charged to its own budget only; an unknown browser to its address, then to the identifier
 * (an address already refused is not charged to the identifier).
 */
export async function chargeSignIn(throttle: Throttle, attempt: SignInAttempt): Promise<SignInCharge> {
  if (attempt.device) {
    const taken = await throttle.take(signInKeys.device(attempt.tenant, attempt.device.accountId, attempt.device.deviceId), signInPolicies.device);
    return taken.ok ? { ok: true, settle: (outcome) => taken.settle(outcome) } : { ok: false, retryAfter: taken.retryAfter, budget: 'device' };
  }
  const address = await throttle.take(signInKeys.address(attempt.tenant, attempt.address), signInPolicies.address);
  if (!address.ok) return { ok: false, retryAfter: address.retryAfter, budget: 'address' };
  const identifier = await throttle.take(signInKeys.identifier(attempt.tenant, attempt.identifier), signInPolicies.identifier);
  if (!identifier.ok) {
    await address.settle('released');
    return { ok: false, retryAfter: identifier.retryAfter, budget: 'identifier' };
  }
  return {
    ok: true,
    async settle(outcome) {
      // A success empties the identifier's bucket but only gives the address its attempt back:
      // the address budget spans accounts.
      await Promise.all([identifier.settle(outcome), address.settle(outcome === 'failed' ? 'failed' : 'released')]);
    },
  };
}

/**
 * Counts one passkey sign-in attempt before the assertion is checked. A passkey names no account
 * until it is verified, so only the client address can be charged: the address budget of password
 * sign-ins (one source spraying assertions or passwords shares one budget). A success gives the
 * attempt back without emptying the bucket, as for passwords.
 */
export async function chargePasskeySignIn(throttle: Throttle, attempt: { tenant: string; address: string }): Promise<SignInCharge> {
  const address = await throttle.take(signInKeys.address(attempt.tenant, attempt.address), signInPolicies.address);
  if (!address.ok) return { ok: false, retryAfter: address.retryAfter, budget: 'address' };
  return { ok: true, settle: (outcome) => address.settle(outcome === 'failed' ? 'failed' : 'released') };
}
