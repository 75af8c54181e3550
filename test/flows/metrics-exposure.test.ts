import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { scrape, total } from '../helpers/metrics.js';

/** A raw GET (fetch refuses some malformed headers before sending them). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('metrics on a port of their own', () => {
  let gh: TestGatehouse;
  beforeAll(async () => {
    gh = await startGatehouse({ metrics: { port: 0 } });
  });
  afterAll(() => gh.stop());

  it('serves /metrics on the metrics port only, bound to loopback by default, and counts the main port’s traffic', async () => {
    const metricsUrl = gh.gatehouse.metricsUrl;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(gh.origin);
    // The main port has no /metrics, even for a loopback peer.
    const main = await fetch(`${gh.origin}/metrics`);
    expect(main.status).toBe(404);
    expect(await main.text()).not.toContain('gatehouse_');

    expect((await fetch(`${gh.origin}/healthz`)).status).toBe(200);
    const samples = await scrape(`${metricsUrl}/metrics`);
    expect(total(samples, 'gatehouse_http_requests_total', { route: '/healthz', status: '200' })).toBe(1);
    // Only /metrics, and only reading it.
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/metrics/x`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${metricsUrl}/metrics?x=1`)).status).toBe(200);
  });

  it('asks for the token on the metrics port too when one is set', async () => {
    const token = randomBytes(32).toString('base64url');
    const both = await startGatehouse({ metrics: { port: 0, token } });
    try {
      const url = `${both.gatehouse.metricsUrl}/metrics`;
      const refused = await rawGet(url, {});
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="gatehouse-metrics"');
      expect((await rawGet(url, { authorization: 'Bearer wrong' })).status).toBe(401);
      await scrape(url, { authorization: `Bearer ${token}` });
      // The main port still has no /metrics, token or not.
      expect((await rawGet(`${both.origin}/metrics`, { authorization: `Bearer ${token}` })).status).toBe(404);
    } finally {
      await both.stop();
    }
  });

  it('stops the metrics listener with the server', async () => {
    const other = await startGatehouse({ metrics: { port: 0 } });
    const url = `${other.gatehouse.metricsUrl}/metrics`;
    expect((await fetch(url)).status).toBe(200);
    await other.stop();
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('metrics behind a bearer token on the main port', () => {
  const token = randomBytes(32).toString('base64url');
  let gh: TestGatehouse;
  beforeAll(async () => {
    gh = await startGatehouse({ metrics: { token } });
  });
  afterAll(() => gh.stop());

  it('serves /metrics with the right token, also through a proxy', async () => {
    await scrape(`${gh.origin}/metrics`, { authorization: `Bearer ${token}` });
    await scrape(`${gh.origin}/metrics`, { authorization: `bearer ${token}`, 'x-forwarded-for': '203.0.113.9' });
  });

  it('answers 401 with WWW-Authenticate and no details to a missing, wrong, malformed or oversized credential', async () => {
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      wrong: { authorization: `Bearer ${randomBytes(32).toString('base64url')}` },
      'one character off': { authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` },
      prefix: { authorization: `Bearer ${token.slice(0, 10)}` },
      longer: { authorization: `Bearer ${token}x` },
      'basic scheme': { authorization: `Basic ${Buffer.from(`metrics:${token}`).toString('base64')}` },
      'no token': { authorization: 'Bearer' },
      'two tokens': { authorization: `Bearer ${token} ${token}` },
      'token as query': {},
      oversized: { authorization: `Bearer ${'a'.repeat(12_000)}` },
    };
    for (const [name, headers] of Object.entries(cases)) {
      const url = name === 'token as query' ? `${gh.origin}/metrics?access_token=${token}` : `${gh.origin}/metrics`;
      const response = await rawGet(url, headers);
      expect(response.status, name).toBe(401);
      expect(response.headers['www-authenticate'], name).toBe('Bearer realm="gatehouse-metrics"');
      expect(response.body, name).not.toContain('gatehouse_');
      expect(response.body, name).not.toMatch(/token|expected|length/i);
    }
  });

  it('compares every wrong token in parallel without letting one through', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => rawGet(`${gh.origin}/metrics`, { authorization: `Bearer ${token.slice(0, index)}` })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(401));
  });
});

describe('metrics turned off', () => {
  it('serves /metrics nowhere and opens no metrics listener', async () => {
    const gh = await startGatehouse({ metrics: { enabled: false, port: 0 } });
    try {
      expect(gh.gatehouse.metricsUrl).toBeUndefined();
      const response = await fetch(`${gh.origin}/metrics`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('gatehouse_');
    } finally {
      await gh.stop();
    }
  });
});
