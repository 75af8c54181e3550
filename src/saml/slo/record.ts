import type { AppContext } from '../../app-context.js';
import type { SamlApp } from '../../domain/saml-apps.js';
import { SESSION_TTL_SECONDS } from '../../oidc/ttl.js';
import type { TenantContext } from '../../tenancy/tenant-context.js';
import type { IssuedNameId } from '../name-id.js';
import { Participations, sessionIndexOf } from './participation.js';

/**
 * The SSO callback's hook (`sso.ts`): remembers that the session with the SAML bridge's `sid` sent
 * `app` an assertion with this NameID, for single logout. A session the provider gave no `sid`
 * cannot be logged out by SessionIndex and is not recorded. Kept as long as a session can live:
 * a participation of a session that ended otherwise finds no session and ends nothing.
 */
export async function recordParticipation(app: AppContext, tenant: TenantContext, sso: { sid: string; accountId: string; app: SamlApp; nameId: IssuedNameId }): Promise<void> {
  if (!sso.sid) return;
  const sessionIndex = sessionIndexOf(tenant.id, sso.sid);
  const recorded = await new Participations(app.ephemeral).record(tenant.id, { accountId: sso.accountId, sid: sso.sid }, { appId: sso.app.id, nameId: sso.nameId, sessionIndex, atMs: app.clock() }, SESSION_TTL_SECONDS);
  if (!recorded) app.logger.warn({ tenant: tenant.id, app: sso.app.id }, 'SAML session signed in to too many apps: this one is left out of single logout');
}
