import { randomBytes } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { AdminRequest } from '../route.js';

/** 256 bits, base64url: 43 characters, within the 32 to 512 the operator's secret may have. */
const newSecret = () => randomBytes(32).toString('base64url');

export interface TenantWebhook {
  url: URL;
  /** the URL set now, for the audit's `before` */
  current: string | null;
  /** the sealed secret's additional data: it opens for this webhook of this tenant only */
  purpose: string;
  store(webhook: { url: string; secret: string }): Promise<unknown>;
  auditType: string;
}

/**
 * Sets one of a tenant's webhooks (its SMS gateway, its CIBA notifications) with a signing secret
 * Gatehouse generates, so it is never weak or reused: returned once, kept sealed with the master
 * key, never audited. Setting it again rotates the secret. The caller has checked the URL's scheme
 * and address; credentials in it are refused here (they would be logged with every error).
 */
export async function setTenantWebhook(request: AdminRequest<unknown, unknown, unknown>, webhook: TenantWebhook): Promise<{ url: string; secret: string }> {
  const { app, tenant } = request;
  if (webhook.url.username || webhook.url.password) throw new AppError('invalid_request', 'url: must not carry credentials');
  const secret = newSecret();
  await webhook.store({ url: webhook.url.href, secret: app.box.seal(secret, webhook.purpose) });
  request.changed({ kind: 'tenant' });
  await request.audit({ type: webhook.auditType, target: { type: 'tenant', id: tenant }, before: { url: webhook.current }, after: { url: webhook.url.href, secret_rotated: true } });
  return { url: webhook.url.href, secret };
}
