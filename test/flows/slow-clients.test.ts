import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

interface Held {
  socket: Socket;
  /** resolves when the server closes the connection: what it sent, and after how many ms */
  closed: Promise<{ received: string; ms: number }>;
}

/** A raw connection to `origin` that records what comes back until the server closes it. */
async function open(origin: string): Promise<Held> {
  const { hostname, port } = new URL(origin);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const started = performance.now();
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const closed = new Promise<{ received: string; ms: number }>((resolve) => {
    socket.on('error', () => undefined); // a reset is also a close
    socket.once('close', () => resolve({ received, ms: performance.now() - started }));
  });
  return { socket, closed };
}

/** Writes `parts` one by one, `everyMs` apart, until they run out or the connection closes. */
function trickle(held: Held, parts: string[], everyMs: number): void {
  const timer = setInterval(() => {
    const part = parts.shift();
    if (part === undefined || held.socket.destroyed) clearInterval(timer);
    else held.socket.write(part);
  }, everyMs);
  void held.closed.then(() => clearInterval(timer));
}

/** Waits for the close, but at most `ms`: a connection still open then is a failure. */
async function closedWithin(held: Held, ms: number): Promise<{ received: string; ms: number } | 'still open'> {
  const timeout = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms));
  const result = await Promise.race([held.closed, timeout]);
  held.socket.destroy();
  return result;
}

describe('slow clients', () => {
  let gh: TestGatehouse;

  beforeAll(async () => {
    gh = await startGatehouse({ http: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, shutdownGraceMs: 1000 } });
    await seedTenant(gh, 'acme');
  });
  afterAll(() => gh.stop());

  it('closes a connection that trickles its headers once the header timeout has passed', async () => {
    const held = await open(gh.origin);
    held.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    trickle(held, Array.from({ length: 100 }, (_, index) => `X-Slow-${index}: a\r\n`), 200);
    const result = await closedWithin(held, 6000);
    expect(result).not.toBe('still open');
    if (result === 'still open') return;
    expect(result.received === '' || result.received.startsWith('HTTP/1.1 408')).toBe(true);
    // Not before the configured timeout: the trickle itself was allowed to start.
    expect(result.ms).toBeGreaterThanOrEqual(900);
  });

  it('cuts a request whose body arrives slower than the request timeout allows', async () => {
    const held = await open(gh.origin);
    held.socket.write('POST /t/acme/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n');
    trickle(held, Array.from({ length: 100 }, () => 'a'), 200);
    const result = await closedWithin(held, 7000);
    expect(result).not.toBe('still open');
    if (result === 'still open') return;
    expect(result.received === '' || result.received.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('still answers a request sent at a normal pace', async () => {
    expect((await fetch(`${gh.origin}/t/acme/.well-known/openid-configuration`)).status).toBe(200);
  });
});

describe('connection limit', () => {
  const limit = 20;
  let gh: TestGatehouse;

  beforeAll(async () => {
    gh = await startGatehouse({ http: { maxConnections: limit, shutdownGraceMs: 1000 } });
  });
  afterAll(() => gh.stop());

  it('closes connections beyond the limit at once, and serves normally when connections free up', async () => {
    // Slow clients hold every slot (headers begun, never finished).
    const held = await Promise.all(Array.from({ length: limit }, () => open(gh.origin)));
    for (const connection of held) connection.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    const extra = await open(gh.origin);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const refused = await closedWithin(extra, 3000);
    expect(refused).not.toBe('still open');
    if (refused !== 'still open') expect(refused.received).toBe('');

    for (const connection of held) connection.socket.destroy();
    let status = 0;
    // The server learns of the closes asynchronously; give it a moment, boundedly.
    for (let attempt = 0; attempt < 20 && status !== 200; attempt += 1) {
      status = await fetch(`${gh.origin}/healthz`).then((response) => response.status, () => 0);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  });
});
