import { CIBA_GRANT } from '../domain/client-metadata.js';
import type { OutboundPolicy } from '../oidc/outbound.js';
import { outboundTargetProblem } from './outbound-target.js';

/**
 * What is wrong with a client's CIBA registration, if anything (the admin API refuses it with the
 * field named): CIBA only for clients that authenticate (a poll with a public client's id alone
 * would let anyone who learns an `auth_req_id` collect the tokens), and a ping endpoint the
 * outbound guard will call: https; loopback only in development, and no private or
 * other special-use address unless `http.allowPrivateNetworkFetch` (names are checked again when
 * resolved, at every ping).
 */
export function cibaRegistrationProblem(metadata: Record<string, unknown>, policy: OutboundPolicy): { field: string; description: string } | undefined {
  const grants = Array.isArray(metadata['grant_types']) ? (metadata['grant_types'] as unknown[]) : [];
  if (!grants.includes(CIBA_GRANT)) return undefined;
  if ((metadata['token_endpoint_auth_method'] ?? 'client_secret_basic') === 'none') {
    return { field: 'grant_types', description: `${CIBA_GRANT} is for confidential clients only: a public client cannot authenticate its polls` };
  }
  if (metadata['backchannel_token_delivery_mode'] !== 'ping') return undefined;
  const endpoint = URL.parse(String(metadata['backchannel_client_notification_endpoint'] ?? ''));
  if (!endpoint) return { field: 'backchannel_client_notification_endpoint', description: 'a ping client needs an https backchannel_client_notification_endpoint' };
  // oidc-provider accepts https only, loopback included (CIBA Core 4).
  const problem = outboundTargetProblem(endpoint, policy, { httpOnLoopback: false });
  if (problem) return { field: 'backchannel_client_notification_endpoint', description: problem };
  return undefined;
}

