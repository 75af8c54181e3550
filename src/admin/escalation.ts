import type { Principal } from './principal.js';

/**
 * The heart of both escalation guards (roles, and clients holding roles): the admin scopes among
 * `scopes` that the calling token does not hold itself, sorted. Granting, reshaping or acting as
 * something with any of them would let the caller exceed its own power.
 */
export function adminScopesBeyond(principal: Principal, scopes: Iterable<string>): string[] {
  const held = principal.scopes as ReadonlySet<string>;
  return [...new Set([...scopes].filter((scope) => !held.has(scope)))].sort();
}
