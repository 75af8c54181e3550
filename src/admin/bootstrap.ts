import type { AppContext } from '../app-context.js';
import { SYSTEM_TENANT } from '../domain/tenants.js';
import { AppError } from '../errors.js';
import { ADMIN_ROLE, adminApiIdentifier, allAdminScopes } from '../domain/admin-api.js';

/**
 * First start: the `gatehouse-admin` role of the system tenant (every admin permission), the first
 * operator (`bootstrap.adminUsername/adminPassword`) and a system service account for the
 * client-credentials grant (`bootstrap.clientId/clientSecret`). Each is created only when missing,
 * so restarting with the same settings changes nothing, and a changed password is not reapplied.
 */
export async function bootstrapAdmin(app: AppContext): Promise<{ adminCreated: boolean; clientCreated: boolean }> {
  const api = adminApiIdentifier(app.config.publicUrl);
  await app.roles.put(SYSTEM_TENANT, {
    name: ADMIN_ROLE,
    description: 'Every admin API permission, on every tenant',
    permissions: allAdminScopes.map((scope) => ({ api, scope })),
  });
  const { adminUsername, adminPassword, clientId, clientSecret } = app.config.bootstrap;
  let adminCreated = false;
  let clientCreated = false;
  if (adminUsername && adminPassword && !(await app.users.findByIdentifier(SYSTEM_TENANT, adminUsername))) {
    await ignoreConflict(async () => {
      await app.users.create(SYSTEM_TENANT, { username: adminUsername, passwordHash: await app.passwords.hash(adminPassword), roles: [ADMIN_ROLE] });
      adminCreated = true;
    });
  }
  if (clientId && clientSecret && !(await app.clients.exists(SYSTEM_TENANT, clientId))) {
    await ignoreConflict(async () => {
      await app.clients.create(
        SYSTEM_TENANT,
        { client_id: clientId, client_name: 'Bootstrap service account', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', service_account: true },
        { secret: clientSecret, roles: [ADMIN_ROLE] },
      );
      clientCreated = true;
    });
  }
  return { adminCreated, clientCreated };
}

/** Another instance bootstrapping at the same moment created it first: that is fine. */
async function ignoreConflict(create: () => Promise<void>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'conflict')) throw error;
  }
}
