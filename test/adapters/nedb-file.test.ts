import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreEphemeral } from '../../adapters/ephemeral-store.js';
import { openNedbStore } from '../../adapters/nedb.js';
import { DuplicateKeyError, StoreUnavailableError } from '../../adapters/store.js';
import { describeEphemeralContract, storeEphemeralUnderTest } from './ephemeral-contract.js';
import { describeOidcAdapterContract } from './oidc-adapter-contract.js';
import { describeStoreContract } from './store-contract.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-nedb-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

// A directory per open: one process at a time may open a directory, and the contract opens a second store.
describeStoreContract('nedb files', async () => openNedbStore({ dir: await tempDir() }));
describeOidcAdapterContract('nedb files', async () => openNedbStore({ dir: await tempDir() }));
describeOidcAdapterContract('nedb files, short-lived models on the store-backed ephemeral', async () => openNedbStore({ dir: await tempDir() }), {
  ephemeral: (store, now) => new StoreEphemeral(store, now),
});
describeEphemeralContract('store: nedb files', () => storeEphemeralUnderTest(async () => openNedbStore({ dir: await tempDir() })));

describe('nedb files, backend details', () => {
  it('keeps documents and unique indexes across close and reopen', async () => {
    const dir = await tempDir();
    const born = new Date('2001-02-03T04:05:06.789Z');
    const first = await openNedbStore({ dir });
    expect(first.kind).toBe('nedb-file');
    await first.ensureIndexes('people', [{ fields: ['tenant', 'email'], unique: true, sparse: true }]);
    const people = first.collection('people');
    await people.insertOne({ _id: 'a', tenant: 't', email: 'a@x', born, tags: ['x'], profile: { lang: 'en' } });
    await people.insertOne({ _id: 'b', tenant: 't' });
    await people.insertOne({ _id: 'c', tenant: 't' });
    await people.updateOne({ _id: 'a' }, { $push: { tags: 'y' } });
    await people.deleteOne({ _id: 'c' });
    await first.close();

    const second = await openNedbStore({ dir });
    await second.ensureIndexes('people', [{ fields: ['tenant', 'email'], unique: true, sparse: true }]);
    const again = second.collection('people');
    expect(await again.find({}, { sort: { _id: 1 } })).toEqual([
      { _id: 'a', tenant: 't', email: 'a@x', born, tags: ['x', 'y'], profile: { lang: 'en' } },
      { _id: 'b', tenant: 't' },
    ]);
    expect((await again.findOne({ _id: 'a' }))?.born).toBeInstanceOf(Date);
    await expect(again.insertOne({ _id: 'd', tenant: 't', email: 'a@x' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await again.insertOne({ _id: 'e', tenant: 't' });
    await second.close();
    if (process.platform !== 'win32') expect((await stat(join(dir, 'people.db'))).mode & 0o777).toBe(0o600);
  });

  it('removes expired documents from the datafile without anyone reading them', async () => {
    const dir = await tempDir();
    const store = await openNedbStore({ dir, maintenanceIntervalMs: 20 });
    await store.ensureIndexes('oidc', [{ fields: ['expiresAt'], ttl: true }]);
    await store.collection('oidc').insertOne({ _id: 'expired-doc', expiresAt: new Date(Date.now() + 30) });
    await store.collection('oidc').insertOne({ _id: 'live-doc', expiresAt: new Date(Date.now() + 60_000) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await store.close();
    const file = await readFile(join(dir, 'oidc.db'), 'utf8');
    expect(file).not.toContain('expired-doc');
    expect(file).toContain('live-doc');
  });

  it('fails closed on a datafile it cannot read: operations and ping reject with StoreUnavailableError', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'broken.db'), 'not json\n'.repeat(20));
    const store = await openNedbStore({ dir });
    const broken = store.collection('broken');
    await expect(broken.findOne({ _id: 'a' })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(broken.insertOne({ _id: 'a' })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    // Other collections keep working, and the unreadable file is left as it was.
    await store.collection('fine').insertOne({ _id: 'a' });
    await store.close().catch(() => undefined);
    expect(await readFile(join(dir, 'broken.db'), 'utf8')).toBe('not json\n'.repeat(20));
  });

  it('refuses a data directory it cannot create', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), '');
    await expect(openNedbStore({ dir: join(dir, 'file', 'store') })).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
