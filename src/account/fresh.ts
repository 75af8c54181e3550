import { ACR, satisfies, type Acr } from '../authn/assurance.js';
import type { FactorSummary } from '../domain/mfa-factors.js';
import type { ConsoleSession } from './sessions.js';

/** How recent a console sign-in must be to add or remove a factor. */
export const FRESH_SIGN_IN_SECONDS = 5 * 60;

/**
 * What a sign-in must have proven before the user may change their factors: a second factor when
 * they have one (a stolen password with a live session must not add an attacker's authenticator or
 * remove the owner's), the password alone when they have none.
 */
export function requiredForChanges(factors: readonly FactorSummary[]): Acr | undefined {
  return factors.length > 0 ? ACR.multiFactor : undefined;
}

/**
 * Whether the console session may change factors now: signed in within the last
 * {@link FRESH_SIGN_IN_SECONDS} (by the ID token's `auth_time`) with what {@link requiredForChanges}
 * asks for (by its `amr`).
 */
export function freshEnough(session: ConsoleSession, factors: readonly FactorSummary[], nowSeconds: number): boolean {
  const age = session.auth_time === undefined ? Number.POSITIVE_INFINITY : nowSeconds - session.auth_time;
  return age >= 0 && age <= FRESH_SIGN_IN_SECONDS && satisfies(requiredForChanges(factors), session.amr ?? []);
}
