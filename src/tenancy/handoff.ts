import type { IncomingMessage, ServerResponse } from 'node:http';
import { tenantPath } from '../http/tenant-path.js';
import type { TenantContext } from './tenant-context.js';

export { tenantPath };

/**
 * Which paths under a tenant our own routes serve, from the tenant-relative roots their routers
 * declare: a root itself and everything below it. Everything else is the tenant's provider's.
 */
export function ownRouteMatcher(roots: readonly string[]): (rest: string) => boolean {
  return (rest) => roots.some((root) => rest === root || rest.startsWith(`${root}/`));
}

/**
 * Hands a request to the tenant's oidc-provider: the `/t/{tenant}` prefix is stripped (the provider
 * derives its mount path from `originalUrl`), and `X-Forwarded-*` state the configured public URL
 * and the client address we resolved, replacing whatever the client sent. So every URL the provider
 * writes is the public one, and its view of the client address cannot be spoofed.
 */
export function handOff(tenant: Pick<TenantContext, 'handle'>, req: IncomingMessage, res: ServerResponse, publicUrl: URL, clientIp: string): Promise<void> {
  const request = req as IncomingMessage & { originalUrl?: string };
  const url = request.url ?? '/';
  const segment = tenantPath.exec(url)?.[1];
  const rest = segment === undefined ? url : url.slice(`/t/${segment}`.length);
  request.originalUrl = url;
  request.url = rest.startsWith('/') ? rest : `/${rest}`;
  request.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
  request.headers['x-forwarded-host'] = publicUrl.host;
  request.headers['x-forwarded-for'] = clientIp;
  return tenant.handle(request, res);
}
