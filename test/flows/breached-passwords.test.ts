import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../config/schema.js';
import { adminToken, BOOTSTRAP, call, type ApiResponse } from '../admin/helpers.js';
import { startBreachRangeService, type BreachRangeService } from '../helpers/breach-range-service.js';
import { seedTenant, startGatehouse, type SeededTenant, type TestGatehouse } from '../helpers/gatehouse.js';

/** On the stand-in service only, never on the shipped list: only `range_api` can refuse them. */
const KNOWN_TO_SERVICE = 'violet kestrel 1987 breach';
const PADDING_ONLY = 'amber heron 2003 padding';
const UNKNOWN = 'eleven quiet moons over kestrels';
/** On the shipped list (and so refused by `list` and `range_api` without a call). */
const COMMON = 'password1234';

async function gatehouseWithLog(overrides: ConfigInput) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const gh = await startGatehouse({ bootstrap: BOOTSTRAP, ...overrides }, { logger: pino({ level: 'info' }, stream) });
  return { gh, lines, tenant: await seedTenant(gh, 'pw'), root: await adminToken(gh) };
}

function setPassword(gh: TestGatehouse, root: string, tenant: SeededTenant, password: string): Promise<ApiResponse> {
  return call(gh, root, 'PUT', `/tenants/${tenant.id}/users/${tenant.userId}/password`, { password });
}

async function setCheck(gh: TestGatehouse, root: string, password: Record<string, unknown> | null): Promise<ApiResponse> {
  const patched = await call(gh, root, 'PATCH', '/tenants/pw', { security_policy: { password } });
  expect(patched.status, JSON.stringify(patched.body)).toBe(200);
  return patched;
}

function breachedCheckOf(response: ApiResponse): unknown {
  return (response.body['security_policy'] as { password: { breached_check: unknown } }).password.breached_check;
}

