import type { Config } from './schema.js';

/**
 * What each SMS sender needs, and what production refuses. The sender's own keys are checked only
 * when that sender is chosen, so a half-filled twilio section does not stop a webhook deployment.
 */
export function messagingProblems(config: Config, add: (path: string, message: string) => void): void {
  const { sender, webhook, twilio } = config.messaging.sms;
  const required = (path: string) => add(`messaging.sms.${path}`, `is required when messaging.sms.sender is ${sender}`);
  if (sender === 'webhook') {
    if (webhook.url === undefined) required('webhook.url');
    if (webhook.secret === undefined) required('webhook.secret');
  }
  if (sender === 'twilio') {
    if (twilio.accountSid === undefined) required('twilio.accountSid');
    if (twilio.authToken === undefined) required('twilio.authToken');
    const from = 'set messaging.sms.twilio.from or messaging.sms.twilio.messagingServiceSid';
    if (twilio.from === undefined && twilio.messagingServiceSid === undefined) add('messaging.sms.twilio.from', `${from} (the number or sender ID messages come from, or the messaging service that picks one)`);
    if (twilio.from !== undefined && twilio.messagingServiceSid !== undefined) add('messaging.sms.twilio.from', `${from}, not both`);
  }
  if (config.env !== 'production') return;
  if (sender === 'console') {
    add('messaging.sms.sender', 'console is not allowed in production: one-time codes would be written to the log instead of reaching phones; choose webhook or twilio, or remove the setting to send no SMS');
  }
  if (sender === 'webhook' && webhook.url !== undefined && new URL(webhook.url).protocol !== 'https:') {
    add('messaging.sms.webhook.url', 'must be an https: URL in production: phone numbers and one-time codes would cross the network in the clear');
  }
  if (sender === 'twilio' && new URL(twilio.baseUrl).protocol !== 'https:') {
    add('messaging.sms.twilio.baseUrl', 'must be an https: URL in production: the auth token (the Basic password), phone numbers and codes would cross the network in the clear');
  }
}
