import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { call, adminToken, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
});
afterAll(() => gh.stop());

/** `{"id": ..., "display_name": {"a": {"a": ... {"a": 1}}}}` with `depth` levels of objects in all. */
function nested(depth: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return { id: 'deep', display_name: value };
}

describe('JSON bodies nested too deeply', () => {
  it('are refused with 400 naming the nesting limit, not a query operator', async () => {
    const response = await call(gh, root, 'POST', '/tenants', nested(40));
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
    expect(response.body.error_description).toMatch(/nested/i);
    expect(response.body.error_description).toContain('32');
    expect(response.body.error_description).not.toContain('$');
    // One level past the limit is enough.
    expect((await call(gh, root, 'POST', '/tenants', nested(33))).body.error_description).toMatch(/nested/i);
  });

  it('refuses deep arrays within the body limit in bounded time, without a 500', async () => {
    const depth = 20_000;
    const response = await call(gh, root, 'POST', '/tenants', `{"id":"deep","display_name":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expect(response.status).toBe(400);
    expect(response.body.error_description).toMatch(/nested/i);
  });

  it('lets a body at the limit through to validation, and still names query operators', async () => {
    const atLimit = await call(gh, root, 'POST', '/tenants', nested(32));
    expect(atLimit.status).toBe(400);
    expect(atLimit.body.error_description).not.toMatch(/nested/i);
    const operator = await call(gh, root, 'POST', '/tenants', { id: 'deep', display_name: { a: { $ne: null } } });
    expect(operator.status).toBe(400);
    expect(operator.body.error_description).toContain('"$"');
  });
});
