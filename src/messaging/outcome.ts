import type { Logger } from 'pino';
import type { OutboundPolicy } from '../oidc/outbound.js';
import { refuseOutbound } from '../oidc/outbound.js';
import { PostTimeoutError, SpecialUseAddressError, type PostAnswer } from './http-post.js';
import { MessageNotSentError } from './sender.js';

/**
 * Whether a refused answer may succeed later: the gateway was busy or broken (408, 429, 5xx), or
 * it judged the message itself (any other 4xx), which resending will not change. A 3xx is not
 * followed (it could lead anywhere) and counts as a misconfigured URL.
 */
export function answerError(sender: string, answer: PostAnswer, detail = ''): MessageNotSentError {
  const { status } = answer;
  const retryable = status === 408 || status === 429 || status >= 500;
  const redirect = status >= 300 && status < 400 ? ' (redirects are not followed: configure the final URL)' : '';
  return new MessageNotSentError(`the ${sender} sender's gateway answered ${status}${redirect}${detail}`, retryable);
}

/**
 * A request that got no answer: a refused address is not worth retrying (only configuration fixes
 * it); a timeout or a network failure is. Node's network errors name the host and port, never the
 * headers, so their messages carry no credential.
 */
export function transportError(sender: string, error: unknown, target: URL, guard: { policy: OutboundPolicy; logger: Logger } | undefined): MessageNotSentError {
  if (error instanceof SpecialUseAddressError && guard) return new MessageNotSentError(refuseOutbound(guard.policy, target, guard.logger), false);
  const reason = error instanceof PostTimeoutError ? error.message : error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
  return new MessageNotSentError(`the ${sender} sender could not reach its gateway at ${target.origin}: ${reason}`, true);
}
