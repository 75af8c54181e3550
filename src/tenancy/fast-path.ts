import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { clientAddressOf, type ProxyTrust } from '../http/client-address.js';
import { logRequest, requestIdFor } from '../http/request-context.js';
import type { Metrics } from '../metrics/metrics.js';
import { methodLabel, providerRoute } from '../metrics/routes.js';
import { securityHeaderList } from '../http/security-headers.js';
import { handOff, isOwnRoute, tenantPath } from './handoff.js';
import type { TenantPool } from './pool.js';

/**
 * Protocol requests (token, JWKS, discovery, userinfo, ...) for a tenant that is already built go
 * straight to its provider, skipping the root Koa app: the provider is a Koa app of its own, and
 * passing through two costs a fifth of a token request (see docs/benchmarks.md). What the root app
 * would add is added here: request id, security headers, the request log line, and the client
 * address by the same rule (`clientAddressOf`). Anything else
 * (our pages, unknown or unbuilt tenants, errors before the hand-off) takes the Koa route.
 *
 * @returns false when the request is not for the fast path
 */
export function protocolFastPath(options: { pool: TenantPool; logger: Logger; publicUrl: URL; proxyTrust: ProxyTrust; hsts: boolean; metrics?: Metrics }) {
  const headers = securityHeaderList({ hsts: options.hsts });
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const match = tenantPath.exec(url);
    if (!match || isOwnRoute(match[2] ?? '')) return false;
    const tenant = options.pool.peek(match[1]!);
    if (!tenant) return false;

    const requestId = requestIdFor(req.headers['x-request-id']);
    req.headers['x-request-id'] = requestId;
    res.setHeader('X-Request-Id', requestId);
    for (const [name, value] of headers) res.setHeader(name, value);
    // The provider's error and logout pages show the tenant's logo, as the Koa route's pages do.
    res.setHeader('Content-Security-Policy', tenant.contentSecurityPolicy);
    const started = performance.now();
    const path = url.split('?', 1)[0]!;
    res.once('finish', () => {
      const ms = performance.now() - started;
      logRequest(options.logger.child({ requestId }), { method: req.method ?? 'GET', path, status: res.statusCode, ms: Math.round(ms), tenant: tenant.id });
      options.metrics?.httpRequest(methodLabel(req.method), providerRoute(match[2] ?? ''), res.statusCode, ms / 1000);
    });
    void handOff(tenant, req, res, options.publicUrl, clientAddressOf(req, options.proxyTrust));
    return true;
  };
}
