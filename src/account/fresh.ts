import { ACR, satisfies, type Acr } from '../authn/assurance.js';
import type { FactorSummary } from '../domain/mfa-factors.js';
import { mfaPolicyOf, type TenantSecurityPolicy } from '../domain/tenants.js';
import type { ConsoleSession } from './sessions.js';

/** How recent a console sign-in must be to add or remove a factor. */
export const FRESH_SIGN_IN_SECONDS = 5 * 60;

/**
 * What a sign-in must have proven before the user may change their factors: a second factor when
 * they have one the tenant counts (a stolen password with a live session must not add an
 * attacker's authenticator or remove the owner's), the password alone when they have none. Where
 * the tenant counts none of them (`mfa: off`, or types left out of `mfa_factors`), a sign-in could
 * not earn more than the password, so that is what is asked.
 */
export function requiredForChanges(factors: readonly FactorSummary[], policy: TenantSecurityPolicy | undefined): Acr | undefined {
  const { mfa, factors: counted } = mfaPolicyOf(policy);
  return mfa !== 'off' && factors.some((factor) => counted.includes(factor.type)) ? ACR.multiFactor : undefined;
}

/**
 * Whether the console session may change factors now: signed in within the last
 * {@link FRESH_SIGN_IN_SECONDS} (by the ID token's `auth_time`) with what {@link requiredForChanges}
 * asks for (by its `amr`).
 */
export function freshEnough(session: ConsoleSession, factors: readonly FactorSummary[], policy: TenantSecurityPolicy | undefined, nowSeconds: number): boolean {
  const age = session.auth_time === undefined ? Number.POSITIVE_INFINITY : nowSeconds - session.auth_time;
  return age >= 0 && age <= FRESH_SIGN_IN_SECONDS && satisfies(requiredForChanges(factors, policy), session.amr ?? []);
}
