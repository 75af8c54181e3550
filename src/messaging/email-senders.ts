import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { ConsoleEmailSender } from './email-console-sender.js';
import { EmailWebhookSender } from './email-webhook-sender.js';
import type { EmailSender } from './email.js';
import { MessageNotSentError } from './sender.js';
import { logged, webhookPolicy } from './senders.js';
import { SmtpSender } from './smtp-sender.js';

/**
 * The e-mail sender chosen in configuration. The config rules guarantee its settings are present;
 * production without `messaging.email.sender` has none, and every mail fails (not worth retrying)
 * until one is configured.
 */
export function createEmailSender(config: Config, logger: Logger, clock: () => number): EmailSender & { close?(): void } {
  const email = config.messaging.email;
  const name = email.sender ?? 'none';
  const chosen = chosenSender(config, logger, clock);
  return { ...logged(chosen, name, logger), ...(chosen instanceof SmtpSender ? { close: () => chosen.close() } : {}) };
}

function chosenSender(config: Config, logger: Logger, clock: () => number): EmailSender {
  const email = config.messaging.email;
  switch (email.sender) {
    case 'console':
      return new ConsoleEmailSender(logger);
    case 'smtp':
      return new SmtpSender({ ...email.smtp, host: required(email.smtp.host, 'smtp.host'), from: email.from, timeoutMs: email.timeoutMs });
    case 'webhook':
      return new EmailWebhookSender(
        { url: new URL(required(email.webhook.url, 'webhook.url')), secret: required(email.webhook.secret, 'webhook.secret'), timeoutMs: email.timeoutMs, policy: webhookPolicy(config) },
        logger,
        clock,
      );
    case undefined:
      return { send: () => Promise.reject(new MessageNotSentError('no e-mail sender is configured: set messaging.email.sender (GATEHOUSE_EMAIL_SENDER) to smtp or webhook', false)) };
  }
}

function required(value: string | undefined, key: string): string {
  if (value === undefined) throw new Error(`messaging.email.${key} is missing; loadConfig should have refused this configuration`);
  return value;
}
