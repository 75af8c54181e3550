import type { Logger } from 'pino';
import { checkEmail, type EmailMessage, type EmailSender } from './email.js';
import type { SendResult } from './sender.js';

/**
 * Development only (production refuses it at start-up, config/email-rules.ts): the mail goes to the
 * log at warn level with its text body, so a developer can follow the link or read the code, and
 * the line says it was not delivered.
 */
export class ConsoleEmailSender implements EmailSender {
  constructor(private readonly logger: Logger) {}

  async send(message: EmailMessage): Promise<SendResult> {
    checkEmail(message);
    const { tenant, to, purpose, subject, text, requestId } = message;
    this.logger.warn(
      { event: 'email.not_delivered', sender: 'console', tenant, to, purpose, subject, text, ...(requestId === undefined ? {} : { requestId }) },
      `NOT DELIVERED (console e-mail sender, development only): to ${to}: ${subject}\n${text}`,
    );
    return {};
  }
}
