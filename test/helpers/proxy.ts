import { createServer, request, type IncomingHttpHeaders } from 'node:http';
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

/**
 * A reverse proxy like nginx with `proxy_add_x_forwarded_for`: it forwards whatever
 * `X-Forwarded-For` the client sent and appends the address of its own peer. `from` is the source
 * address it connects to the upstream with.
 */
export async function startAppendingProxy(upstream: string, options: { from?: string } = {}): Promise<AppendingProxy> {
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    const peer = req.socket.remoteAddress ?? '';
    const sent = req.headers['x-forwarded-for'];
    const headers = { ...req.headers, 'x-forwarded-for': sent ? `${sent}, ${peer}` : peer };
    const forward = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent: false, ...(options.from ? { localAddress: options.from } : {}) },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
