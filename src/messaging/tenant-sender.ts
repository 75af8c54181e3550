import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { SecretBox } from '../domain/secrets.js';
import { smsWebhookPurpose, type TenantSmsSettings } from '../domain/sms-settings.js';
import type { MessagePurpose, MessageSender } from './sender.js';
import { logged, webhookPolicy } from './senders.js';
import { WebhookSender } from './webhook-sender.js';

/**
 * The sender of a tenant's texts: with the `webhook` sender, the tenant's own webhook when it set
 * one (its URL, its secret opened here), else the operator's sender. The tenant's URL goes through
 * the same SSRF guard as the operator's. Other senders have no per-tenant target (the admin API
 * refuses to set one then).
 */
export function tenantSmsSenders(config: Config, logger: Logger, clock: () => number, box: SecretBox, operator: MessageSender) {
  return (tenant: string, settings: TenantSmsSettings | undefined): MessageSender => {
    const webhook = settings?.webhook;
    if (config.messaging.sms.sender !== 'webhook' || !webhook) return operator;
    const sender = new WebhookSender(
      { url: webhook.url, secret: box.open(webhook.secret, smsWebhookPurpose(tenant)), timeoutMs: config.messaging.sms.timeoutMs, policy: webhookPolicy(config) },
      logger,
      clock,
    );
    return logged(sender, 'webhook (tenant)', logger);
  };
}

/** The SMS factor's `SendText` (authn/sms-factors.ts) over the tenant's sender. */
export function textSender(senderOf: ReturnType<typeof tenantSmsSenders>) {
  return async ({ tenant, settings, ...text }: { tenant: string; settings: TenantSmsSettings | undefined; to: string; text: string; purpose: MessagePurpose; requestId?: string }) =>
    senderOf(tenant, settings).send({ channel: 'sms', tenant, ...text });
}
