import { randomUUID } from 'node:crypto';
import type { PendingRequest } from '../domain/ciba-request.js';
import { cibaWebhookPurpose, type TenantCibaSettings } from '../domain/ciba-settings.js';
import type { User } from '../domain/users.js';
import type { CibaNotificationDeps } from './ciba-deps.js';
import { NotificationRefused } from './notification-refused.js';
import { webhookPolicy } from './senders.js';
import { postSigned } from './signed-post.js';

/** The tenant's app answers within this or the event counts as not delivered (no retry: the app can list pending requests). */
export const CIBA_WEBHOOK_TIMEOUT_MS = 5_000;

/**
 * What the tenant's app is told of a new request (docs/ciba.md): the user, and the request as the
 * approval API lists it, with its approval page. `request.id` is what the app approves with.
 */
export interface CibaRequestedEvent {
  /** new for every event: receivers refuse an id they have seen (replays) */
  id: string;
  type: 'ciba.requested';
  tenant: string;
  occurred_at: string;
  user: { sub: string; username: string };
  request: PendingRequest & { approval_url: string };
}

export function cibaRequestedEvent(tenant: string, user: User, request: PendingRequest, approvalUrl: string, now: number): CibaRequestedEvent {
  return { id: randomUUID(), type: 'ciba.requested', tenant, occurred_at: new Date(now).toISOString(), user: { sub: user._id, username: user.username }, request: { ...request, approval_url: approvalUrl } };
}

/**
 * POSTs the event to the tenant's CIBA webhook, signed like the SMS webhook (`signed-post.ts`)
 * with the tenant's own secret, opened here and nowhere else. Rejects when it was not accepted.
 */
export async function postCibaEvent(app: CibaNotificationDeps, settings: TenantCibaSettings | undefined, event: CibaRequestedEvent): Promise<void> {
  const webhook = settings?.webhook;
  // The channel was turned on while a removal of the webhook was under way: say so, do not guess.
  if (!webhook) throw new NotificationRefused('no_webhook', 'the webhook channel is on, but no CIBA webhook is set');
  const target = { url: new URL(webhook.url), secret: app.box.open(webhook.secret, cibaWebhookPurpose(event.tenant)), timeoutMs: CIBA_WEBHOOK_TIMEOUT_MS, policy: webhookPolicy(app.config) };
  await postSigned('ciba webhook', target, JSON.stringify(event), app.logger, app.clock);
}
