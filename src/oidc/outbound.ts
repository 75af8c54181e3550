import { BlockList, isIP } from 'node:net';
import type { Configuration } from 'oidc-provider';
import type { Logger } from 'pino';

export interface OutboundPolicy {
  /** `http.allowPrivateNetworkFetch`: the operator lets every special-use address through */
  allowPrivateNetwork: boolean;
  /** development mode: relying parties on this machine (loopback only) are reachable */
  allowLoopback: boolean;
  /** `http.outboundCaFile`: dispatchers that also trust its CAs (`outbound-trust.ts`) */
  trust?: OutboundDispatchers | undefined;
}

/** What `fetch` takes as its `dispatcher` (undici's). */
type Dispatcher = NonNullable<RequestInit['dispatcher']>;

/** A guarded and an unguarded dispatcher for the provider's calls. */
export interface OutboundDispatchers {
  /** refuses special-use addresses, with {@link SPECIAL_USE_REFUSAL} */
  guarded: Dispatcher;
  unguarded: Dispatcher;
}

export const OUTBOUND_SETTING = 'http.allowPrivateNetworkFetch';
const OUTBOUND_VARIABLE = 'GATEHOUSE_ALLOW_PRIVATE_NETWORK_FETCH';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * Loopback by the URL alone: `localhost` or a loopback literal. A name that merely resolves to
 * loopback (`127.0.0.1.nip.io`) stays under the guard, so nothing outside this machine decides.
 */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  const address = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const family = isIP(address);
  return family !== 0 && loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Logs a refused call with the URL and the setting that allows it, and returns the same words for
 * the error, so whoever reports the failure says more than "fetch failed".
 */
export function refuseOutbound(policy: OutboundPolicy, target: URL, logger: Logger): string {
  const allowedBy = policy.allowLoopback
    ? `set ${OUTBOUND_SETTING} (${OUTBOUND_VARIABLE}=true) to allow it`
    : `set ${OUTBOUND_SETTING} (${OUTBOUND_VARIABLE}=true) to allow it, or, for a relying party on this machine, run in development mode (NODE_ENV=development), which allows loopback addresses`;
  const message = `refused to call ${target.href}: it resolves to a loopback, private or other special-use address (SSRF protection); ${allowedBy}`;
  logger.warn({ event: 'outbound.refused', url: target.href, setting: OUTBOUND_SETTING }, message);
  return message;
}

/**
 * oidc-provider's guard destroys the socket with this message when the address is special-use, and
 * ours (`outbound-trust.ts`) says the same. Checked in flows/outbound-requests.test.ts, so an upgrade
 * that changes it fails a test.
 */
export const SPECIAL_USE_REFUSAL = 'hostname resolves to a special-use IP address';

function refusedByGuard(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error && cause.message === SPECIAL_USE_REFUSAL;
}

/**
 * The provider's outbound requests (back-channel logout, and any URL a client registers). The
 * provider hands each one its own SSRF-guarded dispatcher, which refuses loopback, private and other
 * special-use addresses after DNS resolution. We drop it only where allowed: everywhere when the
 * operator said so, and for loopback targets in development, where relying parties run on the same
 * machine. A refusal is logged with the URL and the setting that allows it, and thrown with the same
 * words, so the provider's `backchannel.error` says more than "fetch failed". With extra CAs
 * configured (`policy.trust`) our own dispatchers replace the provider's, guarded the same way.
 */
export function outboundFetch(policy: OutboundPolicy, logger: Logger): NonNullable<Configuration['fetch']> {
  return async (input, init = {}) => {
    const target = new URL(input instanceof Request ? input.url : input);
    const unguarded = policy.allowPrivateNetwork || (policy.allowLoopback && isLoopbackHost(target.hostname));
    const options: RequestInit & { dispatcher?: unknown } = init;
    if (policy.trust) options.dispatcher = unguarded ? policy.trust.unguarded : policy.trust.guarded;
    else if (unguarded) delete options.dispatcher;
    // Without the guard a redirect could lead anywhere; the provider asks for none anyway.
    if (unguarded && options.redirect !== 'manual') options.redirect = 'error';
    try {
      return await fetch(input, options);
    } catch (error) {
      if (unguarded || !refusedByGuard(error)) throw error;
      throw new Error(refuseOutbound(policy, target, logger), { cause: error });
    }
  };
}
