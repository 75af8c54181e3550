import { clientIdSchema } from '../../domain/client-metadata.js';
import type { ClientRecord } from '../../domain/clients.js';
import { AppError } from '../../errors.js';
import type { AdminRequest } from '../route.js';
import { assertHoldsPowersOf } from './client-metadata.js';
import { tenantParam } from './common.js';

/** Path parameters `{tenant}` and `{id}` (the service account's client id). */
export const serviceAccountParam = tenantParam.extend({ id: clientIdSchema });

/** A service account of the request's tenant, or 404 (OIDC clients are not service accounts). */
export async function findServiceAccount(request: AdminRequest<unknown, unknown, unknown>, id: string): Promise<ClientRecord> {
  const found = await request.app.clients.get(request.tenant, id);
  if (!found || found.metadata['service_account'] !== true) throw new AppError('not_found', `There is no service account "${id}".`);
  return found;
}

/** A service account the caller may act on: it exists here and holds no more power than the caller. */
export async function manageableServiceAccount(request: AdminRequest<unknown, unknown, unknown>, id: string, action: string): Promise<ClientRecord> {
  const account = await findServiceAccount(request, id);
  await assertHoldsPowersOf(request, account.roles, action);
  return account;
}
