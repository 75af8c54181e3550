import type Router from '@koa/router';
import compose from 'koa-compose';
import type { Middleware } from 'koa';
import type { LocalOrigin } from './built-in-client.js';
import { accountRoot, accountRouter } from './account/router.js';
import { cibaRoot, cibaRouter } from './account/ciba-router.js';
import type { AppContext } from './app-context.js';
import { brandingRouter, brandingStylesheetPath } from './http/branding.js';
import { proofOfWorkRoot, proofOfWorkRouter } from './http/proof-of-work.js';
import { interactionRoot, interactionRouter } from './interactions/router.js';
import { samlRoot } from './saml/idp-metadata.js';
import { samlRouter } from './saml/router.js';
import { ownRouteMatcher } from './tenancy/handoff.js';

/** One surface of our own under `/t/{tenant}`: the tenant-relative root its router serves, and the router. */
interface TenantSurface {
  root: string;
  router(app: AppContext, localOrigin: LocalOrigin): Router;
}

/**
 * Everything under `/t/{tenant}` that is ours rather than the tenant's provider's. The list of own
 * paths (used by the resolver and by the protocol fast path) and the routes come from this one list,
 * so a surface cannot be routed without being recognised, or the other way round.
 */
const surfaces: readonly TenantSurface[] = [
  { root: interactionRoot, router: interactionRouter },
  { root: accountRoot, router: accountRouter },
  { root: brandingStylesheetPath, router: () => brandingRouter() },
  { root: cibaRoot, router: (app) => cibaRouter(app) },
  { root: samlRoot, router: samlRouter },
  { root: proofOfWorkRoot, router: (app) => proofOfWorkRouter(app) },
];

/** Whether a path under a tenant (after `/t/{tenant}`) is served by our routers. */
export const isOwnRoute = ownRouteMatcher(surfaces.map((surface) => surface.root));

/** The routers of our own surfaces, built for this process; `localOrigin` is the server's loopback origin. */
export function ownRouters(app: AppContext, localOrigin: LocalOrigin): Router[] {
  return surfaces.map((surface) => surface.router(app, localOrigin));
}

/** Our own surfaces as one middleware, for the tenant resolver to run on own paths. */
export function ownRoutes(routers: readonly Router[]): Middleware {
  return compose(routers.flatMap((router) => [router.routes(), router.allowedMethods()])) as Middleware;
}
