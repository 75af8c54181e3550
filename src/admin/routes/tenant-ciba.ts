import { z } from 'zod';
import { cibaWebhookPurpose } from '../../domain/ciba-settings.js';
import type { Tenant } from '../../domain/tenants.js';
import { AppError } from '../../errors.js';
import { webhookPolicy } from '../../messaging/senders.js';
import { outboundTargetProblem } from '../outbound-target.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { empty, tenantParam } from './common.js';
import { setTenantWebhook } from './tenant-webhook.js';

/** The channels a policy change turns on. */
type NotificationsInput = { sms?: boolean | undefined; webhook?: boolean | undefined } | undefined;

/**
 * A channel is turned on only where it can send (every setting does what it says or is refused):
 * SMS needs an SMS sender of the operator's, the webhook needs the tenant's CIBA webhook, which is
 * set first (`PUT .../ciba-webhook`). `stored` is the tenant as it is, none when it is being created.
 */
export function assertCibaNotificationsPossible(request: Pick<AdminRequest<unknown, unknown, unknown>, 'app'>, notifications: NotificationsInput, stored: Tenant | undefined): void {
  if (notifications?.sms === true && request.app.config.messaging.sms.sender === undefined) {
    throw new AppError('conflict', 'security_policy.ciba.notifications.sms: this Gatehouse has no SMS sender (messaging.sms.sender), so no text could be sent.');
  }
  if (notifications?.webhook === true && !stored?.securityPolicy?.ciba?.webhook) {
    throw new AppError('conflict', 'security_policy.ciba.notifications.webhook: the tenant has no CIBA webhook; set one first (PUT /admin/v1/tenants/{tenant}/ciba-webhook).');
  }
}

/**
 * A tenant's CIBA webhook: where a signed `ciba.requested` event goes for each request when the
 * tenant's `security_policy.ciba.notifications.webhook` is on, so its own app can prompt the user
 * (docs/ciba.md). Its secret is Gatehouse's, shown once, sealed at rest under a purpose of its own.
 */
export const tenantCibaRoutes = [
  defineRoute({
    method: 'put',
    path: '/tenants/:tenant/ciba-webhook',
    tag: 'Tenants',
    summary: 'Set the tenant’s CIBA webhook (its URL and a new signing secret, shown only in this response)',
    description:
      'With `security_policy.ciba.notifications.webhook` on, each CIBA request is POSTed to this URL as a `ciba.requested` event, signed (`gatehouse-signature`, HMAC-SHA256 over `{timestamp}.{body}`) with the secret in the response. Each call makes a new secret: the old one stops signing at once. The URL must be https (http only to loopback outside production) and pass the outbound-request rules (no private or loopback addresses unless the operator allows them).',
    scopes: ['admin:tenants'],
    params: tenantParam,
    body: z.object({ url: z.string().max(2048).url() }).strict(),
    response: z.object({ url: z.string(), secret: z.string() }),
    errors: { 400: '`invalid_request`: the description names the field (`url`: not https, an internal address, credentials, malformed or longer than 2048)' },
    async handler(request) {
      const { app, tenant } = request;
      const url = new URL(request.body.url);
      const problem = outboundTargetProblem(url, webhookPolicy(app.config), { httpOnLoopback: app.config.env !== 'production' });
      if (problem) throw new AppError('invalid_request', `url: ${problem}`);
      return setTenantWebhook(request, {
        url,
        current: (await app.tenants.find(tenant))?.securityPolicy?.ciba?.webhook?.url ?? null,
        purpose: cibaWebhookPurpose(tenant),
        store: (webhook) => app.tenants.setCibaWebhook(tenant, webhook, new Date(app.clock())),
        auditType: 'tenant.ciba_webhook_set',
      });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/ciba-webhook',
    tag: 'Tenants',
    summary: 'Remove the tenant’s CIBA webhook; its channel (`security_policy.ciba.notifications.webhook`) turns off with it',
    scopes: ['admin:tenants'],
    params: tenantParam,
    response: empty,
    status: 204,
    async handler(request) {
      const { app, tenant } = request;
      const ciba = (await app.tenants.find(tenant))?.securityPolicy?.ciba;
      await app.tenants.setCibaWebhook(tenant, null, new Date(app.clock()));
      request.changed({ kind: 'tenant' });
      await request.audit({
        type: 'tenant.ciba_webhook_removed',
        target: { type: 'tenant', id: tenant },
        before: { url: ciba?.webhook?.url ?? null, notifications_webhook: ciba?.notifications?.webhook === true },
        after: { url: null, notifications_webhook: false },
      });
      return {};
    },
  }),
];
