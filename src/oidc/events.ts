import type Provider from 'oidc-provider';
import type { Logger } from 'pino';

/**
 * Turns provider events into log lines, in one place (oidc-provider emits; the host subscribes).
 * Error events carry the wire error and description only; tokens and secrets are never logged.
 */
export function subscribeToEvents(provider: Provider, logger: Logger): void {
  provider.on('server_error', (ctx, error) => {
    logger.error({ err: error, requestId: ctx.get('x-request-id') }, 'oidc server error');
  });
  for (const event of ['grant.error', 'authorization.error', 'introspection.error', 'revocation.error', 'end_session.error']) {
    // The typings do not list every `*.error` event; all of them pass (ctx, error).
    (provider as unknown as NodeJS.EventEmitter).on(event, (ctx: { get(name: string): string }, error: { error?: string; error_description?: string }) => {
      logger.info({ event, error: error.error, description: error.error_description, requestId: ctx.get('x-request-id') }, 'oidc request rejected');
    });
  }
  provider.on('grant.success', (ctx) => {
    logger.debug({ event: 'grant.success', client: ctx.oidc.client?.clientId, requestId: ctx.get('x-request-id') }, 'tokens issued');
  });
  provider.on('backchannel.error', (_ctx, error, client) => {
    logger.warn({ event: 'backchannel.error', client: client.clientId, error: error.message }, 'back-channel logout delivery failed');
  });
}
