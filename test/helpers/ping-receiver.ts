import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface PingReceiver {
  port: number;
  /** requests received, in order: path, Authorization header and body */
  received: Array<{ path: string; authorization: string | undefined; contentType: string | undefined; body: string }>;
  close(): Promise<void>;
}

/**
 * A CIBA client's notification endpoint (CIBA Core 10.2) over HTTPS on 127.0.0.1, with the
 * certificate `makeCertificates` left in `certDir`: oidc-provider pings https endpoints only. Keeps
 * every request and answers 204, as a client acknowledging a ping does.
 */
export async function startPingReceiver(certDir: string): Promise<PingReceiver> {
  const port = await freePort();
  const received: PingReceiver['received'] = [];
  const server = createServer({ key: readFileSync(join(certDir, 'server.key')), cert: readFileSync(join(certDir, 'server.pem')) }, (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
