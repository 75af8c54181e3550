import type { Logger } from 'pino';
import type { BreachRangeApi } from '../authn/breached-passwords.js';
import { isLoopbackHost, refuseOutbound, type OutboundPolicy } from '../oidc/outbound.js';
import { get, SpecialUseAddressError } from './http-post.js';

/** A range answer is about 30-40 KB (some 800-1,000 suffixes, padded); anything far larger is not one. */
const MAX_RANGE_BYTES = 256 * 1024;

export interface BreachRangeSettings {
  /** `password.breachRangeUrl`: the five hex digits are appended to it */
  url: string;
  /** `password.breachRangeTimeoutMs` */
  timeoutMs: number;
  policy: OutboundPolicy;
}

/**
 * The k-anonymity range API of a breach service (by default Have I Been Pwned's Pwned Passwords),
 * called through the outbound guard every other call of Gatehouse goes through: special-use
 * addresses are refused after DNS resolution unless `http.allowPrivateNetworkFetch` allows them (or,
 * in development, the URL is loopback), no redirects, bounded in time and size. `Add-Padding` asks
 * the service to pad its answer with suffixes of count 0, so not even the answer's size tells
 * an observer of the connection which prefix was asked for. It lives here, not in `authn/`, because it is an outbound HTTP call; the
 * lookup itself (hashing, matching) is `authn/breached-passwords.ts`.
 */
export function breachRangeApi(settings: BreachRangeSettings, logger: Logger): BreachRangeApi {
  return {
    async suffixes(prefix) {
      if (!/^[0-9A-F]{5}$/.test(prefix)) throw new Error('a range prefix is five upper-case hex digits');
      const target = new URL(`${settings.url}${prefix}`);
      const guarded = !(settings.policy.allowPrivateNetwork || (settings.policy.allowLoopback && isLoopbackHost(target.hostname)));
      let answer;
      try {
        answer = await get(target, { headers: { accept: 'text/plain', 'add-padding': 'true', 'user-agent': 'Gatehouse' }, timeoutMs: settings.timeoutMs, guarded, maxBytes: MAX_RANGE_BYTES });
      } catch (error) {
        if (error instanceof SpecialUseAddressError) throw new Error(refuseOutbound(settings.policy, target, logger), { cause: error });
        throw error;
      }
      if (answer.status !== 200) throw new Error(`${target.origin} answered ${answer.status}, not 200`);
      return answer.body;
    },
  };
}
