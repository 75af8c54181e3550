import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';

/** The grant type a token request asked for, as far as the provider read it. */
function grantTypeOf(ctx: { oidc?: { params?: { grant_type?: unknown } | undefined } }): unknown {
  return ctx.oidc?.params?.grant_type;
}

/**
 * Turns provider events into log lines and metrics, in one place (oidc-provider emits; the host
 * subscribes). Error events carry the wire error and description only; tokens and secrets are never logged.
 */
export function subscribeToEvents(provider: Provider, logger: Logger, { tenant, metrics }: { tenant: string; metrics: Metrics }): void {
  provider.on('server_error', (ctx, error) => {
    logger.error({ err: error, requestId: ctx.get('x-request-id') }, 'oidc server error');
  });
  for (const event of ['grant.error', 'authorization.error', 'introspection.error', 'revocation.error', 'end_session.error']) {
    // The typings do not list every `*.error` event; all of them pass (ctx, error).
    (provider as unknown as NodeJS.EventEmitter).on(event, (ctx: { get(name: string): string }, error: { error?: string; error_description?: string }) => {
      logger.info({ event, error: error.error, description: error.error_description, requestId: ctx.get('x-request-id') }, 'oidc request rejected');
    });
  }
  (provider as unknown as NodeJS.EventEmitter).on('grant.error', (ctx: Parameters<typeof grantTypeOf>[0], error: { error?: unknown }) => {
    metrics.tokenRefused(tenant, grantTypeOf(ctx), error.error);
  });
  provider.on('grant.success', (ctx) => {
    metrics.tokenIssued(tenant, grantTypeOf(ctx));
    logger.debug({ event: 'grant.success', client: ctx.oidc.client?.clientId, requestId: ctx.get('x-request-id') }, 'tokens issued');
  });
  provider.on('backchannel.error', (_ctx, error, client) => {
    logger.warn({ event: 'backchannel.error', client: client.clientId, error: error.message }, 'back-channel logout delivery failed');
  });
}
