import { ensureAllIndexes } from '../../adapters/indexes.js';
import { ensureSystemTenant } from '../seed.js';
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
        await ensureSystemTenant(app);
        console.log('Migration complete. The system tenant exists; in production give it keys with: gatehouse keys rotate --tenant system');
        return 0;
      }),
  },
];
