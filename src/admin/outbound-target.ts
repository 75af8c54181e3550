import { isSpecialUse } from '../oidc/special-use.js';
import { isLoopbackHost, OUTBOUND_SETTING, type OutboundPolicy } from '../oidc/outbound.js';

/**
 * Why Gatehouse would not call a URL registered for it to call (a client's CIBA ping endpoint, a
 * tenant's CIBA webhook), or undefined: https (plain http only to a loopback host where
 * `httpOnLoopback` allows it: nothing crosses a network there); loopback only in development, and no
 * private or other special-use address unless `http.allowPrivateNetworkFetch`. Literal addresses are
 * judged here; names are judged again when they resolve, at every call, by the outbound guard.
 */
export function outboundTargetProblem(url: URL, policy: OutboundPolicy, options: { httpOnLoopback: boolean }): string | undefined {
  const loopbackHost = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(options.httpOnLoopback && url.protocol === 'http:' && loopbackHost)) {
    return options.httpOnLoopback ? 'must be an https URL (http only to a loopback address, outside production)' : 'must be an https URL';
  }
  const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const internal = loopbackHost ? !policy.allowLoopback : isSpecialUse(literal);
  if (internal && !policy.allowPrivateNetwork) {
    return `${url.hostname} is a loopback, private or other special-use address, which Gatehouse does not call (set ${OUTBOUND_SETTING} to allow it)`;
  }
  return undefined;
}
