import type { Middleware } from 'koa';
import type { AppContext } from '../app-context.js';
import { isValidTenantId } from '../domain/tenants.js';
import { AppError } from '../errors.js';
import type { TenantPool } from './pool.js';

const tenantPath = /^\/t\/([^/]+)(\/.*)?$/;

/**
 * Resolves `/t/{tenant}/...` to the tenant's built context (`ctx.state.tenant`). Our own routes
 * (interactions, account) run next; everything else under the tenant goes to its oidc-provider
 * instance, with the path prefix stripped and the public URL stated in X-Forwarded-* headers so
 * every URL the provider writes is the configured public one, whatever Host the client sent.
 */
export function resolveTenant(app: AppContext, pool: TenantPool, ownRoutes: Middleware): Middleware {
  const publicUrl = new URL(app.config.publicUrl);
  const forwardedProto = publicUrl.protocol.slice(0, -1);

  return async (ctx, next) => {
    const match = tenantPath.exec(ctx.path);
    if (!match) return next();
    const id = decodeURIComponent(match[1]!);
    const rest = match[2] ?? '';
    const tenant = isValidTenantId(id) ? await pool.get(id) : null;
    if (!tenant) throw new AppError('tenant_not_found', `There is no tenant named "${id.slice(0, 64)}".`);
    ctx.state.tenant = tenant;
    ctx.state.tenantId = tenant.id;

    if (rest.startsWith('/interaction/') || rest === '/account' || rest.startsWith('/account/')) {
      return ownRoutes(ctx, next);
    }

    const req = ctx.req as typeof ctx.req & { originalUrl?: string };
    const prefix = `/t/${match[1]}`;
    req.originalUrl = req.url;
    req.url = req.url!.slice(prefix.length) || '/';
    req.headers['x-forwarded-proto'] = forwardedProto;
    req.headers['x-forwarded-host'] = publicUrl.host;
    req.headers['x-forwarded-for'] = ctx.ip;
    ctx.respond = false;
    await tenant.handle(req, ctx.res);
  };
}
