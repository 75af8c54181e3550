import { issuerFor } from '../app-context.js';
import { audit, printable, required, UsageError, withApp, type Command } from './command.js';

const MAX_NAME = 100;

/** `gatehouse tenant create|list`: tenants straight in the store, for the first setup or scripts. */
export const tenantCommands: Command[] = [
  {
    name: 'tenant create',
    synopsis: '--id <id> --name <display name>',
    summary: 'create a tenant with its signing keys; prints its issuer',
    details: 'The id appears in URLs (/t/{id}): 1-63 lower-case letters, digits or dashes.',
    options: { id: { type: 'string' }, name: { type: 'string' } },
    async run(config, values) {
      const id = required(values, 'id');
      const name = required(values, 'name', '<display name>').trim();
      if (name.length > MAX_NAME) throw new UsageError(`--name is at most ${MAX_NAME} characters`);
      return withApp(config, async (app) => {
        // A duplicate or malformed id is an AppError (conflict / invalid_request): exit code 2.
        const tenant = await app.tenants.create({ id, displayName: name });
        // Keys at once, so the tenant signs from its first request even where keys are not generated on demand.
        await app.keys.rotate(tenant._id);
        const issuer = issuerFor(config, tenant._id);
        await audit(app, { tenant: tenant._id, type: 'tenant.created', target: { type: 'tenant', id: tenant._id }, after: { id: tenant._id, display_name: tenant.displayName, issuer } });
        console.log(`Created tenant "${tenant._id}" with signing keys. Issuer: ${issuer}`);
        return 0;
      });
    },
  },
  {
    name: 'tenant list',
    synopsis: '',
    summary: 'list tenants: id, display name, issuer',
    options: {},
    run: (config) =>
      withApp(config, async (app) => {
        const rows: string[][] = [];
        // All of them, a page at a time, so a large installation is never read in one query.
        for (let after: string | undefined; ; ) {
          const batch = await app.tenants.list({ ...(after ? { after } : {}), limit: 100 });
          for (const tenant of batch) rows.push([tenant._id, printable(tenant.displayName), issuerFor(config, tenant._id)]);
          if (batch.length < 100) break;
          after = batch.at(-1)!._id;
        }
        if (rows.length === 0) {
          console.log('No tenants yet: create one with gatehouse tenant create --id <id> --name <display name>');
          return 0;
        }
        const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length), column === 0 ? 2 : 4));
        const line = (row: string[]) => row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell)).join('  ');
        console.log(line(['ID', 'NAME', 'ISSUER']));
        for (const row of rows) console.log(line(row));
        return 0;
      }),
  },
];
