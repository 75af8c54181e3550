import { tenantPrefix } from '../../adapters/ephemeral.js';
import type { AppContext } from '../app-context.js';

/**
 * Deletes a tenant and everything it owns. What it owns goes first and the tenant record last, so
 * a failure part way leaves a tenant that still exists and a retry finishes the job; a new tenant
 * of the same id can never inherit leftovers.
 */
export async function deleteTenantAndData(app: AppContext, tenant: string): Promise<void> {
  await Promise.all([
    app.users.deleteTenant(tenant),
    app.clients.deleteTenant(tenant),
    app.resources.deleteTenant(tenant),
    app.roles.deleteTenant(tenant),
    app.audit.deleteTenant(tenant),
    app.store.collection('oidc').deleteMany({ tenant }),
    // Short-lived protocol state (sessions, codes, access tokens: adapters/oidc/routing.ts) and its lookups.
    app.ephemeral.deletePrefix(tenantPrefix(tenant)),
    app.store.collection('account_sessions').deleteMany({ tenant }),
    app.store.collection('api_keys').deleteMany({ tenant }),
    app.devices.deleteTenant(tenant),
    app.throttle.clearPrefix(`login:${tenant}:`),
  ]);
  await app.keys.deleteTenant(tenant);
  await app.tenants.delete(tenant);
}
