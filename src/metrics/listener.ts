import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsAccess, unauthorizedHeaders } from './access.js';
import type { Metrics } from './metrics.js';

export interface MetricsListener {
  /** `http://host:port` once listening */
  url: string;
  close(): Promise<void>;
}

/**
 * The listener of `metrics.port`: a bare HTTP server that serves `GET /metrics` and nothing else,
 * with the bearer token when one is configured. It shares no middleware with the main app: a scrape
 * never touches tenants, sessions or the store.
 */
export async function startMetricsListener(metrics: Metrics, options: { host: string; port: number; token?: string | undefined }): Promise<MetricsListener> {
  const access = metricsAccess({ token: options.token, loopbackOnly: false });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
      return;
    }
    if (access(req) !== 'allowed') {
      res.writeHead(401, { ...unauthorizedHeaders, 'Content-Type': 'application/json; charset=utf-8' }).end('{"error":"unauthorized"}');
      return;
    }
    metrics.expose().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Metrics could not be collected\n'),
    );
  });
  // A scraper sends small requests quickly; nothing here needs Node's generous defaults.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  // A few scrapers keep a connection each; a flood of connections cannot grow past this.
  server.maxConnections = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
