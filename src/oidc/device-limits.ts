import { createHash } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** oidc-provider middleware sees a Koa context; `oidc` is there once the provider's route has run. */
type ProviderContext = Parameters<Parameters<Provider['use']>[0]>[0] & { oidc?: KoaContextWithOIDC['oidc'] };
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import type { AttemptLimit, AttemptWindows } from '../authn/attempts.js';
import { CIBA_GRANT, DEVICE_CODE_GRANT } from '../domain/client-metadata.js';
import { renderPage, type PageTenant } from '../http/views.js';
import type { Metrics } from '../metrics/metrics.js';
import { CLAIMED_CLIENT } from './client-auth-throttle.js';
import { REFUSED_USER_CODE } from './device-flow.js';

/**
 * The device flow's abuse limits (docs/device-flow.md):
 * - `authorization`: device authorization requests per address and per client at an address, in
 *   fixed windows, counted before the provider stores anything (a public client needs no secret, so
 *   anyone could otherwise fill the store with device codes);
 * - `userCodes`: typed codes refused, per address and per browser session, counted before they are
 *   checked (see `AttemptLimit`): the code space is about 2^34.6, so guessing needs volume;
 * - `polling`: RFC 8628 3.5's `slow_down`; the interval a client must keep starts at 5 s (the
 *   RFC's default: the provider announces none) and grows by 5 s at every poll that comes too soon.
 */
export const deviceLimits = {
  authorization: { windowSeconds: 60, perAddress: 30, perClientAtAddress: 10 },
  userCodes: { windowSeconds: 15 * 60, address: { failures: 20, concurrent: 10 } as AttemptLimit, session: { failures: 5, concurrent: 5 } as AttemptLimit },
  polling: { intervalSeconds: 5, slowDownStepSeconds: 5 },
} as const;

/** A short, fixed-length stand-in for a value that must not appear in a key (a client id, a cookie, a device code). */
function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

function retryAfterOf(now: number, windowSeconds: number): number {
  const windowMs = windowSeconds * 1000;
  return Math.max(1, Math.ceil((Math.floor(now / windowMs) * windowMs + windowMs - now) / 1000));
}

export interface DeviceLimitDeps {
  tenant: PageTenant;
  ephemeral: EphemeralStore;
  attempts: AttemptWindows;
  metrics: Metrics;
  clock: () => number;
}

/** Device authorization requests: one atomic increment of the address's and the client's counts. */
async function limitAuthorizations(ctx: ProviderContext, deps: DeviceLimitDeps): Promise<boolean> {
  const { windowSeconds, perAddress, perClientAtAddress } = deviceLimits.authorization;
  const now = deps.clock();
  const windowMs = windowSeconds * 1000;
  const start = Math.floor(now / windowMs) * windowMs;
  const claimed = (ctx.state as Record<string, unknown>)[CLAIMED_CLIENT];
  const client = typeof claimed === 'string' ? `c${digest(claimed)}` : undefined;
  const counts = await deps.ephemeral.increment(tenantKey(deps.tenant.id, 'device-auth', 'ip', digest(ctx.ip), String(start)), { all: 1, ...(client ? { [client]: 1 } : {}) }, windowSeconds);
  if ((counts['all'] ?? 0) <= perAddress && (!client || (counts[client] ?? 0) <= perClientAtAddress)) return true;
  deps.metrics.rateLimited('device_authorization');
  const retryAfter = retryAfterOf(now, windowSeconds);
  ctx.status = 429;
  ctx.set('Retry-After', String(retryAfter));
  ctx.body = { error: 'invalid_request', error_description: `too many device authorization requests from this address; retry in ${retryAfter} seconds` };
  return false;
}

