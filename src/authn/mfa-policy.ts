import type { FactorSummary } from '../domain/mfa-factors.js';
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
    throw new AppError('mfa_last_factor', 'This tenant requires a second factor: the user’s last authenticator app cannot be removed (enrol another one first).');
  }
}
