import { ACCOUNT_CLIENT_ID } from '../domain/clients.js';
import type { TenantContext } from '../tenancy/tenant-context.js';

const PAGE_SIZE = 100;

/**
 * Whether the provider's session that the console signed in through (its `sid` for the console's
 * client) still exists: a sign-out elsewhere in the browser, or the account's sessions ended by an
 * admin, ends the console's session too. The provider keeps `sid` per client in its session's
 * `authorizations`; sessions are found by account (`TenantContext.byAccount`).
 */
export async function providerSessionAlive(tenant: TenantContext, accountId: string, sid: string): Promise<boolean> {
  let after: string | undefined;
  for (;;) {
    const page = await tenant.byAccount.find('Session', accountId, { ...(after !== undefined ? { after } : {}), limit: PAGE_SIZE });
    for (const { payload } of page) {
      const authorizations = payload['authorizations'] as Record<string, { sid?: unknown } | undefined> | undefined;
      if (authorizations?.[ACCOUNT_CLIENT_ID]?.sid === sid) return true;
    }
    if (page.length < PAGE_SIZE) return false;
    after = page[page.length - 1]!.id;
  }
}
