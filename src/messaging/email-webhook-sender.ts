import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { checkEmail, type EmailMessage, type EmailSender } from './email.js';
import type { SendResult } from './sender.js';
import { postSigned, type SignedTarget } from './signed-post.js';

/**
 * Any mail service with an HTTP API: a JSON POST signed like every Gatehouse webhook (signed-post.ts),
 * through the outbound-request guard. A 2xx answer means accepted.
 */
export class EmailWebhookSender implements EmailSender {
  constructor(
    private readonly target: SignedTarget,
    private readonly logger: Logger,
    private readonly clock: () => number,
  ) {}

  async send(message: EmailMessage): Promise<SendResult> {
    checkEmail(message);
    const id = randomUUID();
    await postSigned('e-mail webhook', this.target, JSON.stringify({ id, channel: 'email', ...message }), this.logger, this.clock);
    return { id };
  }
}
