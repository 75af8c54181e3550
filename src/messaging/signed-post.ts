import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { isLoopbackHost, type OutboundPolicy } from '../oidc/outbound.js';
import { post, type PostAnswer } from './http-post.js';
import { answerError, transportError } from './outcome.js';

export const TIMESTAMP_HEADER = 'gatehouse-timestamp';
export const SIGNATURE_HEADER = 'gatehouse-signature';

/**
 * `v1=` and the hex HMAC-SHA256 of `{timestamp}.{raw body}` under the shared secret. The timestamp
 * is signed with the body so a receiver that refuses old timestamps (docs/mfa.md: 5 minutes) and
 * remembers ids within that window cannot be made to send a captured message again.
 */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface SignedTarget {
  url: URL;
  secret: string;
  timeoutMs: number;
  policy: OutboundPolicy;
}

/**
 * One signed JSON POST, the scheme of every webhook Gatehouse calls (the SMS webhook, the CIBA
 * notification webhook; docs/operations.md): through the same SSRF guard and exceptions as the
 * provider's outbound calls (src/oidc/outbound.ts), no redirects, bounded in time. Resolves on a
 * 2xx answer; rejects with a `MessageNotSentError` naming `sender` otherwise.
 */
export async function postSigned(sender: string, target: SignedTarget, body: string, logger: Logger, clock: () => number): Promise<void> {
  const timestamp = Math.floor(clock() / 1000);
  const { policy, url } = target;
  const guarded = !policy.allowPrivateNetwork && !(policy.allowLoopback && isLoopbackHost(url.hostname));
  let answer: PostAnswer;
  try {
    answer = await post(url, {
      headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: webhookSignature(target.secret, timestamp, body) },
      body,
      timeoutMs: target.timeoutMs,
      guarded,
    });
  } catch (error) {
    throw transportError(sender, error, url, { policy, logger });
  }
  if (answer.status < 200 || answer.status > 299) throw answerError(sender, answer);
}
