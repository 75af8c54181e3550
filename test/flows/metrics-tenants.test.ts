import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { relyingParty } from '../helpers/login.js';
import { labelValues, scrape, total } from '../helpers/metrics.js';

/**
 * The tenant label is bounded: off (one value, `_all`), `top` (the first N tenants seen keep their
 * id, every other is `_other`) or `all` (every existing tenant). Thousands of tenants must never
 * make more than N+1 values.
 */
async function clientCredentials(gh: TestGatehouse, tenant: string): Promise<void> {
  const seeded = await seedTenant(gh, tenant);
  const rp = await relyingParty(gh, tenant, seeded.client.clientId, seeded.client.clientSecret);
  await client.clientCredentialsGrant(rp, { resource: seeded.api, scope: 'read' });
}

describe('tenantLabel: top', () => {
  let gh: TestGatehouse;
  beforeAll(async () => {
    gh = await startGatehouse({ metrics: { tenantLabel: 'top', topTenants: 2 } });
  });
  afterAll(() => gh.stop());

  it('keeps the ids of the first N tenants seen and counts every other tenant as _other', async () => {
    for (const tenant of ['first', 'second', 'third', 'fourth']) await clientCredentials(gh, tenant);
    const samples = await scrape(`${gh.origin}/metrics`);
    expect(labelValues(samples, 'tenant')).toEqual(new Set(['first', 'second', '_other']));
    expect(total(samples, 'gatehouse_tokens_issued_total', { tenant: 'first', grant_type: 'client_credentials' })).toBe(1);
    expect(total(samples, 'gatehouse_tokens_issued_total', { tenant: 'second' })).toBe(1);
    expect(total(samples, 'gatehouse_tokens_issued_total', { tenant: '_other' })).toBe(2);
    expect(total(samples, 'gatehouse_tenant_builds_total', { tenant: '_other', result: 'built' })).toBe(2);
  });

  it('gives thousands of tenant ids no more than N+1 label values', async () => {
    // Tenants cost a key pair each, so the thousands go straight to the instruments; the scrape is real.
    for (let index = 0; index < 5000; index += 1) {
      gh.app.metrics.loginFailed(`tenant-${index}`, 'invalid_credentials');
      gh.app.metrics.tokenIssued(`tenant-${index}`, 'client_credentials');
    }
    const samples = await scrape(`${gh.origin}/metrics`);
    expect(labelValues(samples, 'tenant')).toEqual(new Set(['first', 'second', '_other']));
    expect(total(samples, 'gatehouse_login_failures_total', { tenant: '_other' })).toBe(5000);
  });
});

describe('tenantLabel: off (the default) and all', () => {
  it('off: one value for every tenant', async () => {
    const gh = await startGatehouse();
    try {
      for (const tenant of ['one', 'two']) await clientCredentials(gh, tenant);
      for (let index = 0; index < 1000; index += 1) gh.app.metrics.loginFailed(`tenant-${index}`, 'invalid_credentials');
      const samples = await scrape(`${gh.origin}/metrics`);
      expect(labelValues(samples, 'tenant')).toEqual(new Set(['_all']));
      expect(total(samples, 'gatehouse_tokens_issued_total', { tenant: '_all' })).toBe(2);
    } finally {
      await gh.stop();
    }
  });

  it('all: each tenant by its id', async () => {
    const gh = await startGatehouse({ metrics: { tenantLabel: 'all' } });
    try {
      for (const tenant of ['one', 'two', 'three']) await clientCredentials(gh, tenant);
      const samples = await scrape(`${gh.origin}/metrics`);
      expect(labelValues(samples, 'tenant')).toEqual(new Set(['one', 'two', 'three']));
    } finally {
      await gh.stop();
    }
  });
});
