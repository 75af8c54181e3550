import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { ConsoleSender } from './console-sender.js';
import { TwilioSender } from './twilio-sender.js';
import { MessageNotSentError, type MessageSender, type SendResult } from './sender.js';
import { WebhookSender } from './webhook-sender.js';

/**
 * The senders chosen in configuration, one per channel. The config rules guarantee the chosen
 * sender's settings are present; production without `messaging.sms.sender` has no SMS sender, and
 * every SMS fails (not worth retrying) until one is configured.
 */
export function createMessageSender(config: Config, logger: Logger, clock: () => number): MessageSender {
  const name = config.messaging.sms.sender ?? 'none';
  return logged(chosenSender(config, logger, clock), name, logger);
}

function chosenSender(config: Config, logger: Logger, clock: () => number): MessageSender {
  const { sms } = config.messaging;
  const { webhook, twilio } = sms;
  switch (sms.sender) {
    case 'console':
      return new ConsoleSender(logger);
    case 'webhook':
      return new WebhookSender(
        {
          url: required(webhook.url, 'webhook.url'),
          secret: required(webhook.secret, 'webhook.secret'),
          timeoutMs: sms.timeoutMs,
          policy: webhookPolicy(config),
        },
        logger,
        clock,
      );
    case 'twilio':
      return new TwilioSender({ ...twilio, accountSid: required(twilio.accountSid, 'twilio.accountSid'), authToken: required(twilio.authToken, 'twilio.authToken'), timeoutMs: sms.timeoutMs });
    case undefined:
      return {
        send: () => Promise.reject(new MessageNotSentError('no SMS sender is configured: set messaging.sms.sender (GATEHOUSE_SMS_SENDER) to webhook or twilio', false)),
      };
  }
}

/** Where a webhook may point: the provider's outbound rules (loopback in development only). */
export function webhookPolicy(config: Config): { allowPrivateNetwork: boolean; allowLoopback: boolean } {
  return { allowPrivateNetwork: config.http.allowPrivateNetworkFetch, allowLoopback: config.env === 'development' };
}

/** A setting config/messaging-rules.ts requires for the chosen sender. */
function required(value: string | undefined, key: string): string {
  if (value === undefined) throw new Error(`messaging.sms.${key} is missing; loadConfig should have refused this configuration`);
  return value;
}

/**
 * One log line per message, sent or not, for operators: who was asked, why, and what came back.
 * Neither the text (it holds the code or link) nor the recipient is logged here. E-mail messages
 * have no `channel` field (they are all e-mail).
 */
export function logged<M extends { tenant: string; purpose: string; requestId?: string; channel?: string }>(sender: { send(message: M): Promise<SendResult> }, name: string, logger: Logger): { send(message: M): Promise<SendResult> } {
  return {
    async send(message) {
      const channel = message.channel ?? 'email';
      const fields = { sender: name, channel, tenant: message.tenant, purpose: message.purpose, ...(message.requestId === undefined ? {} : { requestId: message.requestId }) };
      try {
        const result = await sender.send(message);
        logger.info({ event: 'message.accepted', ...fields, ...result }, `${channel} message accepted by the ${name} sender`);
        return result;
      } catch (error) {
        const retryable = error instanceof MessageNotSentError && error.retryable;
        logger.warn({ event: 'message.failed', ...fields, retryable, reason: error instanceof Error ? error.message : String(error) }, `${channel} message not sent`);
        throw error;
      }
    },
  };
}
