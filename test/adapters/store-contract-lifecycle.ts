/** Store contract, lifecycle: kind, ping, collection names, close, and TTL-style expiry via the oidc adapter. */
import { describe, expect, it } from 'vitest';
import { indexes } from '../../adapters/indexes.js';
import { createStoreAdapterFactory } from '../../adapters/oidc-adapter.js';
import { StoreUnavailableError } from '../../adapters/store.js';
import type { StoreContractContext } from './store-contract.js';

export function lifecycleContract(context: StoreContractContext): void {
  describe('lifecycle', () => {
    it('names its kind and answers ping', async () => {
      expect(['nedb-memory', 'nedb-file', 'mongodb']).toContain(context.store.kind);
      await expect(context.store.ping()).resolves.toBeUndefined();
    });

    it('refuses collection names that are not plain identifiers', () => {
      for (const name of ['', '../etc', 'a.b', 'a/b', '.hidden', 'system.users', 'x'.repeat(65)]) {
        expect(() => context.store.collection(name), name).toThrow(TypeError);
      }
    });

    it('fails closed once closed: ping and operations reject with StoreUnavailableError', async () => {
      const other = await context.open();
      const coll = other.collection(`closing_${Date.now()}`);
      await coll.insertOne({ _id: 'a' });
      await other.close();
      await other.close(); // idempotent
      await expect(other.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(coll.findOne({ _id: 'a' })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(coll.insertOne({ _id: 'b' })).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it('hides expired documents through the oidc adapter, whatever the TTL monitor has done', async () => {
      await context.store.ensureIndexes('oidc', indexes.oidc ?? []);
      let clock = Date.now();
      const factory = createStoreAdapterFactory(context.store, `ttl-${clock}`, { findClient: async () => undefined, now: () => clock });
      const sessions = factory('Session');
      await sessions.upsert('s1', { uid: 'u1', accountId: 'a' }, 60);
      expect(await sessions.find('s1')).toMatchObject({ accountId: 'a' });
      clock += 61_000;
      expect(await sessions.find('s1')).toBeUndefined();
      expect(await sessions.findByUid('u1')).toBeUndefined();
    });
  });
}
