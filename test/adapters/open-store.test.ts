import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../adapters/index.js';
import { ensureAllIndexes, indexes } from '../../adapters/indexes.js';
import { DuplicateKeyError } from '../../adapters/store.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('openStore', () => {
  it('opens the file store under {dataDir}/store with the indexes built', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-open-'));
    dirs.push(dataDir);
    const store = await openStore({ kind: 'nedb', dataDir, mongodb: { database: 'gatehouse' } });
    expect(store.kind).toBe('nedb-file');
    expect((await stat(join(dataDir, 'store'))).isDirectory()).toBe(true);
    const users = store.collection('users');
    await users.insertOne({ _id: '1', tenant: 't', username: 'bob' });
    await users.insertOne({ _id: '2', tenant: 't', username: 'alice' });
    await expect(users.insertOne({ _id: '3', tenant: 't', username: 'bob' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await store.close();
  });

  it('opens the memory store with the indexes built', async () => {
    const store = await openStore({ kind: 'memory', dataDir: '/nonexistent', mongodb: { database: 'gatehouse' } });
    expect(store.kind).toBe('nedb-memory');
    await store.collection('users').insertOne({ _id: '1', tenant: 't', username: 'bob', email: 'b@x' });
    await expect(store.collection('users').insertOne({ _id: '2', tenant: 't', username: 'rob', email: 'b@x' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await store.close();
  });

  it('refuses mongodb without a URI, saying which setting is missing', async () => {
    await expect(openStore({ kind: 'mongodb', dataDir: '.', mongodb: { database: 'gatehouse' } })).rejects.toThrow(
      'store.kind is mongodb but store.mongodb.uri (GATEHOUSE_MONGODB_URI) is not set',
    );
  });

  it('ensureAllIndexes appends extra specs and reports each collection', async () => {
    const store = await openStore({ kind: 'memory', dataDir: '.', mongodb: { database: 'gatehouse' } });
    const seen: string[] = [];
    await ensureAllIndexes(store, { audit: [{ fields: ['tenant', 'at'] }], users: [{ fields: ['phone'], unique: true, sparse: true }] }, (name) => seen.push(name));
    expect(seen).toEqual([...Object.keys(indexes), 'audit']);
    await store.collection('users').insertOne({ _id: '1', tenant: 't', username: 'a', phone: '+1' });
    await expect(store.collection('users').insertOne({ _id: '2', tenant: 't', username: 'b', phone: '+1' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await store.close();
  });
});
