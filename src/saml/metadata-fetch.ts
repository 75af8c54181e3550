import type { Logger } from 'pino';
import { AnswerTooLargeError, get, PostTimeoutError, SpecialUseAddressError } from '../messaging/http-post.js';
import { isLoopbackHost, refuseOutbound, type OutboundPolicy } from '../oidc/outbound.js';
import { MAX_METADATA_BYTES } from './sp-metadata.js';

/** An SP's metadata server gets this long to answer, connection to last byte. */
export const METADATA_FETCH_TIMEOUT_MS = 5000;

/** Why the metadata could not be had; the message is for the admin who gave the URL. */
export class MetadataFetchError extends Error {
  override readonly name = 'MetadataFetchError';
}

/**
 * Fetches an SP's metadata from the URL an admin registers, under the outbound guard that protects
 * every URL a client registers: loopback, private and other special-use addresses are refused after
 * DNS resolution (on the address connected to), unless `http.allowPrivateNetworkFetch` allows them
 * or, in development, the target is loopback. Redirects are not followed, the answer is capped at
 * {@link MAX_METADATA_BYTES} and the whole exchange at {@link METADATA_FETCH_TIMEOUT_MS}.
 */
export async function fetchSpMetadata(url: string, policy: OutboundPolicy, logger: Logger): Promise<string> {
  const target = new URL(url);
  const guarded = !(policy.allowPrivateNetwork || (policy.allowLoopback && isLoopbackHost(target.hostname)));
  let answer;
  try {
    answer = await get(target, {
      headers: { accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8' },
      timeoutMs: METADATA_FETCH_TIMEOUT_MS,
      guarded,
      maxBytes: MAX_METADATA_BYTES,
    });
  } catch (error) {
    if (error instanceof SpecialUseAddressError) throw new MetadataFetchError(refuseOutbound(policy, target, logger));
    if (error instanceof AnswerTooLargeError) throw new MetadataFetchError(`the metadata at ${target.href} is larger than ${MAX_METADATA_BYTES} bytes`);
    const reason = error instanceof PostTimeoutError ? error.message : error instanceof Error ? error.message : 'unknown error';
    throw new MetadataFetchError(`could not fetch ${target.href}: ${reason}`);
  }
  if (answer.status >= 300 && answer.status < 400) throw new MetadataFetchError(`${target.href} answered ${answer.status}; redirects are not followed: give the final URL`);
  if (answer.status !== 200) throw new MetadataFetchError(`${target.href} answered ${answer.status}, not 200`);
  return answer.body;
}
