import type { Logger } from 'pino';
import { checkMessage, type Message, type MessageSender, type SendResult } from './sender.js';

/**
 * Development only (production refuses it at start-up, config/messaging-rules.ts): the message goes
 * to the log at warn level, so a developer can read the code, and the line says it was not delivered.
 */
export class ConsoleSender implements MessageSender {
  constructor(private readonly logger: Logger) {}

  async send(message: Message): Promise<SendResult> {
    checkMessage(message);
    const { channel, tenant, to, purpose, text, requestId } = message;
    this.logger.warn(
      { event: 'message.not_delivered', sender: 'console', channel, tenant, to, purpose, text, ...(requestId === undefined ? {} : { requestId }) },
      `NOT DELIVERED (console sender, development only): ${channel} to ${to}: ${text}`,
    );
    return {};
  }
}
