import type { AppContext } from '../../app-context.js';
import { SAML_CLIENT_ID } from '../../domain/clients.js';
import type { AfterLogout } from '../../oidc/after-logout.js';
import { sessionIndexOf } from './participation.js';
import { progressPath, sloServices, stepsOf } from './routes.js';

/**
 * IdP-initiated single logout from a browser (SAML Profiles 4.4.3.1): when the user signs out of
 * Gatehouse (the OIDC logout confirmation, which the account console's sign-out goes through), the
 * browser visits the session's SAML apps that registered an SLO URL, one after another with a
 * timeout each (`routes.ts`), then a page says which apps were signed out and which could not be,
 * and continues to where the provider would have sent it.
 */
export function samlLogoutAfterSignOut(app: AppContext, tenant: { id: string; issuer: string }): AfterLogout {
  const { participations, journeys } = sloServices(app);
  return async ({ sids, location }) => {
    const sid = sids[SAML_CLIENT_ID];
    if (!sid) return undefined;
    const sessionIndex = sessionIndexOf(tenant.id, sid);
    const known = await participations.of(tenant.id, sessionIndex);
    if (!known) return undefined;
    await participations.forget(tenant.id, sessionIndex);
    const steps = await stepsOf(app, tenant.id, known.apps);
    if (steps.length === 0) return undefined;
    return progressPath(tenant.issuer, await journeys.start(tenant.id, { steps, next: location }), 0);
  };
}
