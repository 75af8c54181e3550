import { z } from 'zod';
import { smsWebhookPurpose } from '../../domain/sms-settings.js';
import { AppError } from '../../errors.js';
import { defineRoute } from '../route.js';
import { empty, tenantParam } from './common.js';
import { setTenantWebhook } from './tenant-webhook.js';

/**
 * A tenant's own SMS gateway for the `webhook` sender: its URL, and a signing secret Gatehouse
 * generates (so it is never weak or reused), returns once and keeps sealed with the master key.
 * Setting it again rotates the secret. With another sender (`twilio`, `console`) a tenant URL would
 * do nothing, so it is refused.
 */
export const tenantSmsRoutes = [
  defineRoute({
    method: 'put',
    path: '/tenants/:tenant/sms-webhook',
    tag: 'Tenants',
    summary: 'Set the tenant’s SMS webhook (its URL and a new signing secret, shown only in this response)',
    description:
      'Texts of this tenant are POSTed to this URL, signed (`gatehouse-signature`, HMAC-SHA256 over `{timestamp}.{body}`) with the secret in the response, instead of the operator’s webhook. Each call makes a new secret: the old one stops signing at once. Only when the operator’s SMS sender is `webhook`. The URL is called under the outbound-request rules (no private or loopback addresses unless the operator allows them).',
    scopes: ['admin:tenants'],
    params: tenantParam,
    body: z.object({ url: z.string().max(2048).url() }).strict(),
    response: z.object({ url: z.string(), secret: z.string() }),
    errors: { 400: '`invalid_request`: not an http(s) URL (https in production)', 409: '`conflict`: the operator’s SMS sender is not `webhook`' },
    async handler(request) {
      const { app, tenant } = request;
      if (app.config.messaging.sms.sender !== 'webhook') {
        throw new AppError('conflict', 'This Gatehouse does not send texts through a webhook (messaging.sms.sender), so a tenant webhook would never be used.');
      }
      const url = new URL(request.body.url);
      const httpsOnly = app.config.env === 'production';
      if (url.protocol !== 'https:' && (httpsOnly || url.protocol !== 'http:')) throw new AppError('invalid_request', `url: must be ${httpsOnly ? 'an https' : 'an http(s)'} URL`);
      return setTenantWebhook(request, {
        url,
        current: (await app.tenants.find(tenant))?.securityPolicy?.sms?.webhook?.url ?? null,
        purpose: smsWebhookPurpose(tenant),
        store: (webhook) => app.tenants.setSmsWebhook(tenant, webhook, new Date(app.clock())),
        auditType: 'tenant.sms_webhook_set',
      });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/sms-webhook',
    tag: 'Tenants',
    summary: 'Remove the tenant’s SMS webhook: its texts go through the operator’s sender again',
    scopes: ['admin:tenants'],
    params: tenantParam,
    response: empty,
    status: 204,
    async handler(request) {
      const { app, tenant } = request;
      await app.tenants.setSmsWebhook(tenant, null, new Date(app.clock()));
      request.changed({ kind: 'tenant' });
      await request.audit({ type: 'tenant.sms_webhook_removed', target: { type: 'tenant', id: tenant } });
      return {};
    },
  }),
];
