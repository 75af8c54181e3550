import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { OutboundPolicy } from '../oidc/outbound.js';
import { checkMessage, type Message, type MessageSender, type SendResult } from './sender.js';
import { postSigned } from './signed-post.js';

// Where the SMS webhook's scheme was first defined; kept so importers of this module keep working.
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from './signed-post.js';

export interface WebhookSettings {
  url: string;
  secret: string;
  timeoutMs: number;
  policy: OutboundPolicy;
}

/**
 * Any SMS gateway: a signed JSON POST to the operator's URL (`signed-post.ts`). A 2xx answer means sent.
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
    const { secret, timeoutMs, policy } = this.settings;
    await postSigned('webhook', { url: this.url, secret, timeoutMs, policy }, JSON.stringify({ id, ...message }), this.logger, this.clock);
    return { id };
  }
}
