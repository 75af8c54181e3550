import { ensureAllIndexes } from '../../adapters/indexes.js';
import { backfillIdentifierKeys, ensureSystemTenant } from '../seed.js';
import { withApp, type Command } from './command.js';

/** `gatehouse migrate`: indexes (MongoDB needs them created once per deploy) and the system tenant. */
export const storeCommands: Command[] = [
  {
    name: 'migrate',
    synopsis: '',
    summary: 'create the store\'s indexes and the system tenant (once per MongoDB deploy and after upgrades)',
    options: {},
    run: (config) =>
      withApp(config, async (app) => {
        console.log(`Creating indexes in the ${app.store.kind} store...`);
        await ensureAllIndexes(app.store, undefined, (collection) => console.log(`  ${collection}: done`));
        // After the unique index exists, so the keys it hands out cannot collide.
        const conflicts = await backfillIdentifierKeys(app);
        if (conflicts > 0) console.log(`${conflicts} identifier(s) of older users are held by other users: see the warnings logged above.`);
        await ensureSystemTenant(app);
        console.log('Migration complete. The system tenant exists; in production give it keys with: gatehouse keys rotate --tenant system');
        return 0;
      }),
  },
];
