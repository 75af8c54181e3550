import { describe, expect, it } from 'vitest';
import { StoreEphemeral } from '../../adapters/ephemeral-store.js';
import { openNedbStore } from '../../adapters/nedb.js';
import { describeEphemeralContract, storeEphemeralUnderTest } from './ephemeral-contract.js';
import { describeOidcAdapterContract } from './oidc-adapter-contract.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('nedb in memory', () => openNedbStore({}));
describeOidcAdapterContract('nedb in memory', () => openNedbStore({}));
describeOidcAdapterContract('nedb in memory, short-lived models on the store-backed ephemeral', () => openNedbStore({}), {
  ephemeral: (store, now) => new StoreEphemeral(store, now),
});
describeEphemeralContract('store: nedb in memory', () => storeEphemeralUnderTest(async () => openNedbStore({})));

describe('nedb in memory, backend details', () => {
  it('never returns a document past its TTL date, and forgets it', async () => {
    const store = await openNedbStore({});
    const coll = store.collection('ttl');
    await store.ensureIndexes('ttl', [{ fields: ['expiresAt'], ttl: true }]);
    await coll.insertOne({ _id: 'old', expiresAt: new Date(Date.now() - 1000) });
    await coll.insertOne({ _id: 'new', expiresAt: new Date(Date.now() + 60_000) });
    await coll.insertOne({ _id: 'none' });
    expect((await coll.find({})).map((doc) => doc._id).sort()).toEqual(['new', 'none']);
    expect(await coll.count({ _id: 'old' })).toBe(0);
    // Its _id is free again.
    await coll.insertOne({ _id: 'old' });
    await store.close();
  });

  it('keeps separate stores apart', async () => {
    const [one, two] = [await openNedbStore({}), await openNedbStore({})];
    await one.collection('c').insertOne({ _id: 'a' });
    expect(await two.collection('c').count({})).toBe(0);
    await Promise.all([one.close(), two.close()]);
  });
});
