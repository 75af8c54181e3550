import type Provider from 'oidc-provider';
import { CIBA_GRANT, DEVICE_CODE_GRANT } from '../domain/client-metadata.js';

/** The endpoints that start a grant a client must be registered for, and that grant. */
const startedAt: Record<string, string> = { '/device/auth': DEVICE_CODE_GRANT, '/backchannel': CIBA_GRANT };

/**
 * RFC 8628 3.2 and CIBA Core 13 answer a client not registered for the grant with RFC 6749's
 * `unauthorized_client`; oidc-provider says `invalid_request` ("... is not allowed for this
 * client"). The tests of a client without the grant (device flow, CIBA) catch a change of that wording.
 */
export function unauthorizedClientErrors(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    const grant = ctx.method === 'POST' ? startedAt[ctx.path] : undefined;
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    if (grant && ctx.status === 400 && body?.error === 'invalid_request' && body.error_description === `${grant} is not allowed for this client`) {
      ctx.body = { error: 'unauthorized_client', error_description: `this client is not registered for the ${grant} grant` };
    }
  });
}
