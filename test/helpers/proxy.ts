import { createServer, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request from a chosen loopback source address (all of 127.0.0.0/8 is local on Linux), so
 * a test can play several clients with real, distinct addresses.
 */
export function send(url: string, options: { from?: string; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, ...(options.from ? { localAddress: options.from } : {}), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface AppendingProxy {
  url: string;
  close(): Promise<void>;
}

/** What a test proxy changes on the way: the headers sent upstream, and those sent back. */
interface Rewrites {
  request(req: IncomingMessage): IncomingHttpHeaders;
  response?(headers: IncomingHttpHeaders): IncomingHttpHeaders;
}

/** A forwarding proxy on a free loopback port (`from`: the source address towards the upstream). */
async function startProxy(upstream: string, rewrites: Rewrites, from?: string): Promise<{ port: number; close(): Promise<void> }> {
  const target = new URL(upstream);
  // Gatehouse listens on 127.0.0.1; `localhost` could resolve to ::1 first.
  const host = target.hostname === 'localhost' ? '127.0.0.1' : target.hostname;
  const server = createServer((req, res) => {
    const forward = request({ host, port: target.port, path: req.url, method: req.method, headers: rewrites.request(req), agent: false, ...(from ? { localAddress: from } : {}) }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, rewrites.response ? rewrites.response(answer.headers) : answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A reverse proxy like nginx with `proxy_add_x_forwarded_for`: it forwards whatever
 * `X-Forwarded-For` the client sent and appends the address of its own peer. `from` is the source
 * address it connects to the upstream with.
 */
export async function startAppendingProxy(upstream: string, options: { from?: string } = {}): Promise<AppendingProxy> {
  const proxy = await startProxy(
    upstream,
    {
      request(req) {
        const peer = req.socket.remoteAddress ?? '';
        const sent = req.headers['x-forwarded-for'];
        return { ...req.headers, 'x-forwarded-for': sent ? `${sent}, ${peer}` : peer };
      },
    },
    options.from,
  );
  return { url: `http://127.0.0.1:${proxy.port}`, close: proxy.close };
}

export interface PhishingProxy {
  /** the proxy's own origin, `http://localhost:{port}`: same RP ID as a localhost Gatehouse, another origin */
  origin: string;
  close(): Promise<void>;
}

/**
 * A real-time phishing proxy (the evilginx kind) in front of a Gatehouse on `upstream`: it forwards
 * every request, rewrites `Location` from the upstream's origin to its own and the browser's
 * `Origin` from its own to the upstream's, so only what the browser signs (the WebAuthn client data)
 * still names the origin the user was really on.
 */
export async function startPhishingProxy(upstream: string): Promise<PhishingProxy> {
  const target = new URL(upstream);
  let origin = '';
  const proxy = await startProxy(upstream, {
    request: (req) => ({ ...req.headers, host: target.host, ...(req.headers.origin === origin ? { origin: target.origin } : {}) }),
    response(headers) {
      const location = headers.location;
      return typeof location === 'string' && location.startsWith(target.origin) ? { ...headers, location: origin + location.slice(target.origin.length) } : headers;
    },
  });
  origin = `http://localhost:${proxy.port}`;
  return { origin, close: proxy.close };
}
