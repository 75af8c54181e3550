/** Store contract, writes: insert, every update operator, upsert, atomic findOneAndUpdate, deletes, bad input. */
import { describe, expect, it } from 'vitest';
import { DuplicateKeyError, type Doc, type Update } from '../../adapters/store.js';
import type { StoreContractContext } from './store-contract.js';

export function writeContract(context: StoreContractContext): void {
  describe('writes', () => {
    it('inserts, and refuses a second document with the same _id, keeping the first', async () => {
      const coll = context.fresh();
      await coll.insertOne({ _id: 'a', n: 1 });
      const error = await coll.insertOne({ _id: 'a', n: 2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect(error).toMatchObject({ collection: coll.name, key: '_id' });
      expect(await coll.find({})).toEqual([{ _id: 'a', n: 1 }]);
    });

    it('rejects documents it cannot store portably, writing nothing', async () => {
      const coll = context.fresh();
      const bad: unknown[] = [
        { n: 1 },
        { _id: 1 },
        { _id: '' },
        { _id: 'x', 'a.b': 1 },
        { _id: 'x', $set: 1 },
        { _id: 'x', nested: { deeper: [{ $gt: 1 }] } },
        JSON.parse('{"_id":"x","__proto__":{"polluted":true}}'),
        null,
        ['x'],
      ];
      for (const doc of bad) await expect(coll.insertOne(doc as Doc), JSON.stringify(doc)).rejects.toThrow(TypeError);
      expect(await coll.count({})).toBe(0);
    });

    it('applies $set (dotted paths too), $unset and $inc', async () => {
      const coll = context.fresh();
      const at = new Date('2030-01-01T00:00:00Z');
      await coll.insertOne({ _id: 'a', n: 1, gone: true, profile: { lang: 'en' } });
      const result = await coll.updateOne({ _id: 'a' }, { $set: { at, 'profile.tz': 'UTC', list: [{ x: 1 }] }, $unset: { gone: true }, $inc: { n: 2, fresh: 5 } });
      expect(result).toEqual({ matched: 1, upserted: false });
      const doc = await coll.findOne({ _id: 'a' });
      expect(doc).toEqual({ _id: 'a', n: 3, fresh: 5, at, profile: { lang: 'en', tz: 'UTC' }, list: [{ x: 1 }] });
      expect(doc?.at).toBeInstanceOf(Date);
    });

    it('applies $push (one or $each), $addToSet and $pull', async () => {
      const coll = context.fresh();
      await coll.insertOne({ _id: 'a', tags: ['x'], nums: [1, 2, 3, 4] });
      await coll.updateOne({ _id: 'a' }, { $push: { tags: 'y' } });
      await coll.updateOne({ _id: 'a' }, { $push: { tags: { $each: ['z', 'x'] } } });
      expect((await coll.findOne({ _id: 'a' }))?.tags).toEqual(['x', 'y', 'z', 'x']);
      await coll.updateOne({ _id: 'a' }, { $pull: { tags: 'x' } });
      await coll.updateOne({ _id: 'a' }, { $addToSet: { tags: 'y' } });
      await coll.updateOne({ _id: 'a' }, { $addToSet: { tags: { $each: ['y', 'w'] } } });
      await coll.updateOne({ _id: 'a' }, { $pull: { nums: { $in: [2, 4] } } });
      await coll.updateOne({ _id: 'a' }, { $push: { created: 'first' } });
      expect(await coll.findOne({ _id: 'a' })).toEqual({ _id: 'a', tags: ['y', 'z', 'w'], nums: [1, 3], created: ['first'] });
    });

    it('updateOne changes one match and inserts nothing without upsert; updateMany changes all', async () => {
      const coll = context.fresh();
      for (const _id of ['a', 'b', 'c']) await coll.insertOne({ _id, group: 'g', n: 0 });
      expect(await coll.updateOne({ group: 'g' }, { $inc: { n: 1 } })).toEqual({ matched: 1, upserted: false });
      expect(await coll.count({ n: 1 })).toBe(1);
      expect(await coll.updateOne({ group: 'none' }, { $set: { n: 9 } })).toEqual({ matched: 0, upserted: false });
      expect(await coll.count({})).toBe(3);
      expect(await coll.updateMany({ group: 'g' }, { $set: { done: true } })).toBe(3);
      expect(await coll.updateMany({ group: 'none' }, { $set: { done: true } })).toBe(0);
      expect(await coll.count({ done: true })).toBe(3);
    });

    it('upserts from the equality fields of the filter plus the update', async () => {
      const coll = context.fresh();
      const filter = { _id: 'u1', tenant: 't', 'profile.lang': 'en', $and: [{ kind: 'k' }], seen: { $exists: false }, age: { $gt: 3 } };
      expect(await coll.updateOne(filter, { $set: { n: 1 }, $push: { log: 'a' } }, { upsert: true })).toEqual({ matched: 0, upserted: true });
      expect(await coll.findOne({ _id: 'u1' })).toEqual({ _id: 'u1', tenant: 't', profile: { lang: 'en' }, kind: 'k', n: 1, log: ['a'] });
      expect(await coll.updateOne({ _id: 'u1', tenant: 't' }, { $set: { n: 2 } }, { upsert: true })).toEqual({ matched: 1, upserted: false });
      expect(await coll.find({})).toHaveLength(1);
    });

    it('gives an upserted document a string _id when the filter has none', async () => {
      const coll = context.fresh();
      await coll.updateOne({ tenant: 't', username: 'bob' }, { $set: { n: 1 } }, { upsert: true });
      const doc = await coll.findOne({ username: 'bob' });
      expect(typeof doc?._id).toBe('string');
      expect(doc).toMatchObject({ tenant: 't', username: 'bob', n: 1 });
      await expect(coll.updateOne({ _id: 5 } as unknown as Doc, { $set: { n: 1 } }, { upsert: true })).rejects.toThrow(TypeError);
      await expect(coll.updateOne({ '__proto__.polluted': 'yes' }, { $set: { n: 1 } }, { upsert: true })).rejects.toThrow(TypeError);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('findOneAndUpdate returns the document after the update, or null', async () => {
      const coll = context.fresh();
      await coll.insertOne({ _id: 'a', n: 1 });
      expect(await coll.findOneAndUpdate({ _id: 'a' }, { $inc: { n: 1 } })).toEqual({ _id: 'a', n: 2 });
      expect(await coll.findOneAndUpdate({ _id: 'b' }, { $inc: { n: 1 } })).toBeNull();
      expect(await coll.count({})).toBe(1);
    });

    it('findOneAndUpdate has exactly one winner among 20 concurrent callers', async () => {
      const coll = context.fresh();
      await coll.insertOne({ _id: 'code', n: 0 });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => coll.findOneAndUpdate({ _id: 'code', claimedBy: { $exists: false } }, { $set: { claimedBy: i } })),
      );
      const winners = results.filter((doc) => doc !== null);
      expect(winners).toHaveLength(1);
      expect((await coll.findOne({ _id: 'code' }))?.claimedBy).toBe(winners[0]?.claimedBy);
      // ...and concurrent increments are never lost.
      await Promise.all(Array.from({ length: 20 }, () => coll.findOneAndUpdate({ _id: 'code' }, { $inc: { n: 1 } })));
      expect((await coll.findOne({ _id: 'code' }))?.n).toBe(20);
    });

    it('findOneAndUpdate with upsert inserts when nothing matches, and 30 concurrent upserting increments all count', async () => {
      const coll = context.fresh();
      const expiresAt = new Date(Date.now() + 3_600_000);
      expect(await coll.findOneAndUpdate({ _id: 'w', expiresAt }, { $inc: { 'c.k.p': 1 } }, { upsert: true })).toEqual({ _id: 'w', expiresAt, c: { k: { p: 1 } } });
      expect(await coll.findOneAndUpdate({ _id: 'w', expiresAt }, { $inc: { 'c.k.p': 1, 'c.k.f': 1 } }, { upsert: true })).toEqual({ _id: 'w', expiresAt, c: { k: { p: 2, f: 1 } } });
      const counts = await Promise.all(Array.from({ length: 30 }, () => coll.findOneAndUpdate({ _id: 'race' }, { $inc: { n: 1 } }, { upsert: true })));
      // Each caller sees its own increment: the values are exactly 1..30.
      expect(counts.map((doc) => doc?.['n']).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const generated = await coll.findOneAndUpdate({ kind: 'no-id' }, { $set: { v: 1 } }, { upsert: true });
      expect(typeof generated?._id).toBe('string');
      expect(generated).toMatchObject({ kind: 'no-id', v: 1 });
    });

    it('deleteOne removes at most one document, deleteMany all matches', async () => {
      const coll = context.fresh();
      for (const _id of ['a', 'b', 'c', 'd']) await coll.insertOne({ _id, group: _id < 'c' ? 'x' : 'y' });
      expect(await coll.deleteOne({ group: 'x' })).toBe(1);
      expect(await coll.count({ group: 'x' })).toBe(1);
      expect(await coll.deleteOne({ group: 'none' })).toBe(0);
      expect(await coll.deleteMany({ group: 'y' })).toBe(2);
      expect(await coll.deleteMany({ group: 'y' })).toBe(0);
      expect(await coll.count({})).toBe(1);
    });

    it('rejects updates outside the port, leaving the document unchanged', async () => {
      const coll = context.fresh();
      await coll.insertOne({ _id: 'a', n: 1, name: 'x' });
      const bad: unknown[] = [
        {},
        { name: 'replacement' },
        { $rename: { name: 'title' } },
        { $setOnInsert: { n: 2 } },
        { $min: { n: 0 } },
        { $set: {} },
        { $set: { _id: 'b' } },
        { $set: { 'a.$': 1 } },
        { $set: { '__proto__.polluted': 1 } },
        { $set: { name: undefined } },
        { $set: { meta: { 'dotted.key': 1 } } },
        { $inc: { n: '1' } },
        { $inc: { n: Number.NaN } },
        { $set: 'n' },
      ];
      for (const update of bad) {
        await expect(coll.updateOne({ _id: 'a' }, update as Update), JSON.stringify(update)).rejects.toThrow(TypeError);
        await expect(coll.findOneAndUpdate({ _id: 'a' }, update as Update)).rejects.toThrow(TypeError);
        await expect(coll.updateMany({ _id: 'a' }, update as Update)).rejects.toThrow(TypeError);
      }
      expect(await coll.find({})).toEqual([{ _id: 'a', n: 1, name: 'x' }]);
    });

    it('rejects an operator the stored value cannot take, leaving the document unchanged', async () => {
      const coll = context.fresh();
      await coll.insertOne({ _id: 'a', name: 'x', tags: 'not-an-array' });
      await expect(coll.updateOne({ _id: 'a' }, { $inc: { name: 1 } })).rejects.toThrow();
      await expect(coll.updateOne({ _id: 'a' }, { $push: { tags: 'y' } })).rejects.toThrow();
      expect(await coll.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'x', tags: 'not-an-array' });
    });
  });
}
