/**
 * A new tenant's automatic keys (development) when several instances build it at once: one key
 * set, not one per instance (a second set would retire the first within moments and make every
 * instance rebuild the tenant).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';

describe('first keys of a tenant', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('are created once when every instance builds the new tenant at the same time', async () => {
    await cluster.instances[0]!.app.tenants.create({ id: 'fresh', displayName: 'Fresh' });
    const statuses = await Promise.all(
      cluster.instances.flatMap((instance) =>
        [1, 2, 3].map(async () => {
          const response = await fetch(`${instance.server.url}/t/fresh/jwks`);
          await response.arrayBuffer();
          return response.status;
        }),
      ),
    );
    expect(statuses).toEqual(Array.from({ length: 9 }, () => 200));
    const keys = await cluster.instances[0]!.app.keys.list('fresh');
    expect(keys.map((key) => key.kind).sort()).toEqual(['cookie', 'signing', 'signing']);
    expect(keys.every((key) => key.state === 'active')).toBe(true);
    // Every instance serves the one set, and keeps its context (no rebuild scheduled for moments later).
    const built = cluster.instances.map((instance) => instance.server.pool.peek('fresh'));
    expect(built.every((context) => context !== undefined && (context.rebuildAt === undefined || context.rebuildAt > Date.now() + 3_600_000))).toBe(true);
  });
});
