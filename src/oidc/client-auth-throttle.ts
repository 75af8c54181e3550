import type { IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { tenantKey } from '../../adapters/ephemeral.js';
import type { AttemptLimit, AttemptWindows } from '../authn/attempts.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * Client authentications (wrong secret, bad assertion) per address, and per client from one address.
 * Keyed by address so an attacker elsewhere cannot lock a real client out; client secrets are
 * 256-bit random, so guessing is hopeless anyway and this mostly bounds the work a noisy source can
 * cause. Each attempt is counted before it is checked (see {@link AttemptLimit}).
 */
export const clientAuthThrottle: { windowSeconds: number; address: AttemptLimit; clientAtAddress: AttemptLimit } = {
  windowSeconds: 5 * 60,
  address: { failures: 50, concurrent: 100 },
  clientAtAddress: { failures: 10, concurrent: 50 },
};

/** Where the client a request claims to be is left for later middleware (the device flow's limits), `ctx.state[CLAIMED_CLIENT]`. */
export const CLAIMED_CLIENT = 'gatehouseClaimedClient';

/** Endpoints that authenticate clients (paths below the tenant's issuer). */
const clientAuthPaths = new Set(['/token', '/token/introspection', '/token/revocation', '/request', '/backchannel', '/device/auth']);

/** oidc-provider's own limit on a form body. */
const BODY_LIMIT = 56 * 1024;

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

/** The client a form body claims to be: `client_id`, else the subject of a `client_assertion`. */
function formClientId(body: string): string | undefined {
  const params = new URLSearchParams(body);
  const clientId = params.get('client_id');
  if (clientId) return clientId.slice(0, 256);
  const assertion = params.get('client_assertion');
  if (!assertion) return undefined;
  try {
    const { sub, iss } = decodeJwt(assertion);
    return (sub ?? iss)?.slice(0, 256);
  } catch {
    return undefined;
  }
}

/**
 * Reads a form body before the provider does, so the client it names is known before its
 * credentials are checked, then puts it back (`unshift`, the stream API's way to un-read) for the
 * provider to parse as usual. A body of declared length over the provider's own limit is left to the
 * provider, which refuses it. A chunked body (no declared length) cannot be put back once its end
 * has been read: it is read whole, within the limit, and handed over as `req.body`, the provider's
 * documented fallback for an upstream parser.
 *
 * @returns the body, `undefined` when it was left unread, `null` when a chunked body is too large
 */
async function peekForm(req: IncomingMessage & { body?: unknown }): Promise<string | null | undefined> {
  if (req.headers['content-length'] === undefined) {
    const chunks: Buffer[] = [];
    let size = 0;
    // Not destroyed on an early return: the connection must live long enough to carry the 413.
    for await (const chunk of req.iterator({ destroyOnReturn: false })) {
      size += (chunk as Buffer).length;
      if (size > BODY_LIMIT) return null;
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks, size).toString('utf8');
    req.body = text;
    return text;
  }
  const length = Number(req.headers['content-length']);
  if (!Number.isSafeInteger(length) || length <= 0 || length > BODY_LIMIT) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  while (size < length) {
    const chunk = req.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      size += chunk.length;
      continue;
    }
    if (req.readableEnded || req.destroyed) break;
    // Wait for more data, the end of the stream, or its failure; whichever comes first.
    await new Promise<void>((resolve) => {
      const done = () => {
        req.off('readable', done).off('end', done).off('error', done).off('close', done);
        resolve();
      };
      req.on('readable', done).on('end', done).on('error', done).on('close', done);
    });
  }
  const body = Buffer.concat(chunks, size);
  if (size > 0 && !req.destroyed) req.unshift(body);
  return size === length ? body.toString('utf8') : undefined;
}

/**
 * Counts client authentications per address and per client+address in the shared store *before*
 * the provider checks them, for every method (HTTP Basic, secret in the form, client assertions),
 * and answers 429 (still `invalid_client`, with Retry-After) while a source is over its limit.
 * Runs as oidc-provider middleware, ahead of every endpoint that authenticates clients.
 */
export function throttleClientAuthentication(provider: Provider, tenant: string, attempts: AttemptWindows, logger: Logger, metrics: Metrics): void {
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || !clientAuthPaths.has(ctx.path)) return next();
    let clientId = basicClientId(ctx.get('authorization'));
    if (!clientId && ctx.is('application/x-www-form-urlencoded')) {
      const body = await peekForm(ctx.req);
      if (body === null) {
        // The rest of the body is never read: the connection cannot carry another request.
        ctx.set('Connection', 'close');
        ctx.status = 413;
        ctx.body = { error: 'invalid_request', error_description: `the request body is larger than ${BODY_LIMIT} bytes` };
        return;
      }
      if (body !== undefined) clientId = formClientId(body);
    }

    if (clientId) (ctx.state as Record<string, unknown>)[CLAIMED_CLIENT] = clientId;
    const counters: Array<[string, AttemptLimit]> = [['address', clientAuthThrottle.address]];
    if (clientId) counters.push([`client:${clientId}`, clientAuthThrottle.clientAtAddress]);
    const attempt = await attempts.begin(tenantKey(tenant, 'client-auth', 'ip', ctx.ip), counters, clientAuthThrottle.windowSeconds);
    if (!attempt.ok) {
      metrics.rateLimited('client_auth');
      ctx.status = 429;
      ctx.set('Retry-After', String(attempt.retryAfter));
      ctx.body = { error: 'invalid_client', error_description: `too many failed client authentications; retry in ${attempt.retryAfter} seconds` };
      return;
    }
    let failed = false;
    try {
      await next();
      failed = ctx.status === 401 && (ctx.body as { error?: unknown } | undefined)?.error === 'invalid_client';
    } finally {
      // A failure is recorded before the answer leaves, so the next attempt sees it; giving back a
      // success's attempt need not hold the answer up.
      if (failed) await attempt.settle(true);
      else attempt.settle(false).catch((error: unknown) => logger.warn({ err: error, tenant }, 'could not settle a client authentication attempt'));
    }
  });
}
