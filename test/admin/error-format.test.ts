import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenant, type TestGatehouse } from '../helpers/gatehouse.js';
import { adminApi, adminToken, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  await seedTenant(gh, 'acme');
});
afterAll(() => gh.stop());

const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

async function expectJsonError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(((await response.json()) as { error: string }).error).toBe(error);
}

describe('error answers by surface', () => {
  it('the admin API answers in JSON even to a browser that prefers HTML', async () => {
    await expectJsonError(await fetch(`${adminApi(gh)}/tenants`, { headers: browser }), 401, 'invalid_token');
    await expectJsonError(await fetch(`${adminApi(gh)}/tenants/ghost/users`, { headers: { ...browser, authorization: `Bearer ${root}` } }), 404, 'not_found');
    const malformed = await fetch(`${adminApi(gh)}/tenants/acme/users`, { method: 'POST', headers: { ...browser, authorization: `Bearer ${root}`, 'content-type': 'application/json' }, body: '{"username":' });
    await expectJsonError(malformed, 400, 'invalid_request');
    const oversized = await fetch(`${adminApi(gh)}/tenants/acme/users`, { method: 'POST', headers: { ...browser, authorization: `Bearer ${root}`, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'x'.repeat(200_000) }) });
    await expectJsonError(oversized, 413, 'payload_too_large');
  });

  it('tenant pages answer a browser with the error page and anything else with JSON', async () => {
    const page = await fetch(`${gh.origin}/t/ghost/account`, { headers: browser });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('There is no tenant named');
    await expectJsonError(await fetch(`${gh.origin}/t/ghost/account`, { headers: { accept: 'application/json' } }), 404, 'tenant_not_found');
    await expectJsonError(await fetch(`${gh.origin}/t/ghost/account`), 404, 'tenant_not_found');
  });
});
