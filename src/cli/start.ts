import type { Config } from '../../config/schema.js';
import { createLogger } from '../logger.js';
import type { Command } from './command.js';

async function start(config: Config): Promise<'running'> {
  const logger = createLogger(config);
  const { boot } = await import('../boot.js');
  const running = await boot(config, logger);
  const { publicUrl } = config;
  logger.info({ url: publicUrl, store: running.app.store.kind, env: config.env }, `Gatehouse is listening on ${config.host}:${config.port}; public URL ${publicUrl}`);
  if (config.demo.seed) {
    const creds = running.demo ? `username "${running.demo.username}", password "${running.demo.password}"` : `the demo user (username "${config.demo.username}")`;
    logger.info(`Demo: open ${publicUrl}/t/demo/account and sign in with ${creds}. OIDC discovery: ${publicUrl}/t/demo/.well-known/openid-configuration`);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      signal === 'SIGTERM' ? { signal, drainDelayMs: config.http.drainDelayMs } : { signal },
      signal === 'SIGTERM' ? 'shutting down: readiness is red; serving requests until load balancers notice, then draining in-flight requests' : 'shutting down: draining in-flight requests',
    );
    // Ctrl-C at a terminal stops at once; SIGTERM (orchestrators) first lets load balancers notice.
    (signal === 'SIGTERM' ? running.drain() : running.stop()).then(
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
  return 'running';
}

/** `gatehouse start`: the server, until SIGTERM or SIGINT drains it. */
export const startCommands: Command[] = [
  { name: 'start', synopsis: '', summary: 'start the server', options: {}, run: (config) => start(config) },
];
