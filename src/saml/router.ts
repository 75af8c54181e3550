import Router from '@koa/router';
import type { Context } from 'koa';
import type { LocalOrigin } from '../built-in-client.js';
import type { AppContext } from '../app-context.js';
import { idpMetadataXml, samlRoot } from './idp-metadata.js';
import { idpInitiatedRoutes } from './idp-initiated.js';
import { oidcLeg } from './oidc-leg.js';
import { sloRoutes, sloServices } from './slo/routes.js';
import { ssoRoutes } from './sso.js';

/** SAML Metadata 4.1.1: metadata is served with this media type. */
const METADATA_TYPE = 'application/samlmetadata+xml';

/** SPs fetch metadata rarely, but a next certificate should reach them within minutes. */
const METADATA_MAX_AGE_SECONDS = 300;

/**
 * The tenant's SAML surface below `/t/{tenant}/saml`. The metadata is built from the store on each
 * request, so every instance publishes the same certificates the moment one is staged, activated
 * or retired. SSO is `sso.ts`; single logout is `slo/routes.ts`.
 */
export function samlRouter(app: AppContext, localOrigin: LocalOrigin): Router {
  const router = new Router();
  router.get(`/t/:tenant${samlRoot}/metadata`, async (ctx: Context) => {
    const tenant = ctx.state.tenant as { id: string; issuer: string };
    const keys = await app.samlKeys.list(tenant.id, new Date(app.clock()));
    ctx.type = METADATA_TYPE;
    ctx.set('Cache-Control', `public, max-age=${METADATA_MAX_AGE_SECONDS}`);
    ctx.body = idpMetadataXml(tenant.issuer, keys);
  });
  // SP- and IdP-initiated sign-on share one OIDC leg and its callback (in sso.ts).
  const leg = oidcLeg(app, localOrigin);
  ssoRoutes(router, app, leg);
  idpInitiatedRoutes(router, app, leg);
  sloRoutes(router, app, sloServices(app));
  return router;
}
