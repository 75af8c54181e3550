import type Provider from 'oidc-provider';
import type { AttemptCounter, AttemptPolicy } from '../authn/attempts.js';

/**
 * Failed client authentications (wrong secret, bad assertion) allowed per address, and per client
 * from one address, before that source must wait. Keyed by address so an attacker elsewhere cannot
 * lock a real client out; client secrets are 256-bit random, so guessing is hopeless anyway and
 * this mostly bounds the work a noisy source can cause.
 */
export const clientAuthThrottle: { address: AttemptPolicy; clientAtAddress: AttemptPolicy } = {
  address: { limit: 50, windowSeconds: 5 * 60 },
  clientAtAddress: { limit: 10, windowSeconds: 5 * 60 },
};

function basicClientId(header: string): string | undefined {
  if (!header.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon)).slice(0, 256);
  } catch {
    return undefined;
  }
}

/**
 * Counts `invalid_client` answers per address and per client+address in the shared store, and
 * answers 429 (still `invalid_client`, with Retry-After) while a source is over its limit.
 * Runs as oidc-provider middleware, around every endpoint that authenticates clients.
 */
export function throttleClientAuthentication(provider: Provider, tenant: string, attempts: AttemptCounter): void {
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST') return next();
    const addressKey = `client-auth:${tenant}:ip:${ctx.ip}`;
    const headerClient = basicClientId(ctx.get('authorization'));
    const clientKey = (clientId: string) => `client-auth:${tenant}:client:${clientId}:ip:${ctx.ip}`;

    const { retryAfter: wait } = await attempts.check([
      [addressKey, clientAuthThrottle.address],
      ...(headerClient ? [[clientKey(headerClient), clientAuthThrottle.clientAtAddress] as [string, typeof clientAuthThrottle.address]] : []),
    ]);
    if (wait > 0) {
      ctx.status = 429;
      ctx.set('Retry-After', String(wait));
      ctx.body = { error: 'invalid_client', error_description: `too many failed client authentications; retry in ${wait} seconds` };
      return;
    }

    await next();

    const body = ctx.body as { error?: unknown } | undefined;
    if (ctx.status === 401 && body?.error === 'invalid_client') {
      const params = (ctx as { oidc?: { params?: { client_id?: unknown } } }).oidc?.params;
      const clientId = headerClient ?? (typeof params?.client_id === 'string' ? params.client_id.slice(0, 256) : undefined);
      await Promise.all([
        attempts.recordFailure(addressKey, clientAuthThrottle.address),
        clientId ? attempts.recordFailure(clientKey(clientId), clientAuthThrottle.clientAtAddress) : undefined,
      ]);
    }
  });
}
