import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { freePort } from './ports.js';

export interface BreachRangeService {
  /** `http://127.0.0.1:{port}/range/`, for `password.breachRangeUrl` */
  url: string;
  /** requests received: path and the Add-Padding header */
  received: Array<{ path: string; padding: string | undefined }>;
  /** how the next requests are answered */
  mode: 'answer' | 'fail' | 'hang';
  close(): Promise<void>;
}

const sha1 = (value: string) => createHash('sha1').update(value, 'utf8').digest('hex').toUpperCase();

/**
 * A stand-in for a breach service's k-anonymity range API (the format of Have I Been Pwned's
 * `GET /range/{5 hex}`: `SUFFIX:COUNT` lines, CRLF), on 127.0.0.1 because the real one is not
 * reachable from tests. It knows `breached` (with counts) and `padded` (count 0, as the padding that
 * `Add-Padding: true` asks for), and adds unrelated suffixes so an answer is never just the match.
 */
export async function startBreachRangeService(breached: Record<string, number>, padded: string[] = []): Promise<BreachRangeService> {
  const port = await freePort();
  const known = new Map<string, number>([...Object.entries(breached).map(([password, count]) => [sha1(password), count] as const), ...padded.map((password) => [sha1(password), 0] as const)]);
  const service: BreachRangeService = {
    url: `http://127.0.0.1:${port}/range/`,
    received: [],
    mode: 'answer',
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    service.received.push({ path, padding: req.headers['add-padding'] as string | undefined });
    if (service.mode === 'hang') return; // never answers: the caller's timeout must end it
    if (service.mode === 'fail') return void res.writeHead(503).end('busy');
    const prefix = /^\/range\/([0-9A-F]{5})$/.exec(path)?.[1];
    if (!prefix) return void res.writeHead(400).end('The hash prefix was not in a valid format');
    const lines = [...known].filter(([hash]) => hash.startsWith(prefix)).map(([hash, count]) => `${hash.slice(5)}:${count}`);
    for (let i = 0; i < 20; i += 1) lines.push(`${sha1(`filler ${prefix} ${i}`).slice(5)}:${i + 1}`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(lines.sort().join('\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return service;
}
