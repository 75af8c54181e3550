import { createServer } from 'node:http';
import { freePort } from './gatehouse.js';

export interface BackchannelReceiver {
  port: number;
  /** logout tokens received, in order, with the path they were posted to */
  received: Array<{ path: string; token: string }>;
  close(): Promise<void>;
}

/**
 * A relying party's back-channel logout endpoint on 127.0.0.1 (OIDC Back-Channel Logout 1.0):
 * keeps every logout token posted to it and answers 200, or what `statusOf(path)` says.
 */
export async function startBackchannelReceiver(statusOf: (path: string) => number = () => 200): Promise<BackchannelReceiver> {
  const port = await freePort();
  const received: BackchannelReceiver['received'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, token: new URLSearchParams(body).get('logout_token') ?? '' });
      res.writeHead(statusOf(path)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
