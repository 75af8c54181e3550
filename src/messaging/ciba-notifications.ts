import type { Logger } from 'pino';
import { describeRequest, type PendingRequest, type TenantMac } from '../domain/ciba-request.js';
import { cibaApprovalUrl, cibaNotificationsOf } from '../domain/ciba-settings.js';
import { cibaAuditEvents, type CibaNotify } from '../oidc/ciba.js';
import type { CibaNotificationDeps } from './ciba-deps.js';
import { textApprovalLink } from './ciba-sms.js';
import { cibaRequestedEvent, postCibaEvent } from './ciba-webhook.js';
import { NotificationRefused } from './notification-refused.js';
import { MessageNotSentError } from './sender.js';
import { tenantSmsSenders } from './tenant-sender.js';

type Channel = 'sms' | 'webhook';

interface Attempt {
  tenant: string;
  accountId: string;
  view: PendingRequest;
  requestId: string | undefined;
}

/**
 * Runs one channel. A failure is logged and audited as `ciba.notification_failed` with the channel
 * and why (a limit or setting: its `reason`; the gateway or network: `not_sent`), never thrown, so
 * the other channel still runs and nothing reaches the client.
 */
async function attempt(app: CibaNotificationDeps, logger: Logger, channel: Channel, on: Attempt, send: () => Promise<string>): Promise<void> {
  const trace = { channel, request: on.view.id, ...(on.requestId ? { requestId: on.requestId } : {}) };
  try {
    const outcome = await send();
    logger.info({ event: 'ciba.notified', outcome, ...trace }, `CIBA request: ${channel} notification ${outcome}`);
  } catch (error) {
    const reason = error instanceof NotificationRefused ? error.reason : error instanceof MessageNotSentError ? 'not_sent' : 'error';
    const message = error instanceof Error ? error.message : String(error);
    logger.warn({ event: cibaAuditEvents.notificationFailed, reason, err: message, ...trace }, `CIBA request: ${channel} notification failed`);
    await app.audit.record({
      tenant: on.tenant,
      type: cibaAuditEvents.notificationFailed,
      actor: { type: 'system', id: 'ciba-notifications', tenant: on.tenant },
      target: { type: 'user', id: on.accountId },
      details: { channel, reason, error: message, request: on.view.id, client_id: on.view.client_id },
      ...(on.requestId ? { requestId: on.requestId } : {}),
    });
  }
}

/**
 * The tenant's notifier, for the provider's `triggerAuthenticationDevice` (`oidc/ciba.ts`): each
 * accepted request is handed to the background work, so the client's answer never waits for a
 * channel and no channel's failure reaches it. The tenant's settings are read afresh for each
 * request, so a channel turned off, a country removed or a webhook removed applies at once.
 */
export function cibaNotifier(app: CibaNotificationDeps, tenant: { id: string; issuer: string; mac: TenantMac }): CibaNotify {
  const senderOf = tenantSmsSenders(app.config, app.logger, app.clock, app.box, app.messages);
  const logger = app.logger.child({ tenant: tenant.id });

  return ({ request, expiresAt, accountId, client, requestId }) =>
    app.background.run(async () => {
      const settings = await app.tenants.find(tenant.id);
      const channels = cibaNotificationsOf(settings?.securityPolicy?.ciba);
      if (!settings || (!channels.sms && !channels.webhook)) return;
      const user = await app.users.findById(tenant.id, accountId);
      if (!user || user.disabled) return;
      const view = describeRequest(tenant.mac, { jti: request.jti, clientId: client.clientId, params: request.params, scope: request.scope, exp: expiresAt }, client.clientName);
      const approvalUrl = cibaApprovalUrl(tenant.issuer, view.id);
      const on: Attempt = { tenant: tenant.id, accountId, view, requestId };
      await Promise.all([
        channels.sms &&
          attempt(app, logger, 'sms', on, () =>
            textApprovalLink(app, senderOf, { tenant: settings, user, clientName: client.clientName ?? client.clientId, bindingMessage: view.binding_message, approvalUrl, requestId }),
          ),
        channels.webhook &&
          attempt(app, logger, 'webhook', on, async () => {
            await postCibaEvent(app, settings.securityPolicy?.ciba, cibaRequestedEvent(tenant.id, user, view, approvalUrl, app.clock()));
            return 'sent';
          }),
      ]);
    });
}
