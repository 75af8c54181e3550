import { createHash } from 'node:crypto';
import Bowser from 'bowser';
import type Provider from 'oidc-provider';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import { SESSION_TTL_SECONDS } from './ttl.js';

/**
 * What a browser session's owner is shown to recognise it ("Chrome 120 on Linux", from
 * 203.0.113.7): recorded once per sign-in, never per request. The provider's Session keeps only
 * its own fields (`IN_PAYLOAD`), so this lives beside it in the short-lived state, keyed by a hash
 * of the session's `uid` (stable for the session's life, where its id changes at every sign-in).
 */
export interface SessionDevice {
  /** a short label parsed from the user agent, or the first characters of it when it parses to nothing */
  browser: string;
  ip: string;
  /** epoch seconds of the sign-in that recorded it */
  at: number;
}

/** Longest user agent looked at, and longest label kept: a hostile header stays bounded. */
const MAX_USER_AGENT = 512;
const MAX_LABEL = 80;

/** "Chrome 120 on Linux"; an unknown agent keeps its first characters, an empty one says so. */
export function deviceLabel(userAgent: string): string {
  const agent = userAgent.slice(0, MAX_USER_AGENT).trim();
  if (!agent) return 'Unknown browser';
  const parsed = Bowser.parse(agent);
  const major = parsed.browser.version?.split('.')[0];
  const browser = parsed.browser.name ? `${parsed.browser.name}${major ? ` ${major}` : ''}` : undefined;
  const os = parsed.os.name ? `${parsed.os.name}${parsed.os.versionName ? ` ${parsed.os.versionName}` : ''}` : undefined;
  const label = browser && os ? `${browser} on ${os}` : (browser ?? os ?? agent);
  return label.slice(0, MAX_LABEL);
}

function deviceKey(tenant: string, sessionUid: string): string {
  return tenantKey(tenant, 'session-device', createHash('sha256').update(sessionUid).digest('base64url'));
}

/**
 * Records the browser of every sign-in (the provider's `resume` after a login): one write per
 * sign-in, for as long as a session lasts from it. A session kept alive longer (each use moves its
 * expiry) without signing in again loses its label and shows as an unknown browser.
 */
export function recordSessionDevices(provider: Provider, deps: { tenant: string; ephemeral: EphemeralStore; clock: () => number }): void {
  provider.use(async (ctx, next) => {
    await next();
    const oidc = ctx.oidc as (typeof ctx.oidc & { result?: { login?: unknown } }) | undefined;
    if (oidc?.route !== 'resume' || !oidc.result?.login) return;
    const session = oidc.session;
    if (!session?.accountId || !session.uid) return;
    const device: SessionDevice = { browser: deviceLabel(ctx.get('user-agent')), ip: ctx.ip, at: Math.floor(deps.clock() / 1000) };
    // A label is a courtesy: failing to write it must not fail a sign-in that has succeeded.
    await deps.ephemeral.set(deviceKey(deps.tenant, session.uid), JSON.stringify(device), { ttlSeconds: SESSION_TTL_SECONDS }).catch(() => undefined);
  });
}

/** The recorded devices of sessions by their `uid`, one read for all of them. */
export async function devicesOf(ephemeral: EphemeralStore, tenant: string, sessionUids: readonly string[]): Promise<Map<string, SessionDevice>> {
  const found = new Map<string, SessionDevice>();
  if (sessionUids.length === 0) return found;
  const raw = await ephemeral.getMany(sessionUids.map((uid) => deviceKey(tenant, uid)));
  raw.forEach((value, index) => {
    if (value !== undefined) found.set(sessionUids[index]!, JSON.parse(value) as SessionDevice);
  });
  return found;
}
