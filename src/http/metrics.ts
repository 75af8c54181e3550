import type { Context, Middleware } from 'koa';
import type { MetricsAccess } from '../metrics/access.js';
import { unauthorizedHeaders } from '../metrics/access.js';
import type { Metrics } from '../metrics/metrics.js';
import { UNMATCHED, methodLabel, providerRoute } from '../metrics/routes.js';
import { tenantPath } from './tenant-path.js';

/**
 * The route template of a request the root app answered: the @koa/router layer that matched
 * (`/admin/v1/tenants/:tenant/users/:id`), a template set by a middleware that is not a router
 * (`ctx.state.route`), or the provider route a tenant's request was handed to.
 */
function routeOf(ctx: Context, isOwnRoute: (rest: string) => boolean): string {
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  const named = ctx.state.route;
  if (typeof named === 'string') return named;
  // The original URL: handing a request to the provider rewrites its path without the tenant prefix.
  const tenant = tenantPath.exec(ctx.originalUrl);
  if (tenant && !isOwnRoute(tenant[2] ?? '')) return providerRoute(tenant[2] ?? '');
  return UNMATCHED;
}

/**
 * Counts and times every request of the root app by route template and status (outermost
 * middleware). `isOwnRoute` tells our routes under `/t/{tenant}` from the provider's.
 */
export function httpMetrics(metrics: Metrics, isOwnRoute: (rest: string) => boolean): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    let status = 500; // what Koa answers for an error that escapes every handler
    try {
      await next();
      status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
    } finally {
      metrics.httpRequest(methodLabel(ctx.method), routeOf(ctx, isOwnRoute), status, (performance.now() - started) / 1000);
    }
  };
}

/**
 * `/metrics` on the main port, as `access` allows: the metrics, a 401 with no details, or (hidden)
 * on to the next middleware and so the same 404 as any unknown path.
 */
export function metricsEndpoint(metrics: Metrics, access: MetricsAccess): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/metrics' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const verdict = access(ctx.req);
    if (verdict === 'hidden') return next();
    ctx.state.route = '/metrics';
    ctx.set('Cache-Control', 'no-store');
    if (verdict === 'unauthorized') {
      ctx.status = 401;
      ctx.set(unauthorizedHeaders);
      ctx.body = { error: 'unauthorized' };
      return;
    }
    ctx.set('Content-Type', metrics.contentType);
    ctx.body = await metrics.expose();
  };
}
