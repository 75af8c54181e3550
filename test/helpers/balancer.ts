import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Balancer {
  /** `http://127.0.0.1:port`: the public URL every instance is configured with */
  origin: string;
  /** how many requests each target received, in target order */
  readonly served: number[];
  close(): Promise<void>;
}

/**
 * A round-robin reverse proxy on loopback, as a load balancer without sticky sessions would be:
 * each request, whatever it is, goes to the next target in turn. Headers and bodies pass through
 * untouched (the instances trust no proxy, so the client address they see is the balancer's).
 */
export async function startBalancer(port: number, targets: () => string[]): Promise<Balancer> {
  let next = 0;
  const served: number[] = [];
  const server: Server = createServer((req, res) => {
    const list = targets();
    const index = next++ % list.length;
    served[index] = (served[index] ?? 0) + 1;
    const target = new URL(req.url ?? '/', list[index]);
    const upstream = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.once('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${bound}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
