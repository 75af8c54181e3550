/**
 * The store contract: what every backend of the store port must do, run against each of them
 * (`nedb-memory.test.ts`, `nedb-file.test.ts`, `mongodb.test.ts`). Only portable behaviour is
 * asserted here; backend-only details (nedb's lazy TTL, file reloads) live in the backend's test.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { Collection, Doc, Store } from '../../adapters/store.js';
import { indexContract } from './store-contract-indexes.js';
import { lifecycleContract } from './store-contract-lifecycle.js';
import { queryContract } from './store-contract-queries.js';
import { writeContract } from './store-contract-writes.js';

/** What the parts of the contract share: the open store and fresh, empty collections. */
export interface StoreContractContext {
  readonly store: Store;
  /** A collection no other test uses. */
  fresh<T extends Doc = Doc>(): Collection<T>;
  /** The function the suite was given, for tests that need a second store. */
  open: () => Promise<Store>;
}

/** Registers the store contract for one backend; `cleanup` runs after the store is closed. */
export function describeStoreContract(label: string, open: () => Promise<Store>, cleanup?: () => Promise<void>): void {
  describe(`store contract: ${label}`, () => {
    let store: Store | undefined;
    let counter = 0;
    const context: StoreContractContext = {
      get store() {
        if (!store) throw new Error('the store did not open');
        return store;
      },
      fresh: <T extends Doc = Doc>() => context.store.collection<T>(`contract_${++counter}`),
      open,
    };

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    queryContract(context);
    writeContract(context);
    indexContract(context);
    lifecycleContract(context);
  });
}
