import * as nedb from '@seald-io/nedb';

// The package is CommonJS (`module.exports = Datastore`) but its typings declare `export default`, so
// under NodeNext the checker expects the class one `.default` deeper than Node puts it.
export const Datastore = nedb.default as unknown as typeof nedb.default.default;

/** One nedb datastore, as the collection, its indexes and the store open and use it. */
export type RawDatastore = nedb.default<Record<string, unknown>>;
