/**
 * SIGTERM's order (src/server.ts `drain`): readiness red while requests are still served, answers
 * closing their connections; then the listener closes and in-flight requests finish.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

let gh: TestGatehouse;

beforeAll(async () => {
  gh = await startGatehouse({ http: { drainDelayMs: 1500, shutdownGraceMs: 5000 } });
});

afterAll(async () => {
  await gh.stop();
});

/** A request whose body is still arriving: resolves with the raw answer once it is sent in full. */
function slowRequest(origin: string) {
  const { hostname, port } = new URL(origin);
  const socket = connect(Number(port), hostname);
  const body = 'grant_type=client_credentials';
  const answer = new Promise<string>((resolve, reject) => {
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
  socket.write(
    `POST /t/system/token HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body.slice(0, 10)}`,
  );
  return { finish: () => socket.write(body.slice(10)), answer };
}

describe('shutdown', () => {
  it('turns readiness red first, keeps serving while load balancers notice, then lets in-flight requests finish', async () => {
    expect((await fetch(`${gh.origin}/readyz`)).status).toBe(200);
    const inFlight = slowRequest(gh.origin);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const drained = gh.drain();
    const ready = await fetch(`${gh.origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'shutting_down' });
    expect((await fetch(`${gh.origin}/healthz`)).status).toBe(200);
    // Still serving, but every answer ends its connection so keep-alive clients reconnect elsewhere.
    const discovery = await fetch(`${gh.issuer('system')}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(discovery.headers.get('connection')).toBe('close');

    // The request that was in flight when draining began gets a whole answer.
    inFlight.finish();
    const answer = await inFlight.answer;
    expect(answer).toMatch(/^HTTP\/1\.1 (400|401) /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);

    await drained;
    await expect(fetch(`${gh.origin}/healthz`)).rejects.toThrow();
  });
});
