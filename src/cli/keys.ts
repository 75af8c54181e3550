import { announceChange } from '../tenancy/change-log.js';
import { audit, required, optional, UsageError, withApp, type Command } from './command.js';

/** `gatehouse keys rotate`: new signing and cookie keys, published before they sign. */
export const keysCommands: Command[] = [
  {
    name: 'keys rotate',
    synopsis: '--tenant <id> [--activate-in <seconds>]',
    summary: 'add new signing (RS256, ES256) and cookie keys to a tenant',
    details:
      'The new keys are published at once and sign after --activate-in seconds (default: twice\n' +
      'tenants.refreshSeconds, so every instance publishes them first). Older keys stay published.',
    options: { tenant: { type: 'string' }, 'activate-in': { type: 'string' } },
    async run(config, values) {
      const tenantId = required(values, 'tenant', '<id>');
      const activateIn = optional(values, 'activate-in');
      const delay = activateIn === undefined ? 2 * config.tenants.refreshSeconds : Number(activateIn);
      if (!Number.isInteger(delay) || delay < 0 || delay > 30 * 86400) throw new UsageError('--activate-in takes a whole number of seconds from 0 to 2592000');
      return withApp(config, async (app) => {
        const tenant = await app.tenants.find(tenantId);
        if (!tenant) throw new UsageError(`there is no tenant "${tenantId}"`);
        const { activatesAt } = await app.keys.rotate(tenant._id, { activateAfterSeconds: delay });
        // Running instances rebuild the tenant (and publish the new keys) as soon as they hear of it.
        await announceChange(app, { tenant: tenant._id, kind: 'keys' });
        await audit(app, { tenant: tenant._id, type: 'keys.rotated', target: { type: 'tenant', id: tenant._id }, after: { activates_at: activatesAt.toISOString() } });
        console.log(`Added new signing keys (RS256, ES256) and a cookie key to tenant "${tenant._id}".`);
        console.log(`They are published within ${config.tenants.refreshSeconds} s and sign from ${activatesAt.toISOString()}; older keys stay published.`);
        return 0;
      });
    },
  },
];
