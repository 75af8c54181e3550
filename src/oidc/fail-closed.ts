import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { BackendUnavailableError } from '../../adapters/unavailable.js';

/**
 * Answers 503 when a backend is down under our own provider middleware (the client authentication
 * throttle counts in the store before the provider runs). The provider's routes read the status
 * from the error themselves; middleware added with `provider.use` runs outside them, and an error
 * escaping it would reach Koa's default handler: a plain-text answer and a line on stderr.
 * Registered first, so it wraps every other middleware of ours.
 */
export function failClosedOnUnavailableBackend(provider: Provider, logger: Logger): void {
  provider.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      logger.error({ err: error, requestId: ctx.get('x-request-id') }, 'backend unavailable');
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable. Please try again shortly.' };
    }
  });
}
