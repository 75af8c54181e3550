import { createServer, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { LocalOrigin } from './built-in-client.js';
import { adminRouter } from './admin/router.js';
import type { AppContext } from './app-context.js';
import { serveAssets } from './http/assets.js';
import { clientAddressOf, proxyTrust, type ProxyTrust } from './http/client-address.js';
import { errorHandler } from './http/errors.js';
import { healthRouter } from './http/health.js';
import { httpMetrics, metricsEndpoint } from './http/metrics.js';
import { requestContext } from './http/request-context.js';
import { securityHeaders } from './http/security-headers.js';
import { metricsAccess } from './metrics/access.js';
import { mainPortExposure, startMetrics } from './metrics/exposure.js';
import { startCibaSweeper } from './oidc/ciba-sweep.js';
import type { MetricsListener } from './metrics/listener.js';
import { samlLogoutAfterSignOut } from './saml/slo/idp-logout.js';
import { TenantPool } from './tenancy/pool.js';
import { protocolFastPath } from './tenancy/fast-path.js';
import { resolveTenant } from './tenancy/resolve.js';
import { isOwnRoute, ownRouters, ownRoutes } from './tenant-routes.js';

export interface Gatehouse {
  server: Server;
  pool: TenantPool;
  /** `http://127.0.0.1:port` (or the bound address) once listening */
  url: string;
  /** the metrics listener's URL, when `metrics.port` is set */
  metricsUrl?: string;
  /** Stops accepting connections, lets in-flight requests finish (up to the grace period), closes. */
  close(): Promise<void>;
  /**
   * What SIGTERM does: readiness turns red while requests are still served for `http.drainDelayMs`
   * (answers then close their connection), then {@link close}.
   */
  drain(): Promise<void>;
}

/**
 * The root Koa app: request metrics -> request context -> security headers -> errors -> health, /metrics, assets -> tenant
 * resolution -> our routes (interactions, account, the tenant's branding stylesheet) or the tenant's oidc-provider.
 */
export function createApp(app: AppContext, pool: TenantPool, state: { shuttingDown: boolean }, trust: ProxyTrust, localOrigin: LocalOrigin): Koa {
  // Koa's own proxy support believes the left-most X-Forwarded-For entry and any peer's
  // X-Forwarded-Proto/Host, so it stays off: the client address comes from `clientAddressOf`, and
  // every URL we write comes from publicUrl, never from forwarded headers.
  const koa = new Koa({ proxy: false });
  const secure = app.config.publicUrl.startsWith('https:');
  const health = healthRouter(app.store, app.ephemeral, () => state.shuttingDown);
  const admin = adminRouter(app, pool);

  if (app.config.metrics.enabled) koa.use(httpMetrics(app.metrics, isOwnRoute));
  koa.use(async (ctx, next) => {
    ctx.request.ip = clientAddressOf(ctx.req, trust);
    await next();
  });
  koa.use(requestContext(app.logger));
  koa.use(securityHeaders({ hsts: secure }));
  koa.use(errorHandler());
  koa.use(async (ctx, next) => {
    // Cookies we set are Secure whenever the public URL is https, even behind a TLS-terminating proxy.
    if (secure) ctx.cookies.secure = true;
    await next();
  });
  koa.use(health.routes());
  const exposure = mainPortExposure(app.config);
  if (exposure) koa.use(metricsEndpoint(app.metrics, metricsAccess(exposure)));
  koa.use(serveAssets());
  koa.use(admin.routes());
  koa.use(admin.allowedMethods());
  koa.use(resolveTenant(app, pool, ownRoutes(ownRouters(app, localOrigin)), isOwnRoute));
  koa.use(async (ctx) => {
    if (ctx.path === '/' && app.config.demo.seed) {
      ctx.redirect('/t/demo/account');
      return;
    }
    ctx.status = 404;
    ctx.body = { error: 'not_found', error_description: 'Nothing here. Tenants live under /t/{tenant}, e.g. /t/{tenant}/.well-known/openid-configuration' };
  });
  return koa;
}

/**
 * Node holds a connection for 300 s by default while a client trickles its request (slowloris).
 * Headers and the whole request must arrive within the configured times (408 and close otherwise);
 * Node checks them every `connectionsCheckingInterval` (30 s by default), so that interval follows
 * the header timeout to make the timeouts hold within a fraction of themselves.
 */
function serverLimits(http: AppContext['config']['http']): ServerOptions {
  return {
    headersTimeout: http.headersTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(2_000, Math.max(250, Math.floor(http.headersTimeoutMs / 4))),
  };
}

/** Builds the app and listens; resolves once the port is open. */
export async function startServer(app: AppContext, options: { host: string; port: number }): Promise<Gatehouse> {
  const pool = new TenantPool(app, { afterLogout: (tenant) => samlLogoutAfterSignOut(app, tenant) });
  const state = { shuttingDown: false };
  const trust = proxyTrust(app.config.proxy);
  const https = app.config.publicUrl.startsWith('https:');
  if (trust.kind === 'none' && https) {
    // Gatehouse speaks plain HTTP, so TLS ends at something in front of it; unless that only
    // forwards TCP, every client would share its address and so its per-address limits.
    app.logger.warn('publicUrl is https but no proxy is trusted: if a proxy or load balancer forwards requests, set proxy.hops or proxy.trustedNetworks, otherwise every client shares its address for rate limits');
  }
  let url: string | undefined;
  const localOrigin = () => {
    if (url === undefined) throw new Error('the account console calls its tenant over loopback, and the server is not listening yet');
    return url;
  };
  const koa = createApp(app, pool, state, trust, localOrigin);
  const koaHandler = koa.callback();
  const fastPath = protocolFastPath({
    pool,
    logger: app.logger,
    ...(app.config.metrics.enabled ? { metrics: app.metrics } : {}),
    publicUrl: new URL(app.config.publicUrl),
    proxyTrust: trust,
    hsts: https,
    isOwnRoute,
    fallback: (req, res) => void koaHandler(req, res),
  });
  // Answers not yet sent, so that draining can make them end their connections too.
  const unanswered = new Set<ServerResponse>();
  const server = createServer(serverLimits(app.config.http), (req, res) => {
    // While draining, every answer ends its connection, so keep-alive clients move elsewhere.
    if (state.shuttingDown) res.setHeader('Connection', 'close');
    else {
      unanswered.add(res);
      res.once('close', () => unanswered.delete(res));
    }
    if (!fastPath(req, res)) void koaHandler(req, res);
  });
  server.keepAliveTimeout = 5_000;
  // Beyond this, new connections are closed as they arrive: slow or idle clients cannot run the
  // process out of sockets and memory (per-address connection limits belong to a proxy in front).
  server.maxConnections = app.config.http.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  let metricsListener: MetricsListener | undefined;
  try {
    metricsListener = await startMetrics(app, pool);
  } catch (error) {
    server.close();
    throw error;
  }
  // Audits CIBA requests that expire unpolled; every instance sweeps, a marker per request decides who audits.
  const sweeper = startCibaSweeper({ tenants: app.tenants, ephemeral: app.ephemeral, audit: app.audit, logger: app.logger, clock: app.clock }, app.config.ciba.sweepIntervalSeconds);
  const address = server.address() as AddressInfo;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= closeServer());
  const endConnectionsAfterAnswers = () => {
    state.shuttingDown = true;
    for (const res of unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  const closeServer = async () => {
    endConnectionsAfterAnswers();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, app.config.http.shutdownGraceMs).unref());
    await Promise.race([closed, grace]);
    server.closeAllConnections();
    // Before the caller closes the stores a sweep under way writes to.
    await sweeper.stop();
    pool.close();
    await metricsListener?.close();
  };
  const drain = async () => {
    if (closing) return closing;
    endConnectionsAfterAnswers();
    await new Promise<void>((resolve) => setTimeout(resolve, app.config.http.drainDelayMs).unref());
    await close();
  };
  return { server, pool, url, ...(metricsListener ? { metricsUrl: metricsListener.url } : {}), close, drain };
}

