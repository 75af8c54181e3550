import type { AppContext } from '../app-context.js';
import { acceptablePassword, identityOf } from '../authn/password-acceptance.js';
import type { Tenant } from '../domain/tenants.js';
import type { User } from '../domain/users.js';

/**
 * What is wrong with a new password a user chose in a reset, if anything: the ONE place the reset
 * judges a password, by the shared acceptance rule (length, not made of the user's own names, not
 * a common or breached password, per the tenant's policy).
 */
export async function newPasswordProblem(app: AppContext, tenant: Pick<Tenant, 'securityPolicy'>, user: User, password: string): Promise<string | undefined> {
  const verdict = await acceptablePassword(app.passwordChecks, tenant.securityPolicy, password, identityOf(user));
  return verdict.ok ? undefined : verdict.message;
}
