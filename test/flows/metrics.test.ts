import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { authorize, openLoginPage, relyingParty } from '../helpers/login.js';
import { labelValues, parseMetrics, scrape, total, type Sample } from '../helpers/metrics.js';
import { BOOTSTRAP, adminToken, call } from '../admin/helpers.js';

/**
 * Prometheus metrics in the default exposure (no metrics port, no token; outside production):
 * `/metrics` on the main port, for loopback peers only. Every counter is read before and after the
 * traffic, so each must move by exactly what the test did.
 */
let gh: TestGatehouse;
let acme: SeededTenant;
let rp: client.Configuration;
/** The server's clock, frozen: a burst after five failures is always inside the throttle's delay. */
const now = Date.now();

beforeAll(async () => {
  gh = await startGatehouse({}, { clock: () => now });
  acme = await seedTenant(gh, 'acme');
  rp = await relyingParty(gh, 'acme', acme.client.clientId, acme.client.clientSecret);
});
afterAll(() => gh.stop());

const metricsUrl = () => `${gh.origin}/metrics`;

/** Counter deltas between two scrapes. */
function delta(before: Sample[], after: Sample[]) {
  return (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
}

async function signInAttempt(username: string, password: string): Promise<number> {
  const browser = new Browser(gh.origin);
  const login = await openLoginPage(browser, rp, acme.client.redirectUri, { prompt: 'login' });
  const result = await browser.submit(login, 'form[action$="/password"]', { username, password }, acme.client.redirectUri);
  return 'redirectedTo' in result ? 200 : result.status;
}

describe('metrics', () => {
  it('counts a login, tokens, a wrong password and a throttled burst by exactly what happened', async () => {
    const before = await scrape(metricsUrl());

    // A full login with openid-client: one sign-in, one authorization-code grant.
    const browser = new Browser(gh.origin);
    const { callback, verifier, state } = await authorize(browser, rp, { redirectUri: acme.client.redirectUri, scope: 'openid' });
    const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.access_token).toBeTruthy();
    // One client-credentials grant.
    await client.clientCredentialsGrant(rp, { resource: acme.api, scope: 'read' });
    // One wrong password.
    expect(await signInAttempt('alice', 'wrong password')).toBe(401);
    // Five failures for one identifier, then a parallel burst inside the delay that follows.
    for (let guess = 0; guess < 5; guess += 1) expect(await signInAttempt('burst', `guess-${guess}`)).toBe(401);
    const burst = await Promise.all(Array.from({ length: 6 }, (_, index) => signInAttempt('burst', `parallel-${index}`)));
    expect(burst).toEqual(Array(6).fill(429));

    const after = await scrape(metricsUrl());
    const moved = delta(before, after);
    expect(moved('gatehouse_logins_total', { tenant: '_all' })).toBe(1);
    expect(moved('gatehouse_login_failures_total', { tenant: '_all', reason: 'invalid_credentials' })).toBe(6);
    expect(moved('gatehouse_login_failures_total', { tenant: '_all', reason: 'throttled' })).toBe(6);
    expect(moved('gatehouse_rate_limit_refusals_total', { limiter: 'sign_in_identifier' })).toBe(6);
    expect(moved('gatehouse_rate_limit_refusals_total')).toBe(6);
    expect(moved('gatehouse_tokens_issued_total', { tenant: '_all', grant_type: 'authorization_code' })).toBe(1);
    expect(moved('gatehouse_tokens_issued_total', { tenant: '_all', grant_type: 'client_credentials' })).toBe(1);
    expect(moved('gatehouse_tokens_issued_total')).toBe(2);

    // HTTP requests by route template: the two token requests, the 12 failed posts of the password step.
    expect(moved('gatehouse_http_requests_total', { method: 'POST', route: '/t/:tenant/token', status: '200' })).toBe(2);
    expect(moved('gatehouse_http_request_duration_seconds_count', { method: 'POST', route: '/t/:tenant/token', status_class: '2xx' })).toBe(2);
    expect(moved('gatehouse_http_requests_total', { method: 'POST', route: '/t/:tenant/interaction/:uid/:step', status: '401' })).toBe(6);
    expect(moved('gatehouse_http_requests_total', { method: 'POST', route: '/t/:tenant/interaction/:uid/:step', status: '429' })).toBe(6);

    // The password checks went through the argon2 queue, which is empty again.
    expect(total(after, 'gatehouse_argon2_in_flight')).toBe(0);
    expect(total(after, 'gatehouse_argon2_queue_length')).toBe(0);
    expect(total(after, 'gatehouse_argon2_concurrency_limit')).toBe(4);
    // Store operations are timed by backend and operation.
    expect(moved('gatehouse_store_operation_duration_seconds_count', { backend: 'nedb-memory', operation: 'findOneAndUpdate' })).toBeGreaterThan(0);
    // The tenant pool holds acme (built by the first request) and its build was counted.
    expect(total(after, 'gatehouse_tenant_pool_size')).toBeGreaterThanOrEqual(1);
    expect(total(after, 'gatehouse_tenant_builds_total', { result: 'built' })).toBeGreaterThanOrEqual(1);
    expect(total(after, 'gatehouse_tenant_build_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    // Default process metrics, from this instance's own registry.
    expect(total(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(after.some((sample) => sample.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('counts protocol requests by template on the root app (tenant not built yet) and on the fast path', async () => {
    await gh.app.tenants.create({ id: 'fresh', displayName: 'Fresh' });
    const before = await scrape(metricsUrl());
    // The first request builds the tenant through the root app; the next ones skip it.
    expect(gh.gatehouse.pool.peek('fresh')).toBeUndefined();
    expect((await fetch(`${gh.issuer('fresh')}/.well-known/openid-configuration`)).status).toBe(200);
    expect(gh.gatehouse.pool.peek('fresh')).toBeDefined();
    const answers = await Promise.all([1, 2, 3].map(() => fetch(`${gh.issuer('fresh')}/.well-known/openid-configuration`)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect((await fetch(`${gh.issuer('fresh')}/jwks`)).status).toBe(200);
    const after = await scrape(metricsUrl());
    const moved = delta(before, after);
    expect(moved('gatehouse_http_requests_total', { method: 'GET', route: '/t/:tenant/.well-known/openid-configuration', status: '200' })).toBe(4);
    expect(moved('gatehouse_http_request_duration_seconds_count', { method: 'GET', route: '/t/:tenant/.well-known/openid-configuration' })).toBe(4);
    expect(moved('gatehouse_http_requests_total', { method: 'GET', route: '/t/:tenant/jwks', status: '200' })).toBe(1);
    expect(moved('gatehouse_http_requests_total', { route: 'unmatched' })).toBe(0);
    expect(moved('gatehouse_tenant_builds_total', { result: 'built' })).toBe(1);
  });

  it('labels routes with their templates, never with the path that was asked for', async () => {
    const random = randomBytes(12).toString('hex');
    const before = await scrape(metricsUrl());
    expect((await fetch(`${gh.origin}/t/acme/${random}`)).status).toBe(404);
    expect((await fetch(`${gh.origin}/${random}/x?y=${random}`)).status).toBe(404);
    expect((await fetch(`${gh.origin}/t/${random}/token`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${gh.origin}/admin/v1/tenants/acme/users/${random}`)).status).toBe(401);
    expect((await fetch(`${gh.origin}/t/acme/interaction/${random}`)).status).toBeGreaterThanOrEqual(400);
    // A grant type the client makes up is not a label value either.
    const madeUp = await fetch(`${gh.issuer('acme')}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${acme.client.clientId}:${acme.client.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=urn:${random}`,
    });
    expect(madeUp.status).toBe(400);
    const text = await (await fetch(metricsUrl())).text();
    expect(text).not.toContain(random);
    const after = parseMetrics(text);
    const moved = delta(before, after);
    expect(moved('gatehouse_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(2);
    expect(moved('gatehouse_http_requests_total', { method: 'POST', route: '/t/:tenant/token', status: '404' })).toBe(1);
    expect(moved('gatehouse_http_requests_total', { method: 'GET', route: '/admin/v1/tenants/:tenant/users/:id', status: '401' })).toBe(1);
    expect(moved('gatehouse_http_requests_total', { method: 'GET', route: '/t/:tenant/interaction/:uid' })).toBe(1);
    expect(moved('gatehouse_token_errors_total', { grant_type: 'other', error: 'unsupported_grant_type' })).toBe(1);
    // Every route label is a template: no path segment other than fixed words and :parameters.
    for (const route of labelValues(after, 'route')) expect(route).toMatch(/^(unmatched|(\/(:?[a-z][a-z0-9_.-]*|\.well-known))+\/?)$/i);
  });

  it('counts refusals of the client and admin authentication limits by limiter, one per 429', async () => {
    const before = await scrape(metricsUrl());
    const wrongSecret = () =>
      fetch(`${gh.issuer('acme')}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${acme.client.clientId}:wrong-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      }).then((response) => response.status);
    const clientStatuses: number[] = [];
    for (let attempt = 0; attempt < 10; attempt += 1) clientStatuses.push(await wrongSecret());
    clientStatuses.push(...(await Promise.all([1, 2, 3, 4].map(() => wrongSecret()))));
    const wrongAdminToken = () => fetch(`${gh.origin}/admin/v1/tenants`, { headers: { authorization: 'Bearer not-a-valid-token' } }).then((response) => response.status);
    const adminStatuses: number[] = [];
    for (let attempt = 0; attempt < 30; attempt += 1) adminStatuses.push(await wrongAdminToken());
    adminStatuses.push(...(await Promise.all([1, 2, 3].map(() => wrongAdminToken()))));

    const after = await scrape(metricsUrl());
    const moved = delta(before, after);
    const refused = (statuses: number[]) => statuses.filter((status) => status === 429).length;
    // The burst after the limit is refused whole (earlier tests may have spent some of the budget).
    expect(clientStatuses.slice(-4)).toEqual([429, 429, 429, 429]);
    expect(adminStatuses.slice(-3)).toEqual([429, 429, 429]);
    expect(moved('gatehouse_rate_limit_refusals_total', { limiter: 'client_auth' })).toBe(refused(clientStatuses));
    expect(moved('gatehouse_rate_limit_refusals_total', { limiter: 'admin_auth' })).toBe(refused(adminStatuses));
    expect(moved('gatehouse_rate_limit_refusals_total')).toBe(refused(clientStatuses) + refused(adminStatuses));
    expect(moved('gatehouse_token_errors_total', { grant_type: 'client_credentials', error: 'invalid_client' })).toBe(clientStatuses.filter((status) => status === 401).length);
    expect(moved('gatehouse_tokens_issued_total')).toBe(0);
  });

  it('serves /metrics on the main port to loopback peers only, never through a proxy', async () => {
    const direct = await fetch(metricsUrl());
    expect(direct.status).toBe(200);
    expect(direct.headers.get('cache-control')).toBe('no-store');
    // A request a proxy forwarded may come from anywhere, whatever the peer address.
    for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const proxied = await fetch(metricsUrl(), { headers: { [header]: header === 'forwarded' ? 'for=203.0.113.9' : '203.0.113.9' } });
      expect(proxied.status, header).toBe(404);
      expect(await proxied.text()).not.toContain('gatehouse_');
    }
  });
});

describe('argon2 metrics', () => {
  it('shows password checks waiting for the argon2 limit, and never more running than it allows', async () => {
    const own = await startGatehouse({ password: { maxConcurrentHashes: 1 } });
    try {
      const seeded = await seedTenant(own, 'busy');
      const ownRp = await relyingParty(own, 'busy', seeded.client.clientId, seeded.client.clientSecret);
      const pages = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const browser = new Browser(own.origin);
          return { browser, page: await openLoginPage(browser, ownRp, seeded.client.redirectUri) };
        }),
      );
      let done = false;
      const attempts = Promise.all(pages.map(({ browser, page }, index) => browser.submit(page, 'form[action$="/password"]', { username: `user-${index}`, password: 'wrong' }, seeded.client.redirectUri))).finally(() => {
        done = true;
      });
      const seen: Array<{ running: number; waiting: number }> = [];
      while (!done) {
        const samples = await scrape(`${own.origin}/metrics`);
        seen.push({ running: total(samples, 'gatehouse_argon2_in_flight'), waiting: total(samples, 'gatehouse_argon2_queue_length') });
      }
      expect((await attempts).map((result) => ('status' in result ? result.status : 0))).toEqual(Array(8).fill(401));
      expect(seen.every(({ running }) => running <= 1)).toBe(true);
      expect(seen.some(({ running, waiting }) => running === 1 && waiting > 0)).toBe(true);
      const after = await scrape(`${own.origin}/metrics`);
      expect(total(after, 'gatehouse_argon2_concurrency_limit')).toBe(1);
      expect(total(after, 'gatehouse_argon2_queue_length')).toBe(0);
    } finally {
      await own.stop();
    }
  });
});

describe('store metrics', () => {
  it('counts store failures by operation, and not a duplicate key (the store answering)', async () => {
    const own = await startGatehouse({ bootstrap: BOOTSTRAP });
    try {
      const token = await adminToken(own);
      const url = `${own.origin}/metrics`;
      const errors = (samples: Sample[]) => total(samples, 'gatehouse_store_operation_errors_total', { backend: 'nedb-memory' });
      expect((await call(own, token, 'POST', '/tenants', { id: 'twice', display_name: 'Twice' })).status).toBe(201);
      const before = await scrape(url);
      expect((await call(own, token, 'POST', '/tenants', { id: 'twice', display_name: 'Twice' })).status).toBe(409);
      expect(errors(await scrape(url))).toBe(errors(before));

      // The store goes away: requests that need it fail closed, and each failed operation is counted.
      await own.app.store.close();
      const answers = await Promise.all([1, 2, 3].map(() => fetch(`${own.issuer('not-built-yet')}/.well-known/openid-configuration`)));
      expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503]);
      const after = await scrape(url);
      expect(total(after, 'gatehouse_store_operation_errors_total', { backend: 'nedb-memory', operation: 'findOne' }) - total(before, 'gatehouse_store_operation_errors_total', { operation: 'findOne' })).toBe(3);
      expect(total(after, 'gatehouse_http_requests_total', { route: '/t/:tenant/.well-known/openid-configuration', status: '503' })).toBe(3);
    } finally {
      await own.stop();
    }
  });
});

describe('metrics in production without a metrics port or token', () => {
  it('answers 404 on /metrics, from loopback too', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-metrics-'));
    const prod = await startGatehouse({ env: 'production', store: { kind: 'nedb' }, dataDir, keys: { autoGenerate: false }, bootstrap: {} });
    try {
      const response = await fetch(`${prod.origin}/metrics`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('gatehouse_');
      expect((await fetch(`${prod.origin}/healthz`)).status).toBe(200);
    } finally {
      await prod.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
