import { createHash } from 'node:crypto';
import type { TenantSecurityPolicy } from '../domain/tenants.js';

/** `security_policy.password.breached_check`: where a new password is looked up. */
export const breachedChecks = ['list', 'off', 'range_api'] as const;
export type BreachedCheck = (typeof breachedChecks)[number];

/**
 * A tenant's breached-password check. Absent means `list`: the password object of a policy is
 * replaced whole by a PATCH, so a PATCH that names only `min_length` must not switch the check off.
 */
export function breachedCheckOf(policy: TenantSecurityPolicy | undefined): BreachedCheck {
  return policy?.password?.breachedCheck ?? 'list';
}

/**
 * The k-anonymity range API of a breach service (Have I Been Pwned's Pwned Passwords, or one that
 * speaks its format): given the first five hex digits of a SHA-1, the answer's lines are
 * `SUFFIX:COUNT` for every known hash with that prefix. Implemented outside `authn/` (it makes an
 * outbound call through the SSRF guard); rejects on any failure, including a timeout.
 */
export interface BreachRangeApi {
  suffixes(prefix: string): Promise<string>;
}

/** The shipped list (`common-passwords.ts`): the most common passwords, looked up case-insensitively. */
export interface CommonPasswordList {
  has(lowerCasePassword: string): Promise<boolean>;
}

export interface BreachCheckDeps {
  common: CommonPasswordList;
  /** absent when the operator configured no range API; `range_api` then uses the list */
  range?: BreachRangeApi | undefined;
  /** a failed range call is logged here before the list answers instead */
  logger: { warn(object: Record<string, unknown>, message: string): void };
}

/**
 * The password and its cheap variants as the list holds them (lower case): itself, and itself with
 * trailing digits and symbols removed ("Sunshine2024!" is "sunshine"), when four letters or more remain.
 * Attackers' dictionaries add exactly these endings, so they protect nothing.
 */
export function listVariants(password: string): string[] {
  const lower = password.toLowerCase();
  const stem = lower.replace(/[^\p{L}]+$/u, '');
  return stem.length >= 4 && stem !== lower ? [lower, stem] : [lower];
}

async function onList(common: CommonPasswordList, password: string): Promise<boolean> {
  for (const variant of listVariants(password)) if (await common.has(variant)) return true;
  return false;
}

/**
 * Whether the breach service knows the password. Only the first five hex digits of its SHA-1 leave
 * the process; the answer holds hundreds of suffixes (padded ones with count 0 are ignored), so the
 * service cannot tell which one was asked about.
 */
async function inRange(range: BreachRangeApi, password: string): Promise<boolean> {
  const hash = createHash('sha1').update(password, 'utf8').digest('hex').toUpperCase();
  const body = await range.suffixes(hash.slice(0, 5));
  const suffix = hash.slice(5);
  for (const line of body.split('\n')) {
    const [candidate, count] = line.trim().split(':');
    if (candidate?.toUpperCase() === suffix && Number(count) > 0) return true;
  }
  return false;
}

/**
 * `off`: never breached. `list`: the shipped list and its variants. `range_api`: the list first (no
 * call for what it already knows), then the service; when the service fails (down, slow, refused by
 * the outbound guard, or not configured) the list's answer stands and the failure is logged, so an
 * outage of a third party neither blocks every password change nor silently lets anything through.
 */
export async function isBreached(deps: BreachCheckDeps, check: BreachedCheck, password: string): Promise<boolean> {
  if (check === 'off') return false;
  if (await onList(deps.common, password)) return true;
  if (check !== 'range_api') return false;
  if (!deps.range) {
    deps.logger.warn({ event: 'password.breach_range_unavailable' }, 'breached_check is range_api but no range API is configured (password.breachRangeUrl); the shipped list answered');
    return false;
  }
  try {
    return await inRange(deps.range, password);
  } catch (error) {
    deps.logger.warn({ event: 'password.breach_range_failed', err: error }, 'the breach range API failed; the shipped list answered');
    return false;
  }
}
