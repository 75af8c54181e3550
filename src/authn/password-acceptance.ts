import { minPasswordLength, passwordLength, type User } from '../domain/users.js';
import type { TenantSecurityPolicy } from '../domain/tenants.js';
import { MAX_PASSWORD_LENGTH } from './password.js';
import { breachedCheckOf, isBreached, type BreachCheckDeps } from './breached-passwords.js';

/** Never below 8, whatever a stored policy says (NIST SP 800-63B 3.1.1.2). */
export const MIN_PASSWORD_LENGTH = 8;

/** Why a new password is refused: a closed list, so callers can `switch` and pick a field. */
export type PasswordRejection = 'too_short' | 'too_long' | 'breached' | 'like_identity';

/**
 * The answer for one new password. `message` tells the person what to do instead and is safe to
 * show (it never repeats the password).
 */
export type PasswordVerdict = { ok: true } | { ok: false; reason: PasswordRejection; message: string };

/** Who the password is for: what it must not be made of. Every field is optional (an admin may create a user with a username only). */
export interface PasswordIdentity {
  username?: string | undefined;
  email?: string | undefined;
  name?: string | undefined;
}

/** The identity of a stored user: username, e-mail address, and every part of their name. */
export function identityOf(user: Pick<User, 'username' | 'email' | 'name' | 'givenName' | 'familyName'>): PasswordIdentity {
  const name = [user.name, user.givenName, user.familyName].filter(Boolean).join(' ');
  return { username: user.username, email: user.email, ...(name ? { name } : {}) };
}

/** What the check needs from the process: the shipped list and, where configured, the breach service. */
export type PasswordAcceptanceDeps = BreachCheckDeps;

/**
 * The one rule for every new password Gatehouse takes: admin create and set, the CLI, the change at
 * sign-in, the account console, and sign-up and reset. In this order, so the cheapest and most
 * telling reason wins:
 *
 * 1. `too_long`: more than {@link MAX_PASSWORD_LENGTH} UTF-16 units, the argon2 input cap;
 * 2. `too_short`: fewer characters (code points) than the tenant's minimum, never fewer than 8;
 * 3. `like_identity`: made of the user's username, e-mail address or name (NIST 800-63B 3.1.1.2's
 *    "context-specific words");
 * 4. `breached`: on the shipped list of the most common passwords, or (with `range_api`) known to
 *    the breach service (`breached-passwords.ts`); per `security_policy.password.breached_check`.
 *
 * Nothing else (no composition rules, as NIST advises). Verifying that the password differs from the
 * current one is the caller's: it needs the stored hash.
 */
export async function acceptablePassword(
  deps: PasswordAcceptanceDeps,
  policy: TenantSecurityPolicy | undefined,
  password: string,
  identity: PasswordIdentity,
): Promise<PasswordVerdict> {
  if (password.length > MAX_PASSWORD_LENGTH) return refuse('too_long', `Use at most ${MAX_PASSWORD_LENGTH} characters.`);
  const min = Math.max(MIN_PASSWORD_LENGTH, minPasswordLength(policy ? { securityPolicy: policy } : null));
  if (passwordLength(password) < min) return refuse('too_short', `Use at least ${min} characters.`);
  if (madeOfIdentity(password, identity)) return refuse('like_identity', 'This password is made of your username, e-mail address or name; choose one that is not.');
  if (await isBreached(deps, breachedCheckOf(policy), password)) {
    return refuse('breached', 'This password is among the most common or breached ones, so attackers try it first; choose another.');
  }
  return { ok: true };
}

function refuse(reason: PasswordRejection, message: string): PasswordVerdict {
  return { ok: false, reason, message };
}

/** Letters and digits only, case-folded: "Alice.Liddell!" and "aliceliddell" are the same here. */
function core(value: string): string {
  return value.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

/**
 * The password is one of the identity's words with nothing but digits and symbols around it
 * ("alice", "Alice1990!", "alice@example.com", "liddell"), or the whole name. Words shorter than
 * three characters are ignored: they would refuse too many good passwords for too little.
 */
function madeOfIdentity(password: string, identity: PasswordIdentity): boolean {
  const letters = core(password.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, ''));
  if (letters.length === 0) return false;
  const words = new Set<string>();
  const add = (value: string | undefined) => {
    const folded = value === undefined ? '' : core(value);
    if (folded.length >= 3) words.add(folded);
  };
  add(identity.username);
  add(identity.email);
  const local = identity.email?.split('@')[0];
  add(local);
  for (const part of local?.split(/[._+-]/) ?? []) add(part);
  add(identity.name);
  for (const part of identity.name?.split(/\s+/) ?? []) add(part);
  return words.has(letters) || words.has(core(password));
}