/** Typed user codes: counted per address and per browser session before the provider looks them up. */
async function limitUserCodes(ctx: ProviderContext, next: () => Promise<void>, deps: DeviceLimitDeps): Promise<void> {
  const { windowSeconds, address, session } = deviceLimits.userCodes;
  const cookie = ctx.cookies.get('_session');
  const attempts = await Promise.all([
    deps.attempts.begin(tenantKey(deps.tenant.id, 'device-code', 'ip', digest(ctx.ip)), [['address', address]], windowSeconds),
    ...(cookie ? [deps.attempts.begin(tenantKey(deps.tenant.id, 'device-code', 'session', digest(cookie)), [['session', session]], windowSeconds)] : []),
  ]);
  const refused = attempts.find((attempt) => !attempt.ok);
  if (refused && !refused.ok) {
    await Promise.all(attempts.map((attempt) => (attempt.ok ? attempt.settle(false) : undefined)));
    deps.metrics.rateLimited('device_user_code');
    ctx.status = 429;
    ctx.set('Retry-After', String(refused.retryAfter));
    ctx.type = 'html';
    const minutes = Math.ceil(refused.retryAfter / 60);
    ctx.body = await renderPage('error', {
      title: 'Too many codes',
      tenant: deps.tenant,
      requestId: ctx.get('x-request-id') || undefined,
      heading: 'Too many wrong codes',
      message: `Try again in ${minutes} minute${minutes === 1 ? '' : 's'}, and check the code on your device carefully.`,
      status: 429,
    });
    return;
  }
  let failed = true;
  try {
    await next();
    failed = (ctx.state as Record<string, unknown>)[REFUSED_USER_CODE] === true;
  } finally {
    await Promise.all(attempts.map((attempt) => (attempt.ok ? attempt.settle(failed) : undefined)));
  }
}

interface PollRecord {
  /** the last poll, ms */
  at: number;
  /** the interval this client must keep now, seconds */
  interval: number;
}

/**
 * RFC 8628 3.5: a poll of a still pending device code that comes sooner than the interval answers
 * `slow_down`, and the interval grows by 5 s for this and later polls. One record per device code
 * (by digest), changed only by compare-and-set: of parallel polls one at most is let through.
 * Only pending answers are replaced, so a fast poll never hides an approval, a denial or expiry.
 */
async function slowDown(ctx: ProviderContext, deps: PollingDeps, param: 'device_code' | 'auth_req_id'): Promise<void> {
  const code = ctx.oidc?.params?.[param];
  if (typeof code !== 'string') return;
  const key = tenantKey(deps.tenant, param === 'device_code' ? 'device-poll' : 'ciba-poll', digest(code));
  const now = deps.clock();
  const stored = await deps.ephemeral.get(key);
  const last = stored ? (JSON.parse(stored) as PollRecord) : undefined;
  const tooSoon = last !== undefined && now - last.at < last.interval * 1000;
  const interval = (last?.interval ?? deviceLimits.polling.intervalSeconds) + (tooSoon ? deviceLimits.polling.slowDownStepSeconds : 0);
  const next: PollRecord = { at: now, interval };
  const won = await deps.ephemeral.compareAndSet(key, stored, JSON.stringify(next), deps.lifetimeSeconds);
  if (!tooSoon && won) return;
  ctx.status = 400;
  ctx.body = { error: 'slow_down', error_description: `polling too fast: wait at least ${interval} seconds between requests` };
}

/** The device flow's limits as oidc-provider middleware (see {@link deviceLimits}). */
export function limitDeviceFlow(provider: Provider, deps: DeviceLimitDeps): void {
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST') return next();
    if (ctx.path === '/device/auth') {
      if (await limitAuthorizations(ctx, deps)) await next();
      return;
    }
    if (ctx.path === '/device') return limitUserCodes(ctx, next, deps);
    await next();
  });
}

export interface PollingDeps {
  tenant: string;
  ephemeral: EphemeralStore;
  clock: () => number;
  /** how long a device code or CIBA request lives, at most: a polling record lives as long */
  lifetimeSeconds: number;
}

/** Which parameter names what a poll of each grant is about. */
const polledBy: Record<string, 'device_code' | 'auth_req_id'> = { [DEVICE_CODE_GRANT]: 'device_code', [CIBA_GRANT]: 'auth_req_id' };

/**
 * `slow_down` for both polling grants, the device flow's and CIBA's (CIBA Core 11 names the same
 * error with the same meaning), as oidc-provider middleware after the token endpoint has answered.
 */
export function slowDownPolling(provider: Provider, deps: PollingDeps): void {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 400) return;
    const param = polledBy[String((ctx as ProviderContext).oidc?.params?.['grant_type'])];
    if (param && (ctx.body as { error?: unknown } | undefined)?.error === 'authorization_pending') await slowDown(ctx, deps, param);
  });
}
