import Router from '@koa/router';
import type { Store } from '../../adapters/store.js';

/**
 * `/healthz`: the process is alive (never touches dependencies, so an orchestrator does not
 * restart us for a database outage). `/readyz`: the store answers, so traffic may be sent here.
 */
export function healthRouter(store: Store, isShuttingDown: () => boolean): Router {
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
    try {
      await Promise.race([store.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
      ctx.body = { status: 'ready', store: store.kind };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: store.kind };
    }
  });
  return router;
}
