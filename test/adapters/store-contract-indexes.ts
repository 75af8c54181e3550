/** Store contract, indexes: unique, compound, sparse (also compound), idempotence, bad specs. */
import { describe, expect, it } from 'vitest';
import { DuplicateKeyError, type Collection, type Doc } from '../../adapters/store.js';
import type { StoreContractContext } from './store-contract.js';

async function duplicate(promise: Promise<unknown>): Promise<DuplicateKeyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DuplicateKeyError);
  return error as DuplicateKeyError;
}

export function indexContract(context: StoreContractContext): void {
  describe('indexes', () => {
    const indexed = async (specs: Parameters<StoreContractContext['store']['ensureIndexes']>[1]): Promise<Collection> => {
      const coll = context.fresh();
      await context.store.ensureIndexes(coll.name, specs);
      return coll;
    };

    it('a unique index refuses duplicates on insert, update, upsert and findOneAndUpdate, writing nothing', async () => {
      const coll = await indexed([{ fields: ['email'], unique: true }]);
      await coll.insertOne({ _id: 'a', email: 'a@x' });
      await coll.insertOne({ _id: 'b', email: 'b@x' });
      const error = await duplicate(coll.insertOne({ _id: 'c', email: 'a@x' }));
      expect(error.collection).toBe(coll.name);
      await duplicate(coll.updateOne({ _id: 'b' }, { $set: { email: 'a@x', touched: true } }));
      await duplicate(coll.findOneAndUpdate({ _id: 'b' }, { $set: { email: 'a@x', touched: true } }));
      await duplicate(coll.updateOne({ _id: 'd' }, { $set: { email: 'a@x' } }, { upsert: true }));
      expect(await coll.find({}, { sort: { _id: 1 } })).toEqual([
        { _id: 'a', email: 'a@x' },
        { _id: 'b', email: 'b@x' },
      ]);
    });

    it('a compound unique index constrains the combination only', async () => {
      const coll = await indexed([{ fields: ['tenant', 'username'], unique: true }]);
      await coll.insertOne({ _id: '1', tenant: 't1', username: 'bob' });
      await coll.insertOne({ _id: '2', tenant: 't2', username: 'bob' });
      await coll.insertOne({ _id: '3', tenant: 't1', username: 'alice' });
      const error = await duplicate(coll.insertOne({ _id: '4', tenant: 't1', username: 'bob' }));
      expect(error.key).toContain('username');
      await duplicate(coll.updateOne({ _id: '3' }, { $set: { username: 'bob' } }));
      expect(await coll.count({ username: 'bob' })).toBe(2);
    });

    it('a sparse unique index ignores documents without the field', async () => {
      const coll = await indexed([{ fields: ['code'], unique: true, sparse: true }]);
      await coll.insertOne({ _id: '1' });
      await coll.insertOne({ _id: '2' });
      await coll.insertOne({ _id: '3', code: 'c' });
      await duplicate(coll.insertOne({ _id: '4', code: 'c' }));
      await coll.updateOne({ _id: '3' }, { $unset: { code: true } });
      await coll.insertOne({ _id: '4', code: 'c' });
      expect(await coll.count({})).toBe(4);
    });

    it('indexes Date values like any other value (sparse, unique and TTL indexes)', async () => {
      const coll = await indexed([{ fields: ['at'], unique: true, sparse: true }, { fields: ['expiresAt'], ttl: true }]);
      const at = new Date('2031-01-01T00:00:00Z');
      await coll.insertOne({ _id: '1', at, expiresAt: new Date(Date.now() + 3_600_000) });
      await coll.insertOne({ _id: '2' });
      await duplicate(coll.insertOne({ _id: '3', at: new Date(at.getTime()) }));
      expect(await coll.find({ at })).toHaveLength(1);
      expect(await coll.count({ at: { $gte: at } })).toBe(1);
      expect(await coll.count({ expiresAt: { $gt: new Date() } })).toBe(1);
    });

    it('a compound sparse unique index ignores documents missing any of its fields', async () => {
      const coll = await indexed([{ fields: ['tenant', 'email'], unique: true, sparse: true }]);
      // Many users of one tenant without an e-mail address: the case nedb cannot express natively.
      await coll.insertOne({ _id: '1', tenant: 't1' });
      await coll.insertOne({ _id: '2', tenant: 't1' });
      await coll.insertOne({ _id: '3', tenant: 't1', email: 'a@x' });
      await coll.insertOne({ _id: '4', tenant: 't2', email: 'a@x' });
      const error = await duplicate(coll.insertOne({ _id: '5', tenant: 't1', email: 'a@x' }));
      expect(error.key).toContain('email');
      await duplicate(coll.updateOne({ _id: '1' }, { $set: { email: 'a@x', touched: true } }));
      await duplicate(coll.findOneAndUpdate({ _id: '2' }, { $set: { email: 'a@x', touched: true } }));
      await duplicate(coll.updateOne({ tenant: 't1', name: 'new' }, { $set: { email: 'a@x' } }, { upsert: true }));
      await duplicate(coll.updateMany({ _id: { $in: ['1', '2'] } }, { $set: { email: 'b@x' } }));
      expect(await coll.count({ touched: true })).toBe(0);
      expect(await coll.count({ name: 'new' })).toBe(0);
      expect(await coll.count({ email: 'b@x' })).toBeLessThanOrEqual(1);
      // Updating other fields of an indexed document, or moving its key to a free value, is fine.
      expect(await coll.updateOne({ _id: '3' }, { $set: { touched: true } })).toMatchObject({ matched: 1 });
      expect(await coll.findOneAndUpdate({ _id: '4' }, { $set: { email: 'c@x' } })).toMatchObject({ email: 'c@x' });
      await coll.insertOne({ _id: '6', tenant: 't2', email: 'a@x' });
    });

    it('simultaneous inserts into a compound sparse unique index: one per key, the error naming the index violated', async () => {
      // The API key cap's shape: 25 keys racing for 20 places (slots) while also unique by name.
      const coll = await indexed([
        { fields: ['tenant', 'owner', 'name'], unique: true },
        { fields: ['tenant', 'owner', 'slot'], unique: true, sparse: true },
      ]);
      const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => coll.insertOne({ _id: `k${i}`, tenant: 't', owner: 'o', name: `n${i}`, slot: i % 20 })));
      const refused = results.filter((result) => result.status === 'rejected').map((result) => result.reason as unknown);
      expect(refused).toHaveLength(5);
      for (const reason of refused) {
        expect(reason).toBeInstanceOf(DuplicateKeyError);
        expect((reason as DuplicateKeyError).key?.split(',')).toContain('slot');
      }
      expect(await coll.count({ tenant: 't', owner: 'o' })).toBe(20);
      const byName = await duplicate(coll.insertOne({ _id: 'again', tenant: 't', owner: 'o', name: 'n0', slot: 99 }));
      expect(byName.key?.split(',')).toContain('name');
      // Documents without a slot stay outside that index.
      await coll.insertOne({ _id: 'old-1', tenant: 't', owner: 'o', name: 'old-1' });
      await coll.insertOne({ _id: 'old-2', tenant: 't', owner: 'o', name: 'old-2' });
    });

    it('a unique index over an array field is multikey: no element may be another document’s', async () => {
      const coll = await indexed([{ fields: ['tags'], unique: true }]);
      // Repeats inside one document are fine.
      await coll.insertOne({ _id: '1', tags: ['a', 'b', 'a'] });
      await duplicate(coll.insertOne({ _id: '2', tags: ['c', 'b'] }));
      await duplicate(coll.insertOne({ _id: '3', tags: 'a' }));
      await coll.insertOne({ _id: '4', tags: ['c'] });
      await duplicate(coll.updateOne({ _id: '4' }, { $push: { tags: 'a' } }));
      expect(await coll.find({ tags: 'b' })).toEqual([{ _id: '1', tags: ['a', 'b', 'a'] }]);
    });

    it('a compound sparse unique index over an array field is multikey, per value of the other fields', async () => {
      const coll = await indexed([{ fields: ['tenant', 'keys'], unique: true, sparse: true }]);
      await coll.insertOne({ _id: '1', tenant: 't1', keys: ['alice', 'alice@x'] });
      await coll.insertOne({ _id: '2', tenant: 't1', keys: ['bob', 'bob', 'bob@x'] });
      await coll.insertOne({ _id: '3', tenant: 't2', keys: ['alice'] });
      await coll.insertOne({ _id: '4', tenant: 't1' });
      await coll.insertOne({ _id: '5', tenant: 't1' });
      // A lookup by one element finds its document, whatever else the array holds.
      expect(await coll.find({ tenant: 't1', keys: 'alice@x' })).toEqual([{ _id: '1', tenant: 't1', keys: ['alice', 'alice@x'] }]);
      expect((await coll.findOne({ tenant: 't1', keys: 'bob' }))?._id).toBe('2');
      expect(await coll.count({ keys: 'alice' })).toBe(2);

      // Any shared element within a tenant is a violation, in every kind of write, and writes nothing.
      await duplicate(coll.insertOne({ _id: '6', tenant: 't1', keys: ['carol', 'alice@x'] }));
      await duplicate(coll.insertOne({ _id: '6', tenant: 't1', keys: 'bob@x' }));
      await duplicate(coll.updateOne({ _id: '2' }, { $set: { keys: ['bob', 'alice'], touched: true } }));
      await duplicate(coll.updateOne({ _id: '2' }, { $addToSet: { keys: 'alice@x' } }));
      await duplicate(coll.findOneAndUpdate({ _id: '4' }, { $set: { keys: ['dave', 'bob@x'], touched: true } }));
      await duplicate(coll.updateOne({ tenant: 't1', name: 'new' }, { $set: { keys: ['alice'] } }, { upsert: true }));
      await duplicate(coll.updateMany({ _id: { $in: ['4', '5'] } }, { $set: { keys: ['erin'] } }));
      expect(await coll.count({ touched: true })).toBe(0);
      // MongoDB's updateMany is not atomic: the first document may have been written before the second failed.
      expect(await coll.count({ keys: 'erin' })).toBeLessThanOrEqual(1);
      expect((await coll.findOne({ _id: '2' }))?.['keys']).toEqual(['bob', 'bob', 'bob@x']);

      // Reordering, shrinking or growing one's own array with free elements is fine; removed elements are free again.
      expect(await coll.findOneAndUpdate({ _id: '1' }, { $set: { keys: ['alice@x', 'alice', 'al'] } })).toMatchObject({ keys: ['alice@x', 'alice', 'al'] });
      await coll.updateOne({ _id: '2' }, { $set: { keys: ['bob'] } });
      await coll.insertOne({ _id: '6', tenant: 't1', keys: ['bob@x'] });
      await coll.updateOne({ _id: '4' }, { $set: { keys: ['dave'] } });
      await coll.updateOne({ _id: '4' }, { $unset: { keys: true } });
      await coll.insertOne({ _id: '7', tenant: 't1', keys: ['dave'] });
      expect(await coll.count({ tenant: 't1' })).toBe(6);
    });

    it('building a multikey unique index over documents sharing an element fails', async () => {
      const coll: Collection<Doc> = context.fresh();
      await coll.insertOne({ _id: '1', tenant: 't', keys: ['a', 'b'] });
      await coll.insertOne({ _id: '2', tenant: 't', keys: ['b', 'c'] });
      await duplicate(context.store.ensureIndexes(coll.name, [{ fields: ['tenant', 'keys'], unique: true, sparse: true }]));
    });

    it('a plain index does not constrain; ensureIndexes can be repeated', async () => {
      const specs = [{ fields: ['tenant'] }, { fields: ['tenant', 'email'], unique: true, sparse: true }, { fields: ['expiresAt'], ttl: true }];
      const coll = await indexed(specs);
      await context.store.ensureIndexes(coll.name, specs);
      await coll.insertOne({ _id: '1', tenant: 't', expiresAt: new Date(Date.now() + 3_600_000) });
      await coll.insertOne({ _id: '2', tenant: 't' });
      expect(await coll.count({ tenant: 't' })).toBe(2);
    });

    it('building a unique index over existing duplicates fails with DuplicateKeyError', async () => {
      const coll: Collection<Doc> = context.fresh();
      await coll.insertOne({ _id: '1', tenant: 't', email: 'a@x' });
      await coll.insertOne({ _id: '2', tenant: 't', email: 'a@x' });
      await duplicate(context.store.ensureIndexes(coll.name, [{ fields: ['email'], unique: true }]));
      await duplicate(context.store.ensureIndexes(coll.name, [{ fields: ['tenant', 'email'], unique: true, sparse: true }]));
    });

    it('rejects index specs no backend can build', async () => {
      const name = context.fresh().name;
      await expect(context.store.ensureIndexes(name, [{ fields: [] }])).rejects.toThrow(TypeError);
      await expect(context.store.ensureIndexes(name, [{ fields: ['a', 'b'], ttl: true }])).rejects.toThrow(TypeError);
      await expect(context.store.ensureIndexes(name, [{ fields: ['a', 'a'] }])).rejects.toThrow(TypeError);
      await expect(context.store.ensureIndexes(name, [{ fields: ['$a'] }])).rejects.toThrow(TypeError);
    });
  });
}
