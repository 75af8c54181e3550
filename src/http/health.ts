import Router from '@koa/router';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import type { Store } from '../../adapters/store.js';

/** Each backend gets this long to answer a readiness ping: an orchestrator probes with a short timeout of its own. */
const PING_TIMEOUT_MS = 2000;

async function answers(ping: () => Promise<void>): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([ping(), timeout]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz`: the process is alive (never touches dependencies, so an orchestrator does not
 * restart us for a database outage). `/readyz`: the store answers, and Redis too when short-lived
 * state lives there, so traffic may be sent here; the body says which backend is down.
 */
export function healthRouter(store: Store, ephemeral: EphemeralStore, isShuttingDown: () => boolean): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    if (isShuttingDown()) {
      ctx.status = 503;
      ctx.body = { status: 'shutting_down' };
      return;
    }
    // The store-backed short-lived state is the store itself: pinging it twice says nothing more.
    const [storeState, redisState] = await Promise.all([answers(() => store.ping()), ephemeral.kind === 'redis' ? answers(() => ephemeral.ping()) : undefined]);
    const ready = storeState === 'ok' && redisState !== 'down';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', store: storeState, ...(redisState ? { redis: redisState } : {}) };
  });
  return router;
}
