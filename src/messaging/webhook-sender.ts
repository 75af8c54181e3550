import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isLoopbackHost, type OutboundPolicy } from '../oidc/outbound.js';
import { post, type PostAnswer } from './http-post.js';
import { answerError, transportError } from './outcome.js';
import { checkMessage, type Message, type MessageSender, type SendResult } from './sender.js';

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

export interface WebhookSettings {
  url: string;
  secret: string;
  timeoutMs: number;
  policy: OutboundPolicy;
}

/**
 * Any SMS gateway: a signed JSON POST to the operator's URL, through the same SSRF guard and
 * exceptions as the provider's outbound calls (src/oidc/outbound.ts). A 2xx answer means sent.
 */
export class WebhookSender implements MessageSender {
  private readonly url: URL;

  constructor(
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    private readonly clock: () => number,
  ) {
    this.url = new URL(settings.url);
  }

  async send(message: Message): Promise<SendResult> {
    checkMessage(message);
    const id = randomUUID();
    const body = JSON.stringify({ id, ...message });
    const timestamp = Math.floor(this.clock() / 1000);
    const { policy } = this.settings;
    const guarded = !policy.allowPrivateNetwork && !(policy.allowLoopback && isLoopbackHost(this.url.hostname));
    let answer: PostAnswer;
    try {
      answer = await post(this.url, {
        headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: webhookSignature(this.settings.secret, timestamp, body) },
        body,
        timeoutMs: this.settings.timeoutMs,
        guarded,
      });
    } catch (error) {
      throw transportError('webhook', error, this.url, { policy, logger: this.logger });
    }
    if (answer.status < 200 || answer.status > 299) throw answerError('webhook', answer);
    return { id };
  }
}
