import type { Tenant } from '../domain/tenants.js';
import { minPasswordLength, passwordLength } from '../domain/users.js';

/** Longer than any passphrase a person types; bounds the argon2 input. */
const MAX_PASSWORD_LENGTH = 1024;

/**
 * What is wrong with a new password a user chose (the password reset), if anything. The ONE place
 * the reset checks a password, so the shared acceptance rule (length, and the breached-password
 * check another change brings) replaces this body and nothing else. Async for that check.
 */
export async function newPasswordProblem(tenant: Pick<Tenant, 'securityPolicy'>, password: string): Promise<string | undefined> {
  const min = minPasswordLength(tenant);
  if (passwordLength(password) < min) return `Choose a password of at least ${min} characters.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `Choose a password of at most ${MAX_PASSWORD_LENGTH} characters.`;
  return undefined;
}
