import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { tenantKey } from '../../adapters/ephemeral.js';
import type { AppContext } from '../app-context.js';
import type { AttemptLimit, AttemptWindows } from '../authn/attempts.js';
import { AppError } from '../errors.js';
import { jsonErrors, presentErrorsWith } from '../http/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TenantPool } from '../tenancy/pool.js';
import { apiKeyPrincipals } from './api-keys.js';
import { docsPageRenderer } from './docs-page.js';
import { buildOpenApi } from './openapi.js';
import { jwtPrincipals, type Principal, type PrincipalResolver } from './principal.js';
import { adminRoutes } from './routes/index.js';
import { runRoute } from './route.js';

/** Objects and arrays may nest this deep in a request body (the body itself is level 1). */
export const maxBodyDepth = 32;

/**
 * What is wrong with a parsed JSON body, if anything: nesting deeper than `maxBodyDepth` (which also
 * bounds this walk), or a query operator (`$ne`, `$gt`, ...) or `__proto__` as a key anywhere, which
 * must never reach a handler or the store.
 */
function bodyProblem(value: unknown, depth = 1): 'too_deep' | 'operator_key' | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > maxBodyDepth) return 'too_deep';
  const isArray = Array.isArray(value);
  for (const [key, item] of Object.entries(value)) {
    if (!isArray && (key.startsWith('$') || key === '__proto__')) return 'operator_key';
    const problem = bodyProblem(item, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Admin authentications per client address (API keys are guessable only by brute force): 30
 * failures in 5 minutes, and no more than 20 tokens being checked at once on top (each attempt is
 * counted before its token is checked, so a burst cannot slip past; checking takes a millisecond,
 * so 20 at once is a lot of honest traffic).
 */
export const adminAuthThrottle: { windowSeconds: number; address: AttemptLimit } = { windowSeconds: 5 * 60, address: { failures: 30, concurrent: 20 } };

/**
 * The counters of admin authentications belong to no tenant: they live under the pseudo-tenant
 * `_admin`, which no tenant id can be (ids are lower-case letters, digits and hyphens), so no
 * tenant's prefix covers them and no tenant's deletion removes them.
 */
export function adminAuthScope(address: string): string {
  return tenantKey('_admin', 'admin-auth', 'ip', address);
}

async function resolvePrincipal(resolvers: PrincipalResolver[], header: string): Promise<Principal> {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
  if (!match) {
    throw new AppError('invalid_token', header ? 'The Authorization header must be "Bearer <token>".' : 'This API needs an access token: Authorization: Bearer <token>.');
  }
  for (const resolve of resolvers) {
    const principal = await resolve(match[1]!);
    if (principal) return principal;
  }
  throw new AppError('invalid_token', 'The access token or API key is not valid.');
}

/**
 * Bearer authentication. Every attempt is counted per client address in the shared store before
 * its token is looked at; an address over the limit gets 429 with Retry-After.
 */
function authenticate(resolvers: PrincipalResolver[], attempts: AttemptWindows, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const attempt = await attempts.begin(adminAuthScope(ctx.ip), [['address', adminAuthThrottle.address]], adminAuthThrottle.windowSeconds);
    if (!attempt.ok) {
      metrics.rateLimited('admin_auth');
      ctx.set('Retry-After', String(attempt.retryAfter));
      throw new AppError('too_many_requests', `Too many failed authentications from this address; retry in ${attempt.retryAfter} seconds.`);
    }
    let principal: Principal;
    try {
      principal = await resolvePrincipal(resolvers, ctx.get('authorization'));
    } catch (error) {
      const failed = error instanceof AppError && error.code === 'invalid_token';
      await attempt.settle(failed);
      if (failed) {
        ctx.set('WWW-Authenticate', `Bearer realm="gatehouse-admin", error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`);
      }
      throw error;
    }
    await attempt.settle(false);
    ctx.state.principal = principal;
    await next();
  };
}

/**
 * The admin REST API under `/admin/v1`: JSON in and out, bearer-authenticated (admin access tokens
 * of any tenant, or service-account API keys), one route module per resource, and the OpenAPI
 * document built from the same route definitions.
 */
export function adminRouter(app: AppContext, pool: TenantPool, extraResolvers: PrincipalResolver[] = []): Router {
  const router = new Router({ prefix: '/admin/v1' });
  // An API: its errors are JSON even for a browser that prefers HTML.
  router.use(presentErrorsWith(jsonErrors));
  const routes = adminRoutes();
  const openapi = buildOpenApi(app.config.publicUrl, routes);

  router.get('/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  const docsPage = docsPageRenderer(openapi, routes, app.config.publicUrl);
  router.get('/docs', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await docsPage();
  });

  const json = bodyParser({ enableTypes: ['json'], jsonLimit: app.config.http.bodyLimit, encoding: 'utf-8', jsonStrict: true }) as unknown as Middleware;
  const guardBody: Middleware = async (ctx, next) => {
    if (['POST', 'PUT', 'PATCH'].includes(ctx.method) && ctx.request.length && !ctx.is('application/json')) {
      throw new AppError('invalid_request', 'Send the request body as application/json.');
    }
    const problem = bodyProblem((ctx.request as { body?: unknown }).body);
    if (problem === 'too_deep') {
      throw new AppError('invalid_request', `The JSON body is nested too deeply: objects and arrays may nest at most ${maxBodyDepth} levels.`);
    }
    if (problem === 'operator_key') {
      throw new AppError('invalid_request', 'Field names may not start with "$" (query operators are not accepted).');
    }
    await next();
  };
  const auth = authenticate([jwtPrincipals(app, pool), apiKeyPrincipals(app), ...extraResolvers], app.attempts, app.metrics);

  for (const spec of routes) {
    router.register(spec.path, [spec.method.toUpperCase()], [auth, json, guardBody, (ctx) => runRoute(spec, ctx as never, app, pool)]);
  }
  return router;
}