describe('security_policy.password.breached_check', () => {
  let service: BreachRangeService;
  let gh: TestGatehouse;
  let lines: Array<Record<string, unknown>>;
  let tenant: SeededTenant;
  let root: string;

  beforeAll(async () => {
    service = await startBreachRangeService({ [KNOWN_TO_SERVICE]: 42 }, [PADDING_ONLY]);
    // The stand-in listens on loopback, which the outbound guard refuses unless the operator allows private addresses.
    ({ gh, lines, tenant, root } = await gatehouseWithLog({ http: { allowPrivateNetworkFetch: true }, password: { breachRangeUrl: service.url, breachRangeTimeoutMs: 400 } }));
  });
  afterAll(async () => {
    await gh.stop();
    await service.close();
  });

  it('"list" is the default: common passwords are refused, nothing is sent anywhere', async () => {
    expect(breachedCheckOf(await call(gh, root, 'GET', '/tenants/pw'))).toBe('list');
    const refused = await setPassword(gh, root, tenant, COMMON);
    expect(refused.status).toBe(400);
    expect(refused.body.error_description).toContain('most common');
    expect((await setPassword(gh, root, tenant, KNOWN_TO_SERVICE)).status).toBe(200);
    expect(service.received).toEqual([]);
  });

  it('"off" takes common passwords; a PATCH that names only min_length brings "list" back', async () => {
    expect(breachedCheckOf(await setCheck(gh, root, { breached_check: 'off' }))).toBe('off');
    expect((await setPassword(gh, root, tenant, COMMON)).status).toBe(200);
    // The password object is replaced whole: leaving breached_check out means the default, never "off".
    expect(breachedCheckOf(await setCheck(gh, root, { min_length: 10 }))).toBe('list');
    expect((await setPassword(gh, root, tenant, COMMON)).status).toBe(400);
    expect(breachedCheckOf(await setCheck(gh, root, { breached_check: 'off' }))).toBe('off');
    expect(breachedCheckOf(await setCheck(gh, root, null))).toBe('list');
    expect((await setPassword(gh, root, tenant, COMMON)).status).toBe(400);
    expect(service.received).toEqual([]);
  });

  it('"range_api" asks the service with five hex digits of the SHA-1 only, and refuses what it knows', async () => {
    await setCheck(gh, root, { breached_check: 'range_api' });
    service.received.length = 0;
    const refused = await setPassword(gh, root, tenant, KNOWN_TO_SERVICE);
    expect(refused.status).toBe(400);
    expect(refused.body.error_description).toContain('(breached)');
    expect(service.received).toHaveLength(1);
    expect(service.received[0]!.path).toMatch(/^\/range\/[0-9A-F]{5}$/);
    expect(service.received[0]!.padding).toBe('true');
    // A padding entry (count 0) is no breach; an unknown password neither.
    expect((await setPassword(gh, root, tenant, PADDING_ONLY)).status).toBe(200);
    expect((await setPassword(gh, root, tenant, UNKNOWN)).status).toBe(200);
    // What the shipped list knows is refused without a call.
    const calls = service.received.length;
    expect((await setPassword(gh, root, tenant, COMMON)).status).toBe(400);
    expect(service.received).toHaveLength(calls);
    // Nothing of the password itself went out.
    expect(JSON.stringify(service.received)).not.toMatch(/kestrel|heron|moons/);
  });

  it('"range_api" falls back to the list and logs when the service fails or hangs, within the timeout', async () => {
    await setCheck(gh, root, { breached_check: 'range_api' });
    for (const mode of ['fail', 'hang'] as const) {
      service.mode = mode;
      const before = lines.length;
      const started = Date.now();
      // The service would have refused it, but it cannot answer: the list's answer stands.
      expect((await setPassword(gh, root, tenant, KNOWN_TO_SERVICE)).status, mode).toBe(200);
      expect((await setPassword(gh, root, tenant, COMMON)).status, mode).toBe(400);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(lines.slice(before).some((line) => line['event'] === 'password.breach_range_failed'), mode).toBe(true);
    }
    service.mode = 'answer';
    expect((await setPassword(gh, root, tenant, KNOWN_TO_SERVICE)).status).toBe(400);
  });

  it('refuses other values of breached_check and unknown fields beside it', async () => {
    for (const bad of [{ breached_check: 'maybe' }, { breached_check: '' }, { breached_check: null }, { breached_check: true }, { breached_check: ['list'] }, { breached_check: 'LIST' }, { breached_check: 'list', url: 'http://127.0.0.1/' }, { range_url: service.url }]) {
      const refused = await call(gh, root, 'PATCH', '/tenants/pw', { security_policy: { password: bad } });
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(refused.body.error_description).toContain('security_policy.password');
    }
  });

  it('is in the OpenAPI document', async () => {
    const document = await (await fetch(`${gh.origin}/admin/v1/openapi.json`)).text();
    expect(document).toContain('breached_check');
    expect(document).toContain('range_api');
  });
});

describe('the range API behind the outbound guard', () => {
  it('refuses a loopback service unless the operator allows private addresses, and the list answers', async () => {
    const service = await startBreachRangeService({ [KNOWN_TO_SERVICE]: 7 });
    const { gh, lines, tenant, root } = await gatehouseWithLog({ password: { breachRangeUrl: service.url } });
    try {
      await setCheck(gh, root, { breached_check: 'range_api' });
      expect((await setPassword(gh, root, tenant, KNOWN_TO_SERVICE)).status).toBe(200);
      expect((await setPassword(gh, root, tenant, COMMON)).status).toBe(400);
      expect(service.received).toEqual([]);
      expect(lines.find((line) => line['event'] === 'outbound.refused')?.['url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/range\/[0-9A-F]{5}$/);
      expect(lines.some((line) => line['event'] === 'password.breach_range_failed')).toBe(true);
    } finally {
      await gh.stop();
      await service.close();
    }
  });
});
