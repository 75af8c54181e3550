import { announceChange } from '../tenancy/change-log.js';
import type { Config } from '../../config/schema.js';
import type { AppContext } from '../app-context.js';
import type { Tenant } from '../domain/tenants.js';
import { activationDelayProblem, defaultActivationDelay, MAX_ACTIVATION_DELAY_SECONDS } from '../oidc/key-timing.js';
import { audit, required, optional, UsageError, withApp, type Command } from './command.js';

async function existingTenant(app: AppContext, id: string): Promise<Tenant> {
  const tenant = await app.tenants.find(id);
  if (!tenant) throw new UsageError(`there is no tenant "${id}"`);
  return tenant;
}

/** The wait before new keys sign: `--activate-in` checked against the JWKS cache time, or the default. */
function activationDelay(config: Config, value: string | undefined, force: boolean): number {
  if (value === undefined) return defaultActivationDelay(config);
  const delay = Number(value);
  if (!/^\d+$/.test(value) || delay > MAX_ACTIVATION_DELAY_SECONDS) throw new UsageError(`--activate-in takes a whole number of seconds from 0 to ${MAX_ACTIVATION_DELAY_SECONDS}`);
  const problem = activationDelayProblem(config, delay, force, { delay: '--activate-in', force: '--force' });
  if (problem) throw new UsageError(problem);
  return delay;
}

/** `gatehouse keys rotate` and `keys list`: staged signing and cookie keys, and their states. */
export const keysCommands: Command[] = [
  {
    name: 'keys rotate',
    synopsis: '--tenant <id> [--activate-in <seconds>] [--force]',
    summary: 'add new signing (RS256, ES256) and cookie keys to a tenant',
    details:
      'The new keys are published at once and sign after --activate-in seconds (default: the larger of\n' +
      'twice tenants.refreshSeconds and keys.jwksCacheSeconds + tenants.refreshSeconds, so every instance\n' +
      'publishes them and every relying party has fetched them first). A shorter wait is refused unless\n' +
      '--force. Older keys stay published until the tokens they signed have expired.',
    options: { tenant: { type: 'string' }, 'activate-in': { type: 'string' }, force: { type: 'boolean' } },
    async run(config, values) {
      const tenantId = required(values, 'tenant', '<id>');
      const delay = activationDelay(config, optional(values, 'activate-in'), values['force'] === true);
      return withApp(config, async (app) => {
        const tenant = await existingTenant(app, tenantId);
        const { activatesAt, kids } = await app.keys.rotate(tenant._id, { activateAfterSeconds: delay });
        // Running instances rebuild the tenant (and publish the new keys) as soon as they hear of it.
        await announceChange(app, { tenant: tenant._id, kind: 'keys' });
        await audit(app, { tenant: tenant._id, type: 'keys.rotated', target: { type: 'tenant', id: tenant._id }, after: { activates_at: activatesAt.toISOString(), kids } });
        console.log(`Added new signing keys (RS256, ES256) and a cookie key to tenant "${tenant._id}".`);
        console.log(`They are published within ${config.tenants.refreshSeconds} s and sign from ${activatesAt.toISOString()}; older keys stay published until their tokens expire.`);
        return 0;
      });
    },
  },
  {
    name: 'keys list',
    synopsis: '--tenant <id>',
    summary: 'list a tenant’s keys with their states (next, active, retired, unpublished) and times',
    options: { tenant: { type: 'string' } },
    async run(config, values) {
      const tenantId = required(values, 'tenant', '<id>');
      return withApp(config, async (app) => {
        const tenant = await existingTenant(app, tenantId);
        const rows = (await app.keys.list(tenant._id)).map((key) => [
          key.kid,
          key.kind,
          key.alg ?? '-',
          key.state,
          key.activatesAt.toISOString(),
          key.retiresAt?.toISOString() ?? '-',
          key.unpublishAt?.toISOString() ?? '-',
        ]);
        const header = ['KID', 'KIND', 'ALG', 'STATE', 'ACTIVATES', 'RETIRES', 'UNPUBLISHED'];
        const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
        const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
        console.log(line(header));
        for (const row of rows) console.log(line(row));
        return 0;
      });
    },
  },
];
