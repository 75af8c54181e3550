import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNedbStore } from '../../adapters/nedb.js';
import type { Store } from '../../adapters/store.js';
import { ADMIN_ROLE } from '../../src/domain/admin-api.js';
import { RoleRepository } from '../../src/domain/roles.js';
import { SYSTEM_TENANT } from '../../src/domain/tenants.js';
import { freePort, startGatehouse } from '../helpers/gatehouse.js';
import { adminToken, BOOTSTRAP, call } from './helpers.js';

describe('the bootstrap role across restarts', () => {
  it('keeps its creation time when a second start applies it again, and still grants every admin scope', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-role-'));
    // One port for both starts: the role's permissions name the admin API by the public URL.
    const settings = { port: await freePort(), store: { kind: 'nedb' as const }, dataDir, bootstrap: BOOTSTRAP };
    try {
      const first = await startGatehouse(settings);
      const masterKey = first.app.config.masterKey;
      const created = (await first.app.roles.find(SYSTEM_TENANT, ADMIN_ROLE))!;
      await first.stop();
      await new Promise((resolve) => setTimeout(resolve, 20));

      const second = await startGatehouse({ ...settings, masterKey });
      try {
        const again = (await second.app.roles.find(SYSTEM_TENANT, ADMIN_ROLE))!;
        expect(again.createdAt).toEqual(created.createdAt);
        expect(again.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
        expect(again.permissions).toEqual(created.permissions);
        const me = await call(second, await adminToken(second), 'GET', '/tenants/system/roles');
        expect(me.status).toBe(200);
        expect(me.body.items!.filter((role) => role['name'] === ADMIN_ROLE)).toHaveLength(1);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('RoleRepository.put on the embedded file store', () => {
  let dataDir: string;
  let store: Store;
  let roles: RoleRepository;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-role-put-'));
    store = await openNedbStore({ dir: dataDir });
    roles = new RoleRepository(store);
  });
  afterAll(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const permissions = [{ api: 'https://api.example', scope: 'read' }];

  it('sets createdAt on insert only, replaces permissions and removes a description left out', async () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const t1 = new Date('2026-02-01T00:00:00Z');
    await roles.put('acme', { name: 'seeded', description: 'First wording', permissions }, t0);
    await roles.put('acme', { name: 'seeded', permissions: [{ api: 'https://api.example', scope: 'write' }] }, t1);
    const role = (await roles.find('acme', 'seeded'))!;
    expect(role.createdAt).toEqual(t0);
    expect(role.updatedAt).toEqual(t1);
    expect(role.permissions).toEqual([{ api: 'https://api.example', scope: 'write' }]);
    expect(role).not.toHaveProperty('description');
  });

  it('leaves exactly one role when several puts of a new role run at once', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => roles.put('acme', { name: 'parallel', description: `try ${i}`, permissions }, new Date(Date.UTC(2026, 0, 1, 0, 0, i)))));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    const found = await roles.page('acme', { limit: 100 });
    expect(found.filter((role) => role.name === 'parallel')).toHaveLength(1);
    const role = (await roles.find('acme', 'parallel'))!;
    expect(role.permissions).toEqual(permissions);
  });

  it('leaves another tenant’s role of the same name alone', async () => {
    await roles.put('umbrella', { name: 'seeded', description: 'Umbrella’s', permissions }, new Date('2026-03-01T00:00:00Z'));
    expect((await roles.find('umbrella', 'seeded'))!.description).toBe('Umbrella’s');
    expect((await roles.find('acme', 'seeded'))!.createdAt).toEqual(new Date('2026-01-01T00:00:00Z'));
  });
});
