import { randomBytes } from 'node:crypto';
import { MongoClient, MongoNetworkError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { StoreEphemeral } from '../../adapters/ephemeral-store.js';
import { openMongoStore, toIndexDescription, translateMongoError } from '../../adapters/mongodb.js';
import { DuplicateKeyError, StoreUnavailableError } from '../../adapters/store.js';
import { describeEphemeralContract, storeEphemeralUnderTest } from './ephemeral-contract.js';
import { describeOidcAdapterContract } from './oidc-adapter-contract.js';
import { describeStoreContract } from './store-contract.js';

const uri = process.env.GATEHOUSE_TEST_MONGODB_URI;

/** A database of its own per suite and run, dropped afterwards. */
function disposableDatabase(serverUri: string, suite: string) {
  const database = `gatehouse_test_${suite}_${randomBytes(6).toString('hex')}`;
  return {
    open: () => openMongoStore({ uri: serverUri, database, appName: 'gatehouse-tests' }),
    async drop() {
      const client = new MongoClient(serverUri, { serverSelectionTimeoutMS: 5_000 });
      try {
        await client.db(database).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}

if (uri) {
  const stores = disposableDatabase(uri, 'store');
  const oidc = disposableDatabase(uri, 'oidc');
  describeStoreContract('mongodb', stores.open, stores.drop);
  describeOidcAdapterContract('mongodb', oidc.open, { cleanup: oidc.drop });
  const routed = disposableDatabase(uri, 'oidc_routed');
  describeOidcAdapterContract('mongodb, short-lived models on the store-backed ephemeral', routed.open, {
    cleanup: routed.drop,
    ephemeral: (store, now) => new StoreEphemeral(store, now),
  });
  const ephemeral = disposableDatabase(uri, 'ephemeral');
  describeEphemeralContract('store: mongodb', () => storeEphemeralUnderTest(ephemeral.open, ephemeral.drop));
} else {
  console.log('MongoDB adapter contract suite skipped: GATEHOUSE_TEST_MONGODB_URI is not set');
  describe.skip('MongoDB adapter contract suite (set GATEHOUSE_TEST_MONGODB_URI to run it)', () => {
    it('runs the store and oidc adapter contracts against MongoDB', () => undefined);
  });
}

describe('mongodb adapter, without a server', () => {
  it('maps duplicate key errors to DuplicateKeyError, naming the index fields', () => {
    const error = translateMongoError('users', new MongoServerError({ message: 'E11000 duplicate key', code: 11000, keyPattern: { tenant: 1, email: 1 } }));
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect(error).toMatchObject({ collection: 'users', key: 'tenant,email' });
    const old = translateMongoError('users', new MongoServerError({ message: 'E11000 duplicate key error collection: g.users index: tenant_1_username_1 dup key: { }', code: 11000 }));
    expect(old).toMatchObject({ key: 'tenant,username' });
  });

  it('maps connectivity errors to StoreUnavailableError and leaves other errors alone', () => {
    expect(translateMongoError('users', new MongoNetworkError('connection reset'))).toBeInstanceOf(StoreUnavailableError);
    expect(translateMongoError('users', new MongoServerError({ message: 'not primary', code: 10107 }))).toBeInstanceOf(StoreUnavailableError);
    const typeMismatch = new MongoServerError({ message: 'Cannot apply $inc', code: 14 });
    expect(translateMongoError('users', typeMismatch)).toBe(typeMismatch);
    const bug = new TypeError('bug');
    expect(translateMongoError('users', bug)).toBe(bug);
  });

  it('builds TTL, unique, sparse and partial indexes from specs', () => {
    expect(toIndexDescription({ fields: ['expiresAt'], ttl: true })).toEqual({ key: { expiresAt: 1 }, expireAfterSeconds: 0 });
    expect(toIndexDescription({ fields: ['code'], unique: true, sparse: true })).toEqual({ key: { code: 1 }, unique: true, sparse: true });
    // Mongo's sparse would keep e-mail-less users of a tenant in the index (tenant is present), so they would collide.
    expect(toIndexDescription({ fields: ['tenant', 'email'], unique: true, sparse: true })).toEqual({
      key: { tenant: 1, email: 1 },
      unique: true,
      partialFilterExpression: { tenant: { $exists: true }, email: { $exists: true } },
    });
  });

  it('fails fast with StoreUnavailableError when the server cannot be reached, never echoing credentials', async () => {
    const error = await openMongoStore({ uri: 'mongodb://gatehouse:s3cret-pw@127.0.0.1:9/?directConnection=true', database: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(String((error as Error).message)).not.toContain('s3cret-pw');
  });

  it('rejects an invalid connection string with a clear error', async () => {
    await expect(openMongoStore({ uri: 'http://user:s3cret-pw@host', database: 'x' })).rejects.toThrow(/connection string is invalid/);
  });
});
