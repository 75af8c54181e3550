import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import type { FactorSummary, MfaFactorRepository } from '../domain/mfa-factors.js';
import type { TenantSecurityPolicy } from '../domain/tenants.js';
import { AppError } from '../errors.js';

/**
 * Factors that sign a user in again and again. Recovery codes are a fallback for a lost
 * authenticator (ten uses), so a user left with only those is a user without an authenticator.
 */
function isAuthenticator(factor: FactorSummary): boolean {
  return factor.type !== 'recovery_codes';
}

/**
 * Refuses (`mfa_last_factor`, 409) a removal that would leave the user without an authenticator
 * while the tenant requires MFA: removing it would let the next sign-in enrol a new factor with
 * the password alone. `factorId` names the factor removed; without it, every factor is. A removal
 * that names no factor of the user passes (the caller answers 404). One rule for every caller that
 * removes factors (admin API, account console).
 */
export function assertMayRemove(tenantPolicy: TenantSecurityPolicy | undefined, factors: readonly FactorSummary[], factorId?: string): void {
  if (tenantPolicy?.mfa !== 'required') return;
  const removed = factorId === undefined ? factors : factors.filter((factor) => factor.id === factorId);
  if (removed.length === 0) return;
  const left = factors.filter((factor) => !removed.includes(factor));
  if (!left.some(isAuthenticator)) {
    throw new AppError('mfa_last_factor', 'This tenant requires a second factor: the user’s last authenticator (app or passkey) cannot be removed (add another one first).');
  }
}

/** How long a removal may hold a user's factor lock before it lapses (a crashed instance's). */
const REMOVAL_LOCK_SECONDS = 10;

/**
 * Removes one factor (`factorId`) or all of a user's factors under {@link assertMayRemove}, one
 * removal per user at a time: check-then-delete alone would let two removals of a user's last two
 * authenticators both pass their check. The lock is a key written only if absent in the short-lived
 * store (every instance sees it); a removal that finds it held is refused with `conflict` (409, try
 * again) rather than queued. Answers the factors removed (empty when `factorId` names none of them).
 */
export async function removeFactors(
  deps: { factors: MfaFactorRepository; ephemeral: EphemeralStore },
  tenantPolicy: TenantSecurityPolicy | undefined,
  tenant: string,
  userId: string,
  factorId?: string,
): Promise<FactorSummary[]> {
  const lock = tenantKey(tenant, 'mfa-removal', userId);
  if (!(await deps.ephemeral.set(lock, '1', { ttlSeconds: REMOVAL_LOCK_SECONDS, onlyIfAbsent: true }))) {
    throw new AppError('conflict', 'Another change to this user’s factors is in progress; try again.');
  }
  try {
    const factors = await deps.factors.list(tenant, userId);
    assertMayRemove(tenantPolicy, factors, factorId);
    const removed = factorId === undefined ? factors : factors.filter((factor) => factor.id === factorId);
    if (factorId === undefined) await deps.factors.removeAll(tenant, userId);
    else if (removed.length > 0 && !(await deps.factors.remove(tenant, userId, factorId))) return [];
    return removed;
  } finally {
    await deps.ephemeral.delete([lock]);
  }
}

