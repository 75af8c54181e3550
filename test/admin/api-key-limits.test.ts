import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_KEYS_PER_SERVICE_ACCOUNT, type ApiKey } from '../../src/domain/api-keys.js';
import { seedTenant, startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { BOOTSTRAP, adminToken, call, type ApiResponse, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  await seedTenant(gh, 'acme');
});
afterAll(() => gh.stop());

async function serviceAccount(name: string): Promise<string> {
  const created = await call(gh, root, 'POST', '/tenants/acme/service-accounts', { name });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return String(created.body['id']);
}

const issue = (id: string, name: string, extra: Record<string, unknown> = {}) => call(gh, root, 'POST', `/tenants/acme/service-accounts/${id}/api-keys`, { name, ...extra });
const statuses = (results: ApiResponse[]) => results.map((result) => result.status).sort();

async function listed(id: string): Promise<Array<Record<string, unknown>>> {
  const list = await call(gh, root, 'GET', `/tenants/acme/service-accounts/${id}/api-keys?limit=100`);
  expect(list.status).toBe(200);
  return list.body.items!;
}

describe('the API key cap of a service account', () => {
  it('holds under 25 parallel creations: exactly 20 keys, the rest 409; revoking one frees one place', async () => {
    expect(MAX_KEYS_PER_SERVICE_ACCOUNT).toBe(20);
    const id = await serviceAccount('Parallel');
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => issue(id, `key-${i}`)));
    expect(statuses(results)).toEqual([...Array<number>(20).fill(201), ...Array<number>(5).fill(409)]);
    for (const refused of results.filter((result) => result.status === 409)) {
      expect(refused.body).toMatchObject({ error: 'conflict' });
      expect(refused.body.error_description).toContain('at most 20 API keys');
    }
    const keys = await listed(id);
    expect(keys).toHaveLength(20);
    // The issued keys are the listed ones, and each verifies.
    const issued = results.filter((result) => result.status === 201);
    expect(new Set(issued.map((result) => result.body['id']))).toEqual(new Set(keys.map((key) => key['id'])));
    for (const result of issued) expect(await gh.app.apiKeys.verify(String(result.body['key']))).not.toBeNull();

    expect((await issue(id, 'one too many')).status).toBe(409);
    expect((await call(gh, root, 'DELETE', `/tenants/acme/service-accounts/${id}/api-keys/${String(keys[3]!['id'])}`)).status).toBe(204);
    const again = await Promise.all([issue(id, 'replacement-1'), issue(id, 'replacement-2'), issue(id, 'replacement-3')]);
    expect(statuses(again)).toEqual([201, 409, 409]);
    expect(await listed(id)).toHaveLength(20);
  });

  it('counts per service account: a full one does not stop another', async () => {
    const full = await serviceAccount('Full');
    const other = await serviceAccount('Other');
    const results = await Promise.all([
      ...Array.from({ length: 22 }, (_, i) => issue(full, `k${i}`)),
      ...Array.from({ length: 5 }, (_, i) => issue(other, `k${i}`)),
    ]);
    expect(statuses(results.slice(0, 22))).toEqual([...Array<number>(20).fill(201), 409, 409]);
    expect(statuses(results.slice(22))).toEqual([201, 201, 201, 201, 201]);
  });

  it('still names a duplicate key name as such, also when names race; refused requests write nothing', async () => {
    const id = await serviceAccount('Names');
    const results = await Promise.all(Array.from({ length: 6 }, () => issue(id, 'ci')));
    expect(statuses(results)).toEqual([201, 409, 409, 409, 409, 409]);
    for (const refused of results.filter((result) => result.status === 409)) expect(refused.body.error_description).toContain('named "ci"');
    // Bad input is a 400 and takes no place.
    for (const body of [{ name: '' }, { name: 'x'.repeat(101) }, { name: 'x', slot: 3 }, { name: { $ne: null } }, {}]) {
      expect((await call(gh, root, 'POST', `/tenants/acme/service-accounts/${id}/api-keys`, body)).status).toBe(400);
    }
    expect(await listed(id)).toHaveLength(1);
    const rest = await Promise.all(Array.from({ length: 21 }, (_, i) => issue(id, `more-${i}`)));
    expect(statuses(rest)).toEqual([...Array<number>(19).fill(201), 409, 409]);
  });

  it('counts keys stored before key slots existed', async () => {
    const id = await serviceAccount('Legacy');
    const legacy = gh.app.store.collection<ApiKey>('api_keys');
    for (let i = 0; i < 5; i += 1) {
      await legacy.insertOne({ _id: `00000000000000a${i}`, tenant: 'acme', serviceAccountId: id, name: `old-${i}`, secretHash: 'x', createdAt: new Date() });
    }
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => issue(id, `new-${i}`)));
    expect(statuses(results)).toEqual([...Array<number>(15).fill(201), ...Array<number>(5).fill(409)]);
    expect(await listed(id)).toHaveLength(20);
    // Revoking an old key frees a place like any other.
    expect((await call(gh, root, 'DELETE', `/tenants/acme/service-accounts/${id}/api-keys/00000000000000a0`)).status).toBe(204);
    expect((await issue(id, 'after-legacy')).status).toBe(201);
    expect((await issue(id, 'over')).status).toBe(409);
  });

  it('holds when the check and the write of each issuance interleave (a store with latency: MongoDB, several instances)', async () => {
    // Over HTTP the embedded store happens to serve these requests one after the other; MongoDB,
    // with a network round trip between the count and the insert, does not. Issuing directly
    // starts all 25 before any completes.
    const id = await serviceAccount('Interleaved');
    const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => gh.app.apiKeys.issue('acme', id, { name: `k${i}` })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(20);
    expect(await gh.app.apiKeys.list('acme', id, { limit: 100 })).toHaveLength(20);
    expect(await listed(id)).toHaveLength(20);
  });

  it('starts afresh for a service account created again under the same id after deletion', async () => {
    const id = await serviceAccount('Recycled');
    await Promise.all(Array.from({ length: 20 }, (_, i) => issue(id, `k${i}`)));
    expect((await call(gh, root, 'DELETE', `/tenants/acme/service-accounts/${id}`)).status).toBe(204);
    expect(await gh.app.apiKeys.list('acme', id, { limit: 100 })).toHaveLength(0);
  });
});

describe('the API key cap on the file store', () => {
  it('holds under 25 parallel creations over HTTP when writes take real disk time', async () => {
    // On the file store each insert waits for its append, so the requests' checks and writes
    // interleave over HTTP too (before places existed, this made 25 keys).
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dataDir = await mkdtemp(`${tmpdir()}/gatehouse-keys-`);
    const disk = await startGatehouse({ bootstrap: BOOTSTRAP, store: { kind: 'nedb' }, dataDir });
    try {
      const token = await adminToken(disk);
      await seedTenant(disk, 'acme');
      const created = await call(disk, token, 'POST', '/tenants/acme/service-accounts', { name: 'On disk' });
      const id = String(created.body['id']);
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => call(disk, token, 'POST', `/tenants/acme/service-accounts/${id}/api-keys`, { name: `key-${i}` })));
      expect(statuses(results)).toEqual([...Array<number>(20).fill(201), ...Array<number>(5).fill(409)]);
      expect((await call(disk, token, 'GET', `/tenants/acme/service-accounts/${id}/api-keys?limit=100`)).body.items).toHaveLength(20);
    } finally {
      await disk.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
