import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountClientConfig } from '../../src/built-in-client.js';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

/**
 * The public URL is a proxy this process cannot use (here: a server that counts requests and
 * answers 502), as behind a load balancer that only the outside can reach. The account console's
 * back-channel must go to the process itself over loopback, and never fall back to the public URL.
 */
let proxy: Server;
let proxied = 0;
let gh: TestGatehouse;

beforeAll(async () => {
  proxy = createServer((_req, res) => {
    proxied += 1;
    res.writeHead(502).end();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const publicUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  gh = await startGatehouse({ publicUrl });
  await seedTenant(gh, 'acme');
});
afterAll(async () => {
  await gh.stop();
  await new Promise((resolve) => proxy.close(resolve));
});

describe('the account console’s back-channel', () => {
  it('goes to the loopback origin the server was started on, not to the public URL', async () => {
    const response = await fetch(`${gh.gatehouse.url}/t/acme/account/login`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    // Discovery went over loopback; the browser is sent to the public authorization endpoint.
    expect(response.headers.get('location')).toMatch(new RegExp(`^${gh.app.config.publicUrl}/t/acme/auth\\?`));
    expect(proxied).toBe(0);
  });

  it('is a clear error before the server listens, never a quiet call to the public URL', async () => {
    const tenant = (await gh.gatehouse.pool.get('acme'))!;
    const notListening = () => {
      throw new Error('the server is not listening yet');
    };
    await expect(accountClientConfig(gh.app, tenant, notListening)).rejects.toThrow(/not listening/);
    expect(proxied).toBe(0);
  });
});
