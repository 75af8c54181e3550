import { tenantKey } from '../../adapters/ephemeral.js';
import type { BucketPolicy, Throttle } from './throttle.js';

/**
 * How many accounts one client address may create: 20, then one more every 3 minutes (20 an
 * hour: an office behind one address can still onboard a team), a leaky bucket of `authn/throttle.ts` counted before the password is hashed, so a burst
 * of parallel sign-ups cannot all pass. Every attempt that got as far as hashing counts (a taken
 * name too: it cost the same work); a form refused for its fields gives its unit back.
 */
export const signUpPolicy: BucketPolicy = { free: 20, cap: 20, drainSeconds: 3 * 60, maxDelaySeconds: 0, concurrent: 20 };

export function chargeSignUp(throttle: Throttle, tenant: string, address: string) {
  return throttle.take(tenantKey(tenant, 'signup', 'ip', address), signUpPolicy);
}
