import type { Config } from './schema.js';

/**
 * What each e-mail sender needs, and what production refuses. A sender's own keys are checked
 * only when it is chosen, as for SMS (messaging-rules.ts).
 */
export function emailProblems(config: Config, add: (path: string, message: string) => void): void {
  const { sender, smtp, webhook, from } = config.messaging.email;
  const required = (path: string) => add(`messaging.email.${path}`, `is required when messaging.email.sender is ${sender}`);
  if (sender === 'smtp' && smtp.host === undefined) required('smtp.host');
  if (sender === 'webhook') {
    if (webhook.url === undefined) required('webhook.url');
    if (webhook.secret === undefined) required('webhook.secret');
  }
  if (config.env !== 'production') return;
  if (sender === 'console') {
    add('messaging.email.sender', 'console is not allowed in production: verification links, reset links and codes would be written to the log instead of reaching mailboxes; choose smtp or webhook, or remove the setting to send no e-mail');
  }
  if (sender !== undefined && from.endsWith('@localhost')) {
    add('messaging.email.from', 'must be an address of your own domain in production (mail from @localhost is dropped as spam or refused)');
  }
  if (sender === 'smtp' && !smtp.rejectUnauthorized) {
    add('messaging.email.smtp.rejectUnauthorized', 'must be true in production: without checking the server’s certificate, anyone on the path could read reset links and the SMTP password (use smtp.caFile for a private CA)');
  }
  if (sender === 'smtp' && !smtp.secure && !smtp.requireTls) {
    add('messaging.email.smtp.requireTls', 'must be true in production unless smtp.secure is: reset links and the SMTP password would cross the network in the clear');
  }
  if (sender === 'webhook' && webhook.url !== undefined && new URL(webhook.url).protocol !== 'https:') {
    add('messaging.email.webhook.url', 'must be an https: URL in production: reset links and codes would cross the network in the clear');
  }
}
