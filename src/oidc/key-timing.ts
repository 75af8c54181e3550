import type { Config } from '../../config/schema.js';
import { ADMIN_TOKEN_TTL_SECONDS } from '../domain/admin-api.js';
import { DEVICE_LIFETIME_SECONDS } from '../authn/known-devices.js';
import type { KeyRetention } from '../domain/key-states.js';
import { MAX_ACCESS_TOKEN_TTL_SECONDS } from '../domain/resources.js';
import { ID_TOKEN_TTL_SECONDS, LOGOUT_TOKEN_TTL_SECONDS, SESSION_TTL_SECONDS } from './ttl.js';

/**
 * Instances switch keys at the same stored instant, but their clocks differ a little, and
 * verifiers allow some leeway on `exp`: a retired key stays a few minutes longer than its tokens.
 */
export const RETENTION_MARGIN_SECONDS = 300;

/**
 * How long a retired key must stay after a newer one took over: the longest lifetime of anything
 * it can have signed, from the lifetimes the provider is configured with.
 *
 * - Signing keys sign ID tokens (an hour), JWT access tokens of APIs (at most
 *   `MAX_ACCESS_TOKEN_TTL_SECONDS`, a day; admin API tokens are such tokens, 15 minutes) and
 *   logout tokens (2 minutes): 86,400 s, plus the margin, 86,700 s. (JWT userinfo, introspection
 *   and response modes are off; opaque tokens are not signed.)
 * - Cookie keys sign the provider's session cookie (14 days) and our cookies, of which the
 *   known-device cookie lives longest (90 days): 7,776,000 s plus the margin.
 */
export function keyRetention(): KeyRetention {
  const signing = Math.max(ID_TOKEN_TTL_SECONDS, MAX_ACCESS_TOKEN_TTL_SECONDS, ADMIN_TOKEN_TTL_SECONDS, LOGOUT_TOKEN_TTL_SECONDS);
  const cookie = Math.max(SESSION_TTL_SECONDS, DEVICE_LIFETIME_SECONDS);
  return { signingSeconds: signing + RETENTION_MARGIN_SECONDS, cookieSeconds: cookie + RETENTION_MARGIN_SECONDS };
}

/** The longest an operator may stage a key before it signs. */
export const MAX_ACTIVATION_DELAY_SECONDS = 30 * 86400;

/**
 * The shortest safe wait between adding a key and signing with it: every instance must have
 * published it (within `tenants.refreshSeconds`), and then every relying party that fetched the
 * JWKS just before must have fetched it again (`keys.jwksCacheSeconds`).
 */
export function minimumActivationDelay(config: Pick<Config, 'keys' | 'tenants'>): number {
  return config.keys.jwksCacheSeconds + config.tenants.refreshSeconds;
}

/** The wait used when none is asked for: the minimum, and never less than two refresh intervals. */
export function defaultActivationDelay(config: Pick<Config, 'keys' | 'tenants'>): number {
  return Math.max(2 * config.tenants.refreshSeconds, minimumActivationDelay(config));
}

/**
 * Why an asked-for wait is refused, if it is: shorter than the minimum without `force` (the CLI's
 * `--force`, the admin API's `force: true`), whose names `how` gives.
 */
export function activationDelayProblem(config: Pick<Config, 'keys' | 'tenants'>, seconds: number, force: boolean, how: { delay: string; force: string }): string | undefined {
  const minimum = minimumActivationDelay(config);
  if (seconds >= minimum || force) return undefined;
  return (
    `${how.delay} ${seconds} is too soon: relying parties may cache the JWKS for keys.jwksCacheSeconds (${config.keys.jwksCacheSeconds} s) ` +
    `and other instances publish new keys within tenants.refreshSeconds (${config.tenants.refreshSeconds} s), so tokens signed sooner than ${minimum} s ` +
    `from now may fail to verify at relying parties that still hold the old JWKS. Use at least ${minimum} (or leave it out for ${defaultActivationDelay(config)}), ` +
    `or add ${how.force} if that is what you want (for example to replace a compromised key at once).`
  );
}
