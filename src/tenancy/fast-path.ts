import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { clientAddressOf, type ProxyTrust } from '../http/client-address.js';
import { logRequest, requestIdFor } from '../http/request-context.js';
import type { Metrics } from '../metrics/metrics.js';
import { methodLabel, providerRoute } from '../metrics/routes.js';
import { securityHeaderList } from '../http/security-headers.js';
import { handOff, tenantPath } from './handoff.js';
import type { TenantPool } from './pool.js';
import { isPrecomputed, servePrecomputed } from './precomputed.js';
import type { TenantContext } from './tenant-context.js';

/**
 * Protocol requests (token, JWKS, discovery, userinfo, ...) for a tenant that is already built go
 * straight to its provider, skipping the root Koa app: the provider is a Koa app of its own, and
 * passing through two costs a fifth of a token request (see docs/benchmarks.md). What the root app
 * would add is added here: request id, security headers, the request log line, and the client
 * address by the same rule (`clientAddressOf`). The JWKS and discovery document are answered from
 * the tenant's precomputed responses without reaching the provider at all. Anything else
 * (our pages, unknown or unbuilt tenants, errors before the hand-off) takes the Koa route.
 * Where the pool checks each tenant's change record first (`TenantPool.checksChanges`), so does
 * this path: a context the check drops goes to `fallback` (the Koa route, which rebuilds it), and
 * a record that cannot be read answers 503, never a response from a possibly stale context.
 *
 * @returns false when the request is not for the fast path
 */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function protocolFastPath(options: {
  pool: TenantPool;
  logger: Logger;
  publicUrl: URL;
  proxyTrust: ProxyTrust;
  hsts: boolean;
  isOwnRoute: (rest: string) => boolean;
  fallback: Handler;
  metrics?: Metrics;
}) {
  const headers = securityHeaderList({ hsts: options.hsts });
  // The security headers with the tenant's own Content-Security-Policy, flat as `writeHead` takes
  // them, made once per tenant context (a rebuilt context is a new key).
  const flatHeaders = new WeakMap<TenantContext, readonly string[]>();
  const headersOf = (tenant: TenantContext): readonly string[] => {
    let flat = flatHeaders.get(tenant);
    if (!flat) {
      flat = headers.filter(([name]) => name !== 'Content-Security-Policy').flat().concat('Content-Security-Policy', tenant.contentSecurityPolicy);
      flatHeaders.set(tenant, flat);
    }
    return flat;
  };
  const record = (tenant: TenantContext, req: IncomingMessage, res: ServerResponse, requestId: string, path: string, rest: string, started: number): void => {
    const ms = performance.now() - started;
    // A child logger per request only when the line is written at all.
    if (options.logger.isLevelEnabled('info')) logRequest(options.logger.child({ requestId }), { method: req.method ?? 'GET', path, status: res.statusCode, ms: Math.round(ms), tenant: tenant.id });
    options.metrics?.httpRequest(methodLabel(req.method), providerRoute(rest), res.statusCode, ms / 1000);
  };
  const serve = (tenant: TenantContext, req: IncomingMessage, res: ServerResponse, url: string, rest: string): void => {
    const started = performance.now();
    const requestId = requestIdFor(req.headers['x-request-id']);
    const path = url.split('?', 1)[0]!;
    // The JWKS and discovery document are answered in one synchronous write, so they are recorded
    // at once rather than on a 'finish' listener.
    if (isPrecomputed(tenant.precomputed, rest, req.method)) {
      servePrecomputed(tenant.precomputed, rest, req, res, headersOf(tenant).concat('X-Request-Id', requestId));
      record(tenant, req, res, requestId, path, rest, started);
      return;
    }
    req.headers['x-request-id'] = requestId;
    res.setHeader('X-Request-Id', requestId);
    // The provider's error and logout pages show the tenant's logo, as the Koa route's pages do.
    const flat = headersOf(tenant);
    for (let i = 0; i < flat.length; i += 2) res.setHeader(flat[i]!, flat[i + 1]!);
    res.once('finish', () => record(tenant, req, res, requestId, path, rest, started));
    void handOff(tenant, req, res, options.publicUrl, clientAddressOf(req, options.proxyTrust));
  };
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const match = tenantPath.exec(url);
    if (!match || options.isOwnRoute(match[2] ?? '')) return false;
    const tenantId = match[1]!;
    const tenant = options.pool.peek(tenantId);
    if (!tenant) return false;
    if (!options.pool.checksChanges) {
      serve(tenant, req, res, url, match[2] ?? '');
      return true;
    }
    options.pool.current(tenantId).then(
      (current) => (current ? serve(current, req, res, url, match[2] ?? '') : options.fallback(req, res)),
      (error: unknown) => {
        options.logger.error({ err: error, tenant: tenantId }, 'could not read the tenant change record: refusing the request');
        for (const [name, value] of headers) res.setHeader(name, value);
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
        res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable. Please try again shortly.' }));
      },
    );
    return true;
  };
}
