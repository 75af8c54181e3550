import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { freePort } from './ports.js';

/**
 * The name of the secret that signed a webhook POST (`gatehouse-signature`: `v1=` and the hex
 * HMAC-SHA256 of `{gatehouse-timestamp}.{raw body}`), compared in constant time as docs/operations.md
 * tells receivers to; undefined when none of `secrets` did.
 */
export function signerOf(secrets: ReadonlyMap<string, string>, headers: IncomingHttpHeaders, body: string): string | undefined {
  const timestamp = String(headers['gatehouse-timestamp']);
  const signature = Buffer.from(String(headers['gatehouse-signature']));
  const match = [...secrets].find(([, secret]) => {
    const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  });
  return match?.[0];
}

export interface ReceivedEvent {
  body: Record<string, unknown>;
  /** the raw body, as signed */
  raw: string;
  timestamp: number;
  /** whether the signature verified under the secret the receiver trusts */
  verified: boolean;
}

/**
 * A tenant's own app receiving Gatehouse's webhook events on 127.0.0.1: keeps every POST with
 * whether its signature verified under the secret it was given (`trust`), and answers what
 * `answer` says: a status, or `hang` (never answers, to see the sender's timeout).
 */
export async function startEventReceiver(answer: () => number | 'hang' = () => 200) {
  const port = await freePort();
  const secrets = new Map<string, string>();
  const events: ReceivedEvent[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      events.push({ body: JSON.parse(raw) as Record<string, unknown>, raw, timestamp: Number(req.headers['gatehouse-timestamp']), verified: signerOf(secrets, req.headers, raw) !== undefined });
      const status = answer();
      if (status !== 'hang') res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/gatehouse/ciba`,
    events,
    trust: (secret: string) => secrets.set('tenant', secret),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export type EventReceiver = Awaited<ReturnType<typeof startEventReceiver>>;
