import type { Middleware } from 'koa';
import type { AppContext } from '../app-context.js';
import { isValidTenantId } from '../domain/tenants.js';
import { AppError } from '../errors.js';
import { handOff, tenantPath } from './handoff.js';
import type { TenantPool } from './pool.js';
import { servePrecomputed } from './precomputed.js';

/**
 * Resolves `/t/{tenant}/...` to the tenant's built context (`ctx.state.tenant`). Our own routes
 * (interactions, account) run next; everything else under the tenant goes to its oidc-provider
 * instance, with the path prefix stripped and the public URL stated in X-Forwarded-* headers so
 * every URL the provider writes is the configured public one, whatever Host the client sent.
 */
export function resolveTenant(app: AppContext, pool: TenantPool, ownRoutes: Middleware, isOwnRoute: (rest: string) => boolean): Middleware {
  const publicUrl = new URL(app.config.publicUrl);

  return async (ctx, next) => {
    const match = tenantPath.exec(ctx.path);
    if (!match) return next();
    let id: string;
    try {
      id = decodeURIComponent(match[1]!);
    } catch {
      id = match[1]!;
    }
    const tenant = isValidTenantId(id) ? await pool.get(id) : null;
    if (!tenant) throw new AppError('tenant_not_found', `There is no tenant named "${id.slice(0, 64)}".`);
    ctx.state.tenant = tenant;
    ctx.state.tenantId = tenant.id;
    // The tenant's pages may show its logo: its policy names the logo's origin (errors below too).
    ctx.set('Content-Security-Policy', tenant.contentSecurityPolicy);

    if (isOwnRoute(match[2] ?? '')) return ownRoutes(ctx, next);

    ctx.respond = false;
    if (servePrecomputed(tenant.precomputed, match[2] ?? '', ctx.req, ctx.res)) return;
    await handOff(tenant, ctx.req, ctx.res, publicUrl, ctx.ip);
  };
}
