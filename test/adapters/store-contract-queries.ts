/** Store contract, reads: every filter operator of the port, sort/skip/limit, round trips, bad filters. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Collection, Doc, Filter } from '../../adapters/store.js';
import type { StoreContractContext } from './store-contract.js';

interface Person extends Doc {
  name: string;
  age: number;
  group: string;
  tags?: string[];
  address: { city: string };
  born: Date;
  retired?: boolean;
}

const people: Person[] = [
  { _id: 'p1', name: 'Ada', age: 36, group: 'b', tags: ['math', 'poetry'], address: { city: 'London' }, born: new Date('1815-12-10T00:00:00Z') },
  { _id: 'p2', name: 'Alan', age: 41, group: 'a', tags: ['math'], address: { city: 'Wilmslow' }, born: new Date('1912-06-23T00:00:00Z') },
  { _id: 'p3', name: 'Grace', age: 85, group: 'a', tags: [], address: { city: 'Arlington' }, born: new Date('1906-12-09T00:00:00Z'), retired: true },
  { _id: 'p4', name: 'Edsger', age: 72, group: 'b', address: { city: 'Nuenen' }, born: new Date('1930-05-11T00:00:00Z') },
];

export function queryContract(context: StoreContractContext): void {
  describe('reads', () => {
    let coll: Collection<Person>;
    const ids = async (filter: Filter) => (await coll.find(filter)).map((doc) => doc._id).sort();

    beforeAll(async () => {
      coll = context.fresh<Person>();
      for (const person of people) await coll.insertOne(structuredClone(person));
    });

    it('round-trips documents: Dates, nested objects, arrays', async () => {
      const found = await coll.findOne({ _id: 'p1' });
      expect(found).toEqual(people[0]);
      expect(found?.born).toBeInstanceOf(Date);
      expect(await coll.findOne({ _id: 'nobody' })).toBeNull();
    });

    it('returns copies: changing a result changes nothing stored', async () => {
      const found = await coll.findOne({ _id: 'p2' });
      found!.tags!.push('changed');
      found!.address.city = 'changed';
      expect(await coll.findOne({ _id: 'p2' })).toEqual(people[1]);
    });

    it('matches equality, dotted paths and array members', async () => {
      expect(await ids({ name: 'Ada' })).toEqual(['p1']);
      expect(await ids({ 'address.city': 'London' })).toEqual(['p1']);
      expect(await ids({ tags: 'math' })).toEqual(['p1', 'p2']);
      expect(await ids({ name: 'Ada', age: 99 })).toEqual([]);
      expect(await ids({})).toEqual(['p1', 'p2', 'p3', 'p4']);
    });

    it('supports $in, $nin, $ne and $exists', async () => {
      expect(await ids({ name: { $in: ['Ada', 'Grace', 'Nobody'] } })).toEqual(['p1', 'p3']);
      expect(await ids({ name: { $nin: ['Ada'] } })).toEqual(['p2', 'p3', 'p4']);
      expect(await ids({ name: { $ne: 'Ada' } })).toEqual(['p2', 'p3', 'p4']);
      expect(await ids({ retired: { $exists: true } })).toEqual(['p3']);
      expect(await ids({ tags: { $exists: false } })).toEqual(['p4']);
    });

    it('supports $lt, $lte, $gt, $gte on numbers, strings and Dates', async () => {
      expect(await ids({ age: { $lt: 41 } })).toEqual(['p1']);
      expect(await ids({ age: { $lte: 41 } })).toEqual(['p1', 'p2']);
      expect(await ids({ age: { $gt: 72 } })).toEqual(['p3']);
      expect(await ids({ age: { $gte: 72 } })).toEqual(['p3', 'p4']);
      expect(await ids({ age: { $gt: 40, $lt: 80 } })).toEqual(['p2', 'p4']);
      expect(await ids({ name: { $gte: 'B' } })).toEqual(['p3', 'p4']);
      expect(await ids({ born: { $lt: new Date('1910-01-01T00:00:00Z') } })).toEqual(['p1', 'p3']);
    });

    it('supports $regex with a RegExp, and $or / $and', async () => {
      expect(await ids({ name: { $regex: /^A/ } })).toEqual(['p1', 'p2']);
      expect(await ids({ name: { $regex: /^g/i } })).toEqual(['p3']);
      expect(await ids({ $or: [{ name: 'Ada' }, { age: { $gt: 80 } }] })).toEqual(['p1', 'p3']);
      expect(await ids({ $and: [{ group: 'a' }, { age: { $lt: 50 } }] })).toEqual(['p2']);
      expect(await ids({ group: 'b', $or: [{ tags: 'poetry' }, { tags: { $exists: false } }] })).toEqual(['p1', 'p4']);
    });

    it('counts', async () => {
      expect(await coll.count({})).toBe(4);
      expect(await coll.count({ group: 'a' })).toBe(2);
      expect(await coll.count({ group: 'z' })).toBe(0);
    });

    it('sorts, skips and limits', async () => {
      const names = async (options: Parameters<typeof coll.find>[1]) => (await coll.find({}, options)).map((doc) => doc.name);
      expect(await names({ sort: { age: -1 } })).toEqual(['Grace', 'Edsger', 'Alan', 'Ada']);
      expect(await names({ sort: { age: -1 }, skip: 1, limit: 2 })).toEqual(['Edsger', 'Alan']);
      expect(await names({ sort: { 'address.city': 1 } })).toEqual(['Grace', 'Ada', 'Edsger', 'Alan']);
      expect(await names({ sort: { group: 1, age: -1 } })).toEqual(['Grace', 'Alan', 'Edsger', 'Ada']);
      expect(await names({ sort: { born: 1 }, limit: 1 })).toEqual(['Ada']);
      expect(await names({ sort: { age: 1 }, skip: 10 })).toEqual([]);
      expect(await names({ limit: 0 })).toEqual([]);
    });

    it('rejects filters outside the portable subset with a TypeError', async () => {
      const bad: unknown[] = [
        null,
        [],
        { $where: 'this.age > 1' },
        { $nor: [{ name: 'Ada' }] },
        { age: { $where: 'sleep(1000)' } },
        { tags: { $elemMatch: { $eq: 'math' } } },
        { name: null },
        { name: undefined },
        { name: { $ne: null } },
        { name: { $in: 'Ada' } },
        { name: { $regex: '^A' } },
        { retired: { $exists: 'yes' } },
        { $or: [] },
        { 'address.$city': 'London' },
      ];
      for (const filter of bad) {
        await expect(coll.find(filter as Filter), JSON.stringify(filter) ?? String(filter)).rejects.toThrow(TypeError);
      }
      await expect(coll.findOne({ $where: 'true' })).rejects.toThrow(TypeError);
      await expect(coll.count({ name: undefined })).rejects.toThrow(TypeError);
      await expect(coll.deleteMany({ name: { $exists: 1 } })).rejects.toThrow(TypeError);
      expect(await coll.count({})).toBe(4);
    });

    it('rejects invalid find options with a RangeError', async () => {
      await expect(coll.find({}, { skip: -1 })).rejects.toThrow(RangeError);
      await expect(coll.find({}, { limit: 1.5 })).rejects.toThrow(RangeError);
      await expect(coll.find({}, { sort: { age: 2 as 1 } })).rejects.toThrow(RangeError);
    });
  });
}
