#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ensureAllIndexes } from '../adapters/indexes.js';
import { boot, openApp } from './boot.js';
import { ensureSystemTenant } from './seed.js';
import { createLogger } from './logger.js';

const usage = `Usage: gatehouse <command> [options]

Commands:
  start                      start the server (the default)
  migrate                    create the store's indexes (run once per MongoDB deploy and after upgrades)
  keys rotate --tenant <id>  add new signing and cookie keys to a tenant; they are published at
                             once and sign after --activate-in seconds (default: twice
                             tenants.refreshSeconds, so every instance publishes them first)

Options:
  --config <file>            a JSON configuration file (or GATEHOUSE_CONFIG)
  -h, --help                 show this help

Configuration: docs/configuration.md`;

class UsageError extends Error {}

async function start(config: Config): Promise<void> {
  const logger = createLogger(config);
  const running = await boot(config, logger);
  const { publicUrl } = config;
  logger.info({ url: publicUrl, store: running.app.store.kind, env: config.env }, `Gatehouse is listening on ${config.host}:${config.port}`);
  if (config.demo.seed) {
    const creds = running.demo ? `username "${running.demo.username}", password "${running.demo.password}"` : `the demo user (username "${config.demo.username}")`;
    logger.info(`Demo: open ${publicUrl}/t/demo/account and sign in with ${creds}. OIDC discovery: ${publicUrl}/t/demo/.well-known/openid-configuration`);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    running.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function migrate(config: Config): Promise<void> {
  const logger = createLogger(config);
  const app = await openApp(config, logger);
  try {
    console.log(`Creating indexes in the ${app.store.kind} store...`);
    await ensureAllIndexes(app.store, undefined, (collection) => console.log(`  ${collection}: done`));
    await ensureSystemTenant(app);
    console.log('Migration complete. The system tenant exists; in production give it keys with: gatehouse keys rotate --tenant system');
  } finally {
    await app.store.close();
  }
}

async function rotateKeys(config: Config, tenantId: string | undefined, activateIn: string | undefined): Promise<void> {
  if (!tenantId) throw new UsageError('keys rotate needs --tenant <id>');
  const delay = activateIn === undefined ? 2 * config.tenants.refreshSeconds : Number(activateIn);
  if (!Number.isInteger(delay) || delay < 0 || delay > 30 * 86400) throw new UsageError('--activate-in takes a whole number of seconds from 0 to 2592000');
  const logger = createLogger({ ...config, log: { level: 'warn' } });
  const app = await openApp(config, logger);
  try {
    const tenant = await app.tenants.find(tenantId);
    if (!tenant) throw new UsageError(`there is no tenant "${tenantId}"`);
    const { activatesAt } = await app.keys.rotate(tenant._id, { activateAfterSeconds: delay });
    console.log(`Added new signing keys (RS256, ES256) and a cookie key to tenant "${tenant._id}".`);
    console.log(`They are published within ${config.tenants.refreshSeconds} s and sign from ${activatesAt.toISOString()}; older keys stay published.`);
  } finally {
    await app.store.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string' }, tenant: { type: 'string' }, 'activate-in': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const [command = 'start', sub] = positionals;
  try {
    const config = loadConfig(values.config ? { file: values.config } : {});
    switch (command) {
      case 'start':
        await start(config);
        return -1; // keep running
      case 'migrate':
        await migrate(config);
        return 0;
      case 'keys':
        if (sub !== 'rotate') throw new UsageError(`unknown keys command "${sub ?? ''}"`);
        await rotateKeys(config, values.tenant, values['activate-in']);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    if (error instanceof UsageError) {
      console.error(`gatehouse: ${error.message}\n\n${usage}`);
      return 2;
    }
    console.error(`gatehouse: ${(error as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
});
