import { ACCOUNT_CLIENT_ID } from '../domain/clients.js';
import { sessionIdOfSid } from '../oidc/end-sessions.js';
import type { TenantContext } from '../tenancy/tenant-context.js';

/**
 * Whether the provider's session that the console signed in through (its `sid` for the console's
 * client) still exists: a sign-out elsewhere in the browser, or the account's sessions ended by an
 * admin, ends the console's session too. The provider keeps `sid` per client in its session's
 * `authorizations`; sessions are found by account (`TenantContext.byAccount`).
 */
export async function providerSessionAlive(tenant: TenantContext, accountId: string, sid: string): Promise<boolean> {
  return (await sessionIdOfSid(tenant, accountId, ACCOUNT_CLIENT_ID, sid)) !== undefined;
}
